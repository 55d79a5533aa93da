"""Burned-in text review, black-out and blanking: what is left of a name in the pixels, removed for good.

Images held at import with their original in the encrypted review area are
confirmed (the cleaned image made then from the original with the boxes the
reviewer kept), boxes are blanked in stored DICOM images and blacked out in
photos, PDF pages and clips. Every edit is checked (``loaded=``) under the
shared edit lock; the files an edit replaced are handed to ``drop_unused``
(deleted unless a case or a running export still uses them).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Protocol

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian

from casefiles.errors import ValidationError
from casefiles.held_review import (
    checked_boxes,
    cleaned_from_original,
    has_original,
    original_dataset,
    outlined_frame,
    outlined_png,
)
from casefiles.imaging import thumbnail_png
from casefiles.media.images import preview_png
from casefiles.model import Asset, AssetKind, Case, Instance, Region, Review, Window
from casefiles.review_area import ReviewShelf
from casefiles.usecases._parts import (
    CheckedEdits,
    asset_or_none,
    find_instance,
    instance_or_none,
    save_file_change,
)


class ReviewRecords(Protocol):
    """Reading a case (:class:`casefiles.store.CaseStore`): an image is replaced in the case as it is now."""

    def get_case(self, case_id: str) -> Case: ...


class ReviewFiles(Protocol):
    """Reading and storing files (:class:`casefiles.store.BlobStore`)."""

    def get(self, digest: str) -> bytes: ...

    def put(self, data: bytes) -> str: ...


class ReviewPixels(Protocol):
    """The stored images read and rendered (:class:`casefiles.usecases.pixels.Pixels`)."""

    def dataset(self, blob: str) -> Dataset: ...

    def asset_window(self, asset: Asset, frame: int = 0) -> Window | None: ...

    def render_frame(self, asset: Asset, frame: int, window: Window | None) -> np.ndarray: ...


class ClipEncoder(Protocol):
    """A clip encoded again with boxes blacked out (:meth:`casefiles.usecases.media.MediaItems.reencoded_clip`)."""

    def reencoded_clip(self, asset: Asset, *, black_boxes: Sequence[tuple[int, int, int, int]] = ()) -> Asset: ...


class BurnedInReview:
    """The review and black-out use cases: checked edits through ``edits``, cases read from ``records``,
    files in ``files``, images rendered by ``pixels``, held originals in ``review_area``, clips encoded
    by ``clips``; a replaced file goes to ``drop_unused``."""

    def __init__(
        self,
        records: ReviewRecords,
        files: ReviewFiles,
        edits: CheckedEdits,
        pixels: ReviewPixels,
        *,
        review_area: ReviewShelf,
        clips: ClipEncoder,
        drop_unused: Callable[[Iterable[str | None]], None],
    ) -> None:
        self._records = records
        self._files = files
        self._edits = edits
        self._pixels = pixels
        self._review_area = review_area
        self._clips = clips
        self._drop_unused = drop_unused

    def pending(self, case: Case) -> list[tuple[Asset, int, Instance]]:
        """(series, first frame index, instance) of every image still waiting for a burned-in text review."""
        pending: list[tuple[Asset, int, Instance]] = []
        for asset in case.assets:
            first_frame = 0
            for instance in asset.instances:
                if instance.review is Review.NEEDS_REVIEW:
                    pending.append((asset, first_frame, instance))
                first_frame += instance.frames
        return pending

    def confirm_reviewed(
        self, case_id: str, asset_id: str, sop_instance_uid: str, *, loaded: Case | None = None
    ) -> Case:
        """A person looked at the image and found no identifying text left.

        For an image held with its original in the review area, the cleaned image is made now
        from the original with the boxes the reviewer kept, stored in place of the blank
        placeholder, and the original is wiped.

        With ``loaded`` (the case as the reviewer saw it), refused if that image (its boxes, file or
        review state) changed since: what is confirmed is what was looked at.
        """
        with self._edits.lock:
            stored = self._edits.checked(case_id, loaded, lambda c: instance_or_none(c, asset_id, sop_instance_uid))
            instance = find_instance(stored.asset(asset_id), sop_instance_uid)
            if not has_original(instance):
                return self._replace_instance(
                    case_id, asset_id, sop_instance_uid, lambda inst: replace(inst, review=Review.CONFIRMED)
                )
            original = original_dataset(self._review_area, instance)
            new_blob = self._files.put(cleaned_from_original(original, instance.redacted))
            updated = self._replace_instance(
                case_id,
                asset_id,
                sop_instance_uid,
                lambda inst: replace(inst, blob=new_blob, review=Review.CONFIRMED, review_original=""),
                refresh_thumbnail=True,
            )
        self._review_area.discard(instance.review_original)
        self._drop_unused((instance.blob,))
        return updated

    def set_review_boxes(
        self,
        case_id: str,
        asset_id: str,
        sop_instance_uid: str,
        boxes: Sequence[Region],
        *,
        loaded: Case | None = None,
    ) -> Case:
        """The boxes to blank when the held image is confirmed: the reviewer removed or added some.

        With ``loaded``, refused if that image's boxes (or file, or review state) changed since.
        """
        with self._edits.lock:
            stored = self._edits.checked(case_id, loaded, lambda c: instance_or_none(c, asset_id, sop_instance_uid))
            instance = find_instance(stored.asset(asset_id), sop_instance_uid)
            if not has_original(instance):
                raise ValidationError("This image was stored before originals were kept: blank regions on it directly.")
            kept = checked_boxes(original_dataset(self._review_area, instance), boxes)
            return self._replace_instance(
                case_id, asset_id, sop_instance_uid, lambda inst: replace(inst, redacted=kept)
            )

    def review_image_png(self, asset: Asset, frame: int, instance: Instance, max_side: int = 768) -> bytes:
        """What the reviewer looks at: the original with the proposed boxes, or the stored image with its blanks."""
        if not has_original(instance):
            return self.review_overlay_png(asset, frame, instance, max_side)
        _instance, within = asset.locate_frame(frame)
        return outlined_frame(
            original_dataset(self._review_area, instance), within, instance.redacted, max_side=max_side
        )

    def black_out(
        self,
        case_id: str,
        asset_id: str,
        regions: Sequence[Region],
        *,
        frame: int = 0,
        loaded: Case | None = None,
    ) -> Case:
        """Black out ``regions`` (a name, a date, a label) in the stored file of an image, for good.

        For a photo, pathology image or PDF page the stored file is replaced (its thumbnail too);
        for a DICOM series, the instance holding ``frame`` is blanked in every frame. Annotations
        and key images stay, since the pixels keep their places. The old file is deleted unless
        another case shares it.

        With ``loaded`` (the case the boxes were drawn on), refused if the image changed since (for a
        DICOM series: the image holding ``frame``), since the boxes were placed on what it showed then.
        """
        from casefiles.media.images import redact_image

        if not regions:
            raise ValidationError("Draw at least one box over what should be blacked out.")

        def aspect(c: Case) -> object:
            found = asset_or_none(c, asset_id)
            if found is not None and found.kind is AssetKind.DICOM_SERIES and 0 <= frame < found.frame_count:
                return found.locate_frame(frame)[0]  # the image holding the frame
            return None if found is None else found.blob  # the picture's or clip's file

        with self._edits.lock:
            case = self._edits.checked(case_id, loaded, aspect)
            asset = case.asset(asset_id)
            if asset.kind is AssetKind.DICOM_SERIES:
                instance, _within = asset.locate_frame(frame)
                for region in regions:  # one edit: no other edit comes between the boxes
                    case = self.blank_region(
                        case_id, asset_id, instance.sop_instance_uid, region, review=instance.review
                    )
                    instance = find_instance(case.asset(asset_id), instance.sop_instance_uid)
                return case
        boxes = [(r.x, r.y, r.width, r.height) for r in regions]
        if asset.kind is AssetKind.VIDEO and asset.blob is not None:
            changed = self._clips.reencoded_clip(asset, black_boxes=boxes)  # long: without the edit lock
        elif asset.kind is AssetKind.IMAGE and asset.blob is not None:
            cleaned = redact_image(self._files.get(asset.blob), boxes)
            changed = replace(asset, blob=self._files.put(cleaned), thumbnail=self._files.put(preview_png(cleaned)))
        else:
            raise ValidationError("Only images and clips can be blacked out: add a PDF's pages as images first.")
        with self._edits.lock:
            case = save_file_change(self._edits, case_id, asset_id, changed, loaded=loaded, aspect=aspect)
        self._drop_unused((asset.blob, asset.thumbnail))
        return case

    def blank_region(
        self,
        case_id: str,
        asset_id: str,
        sop_instance_uid: str,
        region: Region,
        *,
        review: Review = Review.NEEDS_REVIEW,
        loaded: Case | None = None,
    ) -> Case:
        """Blank ``region`` in every frame of a stored image, replacing the stored file.

        The previous file is deleted (unless another case shares it): it held the text just removed.
        A blank made while reviewing burned-in text leaves the image to be confirmed
        (``review``); one the user makes on a reviewed image keeps its state. With ``loaded``,
        refused if that image changed since.
        """
        from casefiles.redaction import Box, redact

        with self._edits.lock:
            case = self._edits.checked(case_id, loaded, lambda c: instance_or_none(c, asset_id, sop_instance_uid))
            instance = find_instance(case.asset(asset_id), sop_instance_uid)
            if has_original(instance):  # held: the box joins those blanked from the original on confirmation
                return self.set_review_boxes(case_id, asset_id, sop_instance_uid, (*instance.redacted, region))
            ds = self._pixels.dataset(instance.blob)
            if region.x >= int(ds.Columns) or region.y >= int(ds.Rows):
                raise ValidationError(f"That region lies outside the image ({ds.Columns} × {ds.Rows} pixels).")
            cleaned = redact(ds, [Box(region.x, region.y, region.width, region.height)])
            cleaned.file_meta = ds.file_meta
            cleaned.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
            buffer = io.BytesIO()
            cleaned.save_as(buffer, enforce_file_format=True)
            new_blob = self._files.put(buffer.getvalue())
            old_blob = instance.blob
            updated = self._replace_instance(
                case_id,
                asset_id,
                sop_instance_uid,
                lambda inst: replace(inst, blob=new_blob, redacted=(*inst.redacted, region), review=review),
                refresh_thumbnail=True,
            )
        self._drop_unused((old_blob,))
        return updated

    def _replace_instance(
        self,
        case_id: str,
        asset_id: str,
        sop_instance_uid: str,
        change: Callable[[Instance], Instance],
        *,
        refresh_thumbnail: bool = False,
    ) -> Case:
        """Apply ``change`` to one instance (and redraw the series thumbnail if asked); one save."""
        with self._edits.lock:
            case = self._records.get_case(case_id)
            asset = case.asset(asset_id)
            target = find_instance(asset, sop_instance_uid)
            changed = replace(asset, instances=tuple(change(i) if i is target else i for i in asset.instances))
            if refresh_thumbnail:
                middle = changed.instances[len(changed.instances) // 2]
                changed = replace(changed, thumbnail=self._files.put(thumbnail_png(self._pixels.dataset(middle.blob))))
            return self._edits.save(case, assets=tuple(changed if a.id == asset_id else a for a in case.assets))

    def review_overlay_png(self, asset: Asset, frame: int, instance: Instance, max_side: int = 768) -> bytes:
        """The frame as it is stored, with the blanked regions outlined, for the reviewer."""
        image = self._pixels.render_frame(asset, frame, self._pixels.asset_window(asset, frame))
        return outlined_png(image, instance.redacted, max_side=max_side)
