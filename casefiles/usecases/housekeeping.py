"""Housekeeping: deleting and merging cases, re-checking them, and freeing the files nothing uses any more.

Deleting or merging runs under the shared edit lock and is refused while an
export holds the case. A stored file is deleted only when no case refers to it
(the store's reference query), and while a running export reads it only once
that export is done (the exports registry defers it); a held original goes
with the last image record that refers to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from typing import Any, Protocol

from casefiles.errors import ValidationError
from casefiles.model import Asset, AssetKind, Case, Conference, new_id
from casefiles.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from casefiles.recheck import RecheckReport, recheck_library
from casefiles.review_area import ReviewShelf
from casefiles.store import CaseQuery, CaseSummary


class HousekeepingRecords(Protocol):
    """The part of the store contract (:class:`casefiles.store.CaseStore`) deleting, merging and re-checking use."""

    def get_case(self, case_id: str) -> Case: ...

    def save_case(self, case: Case) -> Case: ...

    def update_case(self, case_id: str, change: Callable[[Case], Case]) -> Case: ...

    def delete_case(self, case_id: str) -> None: ...

    def summaries(self, query: CaseQuery | None = None) -> list[CaseSummary]: ...

    def list_conferences(self) -> list[Conference]: ...

    def update_conference(self, conference_id: str, change: Callable[[Conference], Conference]) -> Conference: ...

    def blobs_in_use(self, digests: Iterable[str]) -> set[str]: ...


class HousekeepingFiles(Protocol):
    """The blob store (:class:`casefiles.store.BlobStore`): re-checking stores cleaned files, freeing deletes."""

    def get(self, digest: str) -> bytes: ...

    def put(self, data: bytes) -> str: ...

    def delete(self, digest: str) -> None: ...


class ExportGuard(Protocol):
    """The running exports (:class:`casefiles.usecases.export.RunningExports`)."""

    def refuse_while_exported(self, target_id: str, refused: str) -> None: ...

    def defer_drop(self, digest: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class CaseDeletion:
    """What deleting a case removes, named for the confirmation and the message afterwards."""

    case_id: str
    title: str
    series: int
    images: int
    other_items: int
    key_images: int
    conferences: tuple[str, ...]

    @classmethod
    def of(cls, case: Case, conferences: Sequence[Conference]) -> CaseDeletion:
        from casefiles.release import case_name

        dicom = [a for a in case.assets if a.kind is AssetKind.DICOM_SERIES]
        pictures = sum(1 for a in case.assets if a.kind is AssetKind.IMAGE)
        return cls(
            case_id=case.id,
            title=case_name(case),
            series=len(dicom),
            images=sum(len(a.instances) for a in dicom) + pictures,
            other_items=sum(1 for a in case.assets if a.kind not in (AssetKind.DICOM_SERIES, AssetKind.IMAGE)),
            key_images=len(case.key_images),
            conferences=tuple(c.title for c in conferences),
        )

    def summary(self, name: Callable[[str], str] = str) -> str:
        """One sentence naming the case, what goes with it and the conferences it leaves.

        ``name`` is applied to each title (a page passes its Markdown escaping: titles come from studies
        and from other people).
        """
        parts = [f"{self.series} series", f"{self.images} image(s)"]
        if self.other_items:
            parts.append(f"{self.other_items} other item(s) (clips, PDFs, slides)")
        parts.append(f"{self.key_images} key image(s)")
        text = f"“{name(self.title)}” with its {', '.join(parts)}"
        if self.conferences:
            names = ", ".join(f"“{name(t)}”" for t in self.conferences)
            text += f"; it is taken out of {len(self.conferences)} conference(s): {names}"
        return text


class Housekeeping:
    """Deleting, merging and re-checking the cases in ``records`` under ``edit_lock``; files in ``files``,
    held originals in ``review_area``; ``running`` keeps what exports read; ``forget_cached`` drops a
    deleted file from the render caches."""

    def __init__(
        self,
        records: HousekeepingRecords,
        files: HousekeepingFiles,
        review_area: ReviewShelf,
        running: ExportGuard,
        *,
        edit_lock: AbstractContextManager[Any],
        forget_cached: Callable[[str], None],
    ) -> None:
        self._records = records
        self._files = files
        self._review_area = review_area
        self._running = running
        self._edit_lock = edit_lock
        self._forget_cached = forget_cached

    def deletion(self, case_id: str) -> CaseDeletion:
        """What deleting this case would remove, for the confirmation (nothing is changed)."""
        case = self._records.get_case(case_id)
        conferences = tuple(c for c in self._records.list_conferences() if case_id in c.case_ids)
        return CaseDeletion.of(case, conferences)

    def delete(self, case_id: str) -> CaseDeletion:
        """Delete a case: out of every conference it is in, its held originals wiped from the review
        area, and its stored files deleted unless another case uses them. Missing files are fine.

        Returns what went (title, counts, the conferences that were updated) for the message.
        Refused (:class:`BusyError`, nothing deleted) while an export holding the case is being written.
        """
        with self._edit_lock:
            deletion = self.deletion(case_id)  # NotFoundError when it is already gone
            self._running.refuse_while_exported(case_id, f"“{deletion.title}” cannot be deleted")
            case = self._records.get_case(case_id)
            for conference in self._records.list_conferences():
                if case_id in conference.case_ids:
                    self._records.update_conference(
                        conference.id,
                        lambda k: k.edited(items=tuple(i for i in k.items if i.case_id != case_id)),
                    )
            self._records.delete_case(case_id)
            self.forget_files(case.assets)
        return deletion

    def merge(self, target_id: str, source_id: str) -> Case:
        """Move the assets and key images of ``source_id`` into ``target_id`` and delete the emptied case.

        Both must hold a series of the same (de-identified) study, or the same study key (the
        study imported again after its series left the first case). A series both already hold is
        kept once (the target's), and the source's key images on it point at the target's copy.
        The target's empty text fields take the source's; tags and study keys are joined.
        Conferences that held the source hold the target in its place.
        """
        if target_id == source_id:
            raise ValidationError("Choose two different cases to merge.")
        with self._edit_lock:
            source = self._records.get_case(source_id)
            self._running.refuse_while_exported(source_id, f"“{source.title}” cannot be merged into another case")
            return self._merge_cases(target_id, source)

    def _merge_cases(self, target_id: str, source: Case) -> Case:
        source_id = source.id
        target = self._records.get_case(target_id)
        studies = {a.study_uid for a in target.assets if a.study_uid}
        same_key = set(target.study_keys) & set(source.study_keys)
        if not studies & {a.study_uid for a in source.assets if a.study_uid} and not same_key:
            raise ValidationError(
                "These cases are not of the same study, so they cannot be merged; add the other case's "
                "images to the same conference instead."
            )
        by_series = {a.series_uid: a for a in target.assets if a.series_uid}
        asset_ids = {a.id for a in target.assets}
        moved: list[Asset] = []
        renamed: dict[str, str] = {}  # source asset id -> the target asset that stands for it
        dropped: list[Asset] = []
        for asset in source.assets:
            twin = by_series.get(asset.series_uid) if asset.series_uid else None
            if twin is not None and _same_instances(twin, asset):
                renamed[asset.id] = twin.id
                dropped.append(asset)
                continue
            if asset.id in asset_ids:
                renamed[asset.id] = new_id()
            moved.append(replace(asset, id=renamed[asset.id]) if asset.id in renamed else asset)
        keys = list(target.key_images)
        for key in source.key_images:
            moved_key = replace(key, asset_id=renamed.get(key.asset_id, key.asset_id))
            if not any(k.asset_id == moved_key.asset_id and k.frame == moved_key.frame for k in keys):
                keys.append(moved_key)
        filled = {
            name: getattr(source, name)
            for name in ("history", "findings", "diagnosis", "differential", "teaching_points", "body_part")
            if not getattr(target, name) and getattr(source, name)
        }
        merged = target.edited(
            assets=(*target.assets, *moved),
            key_images=tuple(keys),
            tags=tuple(dict.fromkeys((*target.tags, *source.tags))),
            study_keys=(*target.study_keys, *source.study_keys),
            **filled,
        )
        merged = self._records.save_case(merged)
        for conference in self._records.list_conferences():
            if source_id in conference.case_ids:
                self._records.update_conference(conference.id, lambda k: _conference_with(k, source_id, target_id))
        self._records.delete_case(source_id)
        self.forget_files(dropped)
        return merged

    def forget_files(self, assets: Iterable[Asset]) -> None:
        """Wipe the held originals and delete the stored files of assets no case holds any more.

        A file or original that another case still refers to is kept; one already missing is fine.
        """
        assets = list(assets)
        in_use = self._records.blobs_in_use(d for asset in assets for d in asset.blob_ids)
        for asset in assets:
            for instance in asset.instances:
                # a held original belongs to its image record: kept while a case still holds that image
                if instance.review_original and instance.blob not in in_use:
                    self._review_area.discard(instance.review_original)
            for digest in asset.blob_ids - in_use:
                self._delete_blob(digest)

    def _delete_blob(self, digest: str) -> None:
        """Delete a stored file no case uses; while an export reads it, only once that export is done."""
        if self._running.defer_drop(digest):
            return
        self._files.delete(digest)
        self._forget_cached(digest)

    def recheck(
        self,
        case_ids: Sequence[str] | None = None,
        *,
        progress: ProgressFn = no_progress,
        cancel: CancelToken = NEVER_CANCELLED,
    ) -> RecheckReport:
        """Bring stored cases up to the current de-identification rules (every case when None)."""
        report = recheck_library(
            self._records, self._files, self._review_area, case_ids, progress=progress, cancel=cancel
        )
        self.drop_unused(report.replaced_blobs)
        return report

    def drop_unused(self, digests: Iterable[str | None]) -> None:
        """Delete the stored files no case refers to any more (they held what was just blacked out)."""
        for digest in set(digests):
            if digest and not self._blob_in_use(digest):
                self._delete_blob(digest)

    def _blob_in_use(self, digest: str) -> bool:
        return bool(self._records.blobs_in_use((digest,)))


def _same_instances(first: Asset, second: Asset) -> bool:
    """Whether two series hold the same images (the same study imported twice)."""
    return {i.sop_instance_uid for i in first.instances} == {i.sop_instance_uid for i in second.instances}


def _conference_with(conference: Conference, source_id: str, target_id: str) -> Conference:
    """``conference`` with the merged-away ``source_id`` shown as ``target_id`` (once)."""
    items = tuple(
        replace(i, case_id=target_id) if i.case_id == source_id else i
        for i in conference.items
        if not (i.case_id == source_id and target_id in conference.case_ids)
    )
    return conference.edited(items=items)
