"""The import: sources -> quarantine -> read -> de-identify -> store -> cases.

Raw input exists only in a fresh directory inside the quarantine, which is
removed whatever happens. Each file is read once, de-identified, written once
to the blob store and dropped; only a small summary is kept for grouping.
A large import does that per-file work in worker processes
(:mod:`casefiles.ingest.pool`), which read raw files where they are and
write nothing but de-identified blobs; grouping, thumbnails and the case
store stay in this process.
Cases are saved at the very end, so a cancelled or failed import leaves the
library as it was (de-identified blobs written so far may stay, unreferenced).
Objects from outside radiology (encapsulated PDFs, video, whole-slide
scans) become documents, clips and pictures (:mod:`casefiles.ingest.nonradiology`),
a text structured report a document of its text (:mod:`casefiles.ingest.structured_report`);
their de-identified DICOM stays in the blob store, unreferenced. Objects with
no images (RT plans, presentation states, raw data, waveforms...) are left
out before de-identification, each reported once by its position.
"""

from __future__ import annotations

import contextlib
import functools
import io
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence, Sized
from dataclasses import dataclass, field, replace
from pathlib import Path

import pydicom

from casefiles.deid import Deidentifier, DeidReport
from casefiles.errors import (
    CaseDeckError,
    NotFoundError,
    RenderError,
    ReviewAreaError,
    StorageError,
    ValidationError,
)
from casefiles.imaging import default_window, thumbnail_png
from casefiles.imaging.wsi import LevelSize, choose_level
from casefiles.ingest.grouping import (
    Summary,
    batch_titles,
    case_title,
    first_nonempty,
    joined_modalities,
    order_instances,
    order_summaries,
    series_label,
)
from casefiles.ingest.nonradiology import (
    Converted,
    ObjectKind,
    pdf_document,
    report_tail,
    slide_picture,
    video_clip,
)
from casefiles.ingest.pool import KeptPool, PoolPlan, WorkerPool, default_workers
from casefiles.ingest.prepare import (
    Job,
    Prepared,
    WorkerSetup,
    prepare_file,
    prepare_job,
    start_worker,
    worker_crashed,
)
from casefiles.ingest.quarantine import QuarantineFolder
from casefiles.ingest.report import DuplicateStudy, ImportProblem, ImportReport, Upload
from casefiles.ingest.sources import Found, gather
from casefiles.ingest.structured_report import report_document
from casefiles.ingest.zipsafe import DEFAULT_ZIP_LIMITS, ZipLimits
from casefiles.model import Asset, AssetKind, Case, Review, Window, new_id
from casefiles.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from casefiles.review_area import PendingOriginals, ReviewShelf
from casefiles.store import BlobStore, CaseQuery, CaseStore
from casefiles.store.blobs import LocalBlobStore

POOL_THRESHOLD = 24
_MAX_NAMED = 20  # cases named for one study already in the library
"""Imports of more files than this use worker processes (starting them costs about half a second)."""
_WORKSPACE_PREFIX = "import-"
_CONVERT_PREFIX = "convert-"
_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
_MAX_TITLE, _MAX_AUTHOR = 300, 200  # as casefiles.model.Case checks them
_CONVERTED_KIND = {
    ObjectKind.PDF: AssetKind.DOCUMENT,
    ObjectKind.VIDEO: AssetKind.VIDEO,
    ObjectKind.SLIDE: AssetKind.IMAGE,
    ObjectKind.REPORT: AssetKind.DOCUMENT,
}
_CONVERTED_LABEL = {
    ObjectKind.PDF: "PDF",
    ObjectKind.VIDEO: "Video",
    ObjectKind.SLIDE: "Slide",
    ObjectKind.REPORT: "Report",
}


def import_sources(
    sources: Sequence[Path | Upload],
    *,
    store: CaseStore,
    blobs: BlobStore,
    deidentifier: Deidentifier,
    quarantine_dir: Path,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
    title: str | None = None,
    author: str = "",
    limits: ZipLimits = DEFAULT_ZIP_LIMITS,
    workers: int | None = None,
    pool_threshold: int = POOL_THRESHOLD,
    review_area: ReviewShelf | None = None,
) -> ImportReport:
    """Import DICOM from files, folders, zips, DICOMDIRs and uploads into de-identified cases.

    One case per study; a study already in the library (same de-identified
    Study Instance UID) receives the new series and instances instead. Each
    case keeps the keyed hash of its studies' original UIDs (``study_keys``);
    a study already in the library, by that key or by its series, is named in
    the report's ``duplicates`` (a warning; the import goes ahead as above).
    Problems with single files are reported, not raised. An import of more
    than ``pool_threshold`` files is read and de-identified by ``workers``
    processes (default: one per CPU, at most 4); ``workers=1`` keeps it in
    this process. Raises
    :class:`~casefiles.errors.Cancelled` if ``cancel`` fires (nothing saved),
    :class:`~casefiles.errors.StorageError` if the library cannot be written.
    An image held for burned-in text review keeps its original in ``review_area``;
    without one, such an image is reported and not stored.
    """
    if isinstance(sources, str | bytes | Path | Upload) or not isinstance(sources, Sequence):
        raise ValidationError("Import sources must be a list of paths and uploads.")
    if title is not None and (not isinstance(title, str) or not title.strip()):
        raise ValidationError("The case title must not be empty; leave it unset to name cases from the images.")
    if title is not None and len(title.strip()) > _MAX_TITLE:
        raise ValidationError(
            f"The case title is too long ({len(title.strip())} characters; the limit is {_MAX_TITLE})."
        )
    if not isinstance(author, str) or len(author) > _MAX_AUTHOR:
        raise ValidationError(f"The author must be text of at most {_MAX_AUTHOR} characters.")
    workers = default_workers() if workers is None else workers
    for name, value, least in (("workers", workers, 1), ("pool_threshold", pool_threshold, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValidationError(f"The import's {name} must be a whole number of at least {least} (got {value!r}).")
    run = _Run(
        store=store,
        blobs=blobs,
        deidentifier=deidentifier,
        cancel=cancel,
        quarantine_dir=quarantine_dir,
        review_area=review_area,
    )

    files_seen = 0

    def gathered_into(work: Path) -> _Files:
        nonlocal files_seen
        try:
            gathered = gather(sources, work, limits=limits, cancel=cancel)
        except OSError as exc:
            raise StorageError(f"Cannot unpack into the quarantine folder ({exc.strerror}); is the disk full?") from exc
        files_seen = gathered.files_seen
        return _Files(gathered.files, len(gathered.files), exact=True, problems=gathered.problems)

    cases = _import(
        run,
        gathered_into,
        quarantine_dir=quarantine_dir,
        progress=progress,
        title=title,
        author=author,
        prepare=functools.partial(run.prepared, workers=workers, pool_threshold=pool_threshold),
    )
    return _report(run, cases, files_seen)


def import_arriving(
    arrivals: Iterable[Found],
    *,
    store: CaseStore,
    blobs: BlobStore,
    deidentifier: Deidentifier,
    quarantine_dir: Path,
    expected: int = 0,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
    workers: ImportWorkers | None = None,
    review_area: ReviewShelf | None = None,
) -> ImportReport:
    """Import DICOM files while they are still arriving (a PACS retrieve): each is de-identified as it comes.

    ``arrivals`` yields each file once it is whole (its next item may still be
    on its way: the import waits). Files are read where they are, so they must
    be in the quarantine; each is deleted as soon as it is stored (or given up),
    so raw input does not pile up while a study arrives, and the caller removes
    its folder for whatever remains. The cases are built and
    saved once ``arrivals`` ends, so a study's case is filed when its last
    image is stored, and a cancel (or an error from ``arrivals``) saves
    nothing. ``workers`` (see :func:`import_workers`) de-identifies in worker
    processes kept for a whole batch; without, in this process.
    ``expected`` (0: unknown) is the number of files progress counts towards.
    """
    run = _Run(
        store=store,
        blobs=blobs,
        deidentifier=deidentifier,
        cancel=cancel,
        quarantine_dir=quarantine_dir,
        review_area=review_area,
    )
    taken = 0

    def taking() -> Iterator[Found]:
        nonlocal taken
        for found in arrivals:
            taken += 1
            yield found

    cases = _import(
        run,
        lambda work: _Files(taking(), expected, exact=False),
        quarantine_dir=quarantine_dir,
        progress=progress,
        title=None,
        author="",
        prepare=functools.partial(run.prepared, workers=1, pool_threshold=0, pool=workers),
        taken_in=_delete_arrived,
    )
    return _report(run, cases, taken)


def _delete_arrived(found: Found) -> None:
    """An arrived file, stored or given up, is no longer needed: out of the quarantine at once."""
    with contextlib.suppress(OSError):  # the caller's removal of the folder tries again
        found.path.unlink(missing_ok=True)


ImportWorkers = WorkerPool[Job, Prepared]
"""Import worker processes kept for several imports into one library (:func:`import_workers`)."""


_KEPT: KeptPool[Job, Prepared] = KeptPool()


def import_workers(
    deidentifier: Deidentifier, blobs: BlobStore, workers: int | None = None
) -> contextlib.AbstractContextManager[ImportWorkers]:
    """Worker processes for the imports of a batch (a PACS pull), in a ``with`` block: started once.

    Each worker builds the de-identifier and its screening models when it
    starts, which costs about as much as de-identifying a hundred CT slices;
    a pull of twelve studies pays that once instead of twelve times. The
    workers are kept a while afterwards for the library's next import (a
    folder, the receiver's next study, the next pull).
    """
    count = default_workers() if workers is None else workers
    key = (deidentifier, _worker_setup(deidentifier, blobs).blob_root, count)
    return _KEPT.lease(key, functools.partial(_plan, deidentifier, blobs, count))


def _plan(deidentifier: Deidentifier, blobs: BlobStore, workers: int) -> PoolPlan[Job, Prepared]:
    return PoolPlan(
        task=prepare_job,
        crashed=worker_crashed,
        size_of=_job_size,
        workers=workers,
        initializer=start_worker,
        initargs=(_worker_setup(deidentifier, blobs),),
        fatal=(StorageError,),
    )


@dataclass(frozen=True, slots=True)
class _Files:
    """The files of one import: all known up front (``exact``), or arriving, ``total`` being a guess (0: none)."""

    files: Iterable[Found]
    total: int
    exact: bool
    problems: Sequence[ImportProblem] = ()


def _import(
    run: _Run,
    files_in: Callable[[Path], _Files],
    *,
    quarantine_dir: Path,
    progress: ProgressFn,
    title: str | None,
    author: str,
    prepare: Callable[..., Generator[tuple[Found, Prepared], None, None]],
    taken_in: Callable[[Found], None] | None = None,
) -> _Cases:
    """Files -> de-identified blobs -> cases saved; raw input only in a quarantine folder removed at the end.

    ``taken_in`` is called with each file once its outcome is recorded.
    """
    cancel = run.cancel
    folder = QuarantineFolder(quarantine_dir, _WORKSPACE_PREFIX)
    work = folder.path
    try:
        found = files_in(work)
        run.problems.extend(found.problems)
        cancel.raise_if_cancelled()

        def total(done: int) -> int:
            return found.total if found.exact else max(found.total, done + 1)

        if found.exact and found.total:
            progress(0, found.total, f"De-identifying 1 of {found.total}")
        # closing(): whatever happens in the loop, no worker still reads a file when the quarantine is wiped
        consumed = 0
        with contextlib.closing(prepare(found.files, workdir=work)) as outcomes:
            for item, prepared in outcomes:
                run.record(item, prepared)
                if taken_in is not None:
                    taken_in(item)
                consumed += 1
                if not found.exact or consumed < found.total:
                    progress(consumed, total(consumed), f"De-identifying {consumed + 1} of {total(consumed)}")
        folder.remove()  # raw input is no longer needed: do not keep it while thumbnails are made
        cancel.raise_if_cancelled()
        settled = found.total if found.exact else consumed
        progress(settled, settled, "Making thumbnails and saving cases")
        cases = run.build_cases(title=title.strip() if title else None, author=author)
        cancel.raise_if_cancelled()
        if isinstance(run.blobs, LocalBlobStore):
            run.blobs.sync()  # workers wrote their blobs without a flush each: durable before any case refers to them
        cases.save(run.store)
        run.originals.settled()
    finally:
        folder.remove()
        run.originals.discard()  # an import that did not finish leaves no original behind
    return cases


def _report(run: _Run, cases: _Cases, files_seen: int) -> ImportReport:
    return ImportReport(
        files_seen=files_seen,
        instances_imported=len(run.summaries) - run.already_converted,
        duplicates_skipped=run.duplicates + run.already_converted,
        case_ids=cases.ids,
        problems=tuple(run.problems),
        deid=run.deid_report,
        burned_in_flagged=run.burned_in,
        duplicates=cases.duplicates,
    )


@dataclass(frozen=True, slots=True)
class _Cases:
    changed: tuple[Case, ...]
    ids: tuple[str, ...]
    #: For an existing case the import added to: the case as it was read (its edits meanwhile are kept).
    bases: dict[str, Case] = field(default_factory=dict)
    duplicates: tuple[DuplicateStudy, ...] = ()

    def save(self, store: CaseStore) -> None:
        for case in self.changed:
            base = self.bases.get(case.id)
            if base is None:
                store.save_case(case)
            else:
                store.update_case(case.id, functools.partial(_with_assets_of, built=case, base=base))


def _with_assets_of(current: Case, built: Case, base: Case) -> Case:
    """``current`` with what the import changed from ``base`` to ``built``: new assets and grown series.

    Someone may have edited the case (text, key images, another series) while the files were
    imported; only the assets the import touched are taken from ``built``.
    """
    before = {a.id: a for a in base.assets}
    touched = {a.id: a for a in built.assets if before.get(a.id) != a}
    kept = tuple(touched.pop(a.id, a) for a in current.assets)
    added = tuple(a for a in touched.values() if a.id not in before)
    return current.edited(
        assets=kept + added,
        text_rules=min(current.text_rules, built.text_rules),
        study_keys=(*current.study_keys, *built.study_keys),
    )


@dataclass(slots=True)
class _Run:
    """The state of one import while files go through it."""

    store: CaseStore
    blobs: BlobStore
    deidentifier: Deidentifier
    cancel: CancelToken
    quarantine_dir: Path | None = None  # where conversions (PDF pages, video, slides) get a working folder
    review_area: ReviewShelf | None = None
    originals: PendingOriginals = field(init=False)  # what this import put in the review area
    problems: list[ImportProblem] = field(default_factory=list)
    summaries: list[Summary] = field(default_factory=list)
    duplicates: int = 0
    already_converted: int = 0  # PDF/video/slide instances whose series the case already shows
    burned_in: int = 0
    _converted_already: dict[str, int] = field(default_factory=dict)  # per study: already_converted
    deid_report: DeidReport = field(default_factory=lambda: DeidReport.EMPTY)
    _seen_sops: set[str] = field(default_factory=set)
    _duplicate_studies: set[str] = field(default_factory=set)
    _existing: dict[str, Case | None] = field(default_factory=dict)
    _library_sops: set[str] = field(default_factory=set)  # instances the library held before this import
    _study_keys: dict[str, str] = field(default_factory=dict)  # de-identified study UID -> its study key
    _already: dict[str, int] = field(default_factory=dict)  # per study: instances skipped, the library held them
    _reported_once: set[str] = field(default_factory=set)
    _workspace: QuarantineFolder | None = None

    def __post_init__(self) -> None:
        self.originals = PendingOriginals(self.review_area)

    def case_for_study(self, study_uid: str) -> Case | None:
        """The newest case already in the library holding a series of this (de-identified) study.

        Documents, clips and slide pictures converted from DICOM carry their study's UID too, so
        a study imported in parts finds its case through them. Asked of the store per study (never
        a read of the whole library); the case's images count as seen, so re-sent ones are skipped.
        """
        if study_uid not in self._existing:
            found = self.store.summaries(CaseQuery(study_uid=study_uid, limit=1))
            case = None
            if found:
                try:
                    case = self.store.get_case(found[0].id)
                except NotFoundError:
                    case = None
            self._existing[study_uid] = case
            if case is not None:
                for asset in case.assets:
                    self._seen_sops.update(i.sop_instance_uid for i in asset.instances)
                    self._library_sops.update(i.sop_instance_uid for i in asset.instances)
        return self._existing[study_uid]

    def prepared(
        self,
        files: Iterable[Found],
        workdir: Path | None = None,
        *,
        workers: int,
        pool_threshold: int,
        pool: ImportWorkers | None = None,
    ) -> Generator[tuple[Found, Prepared], None, None]:
        """Each file read, de-identified and encoded, in order: in worker processes for a large import.

        ``pool``: workers kept for a batch, used whatever the number of files.
        Cancellation is checked before each file is handed over; in this
        process a duplicate is recognised before it is encoded.
        """
        if pool is not None:
            yield from self._through(pool, files, workdir)
            return
        if workers > 1 and isinstance(files, Sized) and len(files) > pool_threshold:
            with import_workers(self.deidentifier, self.blobs, workers) as kept:
                yield from self._through(kept, files, workdir)
            return
        for found in files:
            self.cancel.raise_if_cancelled()
            yield found, self._prepare_here(Job(found.path, found.from_zip, workdir))

    def _through(
        self, pool: ImportWorkers, files: Iterable[Found], workdir: Path | None
    ) -> Generator[tuple[Found, Prepared], None, None]:
        founds: deque[Found] = deque()  # handed to the pool, in order, awaiting their results

        def jobs() -> Iterator[Job]:
            for found in files:
                founds.append(found)
                yield Job(found.path, found.from_zip, workdir)

        with contextlib.closing(pool.map(jobs(), cancel=self.cancel, in_process=self._prepare_here)) as outcomes:
            for _job, outcome in outcomes:
                yield founds.popleft(), outcome

    def _prepare_here(self, job: Job) -> Prepared:
        return prepare_file(
            job.path, from_zip=job.from_zip, deidentifier=self.deidentifier, known=self._seen_sops, workdir=job.workdir
        )

    def record(self, found: Found, prepared: Prepared) -> None:
        """Store one prepared file (or note its problem); nothing is saved to the case store yet."""
        summary = prepared.summary
        if prepared.report is not None:
            self.deid_report = self.deid_report.merged(prepared.report)
            if prepared.report.needs_review:
                self.burned_in += 1
        if summary is not None:
            self.case_for_study(summary.study_uid)  # its images count as seen: a re-sent one is skipped
            if summary.study_key:
                self._study_keys.setdefault(summary.study_uid, summary.study_key)
        if summary is not None and summary.sop_uid in self._seen_sops:
            self.duplicates += 1
            self._duplicate_studies.add(summary.study_uid)
            if summary.sop_uid in self._library_sops:
                self._count_already(summary.study_uid, 1)
            return
        if prepared.problem is not None:
            if prepared.once_per:
                if prepared.once_per in self._reported_once:
                    return
                self._reported_once.add(prepared.once_per)
            self.problems.append(ImportProblem(found.item, prepared.problem))
            return
        if summary is None:
            return  # a DICOMDIR
        if prepared.not_stored:  # a slide level too large to draw: summarised, never stored
            self._seen_sops.add(summary.sop_uid)
            self.summaries.append(summary)
            return
        if prepared.original:
            try:
                summary = replace(summary, review_original=self.originals.keep(prepared.original))
            except ReviewAreaError as exc:
                self.problems.append(ImportProblem(found.item, f"held for burned-in text review and not stored: {exc}"))
                return
        digest = prepared.blob or self.blobs.put(prepared.encoded)
        self._seen_sops.add(summary.sop_uid)
        self.summaries.append(replace(summary, blob=digest))

    # -- grouping ------------------------------------------------------------------
    def build_cases(self, *, title: str | None, author: str) -> _Cases:
        """New cases for new studies; existing cases with the new series merged in.

        PDFs, videos and slides are converted here, in a working folder of
        their own in the quarantine, removed whatever happens.
        """
        try:
            return self._build_cases(title=title, author=author)
        finally:
            if self._workspace is not None:
                self._workspace.remove()
                self._workspace = None

    def _build_cases(self, *, title: str | None, author: str) -> _Cases:
        studies: dict[str, dict[str, list[Summary]]] = {}
        for s in self.summaries:
            studies.setdefault(s.study_uid, {}).setdefault(s.series_uid, []).append(s)
        changed: list[Case] = []
        bases: dict[str, Case] = {}
        ids: list[str] = []
        new: list[int] = []  # where the new cases are in ``changed``
        where: dict[str, str] = {}  # study UID -> the case its instances are in now
        for study_uid, series in studies.items():
            ordered = sorted(series.values(), key=_series_sort_key)
            key = self._study_keys.get(study_uid, "")
            case = self._current(self.case_for_study(study_uid))
            if case is not None:
                bases[case.id] = case
            if case is None:
                case = self._new_case(ordered, author=author, study_key=key)
                if case is None:
                    continue  # nothing of the study could be shown (each reason is reported)
                new.append(len(changed))
            else:
                case = self._merged_case(case, ordered, study_key=key)
            changed.append(case)
            ids.append(case.id)
            where[study_uid] = case.id
        titles = batch_titles([changed[n].title for n in new], title, max_len=_MAX_TITLE)
        for n, new_title in zip(new, titles, strict=True):
            changed[n] = replace(changed[n], title=new_title)
        for study_uid in self._duplicate_studies:
            known = self.case_for_study(study_uid)
            if study_uid not in studies and known is not None:
                ids.append(known.id)  # nothing new: the case is named but not touched
                where[study_uid] = known.id
        duplicates = self._duplicates([*studies, *sorted(self._duplicate_studies)], where)
        return _Cases(tuple(changed), tuple(dict.fromkeys(ids)), bases, duplicates)

    def _count_already(self, study_uid: str, count: int) -> None:
        self._already[study_uid] = self._already.get(study_uid, 0) + count

    def _duplicates(self, study_uids: Sequence[str], where: Mapping[str, str]) -> tuple[DuplicateStudy, ...]:
        """The studies of this import that the library held before it: by their key, or by their series.

        A case deleted meanwhile is not named; a study only repeated within this import is not one.
        """
        found: list[DuplicateStudy] = []
        for study_uid in dict.fromkeys(study_uids):
            holder = self._existing.get(study_uid)
            existing = [holder.id] if holder is not None and self.store.exists(holder.id) else []
            key = self._study_keys.get(study_uid, "")
            if key:
                existing += [s.id for s in self.store.summaries(CaseQuery(study_key=key, limit=_MAX_NAMED))]
            if not existing:
                continue
            already = self._already.get(study_uid, 0)
            added = sum(1 for s in self.summaries if s.study_uid == study_uid)
            found.append(
                DuplicateStudy(
                    existing_case_ids=tuple(dict.fromkeys(existing)),
                    case_id=where.get(study_uid, ""),
                    instances_already=already,
                    instances_new=max(0, added - self._converted_already.get(study_uid, 0)),
                )
            )
        return tuple(found)

    def _current(self, known: Case | None) -> Case | None:
        """The case as it is now: it may have been edited, or deleted, while the files were imported."""
        if known is None:
            return None
        try:
            return self.store.get_case(known.id)
        except NotFoundError:
            return None

    def _new_case(self, series: list[list[Summary]], *, author: str, study_key: str = "") -> Case | None:
        """A case for a study new to the library, titled from its images; None if nothing of it can be shown."""
        assets: list[Asset] = []
        for ordinal, group in enumerate(series, start=1):
            stack, others = _split(group)
            if stack:
                assets.append(self._new_asset(stack, ordinal))
            assets.extend(self._converted_assets(others, assets))
        if not assets:
            return None
        # A report's series (modality SR) names the case only when the study has nothing else.
        firsts = [g[0] for g in series if g[0].kind is not ObjectKind.REPORT] or [g[0] for g in series]
        modality = joined_modalities(s.modality for s in firsts)
        body_part = first_nonempty([s.body_part for s in firsts])
        study_description = first_nonempty([s.study_description for s in firsts])
        return Case(
            id=new_id(),
            title=case_title(modality, body_part, study_description),
            modality=modality[:64],
            body_part=body_part[:64],
            author=author,
            assets=tuple(assets),
            text_rules=_text_rules_of(series),
            study_keys=(study_key,) if study_key else (),
        )

    def _merged_case(self, case: Case, series: list[list[Summary]], *, study_key: str = "") -> Case:
        assets = list(case.assets)
        by_series = {a.series_uid: n for n, a in enumerate(assets) if a.kind is AssetKind.DICOM_SERIES}
        for full_group in series:
            group, others = _split(full_group)
            assets.extend(self._converted_assets(others, assets))
            if not group:
                continue
            index = by_series.get(group[0].series_uid)
            if index is None:
                ordinal = sum(1 for a in assets if a.kind is AssetKind.DICOM_SERIES) + 1
                assets.append(self._new_asset(group, ordinal))
                continue
            old = assets[index]
            instances = order_instances([*old.instances, *(s.to_instance() for s in group)])
            merged = replace(old, instances=tuple(instances))
            if merged.thumbnail is None:
                thumbnail, window = self._render(merged.instances[len(merged.instances) // 2].blob, merged.label)
                merged = replace(merged, thumbnail=thumbnail, default_window=merged.default_window or window)
            assets[index] = merged
        return case.edited(
            assets=tuple(assets),
            text_rules=min(case.text_rules, _text_rules_of(series)),
            # a case imported before study keys existed learns its key when its study comes again
            study_keys=(*case.study_keys, study_key) if study_key else case.study_keys,
        )

    # -- PDFs, videos and slides -------------------------------------------------------
    def _converted_assets(self, group: list[Summary], present: Sequence[Asset]) -> list[Asset]:
        """Documents, clips and slide pictures for the non-stack instances of one series.

        A series the case already shows as such an asset (a study imported
        again, or in parts) is not converted again. A conversion that fails
        is reported and the rest of the import goes on.
        """
        made: list[Asset] = []
        for kind in (ObjectKind.PDF, ObjectKind.REPORT, ObjectKind.VIDEO, ObjectKind.SLIDE):
            items = [s for s in group if s.kind is kind]
            if not items:
                continue
            asset_kind = _CONVERTED_KIND[kind]
            series_uid = items[0].series_uid
            if any(a.kind is asset_kind and a.series_uid == series_uid for a in [*present, *made]):
                self.already_converted += len(items)
                self._converted_already[items[0].study_uid] = self._converted_already.get(items[0].study_uid, 0) + len(
                    items
                )
                self._count_already(items[0].study_uid, len(items))
                continue
            # One picture per slide, whatever the number of levels; one asset per PDF or clip.
            sources = [items] if kind is ObjectKind.SLIDE else [[s] for s in order_summaries(items)]
            for source in sources:
                self.cancel.raise_if_cancelled()
                number = 1 + sum(1 for a in [*present, *made] if _counts_as(a, kind))
                label = f"{_CONVERTED_LABEL[kind]} {number}"
                converted = self._convert(kind, source, label)
                if converted is not None:
                    made.append(self._converted_asset(converted, source[0], label))
        return made

    def _convert(self, kind: ObjectKind, source: list[Summary], label: str) -> Converted | None:
        where = f"{label} (series {source[0].series_number})" if source[0].series_number is not None else label
        try:
            if kind is ObjectKind.PDF:
                return pdf_document(self.blobs.get(source[0].blob), workdir=self._workdir())
            if kind is ObjectKind.VIDEO:
                ds = pydicom.dcmread(io.BytesIO(self.blobs.get(source[0].blob)))
                return video_clip(ds, workdir=self._workdir(), cancel=self.cancel)
            if kind is ObjectKind.REPORT:
                ds = pydicom.dcmread(io.BytesIO(self.blobs.get(source[0].blob)))
                return report_document(ds, workdir=self._workdir())
            return self._slide(source, where)
        except (StorageError, NotFoundError):
            raise
        except CaseDeckError as exc:
            self.problems.append(ImportProblem(where, f"could not be imported ({report_tail(str(exc))}); left out"))
            return None
        except Exception:  # a damaged object can make pydicom or a codec fail in many ways
            self.problems.append(ImportProblem(where, "could not be read (the file is damaged); left out"))
            return None

    def _slide(self, levels: list[Summary], where: str) -> Converted:
        """The slide picture from the best level that can be drawn; a damaged level is reported and skipped."""
        candidates = [s for s in levels if s.total_size is not None]
        while candidates:
            sizes = [LevelSize(*s.total_size) for s in candidates if s.total_size is not None]
            chosen = candidates[choose_level(sizes)]
            try:
                return slide_picture(pydicom.dcmread(io.BytesIO(self.blobs.get(chosen.blob))))
            except RenderError as exc:
                candidates.remove(chosen)
                if not candidates:
                    raise
                self.problems.append(
                    ImportProblem(
                        where,
                        f"one level of the slide could not be drawn ({report_tail(str(exc))}); another level was used",
                    )
                )
        raise RenderError("The slide does not say how large its picture is.")

    def _converted_asset(self, converted: Converted, first: Summary, label: str) -> Asset:
        return Asset(
            id=new_id(),
            kind=converted.kind,
            label=label,
            modality=first.modality,
            blob=self.blobs.put(converted.data),
            media_type=converted.media_type,
            thumbnail=self.blobs.put(converted.thumbnail) if converted.thumbnail else None,
            study_uid=first.study_uid,
            series_uid=first.series_uid,
            body_part=first.body_part,
            previews=tuple(self.blobs.put(p) for p in converted.previews),
            # A DICOM clip's frames were never searched for burned-in text (the de-identifier cannot
            # decode video): endoscopy and ultrasound clips often show the patient's name. Someone watches it.
            review=Review.NEEDS_REVIEW if converted.kind is AssetKind.VIDEO else Review.NOT_NEEDED,
        )

    def _workdir(self) -> Path:
        """A working folder in the quarantine for conversions, made on first use."""
        if self.quarantine_dir is None:
            raise StorageError("Converting PDFs, videos and slides needs the quarantine folder; none was given.")
        if self._workspace is None:
            self._workspace = QuarantineFolder(self.quarantine_dir, _CONVERT_PREFIX)
        return self._workspace.path

    def _new_asset(self, group: list[Summary], ordinal: int) -> Asset:
        self.cancel.raise_if_cancelled()
        ordered = order_summaries(group)
        first = ordered[0]
        label = series_label(first.series_description, first.modality, first.series_number, ordinal)
        thumbnail, window = self._render(ordered[len(ordered) // 2].blob, label)
        return Asset(
            id=new_id(),
            kind=AssetKind.DICOM_SERIES,
            label=label,
            modality=first.modality,
            instances=tuple(s.to_instance() for s in ordered),
            thumbnail=thumbnail,
            study_uid=first.study_uid,
            series_uid=first.series_uid,
            body_part=first.body_part,
            default_window=window,
        )

    def _render(self, blob: str, label: str) -> tuple[str | None, Window | None]:
        """Thumbnail and default window from the (de-identified) middle instance of a series."""
        ds = pydicom.dcmread(io.BytesIO(self.blobs.get(blob)))
        if not any(k in ds for k in _PIXEL_KEYWORDS):
            return None, None  # a report, key-object selection or presentation state: nothing to show
        try:
            window = default_window(ds)
            png = thumbnail_png(ds)
        except RenderError as exc:
            self.problems.append(
                ImportProblem(f"series “{label}”", f"no thumbnail could be made ({exc}); the series was kept")
            )
            return None, None
        return self.blobs.put(png), window


def _job_size(job: Job) -> int:
    return job.size


def _worker_setup(deidentifier: Deidentifier, blobs: BlobStore) -> WorkerSetup:
    """Workers build the same de-identifier, and write blobs themselves into a local blob store.

    Any other blob store (an object store, an in-memory one in tests) may not
    be shared between processes: the parent stores what the workers send back.
    """
    blob_root = blobs.root if isinstance(blobs, LocalBlobStore) else None
    return WorkerSetup(deidentifier, blob_root)


def _split(group: list[Summary]) -> tuple[list[Summary], list[Summary]]:
    """(instances for the stack viewer, instances converted to documents, clips or slide pictures)."""
    stack = [s for s in group if s.kind is ObjectKind.STACK]
    return stack, [s for s in group if s.kind is not ObjectKind.STACK]


def _counts_as(asset: Asset, kind: ObjectKind) -> bool:
    """Whether ``asset`` counts for the number in a new "PDF 2" / "Video 3" / "Slide 1" label.

    PDFs and videos are numbered with the uploaded ones (as casefiles.media_import
    numbers them); slides only among pictures that came from DICOM; reports among reports.
    """
    if asset.kind is not _CONVERTED_KIND[kind]:
        return False
    if kind is ObjectKind.REPORT:
        return asset.label.startswith(_CONVERTED_LABEL[kind] + " ")
    return kind is not ObjectKind.SLIDE or bool(asset.study_uid)


def _series_sort_key(group: list[Summary]) -> tuple[bool, int, str]:
    number = group[0].series_number
    return (number is None, number or 0, group[0].series_uid)


def _text_rules_of(series: Sequence[Sequence[Summary]]) -> int:
    """The oldest free-text rules among the instances a case's title and labels were made from."""
    return min((s.text_rules for group in series for s in group), default=0)
