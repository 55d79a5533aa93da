"""Where CaseDeck keeps its data, read once from the environment.

``CASEDECK_DATA`` names the data directory (default ``./data``); tests and
benchmarks point it at a temporary directory. ``CASEDECK_SAMPLES=0`` starts the
app with an empty library instead of loading the sample cases. Settings are a value passed
around, never a process-wide mutable global.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path
    seed_samples: bool = True

    @property
    def db_path(self) -> Path:
        return self.data_dir / "casedeck.json"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def quarantine_dir(self) -> Path:
        """Raw, identifiable input lives here only while it is de-identified; always wiped."""
        return self.data_dir / "quarantine"

    @property
    def secret_path(self) -> Path:
        """The installation's secret key for UID remapping and pseudonyms."""
        return self.data_dir / "secret.key"


def settings_from_env(environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    return Settings(
        data_dir=Path(env.get("CASEDECK_DATA", "data")).resolve(),
        seed_samples=env.get("CASEDECK_SAMPLES", "1") != "0",
    )
