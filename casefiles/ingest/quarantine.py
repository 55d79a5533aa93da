"""The quarantine: the only place raw, identifiable files ever touch the disk.

Every piece of work (an import, a retrieval, the receiver) gets its own
folder in it, holds an exclusive lock on that folder while it works and
removes it when done. Start-up wipes what a crash left behind, but only
folders nobody holds: the app and ``python -m casefiles receive`` may share a
data folder, and one must not delete the other's work in progress.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from pathlib import Path
from types import TracebackType

from casefiles.errors import StorageError


class QuarantineFolder:
    """A locked working folder inside the quarantine; ``remove()`` (or leaving the ``with``) deletes it."""

    def __init__(self, quarantine_dir: Path, prefix: str) -> None:
        root = Path(quarantine_dir)
        if root.is_symlink():
            raise StorageError("The quarantine folder is a symbolic link; point the data folder at a real directory.")
        try:
            root.mkdir(parents=True, exist_ok=True)
            self.path = Path(tempfile.mkdtemp(prefix=prefix, dir=root))
            self._lock: int | None = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY)
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            raise StorageError(
                f"Cannot create a working folder in the quarantine {root} ({exc.strerror}); "
                "check the disk and its permissions."
            ) from exc

    def remove(self) -> None:
        """Delete the folder and everything in it; raises if identifiable files would stay behind."""
        shutil.rmtree(self.path, ignore_errors=True)
        if self.path.exists():
            try:
                shutil.rmtree(self.path)  # second try, letting the error say why
            except OSError as exc:
                raise StorageError(
                    f"Cannot remove a working folder in the quarantine ({exc.strerror}); it holds unprocessed "
                    "files: delete it by hand or restart CaseDeck to wipe it."
                ) from exc
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def __enter__(self) -> Path:
        return self.path

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.remove()


def _held_by_someone(entry: Path) -> bool:
    try:
        fd = os.open(entry, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops the probe's lock too
    return False


def wipe_quarantine(quarantine_dir: Path) -> None:
    """Remove everything a crash left in the quarantine; call once at start-up.

    Folders that a running CaseDeck process holds are left alone. Raises
    :class:`~casefiles.errors.StorageError` if something cannot be removed:
    identifiable data must not be left behind silently.
    """
    root = Path(quarantine_dir)
    if root.is_symlink():
        raise StorageError("The quarantine folder is a symbolic link; point the data folder at a real directory.")
    try:
        root.mkdir(parents=True, exist_ok=True)
        for entry in root.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                if not _held_by_someone(entry):
                    shutil.rmtree(entry)
            else:
                entry.unlink()
    except OSError as exc:
        raise StorageError(
            f"Cannot empty the quarantine folder {root} ({exc.strerror}); check its permissions."
        ) from exc
