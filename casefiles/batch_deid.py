"""De-identify a folder tree of DICOM files into another folder, without importing.

Output names are derived from the de-identified UIDs only, never from input
names (folder names often hold patient names). The report holds counts and
reasons, and identifies failed inputs by their ordinal in the sorted walk,
never by path.

Trees of more than ``POOL_THRESHOLD`` files are read, de-identified and encoded in
worker processes (:mod:`casefiles.ingest.pool`, as the import runs them). A worker
writes each file into a hidden staging folder inside the destination and sends
back only its place and counts; this process moves the files into place in input
order, so the output (bytes, names, report, a later file with the same UIDs
replacing an earlier one) is the same as in one process. The staging folder is
removed whatever happens.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
from pydicom.errors import InvalidDicomError

from casefiles.deid import Deidentifier, DeidReport
from casefiles.errors import DeidentificationError, ImportFailure, ValidationError
from casefiles.ingest.pool import PoolPlan, default_workers, map_in_order
from casefiles.ingest.reading import encode, source_syntax
from casefiles.logsafety import silence_value_logging
from casefiles.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress

_JUNK = frozenset({".DS_Store", "Thumbs.db", "DICOMDIR", "desktop.ini"})
POOL_THRESHOLD = 1000
"""Trees of more files than this are de-identified in worker processes (see :func:`deidentify_tree`).

Much higher than the import's (24): here this process has nothing else to do, and each
worker pays its own start (the fork server's imports, then the free-text word lists
and, when the gate finds a candidate, the recogniser's model: 1–2 s of CPU per
worker) against at most half of ~5 ms of CPU per CT slice, and only while a core is free."""
ASKED_POOL_THRESHOLD = 24
"""With workers asked for (``workers=N``), trees of more files than this use them (the import's threshold)."""
MIN_CPUS_FOR_WORKERS = 3
"""By default, workers only where at least this many CPUs are usable. On the shared 2-core VM
of #18 (``bench/bench_deid_cli.py``, 900–1,200 CT/MR slices) two workers were 10 % faster
than one process once (load 5), even once (load 9) and 12–18 % slower twice (loads 4 and 6)."""
UNREADABLE = "not a readable DICOM file; skipped"
WORKER_CRASHED = "stopped the de-identification worker reading it (a badly damaged file?); skipped"
_STAGING_PREFIX = ".casedeck-deid-"


@dataclass(frozen=True, slots=True)
class TreeProblem:
    ordinal: int  # 1-based position of the input file in the sorted walk
    reason: str
    quarantined: bool


@dataclass(slots=True)
class TreeReport:
    files_seen: int = 0
    written: int = 0
    problems: list[TreeProblem] = field(default_factory=list)
    deid: DeidReport = DeidReport.EMPTY

    @property
    def quarantined(self) -> int:
        return sum(1 for p in self.problems if p.quarantined)

    def to_json(self) -> str:
        return json.dumps(
            {
                "files_seen": self.files_seen,
                "written": self.written,
                "quarantined": self.quarantined,
                "problems": [
                    {"file_number": p.ordinal, "reason": p.reason, "quarantined": p.quarantined} for p in self.problems
                ],
                "deidentification": _report_counts(self.deid),
            },
            indent=2,
        )


def _report_counts(report: DeidReport) -> dict[str, object]:
    return {
        "removed": report.removed,
        "emptied": report.emptied,
        "replaced": report.replaced,
        "cleaned": report.cleaned,
        "uids_remapped": report.uids_remapped,
        "dates_shifted": report.dates_shifted,
        "private_removed": report.private_removed,
        "burned_in_suspected": report.burned_in_suspected,
    }


def _short(uid: str) -> str:
    return hashlib.sha256(uid.encode()).hexdigest()[:16]


def input_files(src: Path) -> list[Path]:
    """Every regular file under ``src`` (or ``src`` itself), in a stable order."""
    if src.is_file():
        return [src]
    if not src.is_dir():
        raise ValidationError("The source folder does not exist or cannot be read.")
    return sorted(p for p in src.rglob("*") if p.is_file() and p.name not in _JUNK)


@dataclass(frozen=True, slots=True)
class _Job:
    ordinal: int
    path: Path
    size: int
    staging: Path | None  # where a worker writes the file (None: hand the bytes back)


@dataclass(frozen=True, slots=True)
class _Outcome:
    """One file's result: a file to place (its bytes, or where a worker staged them) or a problem."""

    name: tuple[str, str, str] = ("", "", "")  # study folder, series folder, file name
    data: bytes = b""
    staged: Path | None = None
    report: DeidReport | None = None
    problem: str = ""
    quarantined: bool = False


def _deidentified(path: Path, deidentifier: Deidentifier) -> _Outcome:
    """Read, de-identify and encode one file; the reason when it cannot be."""
    try:
        ds = pydicom.dcmread(path)
    except (InvalidDicomError, EOFError, OSError, ValueError, KeyError, TypeError):
        return _Outcome(problem=UNREADABLE)
    try:
        result = deidentifier.deidentify(ds)
    except DeidentificationError as exc:
        return _Outcome(problem=str(exc), quarantined=True)
    out = result.dataset
    name = (
        f"study-{_short(str(out.get('StudyInstanceUID', 'unknown')))}",
        f"series-{_short(str(out.get('SeriesInstanceUID', 'unknown')))}",
        f"{_short(str(out.SOPInstanceUID))}.dcm",
    )
    try:
        data = encode(out, fallback_syntax=source_syntax(ds))
    except ImportFailure as exc:
        return _Outcome(problem=str(exc), quarantined=True)
    return _Outcome(name=name, data=data, report=result.report)


_worker_deidentifier: Deidentifier | None = None


def _start_worker(deidentifier: Deidentifier) -> None:
    """Pool initializer: silence pydicom's value-quoting logs, keep this worker's de-identifier."""
    global _worker_deidentifier  # noqa: PLW0603 - one per worker process, set once at its start
    silence_value_logging()
    _worker_deidentifier = deidentifier


def _worker_job(job: _Job) -> _Outcome:
    """The pool task: one file de-identified and written into the staging folder under its ordinal."""
    if _worker_deidentifier is None:
        raise RuntimeError("de-identification worker used before _start_worker()")
    outcome = _deidentified(job.path, _worker_deidentifier)
    if not outcome.data or job.staging is None:
        return outcome
    staged = job.staging / f"{job.ordinal}.dcm"
    staged.write_bytes(outcome.data)  # an OSError (disk full) is fatal, as in one process
    return _Outcome(name=outcome.name, staged=staged, report=outcome.report)


def _worker_crashed(job: _Job) -> _Outcome:
    return _Outcome(problem=WORKER_CRASHED)


def _job_size(job: _Job) -> int:
    return job.size


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def deidentify_tree(
    src: Path,
    dst: Path,
    deidentifier: Deidentifier,
    *,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
    workers: int | None = None,
    pool_threshold: int | None = None,
) -> TreeReport:
    """De-identify every DICOM file under ``src`` into ``dst/<study>/<series>/<instance>.dcm``.

    Without ``workers``, trees of more than ``POOL_THRESHOLD`` files are done by
    :func:`casefiles.ingest.pool.default_workers` processes where that is at least
    ``MIN_CPUS_FOR_WORKERS``, else by this process alone; with ``workers=N``, trees of more
    than ``ASKED_POOL_THRESHOLD`` files by N processes (1: this one). ``pool_threshold``
    overrides the number of files. The result is the same either way.
    Cancelling stops before the next file is placed: files placed so far stay.
    """
    src, dst = Path(src).resolve(), Path(dst).resolve()
    if dst == src or src in dst.parents:
        raise ValidationError("The destination must not be inside the source folder.")
    for name, value in (("workers", workers), ("pool_threshold", pool_threshold)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise ValidationError(f"{name} must be a whole number (got {value!r}).")
    files = input_files(src)
    report = TreeReport(files_seen=len(files))
    if workers is None:
        count = default_workers() if default_workers() >= MIN_CPUS_FOR_WORKERS else 1
        threshold = POOL_THRESHOLD if pool_threshold is None else pool_threshold
    else:
        count = max(1, workers)
        threshold = ASKED_POOL_THRESHOLD if pool_threshold is None else pool_threshold
    with contextlib.closing(
        _outcomes(files, dst, deidentifier, workers=count, pool_threshold=threshold, cancel=cancel)
    ) as outcomes:
        for ordinal, outcome in enumerate(outcomes, start=1):
            progress(ordinal - 1, len(files), f"De-identifying {ordinal} of {len(files)}")
            if outcome.problem:
                report.problems.append(TreeProblem(ordinal, outcome.problem, outcome.quarantined))
                continue
            target = dst.joinpath(*outcome.name)
            target.parent.mkdir(parents=True, exist_ok=True)
            if outcome.staged is not None:
                os.replace(outcome.staged, target)
            else:
                target.write_bytes(outcome.data)
            report.written += 1
            if outcome.report is not None:
                report.deid = report.deid.merged(outcome.report)
    progress(len(files), len(files), "Done")
    return report


def _outcomes(
    files: list[Path],
    dst: Path,
    deidentifier: Deidentifier,
    *,
    workers: int,
    pool_threshold: int,
    cancel: CancelToken,
) -> Generator[_Outcome, None, None]:
    """Each file's outcome in input order: computed here, or in worker processes for a large tree."""
    if workers <= 1 or len(files) <= pool_threshold:
        for path in files:
            cancel.raise_if_cancelled()
            yield _deidentified(path, deidentifier)
        return
    created = not dst.exists()
    dst.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=dst))
    try:
        plan: PoolPlan[_Job, _Outcome] = PoolPlan(
            task=_worker_job,
            crashed=_worker_crashed,
            size_of=_job_size,
            workers=min(workers, len(files)),
            initializer=_start_worker,
            initargs=(deidentifier,),
            in_process=lambda job: _deidentified(job.path, deidentifier),
            fatal=(OSError,),
        )
        jobs = [_Job(ordinal, path, _size(path), staging) for ordinal, path in enumerate(files, start=1)]
        with contextlib.closing(map_in_order(plan, jobs, cancel=cancel)) as results:
            for _job, outcome in results:
                yield outcome
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if created:
            with contextlib.suppress(OSError):
                dst.rmdir()  # only if nothing was written: as in one process, no empty destination
