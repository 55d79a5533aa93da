"""One file through the import, with no library in reach: read, de-identify, summarise, encode.

This is the part of an import that costs CPU, so it runs either in the
importing process or in a worker process (:mod:`casefiles.ingest.pool`). It
touches nothing but the file it is given: no store, no blob store, no shared
state. What it returns is de-identified (bytes and summary) or a plain reason
why the file was left out; a reason never holds patient data or a file name.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass, replace
from pathlib import Path

from casefiles.deid import Deidentifier, DeidReport
from casefiles.errors import DeidentificationError, ImportFailure
from casefiles.imaging.wsi import MAX_LEVEL_PIXELS
from casefiles.ingest.grouping import Summary, study_uid_of, summarize
from casefiles.ingest.nonradiology import (
    ObjectKind,
    attach_pixels,
    detach_pixels,
    encapsulated_document,
    scrub_encapsulated_pdf,
    triage,
)
from casefiles.ingest.reading import encode, is_directory, read_dataset, source_syntax
from casefiles.ingest.structured_report import NO_TEXT, report_text
from casefiles.ingest.zipsafe import NESTED_ZIP, ZIP_MAGIC
from casefiles.logsafety import silence_value_logging
from casefiles.model import Review
from casefiles.store.blobs import LocalBlobStore

UNREADABLE = "cannot be read (permission denied or a disc error)"
DAMAGED_ELEMENTS = "could not be made safe to store (damaged data elements); discarded"
NO_UIDS = "has no Study, Series or SOP Instance UID, so it cannot be placed in a case; discarded"
WORKER_CRASHED = "stopped the import worker reading it (a badly damaged file?); discarded"
NO_WORKDIR = "holds a PDF, which can only be imported with a working folder in the quarantine; discarded"


@dataclass(frozen=True, slots=True)
class Prepared:
    """The outcome for one file: an instance to store, a duplicate, a disc index, or a problem.

    ``summary`` and ``report`` are set for every instance the de-identifier
    accepted. The de-identified file is in ``encoded``, or already in the
    blob store under ``blob`` when a worker stored it; both are empty for a
    duplicate (known SOP Instance UID), which is not worth encoding. For an
    encapsulated PDF the file is the scrubbed PDF itself (the de-identifier
    empties the DICOM's copy). ``not_stored`` marks a whole-slide level too
    large to ever be drawn: only its summary is kept, to choose a level.
    A problem with ``once_per`` set is reported once per import for that key
    (the slide label of a series, whatever the number of label images).
    """

    summary: Summary | None = None
    report: DeidReport | None = None
    encoded: bytes = b""
    blob: str = ""
    problem: str | None = None
    once_per: str = ""
    not_stored: bool = False
    #: A held image's unblanked original (de-identified header), bound for the encrypted review area.
    original: bytes = b""

    @property
    def is_index(self) -> bool:
        """A DICOMDIR: nothing to store, and nothing wrong."""
        return self.summary is None and self.problem is None


def prepare_file(
    path: Path,
    *,
    from_zip: bool,
    deidentifier: Deidentifier,
    known: Container[str] = frozenset(),
    workdir: Path | None = None,
) -> Prepared:
    """Read ``path``, de-identify it and encode the result; never raises for a bad file.

    ``known`` holds the de-identified SOP Instance UIDs already stored: such
    an instance is reported as a duplicate without being encoded. ``workdir``
    (inside the quarantine) is where an encapsulated PDF is scrubbed. Slide
    labels and overviews, and objects with no images (RT plans, presentation
    states, raw data...), are left out before anything else is done with them
    (:func:`casefiles.ingest.nonradiology.triage`); a text structured report
    with nothing to show is left out after de-identification.
    """
    try:
        data = path.read_bytes()
    except OSError:
        return Prepared(problem=UNREADABLE)
    if data[:4] in ZIP_MAGIC and from_zip:
        return Prepared(problem=NESTED_ZIP)
    try:
        original = read_dataset(data)
    except ImportFailure as exc:
        return Prepared(problem=str(exc))
    del data
    if is_directory(original):
        return Prepared()  # an index of a disc, not an instance; its files are found by the walk
    sorting = triage(original)
    if sorting.left_out:
        return Prepared(problem=sorting.left_out, once_per=sorting.once_per)
    fallback = source_syntax(original)
    document = b""
    pixels = None
    try:
        if sorting.kind is ObjectKind.PDF:
            document = encapsulated_document(original)  # the de-identifier replaces it with a dummy
        elif sorting.kind in (ObjectKind.VIDEO, ObjectKind.SLIDE):
            pixels = detach_pixels(original)
    except ImportFailure as exc:
        return Prepared(problem=str(exc))
    # Recognising a study imported again: a keyed hash of its original UID, made before that UID is gone.
    study_key = deidentifier.study_key(study_uid_of(original))
    try:
        result = deidentifier.deidentify(original)
    except DeidentificationError as exc:
        return Prepared(problem=f"could not be made safe to store ({exc}); discarded")
    except Exception:  # damaged elements surface only when the de-identifier touches them
        return Prepared(problem=DAMAGED_ELEMENTS)
    del original
    ds = result.dataset
    summary = replace(
        summarize(ds, blob=""), text_rules=result.text_rules, pixel_rules=result.pixel_rules, study_key=study_key
    )
    if result.report.needs_review or result.redacted:
        review = Review.NEEDS_REVIEW if result.report.needs_review else Review.NOT_NEEDED
        summary = replace(summary, review=review, redacted=result.redacted)
    if sorting.kind is not ObjectKind.STACK:
        summary = replace(summary, kind=sorting.kind)
    if not (summary.study_uid and summary.series_uid and summary.sop_uid):
        return Prepared(problem=NO_UIDS)
    if summary.sop_uid in known:
        return Prepared(summary=summary, report=result.report)
    if sorting.kind is ObjectKind.REPORT and not report_text(ds):
        return Prepared(summary=summary, report=result.report, problem=NO_TEXT)
    if sorting.kind is ObjectKind.PDF:
        if workdir is None:
            return Prepared(summary=summary, report=result.report, problem=NO_WORKDIR)
        try:
            scrubbed = scrub_encapsulated_pdf(document, workdir=workdir)
        except ImportFailure as exc:
            return Prepared(summary=summary, report=result.report, problem=str(exc))
        return Prepared(summary=summary, report=result.report, encoded=scrubbed)
    size = summary.total_size
    if sorting.kind is ObjectKind.SLIDE and size is not None and size[0] * size[1] > MAX_LEVEL_PIXELS:
        return Prepared(summary=summary, report=result.report, not_stored=True)
    if pixels is not None:
        attach_pixels(ds, pixels, fallback)
    try:
        encoded = encode(ds, fallback_syntax=fallback)
        held_original = b"" if result.original is None else encode(result.original, fallback_syntax=fallback)
    except ImportFailure as exc:
        return Prepared(summary=summary, report=result.report, problem=str(exc))
    return Prepared(summary=summary, report=result.report, encoded=encoded, original=held_original)


# -- in a worker process -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Job:
    """What a worker is sent for one file: where it is (quarantine or the user's folder), nothing else."""

    path: Path
    from_zip: bool
    workdir: Path | None = None  # the import's folder in the quarantine (for scrubbing encapsulated PDFs)

    @property
    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except OSError:
            return 0


@dataclass(frozen=True, slots=True)
class WorkerSetup:
    """What every worker is started with: the de-identifier's recipe and, optionally, where blobs go.

    The de-identifier travels pickled as its recipe (secret + profile) and
    each worker builds its own (compiled tables are per process). With
    ``blob_root``, the worker writes each de-identified file into that
    content-addressed store itself (temporary file + rename, safe from
    several processes) and sends back only its digest: shipping ~0.5 MB per
    CT slice back to the parent cost more than the rest of the parent's work.
    """

    deidentifier: Deidentifier
    blob_root: Path | None = None


@dataclass(slots=True)
class _Worker:
    deidentifier: Deidentifier
    blobs: LocalBlobStore | None


_worker: _Worker | None = None


def start_worker(setup: WorkerSetup) -> None:
    """Pool initializer: silence pydicom's value-quoting logs, build this worker's de-identifier."""
    global _worker  # noqa: PLW0603 - one per worker process, set once at its start
    silence_value_logging()
    # The import makes the workers' blobs durable at once before its cases refer to them (LocalBlobStore.sync).
    blobs = LocalBlobStore(setup.blob_root, sync_each=False) if setup.blob_root is not None else None
    _worker = _Worker(setup.deidentifier, blobs)


def prepare_job(job: Job) -> Prepared:
    """The pool task: :func:`prepare_file` with this worker's de-identifier, stored if it has a blob store.

    A :class:`~casefiles.errors.StorageError` is not a problem with the file:
    it propagates, and the import stops as it would in-process.
    """
    if _worker is None:
        raise RuntimeError("import worker used before start_worker()")
    prepared = prepare_file(job.path, from_zip=job.from_zip, deidentifier=_worker.deidentifier, workdir=job.workdir)
    if _worker.blobs is None or not prepared.encoded:
        return prepared
    return replace(prepared, encoded=b"", blob=_worker.blobs.put(prepared.encoded))


def worker_crashed(job: Job) -> Prepared:
    """The outcome for a file whose worker died twice on it (or whose result could not be sent back)."""
    return Prepared(problem=WORKER_CRASHED)
