"""Writing an export safely: check the destination, write beside it, rename into place.

Every exporter uses this, so a failure or cancel never leaves a partial file
and an older file at the destination survives. Messages name the kind of file
and the operating system's reason, never the path (paths may name a patient).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from casefiles.errors import CaseDeckError, ExportError

_FILE_MODE = 0o644


def check_target(out: object, suffixes: str | tuple[str, ...], what: str) -> Path:
    """``out`` as a Path if it can take a file of this kind; ExportError with a plain reason otherwise."""
    allowed = (suffixes,) if isinstance(suffixes, str) else suffixes
    if not isinstance(out, str | os.PathLike):
        raise ExportError(f"The {what}'s destination must be a file path.")
    target = Path(out)
    if target.suffix.lower() not in allowed:
        raise ExportError(f"A {what} must be saved with the {allowed[0]} extension.")
    if target.is_dir():
        raise ExportError(f"The {what}'s destination is a folder; choose a file name ending in {allowed[0]}.")
    if not target.parent.is_dir():
        raise ExportError(f"The folder chosen for the {what} does not exist.")
    return target


def write_atomically(target: Path, write: Callable[[IO[bytes]], object], what: str) -> None:
    """Run ``write`` on a hidden temporary file beside ``target``, then rename it into place.

    On any failure or cancel the temporary file is removed and ``target`` is
    left as it was. Unexpected errors become ExportError naming only their type
    (messages from libraries may quote data).
    """
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=".casedeck-", suffix=f"{target.suffix}.part", dir=target.parent)
    except OSError as exc:
        raise ExportError(f"The {what} could not be saved in the chosen folder: {_reason(exc)}.") from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.chmod(_FILE_MODE)
        tmp.replace(target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError):
            raise ExportError(f"The {what} could not be saved: {_reason(exc)}.") from exc
        if isinstance(exc, Exception) and not isinstance(exc, CaseDeckError):
            raise ExportError(f"The {what} could not be written ({type(exc).__name__}).") from exc
        raise


def _reason(exc: OSError) -> str:
    """The operating system's reason without the path (paths may name a patient)."""
    return (exc.strerror or "the disk refused the write").lower()
