"""Content-addressed files on local disk: ``blobs/ab/abcdef…``.

Writes go to a temporary file in the same directory and are renamed into
place, so a crash never leaves a half-written blob under a valid name.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from casefiles.errors import NotFoundError, StorageError, ValidationError

_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1 << 20


class LocalBlobStore:
    """A :class:`~casefiles.store.BlobStore` in a directory."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"Cannot create the blob directory {self.root}: {exc.strerror}.") from exc

    def _path_for(self, digest: str) -> Path:
        if not _DIGEST.match(digest):
            raise ValidationError("A blob reference is malformed (expected a SHA-256 hex digest).")
        return self.root / digest[:2] / digest

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        target = self._path_for(digest)
        if target.exists():
            return digest
        self._write_atomically(target, data)
        return digest

    def put_file(self, path: Path) -> str:
        hasher = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(_CHUNK), b""):
                hasher.update(chunk)
        digest = hasher.hexdigest()
        target = self._path_for(digest)
        if not target.exists():
            self._write_atomically(target, Path(path).read_bytes())
        return digest

    def _write_atomically(self, target: Path, data: bytes) -> None:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    fh.flush()
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
