"""Where CaseDeck keeps its data, read once from the environment.

``CASEDECK_DATA`` names the data directory (default ``./data``); tests and
benchmarks point it at a temporary directory. ``CASEDECK_SAMPLES=0`` starts the
app with an empty library instead of loading the sample cases. ``CASEDECK_RECEIVE_PORT``
(and optionally ``CASEDECK_RECEIVE_AE``) starts the DICOM receiver with the app, so
workstations can send studies to it. Settings are a value passed
around, never a process-wide mutable global.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from casefiles.errors import ValidationError


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path
    seed_samples: bool = True
    #: start the DICOM receiver with the app on this port (None: only when asked on the page)
    receive_port: int | None = None
    receive_ae: str = "CASEDECK"
    #: where that receiver listens (CASEDECK_RECEIVE_HOST): this computer only unless set, e.g. 0.0.0.0
    receive_host: str = "127.0.0.1"
    #: days an original waiting for burned-in text review is kept before it is wiped
    review_retention_days: int = 30

    #: ``postgresql://…`` to keep the library in PostgreSQL (``CASEDECK_DATABASE_URL``); empty: the
    #: embedded TinyDB library in ``library_dir``.
    database_url: str = ""

    @property
    def db_path(self) -> Path:
        """The first layout's single library file, upgraded into ``library_dir`` when found."""
        return self.data_dir / "casedeck.json"

    @property
    def library_dir(self) -> Path:
        return self.data_dir / "library"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def quarantine_dir(self) -> Path:
        """Raw, identifiable input lives here only while it is de-identified; always wiped."""
        return self.data_dir / "quarantine"

    @property
    def review_area_dir(self) -> Path:
        """Encrypted originals waiting for burned-in text review; outside the store, never exported."""
        return self.data_dir / "review-area"

    @property
    def secret_path(self) -> Path:
        """The installation's secret key for UID remapping and pseudonyms."""
        return self.data_dir / "secret.key"


def settings_from_env(environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    port_text = env.get("CASEDECK_RECEIVE_PORT", "").strip()
    if port_text and not (port_text.isdigit() and 1 <= int(port_text) <= 65535):
        raise ValidationError(f"CASEDECK_RECEIVE_PORT must be a port number from 1 to 65535, not {port_text!r}.")
    retention_text = env.get("CASEDECK_REVIEW_RETENTION_DAYS", "").strip()
    if retention_text and not (retention_text.isdigit() and 1 <= int(retention_text) <= 3650):
        raise ValidationError(
            f"CASEDECK_REVIEW_RETENTION_DAYS must be a number of days from 1 to 3650, not {retention_text!r}."
        )
    return Settings(
        data_dir=Path(env.get("CASEDECK_DATA", "data")).resolve(),
        seed_samples=env.get("CASEDECK_SAMPLES", "1") != "0",
        receive_port=int(port_text) if port_text else None,
        receive_ae=env.get("CASEDECK_RECEIVE_AE", "").strip() or "CASEDECK",
        receive_host=env.get("CASEDECK_RECEIVE_HOST", "").strip() or "127.0.0.1",
        review_retention_days=int(retention_text) if retention_text else 30,
        database_url=_database_url(env.get("CASEDECK_DATABASE_URL", "")),
    )


def _database_url(value: str) -> str:
    value = value.strip()
    if value and not value.startswith(("postgresql://", "postgres://")):
        raise ValidationError(
            "CASEDECK_DATABASE_URL must be a PostgreSQL URL (postgresql://user@host/database), or unset for "
            "the embedded library."
        )
    return value
