"""The encrypted review area: original pixels of images that wait for a person's review.

An image whose burned-in text could not be cleared with confidence enters the library
blanked; its original waits here until a reviewer confirms the boxes (then the cleaned
image is made from it and it is discarded) or until the retention limit passes. The area
lives outside the store (``Settings.review_area_dir``), is never exported, and holds
nothing in the clear:

* key: HKDF-SHA256 of the installation secret (``info=b"casedeck review area v1"``);
* cipher: AES-256-GCM, a random 96-bit nonce per item, and the item's id (plus the header)
  as associated data, so one item's file cannot be passed off as another's;
* file: ``MAGIC + version + created (unix seconds) + key check + nonce + ciphertext``.
  The key check (8 bytes from HKDF with another ``info``) tells "the key changed" apart
  from "the file was altered", so each gets a message the user can act on. The creation
  time is authenticated too, and read without the key, so expired items are purged even
  when the key is lost.

Ids are random (never derived from the data). Writes are atomic (temporary file, fsync,
rename, fsync of the folder) under an exclusive lock, which also keeps the size limit
exact when several processes store at once. Files are 0600, the folder 0700. Discarding
overwrites a file with zeros before unlinking it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import os
import re
import secrets
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from casefiles.errors import ReviewAreaError, StorageError, ValidationError

if TYPE_CHECKING:
    from casefiles.config import Settings

__all__ = ["ReviewArea"]

MAGIC = b"CDRA"
VERSION = 1
KEY_INFO = b"casedeck review area v1"
CHECK_INFO = b"casedeck review area v1 key check"
NONCE_BYTES = 12
TAG_BYTES = 16
# magic, version, created (unix seconds), key check
_HEADER = struct.Struct(">4sBQ8s")
_PREFIX_BYTES = _HEADER.size + NONCE_BYTES
SUFFIX = ".rva"
_TMP_PREFIX = ".tmp-"
_LOCK_NAME = ".lock"
_ID = re.compile(r"[0-9a-f]{32}")
#: a temporary file this old is left over from a crash, not a write in progress
_STALE_TMP_SECONDS = 3600
_WIPE_CHUNK = 1 << 20

FULL_MESSAGE = "The review area is full: nothing was stored; finish or discard pending reviews, or raise the limit."
KEY_MESSAGE = (
    "This image's original in the review area cannot be opened: the installation's secret key changed "
    "or is missing; the original cannot be shown; blank the image by hand or discard it."
)
DAMAGED_MESSAGE = (
    "This image's original in the review area is damaged or was altered; the original cannot be shown; "
    "blank the image by hand or discard it."
)
GONE_MESSAGE = (
    "This image's original is no longer in the review area (it was confirmed, discarded, or passed the "
    "retention limit); blank the image by hand or discard it."
)


def _derive(secret: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(secret)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _is_full(exc: OSError) -> bool:
    return exc.errno in {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


class ReviewShelf(Protocol):
    """What imports and the review flow need of the review area (tests may pass their own)."""

    def put(self, data: bytes) -> str: ...
    def get(self, item_id: str) -> bytes: ...
    def discard(self, item_id: str) -> None: ...


class PendingOriginals:
    """Originals one import put in the review area, discarded unless the import finishes.

    An import keeps each held image's original as it goes; if it is cancelled or fails before
    its cases are saved, no case refers to them, so :meth:`discard` wipes them at once rather
    than leaving them to the retention limit.
    """

    def __init__(self, area: ReviewShelf | None) -> None:
        self._area = area
        self._items: list[str] = []

    def keep(self, original: bytes) -> str:
        """Store a held image's original; without a review area the image cannot be stored at all."""
        if self._area is None:
            raise ReviewAreaError("there is no review area to keep its original in.")
        item = self._area.put(original)
        self._items.append(item)
        return item

    def settled(self) -> None:
        """The import's cases are saved: its originals now wait for their reviewers."""
        self._items.clear()

    def discard(self) -> None:
        if self._area is not None:
            for item in self._items:
                self._area.discard(item)
        self._items.clear()


class ReviewArea:
    """Encrypted, size-limited, self-expiring storage of originals that wait for review."""

    def __init__(
        self,
        folder: Path,
        secret: bytes,
        *,
        max_bytes: int = 2 * 1024**3,
        retention: dt.timedelta = dt.timedelta(days=30),
    ) -> None:
        if not secret:
            raise ReviewAreaError(KEY_MESSAGE)
        if max_bytes <= 0:
            raise ValidationError("The review area's size limit must be a positive number of bytes.")
        if retention <= dt.timedelta(0):
            raise ValidationError("The review area's retention must be longer than zero.")
        self.folder = Path(folder)
        self.max_bytes = max_bytes
        self.retention = retention
        self._aead = AESGCM(_derive(secret, KEY_INFO, 32))
        self._key_check = _derive(secret, CHECK_INFO, 8)

    @classmethod
    def for_settings(cls, settings: Settings, secret: bytes, *, max_bytes: int = 2 * 1024**3) -> ReviewArea:
        """The installation's review area: its folder and retention come from the settings."""
        return cls(
            settings.review_area_dir,
            secret,
            max_bytes=max_bytes,
            retention=dt.timedelta(days=settings.review_retention_days),
        )

    # -- storing and reading -------------------------------------------------------------

    def put(self, data: bytes) -> str:
        """Encrypt ``data`` and store it; returns its new random id.

        Raises ReviewAreaError when the area is full (the limit would be exceeded or the disk is
        full): nothing is stored then, and the caller must refuse the image.
        """
        size = _PREFIX_BYTES + len(data) + TAG_BYTES
        if size > self.max_bytes:
            raise ReviewAreaError(FULL_MESSAGE)
        self._ensure_folder()
        with self._locked():
            if self._bytes_on_disk() + size > self.max_bytes:
                raise ReviewAreaError(FULL_MESSAGE)
            item_id = secrets.token_hex(16)
            while self._path(item_id).exists():  # pragma: no cover - 128 random bits
                item_id = secrets.token_hex(16)
            header = _HEADER.pack(MAGIC, VERSION, int(time.time()), self._key_check)
            nonce = os.urandom(NONCE_BYTES)
            sealed = self._aead.encrypt(nonce, data, header + b"\x00" + item_id.encode("ascii"))
            self._write_atomically(item_id, header + nonce + sealed)
        return item_id

    def get(self, item_id: str) -> bytes:
        """The original stored under ``item_id``, decrypted and authenticated."""
        path = self._path(item_id)
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            raise ReviewAreaError(GONE_MESSAGE) from None
        except OSError as exc:
            raise StorageError(f"The review area cannot be read ({exc.strerror}).") from None
        if len(blob) < _PREFIX_BYTES + TAG_BYTES:
            raise ReviewAreaError(DAMAGED_MESSAGE)
        header = blob[: _HEADER.size]
        magic, version, _created, key_check = _HEADER.unpack(header)
        if magic != MAGIC or version != VERSION:
            raise ReviewAreaError(DAMAGED_MESSAGE)
        if not secrets.compare_digest(key_check, self._key_check):
            raise ReviewAreaError(KEY_MESSAGE)
        nonce = blob[_HEADER.size : _PREFIX_BYTES]
        try:
            return self._aead.decrypt(nonce, blob[_PREFIX_BYTES:], header + b"\x00" + item_id.encode("ascii"))
        except InvalidTag:
            raise ReviewAreaError(DAMAGED_MESSAGE) from None

    # -- removing ------------------------------------------------------------------------

    def discard(self, item_id: str) -> None:
        """Overwrite and remove one item; an item that is already gone is fine."""
        self._shred(self._path(item_id))

    def purge_expired(self, now: dt.datetime | None = None) -> int:
        """Remove items older than the retention limit (and temporary files left by a crash).

        Returns how many items were removed. Works without the key: the creation time is read
        from the header (an unreadable header falls back to the file's modification time).
        """
        now_ts = (now or dt.datetime.now(dt.UTC)).timestamp()
        cutoff = now_ts - self.retention.total_seconds()
        removed = 0
        for path in self._items():
            created = self._created(path)
            if created is not None and created < cutoff:
                self._shred(path)
                removed += 1
        for path in self._temporaries():
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < now_ts - _STALE_TMP_SECONDS:
                    self._shred(path)
        return removed

    def wipe(self) -> int:
        """Remove every item (and any temporary file); returns how many items were removed."""
        if not self.folder.is_dir():
            return 0
        removed = 0
        with self._locked():  # waits for a store in progress, so it cannot slip past
            for path in self._items():
                self._shred(path)
                removed += 1
            for path in self._temporaries():
                self._shred(path)
        return removed

    def usage(self) -> tuple[int, int]:
        """(items, bytes) held now."""
        count = total = 0
        for path in self._items():
            with contextlib.suppress(FileNotFoundError):
                total += path.stat().st_size
                count += 1
        return count, total

    # -- internals -----------------------------------------------------------------------

    def _path(self, item_id: str) -> Path:
        if not isinstance(item_id, str) or not _ID.fullmatch(item_id):
            raise ValidationError("That is not an item of the review area.")
        return self.folder / f"{item_id}{SUFFIX}"

    def _ensure_folder(self) -> None:
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            if self.folder.stat().st_mode & 0o777 != 0o700:
                self.folder.chmod(0o700)
        except OSError as exc:
            raise StorageError(f"The review area cannot be created ({exc.strerror}); nothing was stored.") from None

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self.folder / _LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _entries(self) -> list[Path]:
        try:
            return [p for p in self.folder.iterdir() if p.is_file()]
        except FileNotFoundError:
            return []

    def _items(self) -> list[Path]:
        return [p for p in self._entries() if p.name.endswith(SUFFIX) and _ID.fullmatch(p.name.removesuffix(SUFFIX))]

    def _temporaries(self) -> list[Path]:
        return [p for p in self._entries() if p.name.startswith(_TMP_PREFIX)]

    def _bytes_on_disk(self) -> int:
        total = 0
        for path in self._entries():
            if path.name == _LOCK_NAME:
                continue
            with contextlib.suppress(FileNotFoundError):
                total += path.stat().st_size
        return total

    def _write_atomically(self, item_id: str, blob: bytes) -> None:
        final = self._path(item_id)
        tmp = self.folder / f"{_TMP_PREFIX}{secrets.token_hex(8)}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                _write_all(fd, blob)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(tmp, final)
            _fsync_dir(self.folder)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            with contextlib.suppress(OSError):
                final.unlink()
            if _is_full(exc):
                raise ReviewAreaError(FULL_MESSAGE) from None
            raise StorageError(f"The review area cannot be written ({exc.strerror}); nothing was stored.") from None

    def _created(self, path: Path) -> float | None:
        try:
            with path.open("rb") as handle:
                head = handle.read(_HEADER.size)
            if len(head) == _HEADER.size:
                magic, version, created, _check = _HEADER.unpack(head)
                if magic == MAGIC and version == VERSION:
                    return float(created)
            return path.stat().st_mtime
        except FileNotFoundError:
            return None

    @staticmethod
    def _shred(path: Path) -> None:
        """Overwrite a file with zeros, flush, unlink; a missing file is not an error."""
        try:
            fd = os.open(path, os.O_WRONLY)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StorageError(f"An item of the review area cannot be removed ({exc.strerror}).") from None
        try:
            remaining = os.fstat(fd).st_size
            zeros = bytes(min(remaining, _WIPE_CHUNK))
            while remaining > 0:
                chunk = min(remaining, _WIPE_CHUNK)
                _write_all(fd, zeros[:chunk])
                remaining -= chunk
            os.fsync(fd)
        except OSError:
            pass  # still unlink below: removing the item matters more than overwriting it
        finally:
            os.close(fd)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StorageError(f"An item of the review area cannot be removed ({exc.strerror}).") from None
        with contextlib.suppress(OSError):
            _fsync_dir(path.parent)
