"""Library maintenance: copy a library to another store, check its files, back it up and restore it.

Every operation works through the store contract, so it is the same for TinyDB and PostgreSQL:

* :func:`copy_library` copies cases, conferences and settings losslessly and can be
  resumed (what the target already holds unchanged is skipped). ``store migrate`` and
  ``store backup`` are both this copy, to PostgreSQL or to a TinyDB folder.
* :func:`check_library` finds blobs that cases refer to but that are missing, and blobs
  no case refers to (left by an interrupted import, or by a crash between a delete
  and its clean-up); with ``remove_orphans`` it deletes the latter once they are old
  enough that no running import can still be about to refer to them.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

from casefiles.errors import NotFoundError, StorageError
from casefiles.model import Case, Conference
from casefiles.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from casefiles.store import AuditEntry, BlobStore, CaseStore
from casefiles.store.safe_files import held_alone, make_private_dir

_Versioned = TypeVar("_Versioned", Case, Conference)

#: A blob younger than this is never called an orphan: an import writes its files before its case.
ORPHAN_MIN_AGE_S = 3600


#: The setting that names a library: a copy takes it along, and a target that holds another library's
#: (or holds documents but no name) is refused, so two libraries are never merged into one.
LIBRARY_ID = "library_id"


@dataclass(frozen=True, slots=True)
class CopyReport:
    cases_copied: int = 0
    cases_unchanged: int = 0
    conferences: int = 0
    settings: int = 0
    #: ids of cases and conferences the target changed later than the source: kept as they are there
    kept_newer: tuple[str, ...] = ()
    #: with ``files``: files copied, and files the source's cases refer to that it does not have
    files_copied: int = 0
    files_missing: int = 0

    def summary(self) -> str:
        text = (
            f"{self.cases_copied} case(s) copied, {self.cases_unchanged} already there unchanged, "
            f"{self.conferences} conference(s), {self.settings} setting(s)."
        )
        if self.kept_newer:
            text += (
                f" {len(self.kept_newer)} case(s) or conference(s) were edited in the target after this library's "
                "copy and were kept as they are there: " + ", ".join(self.kept_newer[:20])
            )
            text += " …" if len(self.kept_newer) > 20 else "."
        return text


def exclusive_job(lock_file: Path, what: str) -> contextlib.AbstractContextManager[None]:
    """Refuse a second copy of ``what`` (another process or thread) instead of running both."""
    return held_alone(lock_file, f"Another {what} of this library is running; wait for it to finish.")


def library_id(store: CaseStore) -> str | None:
    """The name of the library ``store`` holds, given to it on first use (None: it cannot be written,
    e.g. an older backup on read-only media)."""
    found = store.get_meta(LIBRARY_ID)
    if not found:
        found = uuid.uuid4().hex
        try:
            store.set_meta(LIBRARY_ID, found)
        except StorageError:
            return None
    return found


def _claim(source: CaseStore, target: CaseStore) -> None:
    """Make sure ``target`` is empty or a (partial) copy of ``source`` before anything is written to it."""
    mine = library_id(source)
    there = target.get_meta(LIBRARY_ID)
    if there and there != mine:
        raise StorageError(
            "The target already holds another CaseDeck library (not a copy of this one); nothing was copied, "
            "so nothing there was overwritten. Copy into an empty database or folder."
        )
    if not there:
        held = [
            f"{n} {what}"
            for n, what in (
                (target.count_cases(), "case(s)"),
                (len(target.list_conferences()), "conference(s)"),
                (sum(len(target.list_records(kind)) for kind in target.record_kinds()), "account or link record(s)"),
            )
            if n
        ]
        if target.audit_entries(limit=1):
            held.append("an audit log")
        if held:
            raise StorageError(
                f"The target already holds {', '.join(held)} that did not come from this library; nothing was "
                "copied, so nothing there was overwritten. Copy into an empty database or folder."
            )
    _check_audit_prefix(source, target)
    if not there and mine:
        target.set_meta(LIBRARY_ID, mine)  # from now on a later run resumes this copy


def copy_library(
    source: CaseStore,
    target: CaseStore,
    *,
    files: tuple[BlobStore, BlobStore] | None = None,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> CopyReport:
    """Copy every case, conference and setting of ``source`` into ``target``; resumable.

    ``files`` (source's files, target's files): each copied case's files go first, then its
    document, read once more if a file vanished meanwhile (the case was edited and the file it
    replaced deleted), so a copy taken while the app runs (backup) never holds a case without its
    files; a file the source itself lacks is counted in ``files_missing``.

    ``target`` must be empty or hold an earlier copy of ``source`` (refused otherwise, before anything
    is written), and only one copy goes into a target at a time (:meth:`CaseStore.exclusive`). A case
    already in the target and equal to the source's is skipped; one that differs is replaced by the
    source's (the source is the truth while migrating) unless the target's was edited later or in
    the same second (a library already in use there): that one is kept and named in the report.
    Cancelling stops between cases; a later run goes on where it stopped.
    """
    with target.exclusive("copy"):
        _claim(source, target)
        return _copy(source, target, files, progress, cancel)


def _copy(
    source: CaseStore,
    target: CaseStore,
    files: tuple[BlobStore, BlobStore] | None,
    progress: ProgressFn,
    cancel: CancelToken,
) -> CopyReport:
    ids = [s.id for s in source.summaries()]
    copied = unchanged = 0
    kept: list[str] = []
    counts = [0, 0]  # files copied, missing
    for done, case_id in enumerate(ids):
        cancel.raise_if_cancelled()
        progress(done, len(ids), f"Copying case {done + 1} of {len(ids)}")
        try:
            case = source.get_case(case_id)
        except NotFoundError:
            continue  # deleted while copying
        if files is not None:
            found = _with_its_files(source, case, target, files, counts)
            if found is None:
                continue  # deleted while its files were copied
            case = found
        if target.exists(case_id):
            there = target.get_case(case_id)
            if replace(there, version=0) == replace(case, version=0):
                unchanged += 1
                continue
            if there.updated >= case.updated:  # a tie (times are kept to the second) is not overwritten
                kept.append(case_id)
                continue
            target.update_case(case_id, functools.partial(_taken_from, case))
        else:
            target.save_case(replace(case, version=0))
        copied += 1
    conferences = source.list_conferences()
    for conference in conferences:
        cancel.raise_if_cancelled()
        try:
            stored = target.get_conference(conference.id)
        except NotFoundError:
            target.save_conference(replace(conference, version=0))
            continue
        if replace(stored, version=0) == replace(conference, version=0):
            continue
        if stored.updated >= conference.updated:
            kept.append(conference.id)
            continue
        target.update_conference(conference.id, functools.partial(_taken_from, conference))
    settings = source.meta_items()
    for key, value in settings.items():
        target.set_meta(key, value)
    for kind in source.record_kinds():
        for record in source.list_records(kind):
            stored_record = target.get_record(kind, record.key)
            if stored_record is None:
                target.save_record(replace(record, version=0))
            elif dict(stored_record.data) != dict(record.data):
                target.save_record(replace(record, version=stored_record.version))
    copy_audit(source, target)
    progress(len(ids), len(ids), "Copy finished")
    return CopyReport(copied, unchanged, len(conferences), len(settings), tuple(kept), *counts)


#: How often a case whose files vanish while they are copied is read again before they count as missing.
_FILE_RACE_RETRIES = 5


def _with_its_files(
    source: CaseStore, case: Case, target: CaseStore, files: tuple[BlobStore, BlobStore], counts: list[int]
) -> Case | None:
    """Copy ``case``'s files (those the target lacks); the case as they were copied for (None: deleted)."""
    if target.exists(case.id) and replace(target.get_case(case.id), version=0) == replace(case, version=0):
        return case  # copied by an earlier run, files first
    have, want = files
    for _ in range(_FILE_RACE_RETRIES):
        absent = []
        for digest in sorted({d for asset in case.assets for d in asset.blob_ids}):
            if want.exists(digest):
                continue
            try:
                want.put_file(have.path(digest))
                counts[0] += 1
            except (NotFoundError, FileNotFoundError):  # deleted before or while it was read
                absent.append(digest)
        if not absent:
            return case
        try:
            again = source.get_case(case.id)
        except NotFoundError:
            return None
        if again.version == case.version:
            break  # not a race: the library itself lacks these files
        case = again
    counts[1] += len(absent)
    return case


def _taken_from(source: _Versioned, stale: _Versioned) -> _Versioned:
    """The source's document in place of the target's (keeping the target's version for the check)."""
    return replace(source, version=stale.version)


def _check_audit_prefix(source: CaseStore, target: CaseStore) -> list[AuditEntry]:
    """The target's audit entries, refused unless they are the beginning of the source's."""
    had = target.audit_entries()
    mine = source.audit_entries(limit=len(had)) if had else []
    if [e.hash for e in had] != [e.hash for e in mine]:
        raise StorageError(
            "The target's audit log is not the beginning of this library's (the target was used after the "
            "copy, or holds another library); nothing was copied, so nothing there was overwritten."
        )
    return had


def copy_audit(source: CaseStore, target: CaseStore) -> int:
    """Append the source's audit entries the target lacks; the chain comes out identical (same hashes).

    Refused when the target's log is not a beginning of the source's: audit logs are never merged.
    """
    had = _check_audit_prefix(source, target)
    copied = 0
    for entry in source.audit_entries(after_seq=len(had)):
        appended = target.append_audit(entry.data)
        if appended.hash != entry.hash:
            raise StorageError("The copied audit log did not chain as the original; stop and check both stores.")
        copied += 1
    return copied


@dataclass(frozen=True, slots=True)
class CheckReport:
    cases: int
    referenced: int
    missing: tuple[str, ...]  # case ids with at least one missing file
    missing_files: int
    orphans: int
    orphans_removed: int = 0
    #: cases that cannot be read (damaged or edited by hand), each with the store's reason
    damaged: tuple[tuple[str, str], ...] = ()

    @property
    def problems(self) -> bool:
        """Whether anything needs a person: a missing file or a case that cannot be read."""
        return bool(self.missing_files or self.damaged)

    def summary(self) -> str:
        lines = [f"{self.cases} case(s) refer to {self.referenced} stored file(s)."]
        if self.damaged:
            lines.append(f"{len(self.damaged)} case(s) cannot be read:")
            lines += [f"  {case_id}: {reason}" for case_id, reason in self.damaged[:20]]
            if len(self.damaged) > 20:
                lines.append("  …")
            lines.append(
                "Files only they refer to are not counted as missing nor removed as orphans until they are "
                "restored from a backup."
            )
        if self.missing_files:
            lines.append(
                f"{self.missing_files} file(s) are missing, in {len(self.missing)} case(s): "
                + ", ".join(self.missing[:20])
                + (" …" if len(self.missing) > 20 else "")
                + ". Restore them from a backup."
            )
        else:
            lines.append("No file is missing.")
        if self.orphans_removed:
            lines.append(f"{self.orphans_removed} file(s) no case refers to were removed.")
        elif self.orphans:
            lines.append(
                f"{self.orphans} file(s) no case refers to (older than an hour); `store check --remove-orphans` "
                "deletes them."
            )
        return "\n".join(lines)


def check_library(
    store: CaseStore,
    blobs: BlobStore,
    *,
    remove_orphans: bool = False,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
    now: float | None = None,
) -> CheckReport:
    """Missing and orphaned blobs; with ``remove_orphans``, orphans old enough are deleted."""
    ids = [s.id for s in store.summaries()]
    referenced: set[str] = set()
    missing_in: list[str] = []
    missing_files = 0
    damaged: list[tuple[str, str]] = []
    for done, case_id in enumerate(ids):
        cancel.raise_if_cancelled()
        progress(done, len(ids), f"Checking case {done + 1} of {len(ids)}")
        try:
            case = store.get_case(case_id)
        except NotFoundError:
            continue
        except StorageError as exc:  # one damaged case does not stop the check of the others
            damaged.append((case_id, str(exc)))
            continue
        digests = {d for asset in case.assets for d in asset.blob_ids}
        referenced |= digests
        absent = [d for d in digests if not blobs.exists(d)]
        if absent:
            missing_in.append(case_id)
            missing_files += len(absent)
    cutoff = (time.time() if now is None else now) - ORPHAN_MIN_AGE_S
    orphans = [d for d in blobs.digests() if d not in referenced and _older_than(blobs, d, cutoff)]
    removed = 0
    if remove_orphans and orphans and not damaged:  # a damaged case's files look like orphans: keep them
        still_used = store.blobs_in_use(orphans)  # asked again: a case may have been saved meanwhile
        for digest in orphans:
            if digest not in still_used:
                blobs.delete(digest)
                removed += 1
    progress(len(ids), len(ids), "Check finished")
    return CheckReport(
        len(ids), len(referenced), tuple(missing_in), missing_files, len(orphans), removed, tuple(damaged)
    )


def _older_than(blobs: BlobStore, digest: str, cutoff: float) -> bool:
    try:
        return blobs.path(digest).stat().st_mtime < cutoff
    except (NotFoundError, OSError):
        return False


def copy_blobs(
    store: CaseStore,
    source: BlobStore,
    target: BlobStore,
    *,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> tuple[int, int]:
    """Copy every blob the cases of ``store`` refer to; (copied, missing)."""
    ids = [s.id for s in store.summaries()]
    copied = missing = 0
    for done, case_id in enumerate(ids):
        cancel.raise_if_cancelled()
        progress(done, len(ids), f"Copying the files of case {done + 1} of {len(ids)}")
        for digest in sorted({d for asset in store.get_case(case_id).assets for d in asset.blob_ids}):
            if target.exists(digest):
                continue
            try:
                target.put_file(source.path(digest))
                copied += 1
            except NotFoundError:
                missing += 1
    return copied, missing


def require_empty(store: CaseStore) -> None:
    if store.count_cases() or store.list_conferences():
        raise StorageError(
            "This installation's library is not empty; restore into a fresh data folder (CASEDECK_DATA) or "
            "database so nothing is overwritten."
        )


def copy_key(source: Path, target: Path) -> None:
    """Write the installation key to ``target`` (0600); an existing different key is never overwritten."""
    try:
        key = source.read_bytes()
    except OSError as exc:
        raise StorageError("This installation has no readable key (secret.key) to back up.") from exc
    _write_key(key, target)


def restore_key(source: Path, target: Path) -> None:
    try:
        key = source.read_bytes()
    except OSError as exc:
        raise StorageError(
            "The backup's installation key was not found; give it with --key-from (it is kept apart from the backup)."
        ) from exc
    _write_key(key, target)


def _write_key(key: bytes, target: Path) -> None:
    if target.exists():
        if target.read_bytes() == key:
            return
        raise StorageError(
            "A different installation key is already in place; nothing was overwritten (a key that is replaced "
            "breaks the link between earlier and later imports)."
        )
    make_private_dir(target.parent)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
