"""Turning what the user gave (files, folders, zips, DICOMDIRs, uploads) into a list of files to read.

Folders are read in place; uploads and zip members are written into the
import's quarantine under numbered names. Every file gets a label relative to
what the user gave ("CD/DICOM/IM1", "study.zip › a/b.dcm", "upload 3 of 12
(x.dcm)") for problems shown on screen; no absolute path is ever shown.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
from pydicom.multival import MultiValue

from casefiles.errors import ValidationError
from casefiles.ingest.report import ImportProblem, Upload
from casefiles.ingest.zipsafe import DEFAULT_ZIP_LIMITS, ZIP_MAGIC, ZipLimits, is_junk, unpack_zip
from casefiles.progress import NEVER_CANCELLED, CancelToken

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True, slots=True)
class Found:
    """A file to read: how the user knows it, where it is, and whether it came out of a zip."""

    item: str
    path: Path
    from_zip: bool = False


@dataclass(slots=True)
class Gathered:
    """Everything found in the sources, before any file is read as DICOM."""

    files: list[Found] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)
    files_seen: int = 0


def gather(
    sources: Sequence[Path | Upload],
    work: Path,
    *,
    limits: ZipLimits = DEFAULT_ZIP_LIMITS,
    cancel: CancelToken = NEVER_CANCELLED,
) -> Gathered:
    """Walk every source; unpack zips and write uploads into ``work`` (the import's quarantine)."""
    walker = _Walker(work, limits, cancel)
    uploads = [s for s in sources if isinstance(s, Upload)]
    upload_no = 0
    for source in sources:
        cancel.raise_if_cancelled()
        if isinstance(source, Upload):
            upload_no += 1
            walker.upload(source, upload_no, len(uploads))
        elif isinstance(source, Path):
            walker.path(source)
        else:
            raise ValidationError(f"An import source must be a Path or an Upload, not {type(source).__name__}.")
    return walker.result


def safe_label(text: str) -> str:
    """A name fit to show: control and direction-changing characters removed."""
    return _CONTROL.sub("", text).strip() or "(unnamed)"


class _Walker:
    def __init__(self, work: Path, limits: ZipLimits, cancel: CancelToken) -> None:
        self.work = work
        self.limits = limits
        self.cancel = cancel
        self.result = Gathered()
        self._serial = 0

    def _next_name(self, prefix: str) -> Path:
        self._serial += 1
        return self.work / f"{prefix}{self._serial:06d}"

    def problem(self, item: str, reason: str) -> None:
        self.result.problems.append(ImportProblem(item, reason))

    # -- uploads -----------------------------------------------------------------
    def upload(self, upload: Upload, number: int, count: int) -> None:
        name = safe_label(os.path.basename(upload.name.replace("\\", "/"))) if upload.name else ""
        item = f"upload {number} of {count}" + (f" ({name})" if name else "")
        if is_junk((name,)):
            return
        self.result.files_seen += 1
        if len(upload.data) == 0:
            self.problem(item, "empty file")
            return
        target = self._next_name("u")
        with open(target, "xb") as fh:
            fh.write(upload.data)
        if bytes(upload.data[:4]) in ZIP_MAGIC:
            self.result.files_seen -= 1  # the zip's members are counted instead
            self._unzip(target, name or item)
        else:
            self.result.files.append(Found(item, target))

    # -- paths ---------------------------------------------------------------------
    def path(self, path: Path) -> None:
        """A file or folder the user named; a link they chose is followed, links inside are not."""
        label = safe_label(path.name)
        path = path.resolve() if path.is_symlink() else path
        if path.is_dir():
            self._folder(path, label)
        elif path.is_file():
            if path.name.upper() == "DICOMDIR":
                self._dicomdir(path, label, add_files=True)
            else:
                self._file(path, label)
        else:
            self.problem(label, "not found (it may have been moved or the disc ejected)")

    def _file(self, path: Path, item: str) -> None:
        self.result.files_seen += 1
        try:
            with open(path, "rb") as fh:
                head = fh.read(4)
        except OSError:
            self.problem(item, "cannot be read (permission denied or a disc error)")
            return
        if not head:
            self.problem(item, "empty file")
        elif head in ZIP_MAGIC:
            self.result.files_seen -= 1
            self._unzip(path, item)
        else:
            self.result.files.append(Found(item, path))

    def _unzip(self, archive: Path, label: str) -> None:
        unpacked = unpack_zip(archive, self._next_name("z"), label=label, limits=self.limits, cancel=self.cancel)
        self.result.files_seen += unpacked.members_seen
        self.result.problems.extend(unpacked.problems)
        self.result.files.extend(Found(u.item, u.path, from_zip=True) for u in unpacked.files)

    def _folder(self, root: Path, base: str) -> None:
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            self.cancel.raise_if_cancelled()
            here = Path(dirpath)
            rel_dir = here.relative_to(root).parts
            dirnames[:] = sorted(d for d in dirnames if not is_junk((*rel_dir, d, "x")))
            for name in sorted(filenames):
                rel = (*rel_dir, name)
                if is_junk(rel):
                    continue
                path = here / name
                item = safe_label("/".join((base, *rel)))
                if path.is_symlink():
                    self.problem(item, "symbolic link; not followed")
                elif name.upper() == "DICOMDIR":
                    self._dicomdir(path, item, add_files=False)
                elif path.is_file():
                    self._file(path, item)
            for d in dirnames:
                if (here / d).is_symlink():
                    self.problem(safe_label("/".join((base, *rel_dir, d))), "symbolic link to a folder; not followed")

    # -- DICOMDIR ------------------------------------------------------------------
    def _dicomdir(self, path: Path, item: str, *, add_files: bool) -> None:
        """Check a DICOMDIR's records; with ``add_files``, also queue the files it lists.

        In a folder walk the listed files are found by the walk itself, so the
        DICOMDIR only adds reports of records whose file is missing.
        """
        self.result.files_seen += 1
        try:
            references = _references(path)
        except Exception:  # pydicom raises many kinds of error on a damaged file
            self.problem(item, "damaged DICOMDIR; the other files are still imported")
            return
        folder = path.parent
        listing = _Listing()
        base = item.rsplit("/", 1)[0] + "/" if "/" in item else ""
        for number, parts in references:
            where = f"{item} record {number}"
            if not parts or any(not p or p in {".", ".."} or "/" in p or "\\" in p for p in parts):
                self.problem(where, "DICOMDIR record points outside its folder; ignored")
                continue
            target = listing.resolve(folder, parts)
            if target is None:
                self.problem(where, "DICOMDIR points at a missing file")
            elif add_files:
                self._file(target, safe_label(base + "/".join(parts)))


def _references(path: Path) -> list[tuple[int, list[str]]]:
    """(record number, path components) of every DICOMDIR record that names a file."""
    ds = pydicom.dcmread(_in_memory(path), force=True)
    out: list[tuple[int, list[str]]] = []
    for number, record in enumerate(ds.DirectoryRecordSequence, start=1):
        ids = record.get("ReferencedFileID")
        if ids is None:
            continue
        parts = [str(p) for p in ids] if isinstance(ids, MultiValue) else [str(ids)]
        out.append((number, [p.strip() for p in parts]))
    return out


class _Listing:
    """Case-insensitive lookup of CD paths (ISO 9660 names are upper case; mounts may lower them)."""

    def __init__(self) -> None:
        self._cache: dict[Path, dict[str, str]] = {}

    def resolve(self, folder: Path, parts: list[str]) -> Path | None:
        current = folder
        for part in parts:
            exact = current / part
            if exact.exists() and not exact.is_symlink():
                current = exact
                continue
            names = self._names(current)
            found = names.get(part.lower())
            if found is None:
                return None
            current = current / found
        if not current.is_file() or current.is_symlink():
            return None
        # a link in a folder of the disc must not lead out of it
        return current if folder.resolve() in current.resolve().parents else None

    def _names(self, folder: Path) -> dict[str, str]:
        names = self._cache.get(folder)
        if names is None:
            try:
                names = {entry.lower(): entry for entry in os.listdir(folder)}
            except OSError:
                names = {}
            self._cache[folder] = names
        return names


def _in_memory(path: Path) -> io.BytesIO:
    """The file's bytes, so pydicom's warnings say "<no filename>" instead of a patient's file name."""
    return io.BytesIO(path.read_bytes())
