"""Reviewing an image held for burned-in text, from its original in the encrypted review area.

A held image enters the library as a blank placeholder; its original waits in
:mod:`casefiles.review_area` with the boxes screening proposed (kept on the
instance as ``redacted``). The reviewer sees the boxes over the original,
removes wrong ones, adds missing ones and confirms: only then is the cleaned
image made from the original, stored, and the original wiped. These are the
pure steps; :class:`casefiles.services.Services` runs them against the stores.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt
import pydicom
from pydicom.dataset import Dataset

from casefiles.errors import ValidationError
from casefiles.imaging import default_window, encode_png, fit_within, modality_frame, to_display
from casefiles.model import Instance, Region
from casefiles.redaction import Box, redact
from casefiles.review_area import ReviewShelf

OUTLINE = (255, 80, 40)  # orange: a box that will be blanked


def has_original(instance: Instance) -> bool:
    return bool(instance.review_original)


def original_dataset(area: ReviewShelf, instance: Instance) -> Dataset:
    """The held image's original, decrypted; never cached (it may show the patient's name)."""
    if not instance.review_original:
        raise ValidationError("This image has no original waiting for review.")
    return pydicom.dcmread(io.BytesIO(area.get(instance.review_original)))


def checked_boxes(ds: Dataset, boxes: Sequence[Region]) -> tuple[Region, ...]:
    """The boxes, each required to touch the image (a box wholly outside it blanks nothing)."""
    columns, rows = int(ds.Columns), int(ds.Rows)
    for box in boxes:
        if box.x >= columns or box.y >= rows or box.x + box.width <= 0 or box.y + box.height <= 0:
            raise ValidationError(f"A box lies outside the image ({columns} × {rows} pixels).")
    return tuple(boxes)


def outlined_frame(ds: Dataset, within: int, boxes: Sequence[Region], *, max_side: int) -> bytes:
    """One frame of ``ds`` for the reviewer, windowed as stored, with each box outlined and numbered."""
    image = to_display(ds, modality_frame(ds, within), default_window(ds, within))
    return outlined_png(image, boxes, max_side=max_side)


def outlined_png(image: npt.NDArray[np.uint8], boxes: Sequence[Region], *, max_side: int) -> bytes:
    rgb = np.ascontiguousarray(np.stack([image] * 3, axis=-1) if image.ndim == 2 else image.copy())
    thickness = max(2, max(rgb.shape[:2]) // 300)
    scale = max(0.4, max(rgb.shape[:2]) / 1000)
    for number, r in enumerate(boxes, start=1):
        cv2.rectangle(rgb, (r.x, r.y), (r.x + r.width - 1, r.y + r.height - 1), OUTLINE, thickness)
        label_y = r.y + r.height + int(14 * scale) if r.y < 20 else r.y - 4
        cv2.putText(rgb, str(number), (r.x, label_y), cv2.FONT_HERSHEY_SIMPLEX, scale, OUTLINE, thickness)
    return encode_png(fit_within(rgb, max_side, max_side))


def cleaned_from_original(original: Dataset, boxes: Sequence[Region]) -> bytes:
    """The file to store once the reviewer confirmed: the original with ``boxes`` blanked in every frame."""
    cleaned = redact(original, [Box(b.x, b.y, b.width, b.height) for b in boxes]) if boxes else original
    cleaned.BurnedInAnnotation = "NO"  # a person looked and confirmed nothing identifying is left
    buffer = io.BytesIO()
    cleaned.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()
