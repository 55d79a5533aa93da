"""Burned-in text in photographs, pathology pictures and scans: screened like every DICOM image.

A photo of a request form, a specimen label in a pathology picture or a
screenshot pasted as an image carries names as pixels, which metadata
scrubbing cannot touch. The same screening as for DICOM
(:func:`casefiles.redaction.screen.screen_frames`) reads the picture; what
reads as text is blacked out in the stored file, and the picture is screened
again. Text still found after :data:`CLEARING_ROUNDS` rounds could not be
cleared: the picture waits for a person's review (the Case page's black-out
tool). Nothing read is returned or logged.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from casefiles.errors import DeidentificationError
from casefiles.media.images import preview_png, redact_image
from casefiles.redaction.clean import CLEARING_ROUNDS
from casefiles.redaction.geometry import Box
from casefiles.redaction.screen import screen_frames


@dataclass(frozen=True, slots=True)
class ScreenedPicture:
    data: bytes  # the stored JPEG/PNG, text blacked out
    preview: bytes | None  # a new preview when anything was blacked out, else None (keep the old one)
    boxes: tuple[Box, ...]
    held: bool  # text could not be cleared: a person must look


def screen_picture(data: bytes) -> ScreenedPicture:
    """Screen a scrubbed JPEG or PNG for burned-in text and black out what reads as text."""
    boxes: list[Box] = list(_found(data))
    if not boxes:
        return ScreenedPicture(data, None, (), False)
    cleaned = data
    held = True
    for _round in range(CLEARING_ROUNDS):
        cleaned = redact_image(data, [(b.x, b.y, b.width, b.height) for b in boxes])
        left = _found(cleaned)
        if not left:
            held = False
            break
        boxes.extend(left)
    return ScreenedPicture(cleaned, preview_png(cleaned), tuple(boxes), held)


def _found(data: bytes) -> tuple[Box, ...]:
    try:
        with Image.open(io.BytesIO(data)) as picture:
            rgb = np.asarray(picture.convert("RGB"))
    except (OSError, ValueError) as exc:
        raise DeidentificationError("The picture cannot be read to look for burned-in text.") from exc
    return screen_frames([rgb]).all_boxes()
