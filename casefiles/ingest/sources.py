"""Turning what the user gave (files, folders, zips, DICOMDIRs, uploads) into a list of files to read.

Folders are read in place; uploads and zip members are written into the
import's quarantine under numbered names. Every file gets a label for the
problems shown on screen and printed by the CLI, made of positions only:
"file 14 of 500", "item 3 of 40 in the zip", "upload 2 of 5", "DICOMDIR
record 12", joined as "source 2 of 3, file 7 of 20, item 3 of 40 in the zip".
No file or folder name is ever shown: on CDs, shares and in zips they often
hold the patient's name, MRN or study date. Files are numbered in the order
they are read: a folder's files by name, then its sub-folders by name.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
from pydicom.multival import MultiValue

from casefiles.errors import ValidationError
from casefiles.ingest.report import ImportProblem, Upload
from casefiles.ingest.zipsafe import (
    DEFAULT_ZIP_LIMITS,
    ZIP_MAGIC,
    ZipLimits,
    is_junk,
    unpack_zip,
)
from casefiles.progress import NEVER_CANCELLED, CancelToken


@dataclass(frozen=True, slots=True)
class Found:
    """A file to read: how the user knows it (by position), where it is, and whether it came out of a zip."""

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
    uploads = sum(1 for s in sources if isinstance(s, Upload))
    paths = sum(1 for s in sources if isinstance(s, Path))
    upload_no = path_no = 0
    for source in sources:
        cancel.raise_if_cancelled()
        if isinstance(source, Upload):
            upload_no += 1
            walker.upload(source, (_Step("upload", upload_no, _Total(uploads)),))
        elif isinstance(source, Path):
            path_no += 1
            walker.path(source, (_Step("source", path_no, _Total(paths)),) if paths > 1 else ())
        else:
            raise ValidationError(f"An import source must be a Path or an Upload, not {type(source).__name__}.")
    return walker.finish()


class _Total:
    """How many items a container holds: known only once it has been walked, so shared and filled in."""

    __slots__ = ("n",)

    def __init__(self, n: int = 0) -> None:
        self.n = n


@dataclass(frozen=True, slots=True)
class _Step:
    """One level of a position: "file 14 of 500", "DICOMDIR record 3" (no total)."""

    noun: str
    number: int
    total: _Total | None = None
    tail: str = ""

    def text(self) -> str:
        of = f" of {self.total.n}" if self.total is not None else ""
        return f"{self.noun} {self.number}{of}{self.tail}"


_Where = tuple[_Step, ...]


def _label(where: _Where, alone: str) -> str:
    """The position as shown; ``alone`` names the thing when it is the only one the user chose."""
    return ", ".join(step.text() for step in where) or alone


class _Walker:
    def __init__(self, work: Path, limits: ZipLimits, cancel: CancelToken) -> None:
        self.work = work
        self.limits = limits
        self.cancel = cancel
        self.files_seen = 0
        self._found: list[tuple[_Where, Path, bool]] = []
        self._problems: list[tuple[_Where, str, str]] = []
        self._serial = 0

    def finish(self) -> Gathered:
        """Labels are made only now, when every folder's and zip's number of files is known."""
        return Gathered(
            files=[Found(_label(where, "the file chosen"), path, from_zip) for where, path, from_zip in self._found],
            problems=[ImportProblem(_label(where, alone), reason) for where, alone, reason in self._problems],
            files_seen=self.files_seen,
        )

    def _next_name(self, prefix: str) -> Path:
        self._serial += 1
        return self.work / f"{prefix}{self._serial:06d}"

    def problem(self, where: _Where, reason: str, alone: str = "the file chosen") -> None:
        self._problems.append((where, alone, reason))

    # -- uploads -----------------------------------------------------------------
    def upload(self, upload: Upload, where: _Where) -> None:
        """An upload is named by its number only: the name the browser gave may be the patient's."""
        name = os.path.basename(upload.name.replace("\\", "/")) if upload.name else ""
        if is_junk((name,)):
            return
        self.files_seen += 1
        if len(upload.data) == 0:
            self.problem(where, "empty file")
            return
        target = self._next_name("u")
        with open(target, "xb") as fh:
            fh.write(upload.data)
        if bytes(upload.data[:4]) in ZIP_MAGIC:
            self.files_seen -= 1  # the zip's members are counted instead
            self._unzip(target, where)
        else:
            self._found.append((where, target, False))

    # -- paths ---------------------------------------------------------------------
    def path(self, path: Path, where: _Where) -> None:
        """A file or folder the user named; a link they chose is followed, links inside are not."""
        try:
            path = path.resolve() if path.is_symlink() else path
            is_dir, is_file = path.is_dir(), path.is_file()
        except OSError:  # its message names the path: never shown
            self.problem(where, "cannot be read (permission denied or a disc error)", "what was chosen")
            return
        if is_dir:
            self._folder(path, where)
        elif is_file:
            if path.name.upper() == "DICOMDIR":
                self._dicomdir(path, where, add_files=True)
            else:
                self._file(path, where)
        else:
            self.problem(where, "not found (it may have been moved or the disc ejected)", "what was chosen")

    def _file(self, path: Path, where: _Where) -> None:
        self.files_seen += 1
        try:
            with open(path, "rb") as fh:
                head = fh.read(4)
        except OSError:
            self.problem(where, "cannot be read (permission denied or a disc error)")
            return
        if not head:
            self.problem(where, "empty file")
        elif head in ZIP_MAGIC:
            self.files_seen -= 1
            self._unzip(path, where)
        else:
            self._found.append((where, path, False))

    def _unzip(self, archive: Path, where: _Where) -> None:
        unpacked = unpack_zip(archive, self._next_name("z"), limits=self.limits, cancel=self.cancel)
        seen = unpacked.members_seen
        self.files_seen += seen
        for problem in unpacked.problems:
            if problem.number is None:
                self.problem(where, problem.reason, "the zip")
            else:
                self.problem((*where, _member(problem.number, seen)), problem.reason)
        self._found.extend(((*where, _member(u.number, seen)), u.path, True) for u in unpacked.files)

    def _folder(self, root: Path, where: _Where) -> None:
        total = _Total()

        def entry() -> _Where:
            total.n += 1
            return (*where, _Step("file", total.n, total))

        unreadable: list[OSError] = []
        for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable.append, followlinks=False):
            self.cancel.raise_if_cancelled()
            here = Path(dirpath)
            rel_dir = here.relative_to(root).parts
            dirnames[:] = sorted(d for d in dirnames if not is_junk((*rel_dir, d, "x")))
            for name in sorted(filenames):
                if is_junk((*rel_dir, name)):
                    continue
                path = here / name
                if path.is_symlink():
                    self.problem(entry(), "symbolic link; not followed")
                elif name.upper() == "DICOMDIR":
                    self._dicomdir(path, entry(), add_files=False)
                elif path.is_file():
                    self._file(path, entry())
            for d in dirnames:
                if (here / d).is_symlink():
                    self.problem(entry(), "symbolic link to a folder; not followed")
        if unreadable:
            self.problem(
                where,
                f"{len(unreadable)} folder(s) in it cannot be read (permission denied or a disc error); "
                "their files were not imported",
                "the folder chosen",
            )

    # -- DICOMDIR ------------------------------------------------------------------
    def _dicomdir(self, path: Path, where: _Where, *, add_files: bool) -> None:
        """Check a DICOMDIR's records; with ``add_files``, also queue the files it lists.

        In a folder walk the listed files are found by the walk itself, so the
        DICOMDIR only adds reports of records whose file is missing. Records
        are named by their number in the DICOMDIR.
        """
        self.files_seen += 1
        try:
            references = _references(path)
        except Exception:  # pydicom raises many kinds of error on a damaged file
            self.problem(where, "damaged DICOMDIR; the other files are still imported", "the DICOMDIR")
            return
        folder = path.parent
        listing = _Listing()
        for number, parts in references:
            record = (*where, _Step("DICOMDIR record", number))
            if not parts or any(not p or p in {".", ".."} or "/" in p or "\\" in p for p in parts):
                self.problem(record, "DICOMDIR record points outside its folder; ignored")
                continue
            target = listing.resolve(folder, parts)
            if target is None:
                self.problem(record, "DICOMDIR points at a missing file")
            elif add_files:
                self._file(target, record)


def _member(number: int, seen: int) -> _Step:
    """A zip member by its position among the zip's files: "item 3 of 40 in the zip"."""
    return _Step("item", number, _Total(seen), " in the zip")


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
        try:
            return self._resolve(folder, parts)
        except OSError:  # a folder of the disc that cannot be read: the file cannot be reached
            return None

    def _resolve(self, folder: Path, parts: list[str]) -> Path | None:
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
