"""Unpacking a zip the user gave without trusting anything it says about itself.

Member names are checked but never used as file names: members are written
under numbered names inside the import's quarantine, so no name can escape it
and no patient name ends up on disk. Nor are they ever shown: members are
named by position ("item 3 of 40 in the zip"), since the folders inside a
zip are often named after the patient. Sizes are counted as bytes come out of
the decompressor; the header sizes are only used to refuse early. A zip that
breaks a limit is rejected whole: whatever was already unpacked from it is
deleted, and the other sources of the import go on.
"""

from __future__ import annotations

import re
import shutil
import stat
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from casefiles.errors import ValidationError
from casefiles.progress import NEVER_CANCELLED, CancelToken

_CHUNK = 1 << 16
_DRIVE = re.compile(r"^[A-Za-z]:")
_SUPPORTED_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
_METHOD_NAMES = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "LZMA", 9: "Deflate64"}

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
"""How a zip file starts (a member, or the end record of an empty zip)."""

NESTED_ZIP = "zip inside a zip is not supported; unzip the outer zip and import its folder"


@dataclass(frozen=True, slots=True)
class ZipLimits:
    """How far one zip may expand before it is treated as a zip bomb.

    ``max_ratio`` is checked per member against its compressed size, once the
    member has produced more than ``ratio_grace_bytes``: a single blank image
    compresses a thousand-fold and must not get a whole study rejected.
    """

    max_total_bytes: int = 4 * 1024**3
    max_members: int = 100_000
    max_ratio: float = 200
    ratio_grace_bytes: int = 16 * 1024**2

    def __post_init__(self) -> None:
        for name in ("max_total_bytes", "max_members", "ratio_grace_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValidationError(f"Zip limit {name} must be a whole number ≥ 0 (got {value!r}).")
        ratio = self.max_ratio
        if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not ratio >= 1:
            raise ValidationError(f"Zip limit max_ratio must be a number ≥ 1 (got {ratio!r}).")


DEFAULT_ZIP_LIMITS = ZipLimits()


@dataclass(frozen=True, slots=True)
class Unpacked:
    """A zip member written to the quarantine: its position among the members, its name, where it is now.

    ``number`` counts the members that are files (not folders, not OS junk)
    from 1, in the zip's order. ``name`` is the member's name inside the zip,
    for looking members up; it may name the patient, so it is never shown.
    """

    number: int
    name: str
    path: Path


@dataclass(frozen=True, slots=True)
class MemberProblem:
    """Why a member (``number``, as in :class:`Unpacked`), or the zip itself (``None``), was not unpacked."""

    number: int | None
    reason: str


@dataclass(frozen=True, slots=True)
class UnpackResult:
    """The members that were unpacked, the problems met, and how many files the zip held."""

    files: tuple[Unpacked, ...]
    problems: tuple[MemberProblem, ...]
    members_seen: int


class _LimitExceeded(Exception):
    """Internal: the zip is rejected whole for the reason given."""


def human_size(n: int) -> str:
    """``4294967296`` -> ``"4 GiB"``; used in messages about limits."""
    size = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            text = f"{size:.1f}".removesuffix(".0") if unit != "bytes" else str(int(size))
            return f"{text} {unit}"
        size /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def is_junk(parts: tuple[str, ...]) -> bool:
    """Operating-system litter that nobody wants reported: .DS_Store, Thumbs.db, __MACOSX/ ..."""
    if any(p.lower() in _JUNK_DIRS for p in parts[:-1]):
        return True
    name = parts[-1] if parts else ""
    return name.lower() in _JUNK_FILES or name.startswith("._")


_JUNK_DIRS = {"__macosx", ".spotlight-v100", ".trashes", ".fseventsd", "$recycle.bin", "system volume information"}
_JUNK_FILES = {".ds_store", "thumbs.db", "ehthumbs.db", "desktop.ini", ".directory"}


def unsafe_path_reason(name: str) -> str | None:
    """Why a member name could write outside its folder, or ``None`` if it cannot."""
    if name.startswith(("/", "\\")):
        return "unsafe path in zip (absolute path)"
    if _DRIVE.match(name):
        return "unsafe path in zip (drive letter)"
    if any(part == ".." for part in re.split(r"[\\/]", name)):
        return "unsafe path in zip (../)"
    if "\x00" in name:
        return "unsafe path in zip (NUL character)"
    return None


def unpack_zip(
    archive: Path,
    dest: Path,
    *,
    limits: ZipLimits = DEFAULT_ZIP_LIMITS,
    cancel: CancelToken = NEVER_CANCELLED,
) -> UnpackResult:
    """Unpack the safe members of ``archive`` into the new directory ``dest``.

    Members and their problems are numbered by position, for the caller
    to name them so ("item 3 of 40 in the zip"); member names are never shown.
    Nested zips are reported, not opened.
    """
    dest.mkdir()
    problems: list[MemberProblem] = []
    files: list[Unpacked] = []
    seen = 0
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
            _check_declared_sizes(infos, limits)
            total = 0
            for info in infos:
                cancel.raise_if_cancelled()
                if info.is_dir():
                    continue
                parts = tuple(p for p in re.split(r"[\\/]", info.filename) if p)
                if not parts or is_junk(parts):
                    continue
                seen += 1
                reason = _refusal(info)
                if reason is not None:
                    problems.append(MemberProblem(seen, reason))
                    continue
                target = dest / f"m{len(files):06d}"
                try:
                    total = _copy_member(zf, info, target, total, limits)
                except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                    target.unlink(missing_ok=True)
                    problems.append(MemberProblem(seen, f"damaged zip member ({_zip_error(exc)})"))
                    continue
                files.append(Unpacked(seen, info.filename, target))
    except _LimitExceeded as exc:
        shutil.rmtree(dest, ignore_errors=True)
        problems.append(MemberProblem(None, f"{exc}; nothing was imported from this zip"))
        return UnpackResult((), tuple(problems), seen)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        shutil.rmtree(dest, ignore_errors=True)
        problems.append(MemberProblem(None, f"damaged zip file ({_zip_error(exc)})"))
        return UnpackResult((), tuple(problems), seen)
    return UnpackResult(tuple(files), tuple(problems), seen)


def _check_declared_sizes(infos: list[zipfile.ZipInfo], limits: ZipLimits) -> None:
    """Refuse early what the header already admits to; the copy re-checks real bytes."""
    if len(infos) > limits.max_members:
        raise _LimitExceeded(f"zip holds more than {limits.max_members:,} files, the limit")
    if sum(i.file_size for i in infos) > limits.max_total_bytes:
        raise _LimitExceeded(f"zip expands beyond the {human_size(limits.max_total_bytes)} limit")
    for info in infos:
        if info.file_size > _member_allowance(info, limits):
            raise _LimitExceeded(_ratio_message(limits))


def _member_allowance(info: zipfile.ZipInfo, limits: ZipLimits) -> int:
    return max(limits.ratio_grace_bytes, int(limits.max_ratio * max(info.compress_size, 1)))


def _ratio_message(limits: ZipLimits) -> str:
    return f"a zip member expands more than {limits.max_ratio:g} times (a zip bomb)"


def _refusal(info: zipfile.ZipInfo) -> str | None:
    reason = unsafe_path_reason(info.filename)
    if reason is not None:
        return reason
    mode = info.external_attr >> 16
    if info.create_system == 3 and stat.S_ISLNK(mode):
        return "symbolic link in zip; not followed"
    if info.flag_bits & 0x1:
        return "encrypted zip member; unzip it with its password first"
    if info.compress_type not in _SUPPORTED_METHODS:
        method = _METHOD_NAMES.get(info.compress_type, f"method {info.compress_type}")
        return f"zip member compressed with {method}, which is not supported; re-zip it with standard compression"
    if info.filename.lower().endswith(".zip"):
        return NESTED_ZIP
    return None


def _copy_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, total: int, limits: ZipLimits) -> int:
    """Stream one member to ``target``, counting real bytes; return the new running total."""
    allowance = _member_allowance(info, limits)
    written = 0
    with zf.open(info) as src, open(target, "xb") as out:
        for chunk in _chunks(src):
            written += len(chunk)
            total += len(chunk)
            if total > limits.max_total_bytes:
                raise _LimitExceeded(f"zip expands beyond the {human_size(limits.max_total_bytes)} limit")
            if written > allowance:
                raise _LimitExceeded(_ratio_message(limits))
            out.write(chunk)
    return total


def _chunks(src: IO[bytes]) -> Iterator[bytes]:
    while chunk := src.read(_CHUNK):
        yield chunk


def _zip_error(exc: BaseException) -> str:
    text = str(exc).lower()
    if "crc" in text:
        return "checksum mismatch"
    if isinstance(exc, NotImplementedError):
        return "uses a feature this program cannot read"
    if isinstance(exc, EOFError) or "truncated" in text or "end of" in text:
        return "it ends too early"
    return "its structure is invalid"
