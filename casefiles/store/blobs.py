"""Content-addressed files on local disk: ``blobs/ab/abcdef…``.

Writes go to a temporary file in the same directory and are renamed into
place, so a crash never leaves a half-written blob under a valid name.

Each write is made durable (fsync) before it returns, except in a store
opened with ``sync_each=False`` (an import's worker processes, issue #18):
there the import makes all its blobs durable at once with :meth:`sync`
before any case refers to them, which saves a disk flush per image. A blob
a crash left short before that sync is written again by the next ``put`` of
its content (its size is checked), so a short file never passes for a blob.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import hashlib
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, cast

from casefiles.errors import NotFoundError, StorageError, ValidationError

_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1 << 20


class LocalBlobStore:
    """A :class:`~casefiles.store.BlobStore` in a directory."""

    def __init__(self, root: Path, *, sync_each: bool = True) -> None:
        self.root = Path(root)
        self._sync_each = sync_each
        try:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)  # readable by CaseDeck's user only
        except OSError as exc:
            raise StorageError(f"Cannot create the blob directory {self.root}: {exc.strerror}.") from exc

    def _path_for(self, digest: str) -> Path:
        if not _DIGEST.match(digest):
            raise ValidationError("A blob reference is malformed (expected a SHA-256 hex digest).")
        return self.root / digest[:2] / digest

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        target = self._path_for(digest)
        if _holds(target, len(data)):
            return digest
        self._write_atomically(target, data)
        return digest

    def sync(self) -> None:
        """Make every blob written so far durable, by any process (one flush of the disk, not one per blob)."""
        try:
            _sync_filesystem(self.root)
        except OSError as exc:
            raise StorageError(f"Cannot write the stored files to disk ({exc.strerror}); is the disk full?") from exc

    def put_file(self, path: Path) -> str:
        hasher = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(_CHUNK), b""):
                hasher.update(chunk)
        digest = hasher.hexdigest()
        target = self._path_for(digest)
        if not _holds(target, Path(path).stat().st_size):
            self._write_atomically(target, Path(path).read_bytes())
        return digest

    def _write_atomically(self, target: Path, data: bytes) -> None:
        try:
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    if self._sync_each:
                        os.fsync(fh.fileno())  # a power cut must not leave an empty file under a valid digest
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise StorageError(f"Cannot write to the blob store ({exc.strerror}); is the disk full?") from exc

    def get(self, digest: str) -> bytes:
        path = self.path(digest)
        return path.read_bytes()

    def open(self, digest: str) -> BinaryIO:
        """The blob as a file to stream from (videos, slides and packages need not fit in memory)."""
        try:
            return open(self.path(digest), "rb")
        except OSError as exc:
            raise NotFoundError("A stored file of this case is missing from the blob store.") from exc

    def path(self, digest: str) -> Path:
        path = self._path_for(digest)
        if not path.is_file():
            raise NotFoundError("A stored file of this case is missing from the blob store.")
        return path

    def exists(self, digest: str) -> bool:
        return self._path_for(digest).is_file()

    def delete(self, digest: str) -> None:
        try:
            self._path_for(digest).unlink(missing_ok=True)
        except OSError as exc:
            raise StorageError(f"Cannot remove a stored file ({exc.strerror}).") from exc

    def digests(self) -> Iterator[str]:
        for sub in sorted(self.root.iterdir()):
            if sub.is_dir():
                for item in sorted(sub.iterdir()):
                    if _DIGEST.match(item.name):
                        yield item.name


def _holds(target: Path, size: int) -> bool:
    """Whether ``target`` is a whole blob of ``size`` bytes (a crash before a sync can leave it short)."""
    try:
        return target.stat().st_size == size
    except OSError:
        return False


@functools.cache
def _libc_syncfs() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    function = getattr(ctypes.CDLL(name, use_errno=True), "syncfs", None)
    if function is None:
        return None
    function.argtypes = [ctypes.c_int]
    return cast("Callable[[int], int]", function)


def _sync_filesystem(root: Path) -> None:
    """syncfs(2) on the file system holding ``root`` where there is one (Linux), else sync(2)."""
    syncfs = _libc_syncfs()
    if syncfs is None:
        os.sync()
        return
    fd = os.open(root, os.O_RDONLY)
    try:
        if syncfs(fd) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, os.strerror(errno))
    finally:
        os.close(fd)
