"""Files that survive several writers, crashes and full disks.

* :func:`locked` takes a cross-process lock (``fcntl.flock`` on a sidecar ``.lock``
  file) plus a thread lock, so the app, the DICOM receiver and a CLI run
  serialise their writes to one file.
* :func:`replace_atomically` writes a temporary file in the same directory,
  fsyncs it, renames it over the target and fsyncs the directory: a reader,
  a crash or a full disk sees the old file or the new one, never a mix.
* :class:`FileStamp` tells a reader whether another process replaced a file
  since it was read (a rename always gives a new inode).

Every file is created 0600 and every directory 0700: the library is nobody
else's business on a shared server.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from casefiles.errors import StorageError

_thread_locks: dict[Path, threading.RLock] = {}
_thread_locks_guard = threading.Lock()
_held = threading.local()


def make_private_dir(path: Path) -> None:
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"Cannot create the library folder ({_why(exc)}).") from exc


def _thread_lock(path: Path) -> threading.RLock:
    with _thread_locks_guard:
        lock = _thread_locks.get(path)
        if lock is None:
            lock = _thread_locks[path] = threading.RLock()
        return lock


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the exclusive lock of ``path`` (re-entrant within a thread)."""
    lock_path = path.with_name(path.name + ".lock")
    thread_lock = _thread_lock(lock_path)
    with thread_lock:
        depth: dict[Path, int] = getattr(_held, "depth", None) or {}
        _held.depth = depth
        if depth.get(lock_path):
            depth[lock_path] += 1
            try:
                yield
            finally:
                depth[lock_path] -= 1
            return
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StorageError(f"Cannot lock the library ({_why(exc)}).") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            depth[lock_path] = 1
            try:
                yield
            finally:
                depth[lock_path] = 0
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


@contextlib.contextmanager
def held_alone(lock_file: Path, busy: str) -> Iterator[None]:
    """Hold ``lock_file`` exclusively for a long job, or raise StorageError(``busy``) at once if another
    process or thread holds it (released by the kernel if the holder dies, even by kill -9)."""
    make_private_dir(lock_file.parent)
    try:
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StorageError(f"Cannot lock the library ({_why(exc)}).") from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise StorageError(busy) from exc
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def replace_atomically(path: Path, data: bytes) -> None:
    """Make ``path`` hold ``data``, all or nothing, durably."""
    fd, tmp = _temp_beside(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise StorageError(f"Cannot save to the library ({_why(exc)}); nothing was changed.") from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def write_new(path: Path, data: bytes) -> None:
    """Write an immutable file once (a content-addressed document); a no-op if it exists."""
    if path.exists():
        return
    make_private_dir(path.parent)
    replace_atomically(path, data)


def append_durably(path: Path, data: bytes, *, mend_torn_end: bool = False) -> None:
    """Append ``data`` and fsync (an append-only log of lines; a torn last line is skipped by its readers).

    A write cut short (a full disk) raises StorageError; it is never taken for a whole one. With
    ``mend_torn_end``, a log whose last line was torn by such a write gets a line break first, so the
    torn line does not swallow the first line appended after it.
    """
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            if mend_torn_end:
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    data = b"\n" + data
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                if written <= 0:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise StorageError(f"Cannot save to the library ({_why(exc)}); nothing was changed.") from exc


def fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _temp_beside(path: Path) -> tuple[int, str]:
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise StorageError(f"Cannot save to the library ({_why(exc)}); nothing was changed.") from exc
    os.fchmod(fd, 0o600)
    return fd, tmp


def _why(exc: OSError) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return "the disk is full"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "no permission to write the data folder"
    return exc.strerror or type(exc).__name__


@dataclass(frozen=True, slots=True)
class FileStamp:
    """Identity of one version of a file: inode, size and modification time."""

    inode: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> FileStamp | None:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageError(f"Cannot read the library ({_why(exc)}).") from exc
        return cls(st.st_ino, st.st_size, st.st_mtime_ns)
