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
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import pydicom

from casefiles.deid import Deidentifier, DeidReport
from casefiles.errors import (
    NotFoundError,
    RenderError,
    StorageError,
    ValidationError,
)
from casefiles.imaging import default_window, thumbnail_png
from casefiles.ingest.grouping import (
    Summary,
    case_title,
    first_nonempty,
    joined_modalities,
    order_instances,
    order_summaries,
    series_label,
)
from casefiles.ingest.pool import PoolPlan, default_workers, map_in_order
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
from casefiles.ingest.report import ImportProblem, ImportReport, Upload
from casefiles.ingest.sources import Found, gather
from casefiles.ingest.zipsafe import DEFAULT_ZIP_LIMITS, ZipLimits
from casefiles.model import Asset, AssetKind, Case, Window, new_id
from casefiles.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from casefiles.store import BlobStore, CaseStore
from casefiles.store.blobs import LocalBlobStore

POOL_THRESHOLD = 24
"""Imports of more files than this use worker processes (starting them costs about half a second)."""
_WORKSPACE_PREFIX = "import-"
_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
_MAX_TITLE, _MAX_AUTHOR = 300, 200  # as casefiles.model.Case checks them


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
) -> ImportReport:
    """Import DICOM from files, folders, zips, DICOMDIRs and uploads into de-identified cases.

    One case per study; a study already in the library (same de-identified
    Study Instance UID) receives the new series and instances instead.
    Problems with single files are reported, not raised. An import of more
    than ``pool_threshold`` files is read and de-identified by ``workers``
    processes (default: one per CPU, at most 4); ``workers=1`` keeps it in
    this process. Raises
    :class:`~casefiles.errors.Cancelled` if ``cancel`` fires (nothing saved),
    :class:`~casefiles.errors.StorageError` if the library cannot be written.
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
    run = _Run(store=store, blobs=blobs, deidentifier=deidentifier, cancel=cancel)
    run.existing_by_study()  # what is already in the library, to merge re-imports and skip duplicates
    folder = QuarantineFolder(quarantine_dir, _WORKSPACE_PREFIX)
    work = folder.path
    try:
        try:
            gathered = gather(sources, work, limits=limits, cancel=cancel)
        except OSError as exc:
            raise StorageError(f"Cannot unpack into the quarantine folder ({exc.strerror}); is the disk full?") from exc
        run.problems.extend(gathered.problems)
        total = len(gathered.files)
        cancel.raise_if_cancelled()
        if total:
            progress(0, total, f"De-identifying 1 of {total}")
        # closing(): whatever happens in the loop, worker processes are stopped before the quarantine is wiped
        with contextlib.closing(run.prepared(gathered.files, workers, pool_threshold)) as outcomes:
            for done, (found, prepared) in enumerate(outcomes):
                run.record(found, prepared)
                if done + 1 < total:
                    progress(done + 1, total, f"De-identifying {done + 2} of {total}")
        folder.remove()  # raw input is no longer needed: do not keep it while thumbnails are made
        cancel.raise_if_cancelled()
        progress(total, total, "Making thumbnails and saving cases")
        cases = run.build_cases(title=title.strip() if title else None, author=author)
        cancel.raise_if_cancelled()
        for case in cases.changed:
            store.save_case(case)
    finally:
        folder.remove()
    return ImportReport(
        files_seen=gathered.files_seen,
        instances_imported=len(run.summaries),
        duplicates_skipped=run.duplicates,
        case_ids=cases.ids,
        problems=tuple(run.problems),
        deid=run.deid_report,
        burned_in_flagged=run.burned_in,
    )


@dataclass(frozen=True, slots=True)
class _Cases:
    changed: tuple[Case, ...]
    ids: tuple[str, ...]


@dataclass(slots=True)
class _Run:
    """The state of one import while files go through it."""

    store: CaseStore
    blobs: BlobStore
    deidentifier: Deidentifier
    cancel: CancelToken
    problems: list[ImportProblem] = field(default_factory=list)
    summaries: list[Summary] = field(default_factory=list)
    duplicates: int = 0
    burned_in: int = 0
    deid_report: DeidReport = field(default_factory=lambda: DeidReport.EMPTY)
    _seen_sops: set[str] = field(default_factory=set)
    _duplicate_studies: set[str] = field(default_factory=set)
    _existing: dict[str, Case] | None = None

    def existing_by_study(self) -> dict[str, Case]:
        """Cases already in the library, by the de-identified Study Instance UID of their series."""
        if self._existing is None:
            index: dict[str, Case] = {}
            for case in self.store.list_cases():  # newest first: a study goes to its newest case
                for asset in case.assets:
                    if asset.kind is AssetKind.DICOM_SERIES and asset.study_uid:
                        index.setdefault(asset.study_uid, case)
            self._existing = index
            for case in index.values():
                for asset in case.assets:
                    self._seen_sops.update(i.sop_instance_uid for i in asset.instances)
        return self._existing

    def prepared(
        self, files: list[Found], workers: int, pool_threshold: int
    ) -> Generator[tuple[Found, Prepared], None, None]:
        """Each file read, de-identified and encoded, in order: in worker processes for a large import.

        Cancellation is checked before each file is handed over; in this
        process a duplicate is recognised before it is encoded.
        """
        if workers > 1 and len(files) > pool_threshold:
            plan = PoolPlan(
                task=prepare_job,
                crashed=worker_crashed,
                size_of=_job_size,
                workers=min(workers, len(files)),
                initializer=start_worker,
                initargs=(_worker_setup(self.deidentifier, self.blobs),),
                in_process=self._prepare_here,
                fatal=(StorageError,),
            )
            jobs = [Job(found.path, found.from_zip) for found in files]
            with contextlib.closing(map_in_order(plan, jobs, cancel=self.cancel)) as outcomes:
                for found, (_job, outcome) in zip(files, outcomes, strict=True):
                    yield found, outcome
            return
        for found in files:
            self.cancel.raise_if_cancelled()
            yield found, self._prepare_here(Job(found.path, found.from_zip))

    def _prepare_here(self, job: Job) -> Prepared:
        return prepare_file(job.path, from_zip=job.from_zip, deidentifier=self.deidentifier, known=self._seen_sops)

    def record(self, found: Found, prepared: Prepared) -> None:
        """Store one prepared file (or note its problem); nothing is saved to the case store yet."""
        summary = prepared.summary
        if prepared.report is not None:
            self.deid_report = self.deid_report.merged(prepared.report)
            if prepared.report.burned_in_suspected:
                self.burned_in += 1
        if summary is not None and summary.sop_uid in self._seen_sops:
            self.duplicates += 1
            self._duplicate_studies.add(summary.study_uid)
            return
        if prepared.problem is not None:
            self.problems.append(ImportProblem(found.item, prepared.problem))
            return
        if summary is None:
            return  # a DICOMDIR
        digest = prepared.blob or self.blobs.put(prepared.encoded)
        self._seen_sops.add(summary.sop_uid)
        self.summaries.append(replace(summary, blob=digest))

    # -- grouping ------------------------------------------------------------------
    def build_cases(self, *, title: str | None, author: str) -> _Cases:
        """New cases for new studies; existing cases with the new series merged in."""
        studies: dict[str, dict[str, list[Summary]]] = {}
        for s in self.summaries:
            studies.setdefault(s.study_uid, {}).setdefault(s.series_uid, []).append(s)
        existing = self.existing_by_study()
        changed: list[Case] = []
        ids: list[str] = []
        for study_uid, series in studies.items():
            ordered = sorted(series.values(), key=_series_sort_key)
            case = self._current(existing.get(study_uid))
            if case is None:
                case = self._new_case(ordered, title=title, author=author)
            else:
                case = self._merged_case(case, ordered)
            changed.append(case)
            ids.append(case.id)
        for study_uid in self._duplicate_studies:
            if study_uid not in studies and study_uid in existing:
                ids.append(existing[study_uid].id)  # nothing new: the case is named but not touched
        return _Cases(tuple(changed), tuple(dict.fromkeys(ids)))

    def _current(self, known: Case | None) -> Case | None:
        """The case as it is now: it may have been edited, or deleted, while the files were imported."""
        if known is None:
            return None
        try:
            return self.store.get_case(known.id)
        except NotFoundError:
            return None

    def _new_case(self, series: list[list[Summary]], *, title: str | None, author: str) -> Case:
        assets = [self._new_asset(group, ordinal) for ordinal, group in enumerate(series, start=1)]
        firsts = [group[0] for group in series]
        modality = joined_modalities(s.modality for s in firsts)
        body_part = first_nonempty([s.body_part for s in firsts])
        study_description = first_nonempty([s.study_description for s in firsts])
        return Case(
            id=new_id(),
            title=title or case_title(modality, body_part, study_description),
            modality=modality[:64],
            body_part=body_part[:64],
            author=author,
            assets=tuple(assets),
        )

    def _merged_case(self, case: Case, series: list[list[Summary]]) -> Case:
        assets = list(case.assets)
        by_series = {a.series_uid: n for n, a in enumerate(assets) if a.kind is AssetKind.DICOM_SERIES}
        for group in series:
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
        return case.edited(assets=tuple(assets))

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


def _series_sort_key(group: list[Summary]) -> tuple[bool, int, str]:
    number = group[0].series_number
    return (number is None, number or 0, group[0].series_uid)
