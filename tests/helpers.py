"""Small helpers tests import (fixtures live in conftest.py)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_STUDIES = ROOT / "sample_data" / "studies"


#: Where Debian installs the independent tools; the venv's bin (first on PATH under scripts/test)
#: holds pynetdicom's own storescp/getscu/… with other options.
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"


def require_tool(name: str, *, system: bool = False) -> str:
    """The path of an external tool the test needs. In CI a missing tool fails; locally it skips.

    ``system``: Debian's tool (e.g. dcmtk's storescp), never a same-named script in the venv.
    """
    path = shutil.which(name, path=SYSTEM_PATH if system else None)
    if path is None:
        message = f"{name} is not installed (scripts/test installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


#: Debian's Chromium, headless, with every background call to the outside switched off
#: (this machine has no network; without these flags Chromium retries connections at start).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
