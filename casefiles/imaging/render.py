"""Whole-frame rendering, thumbnails and resizing: the pipeline callers normally want."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset

from casefiles.errors import RenderError, ValidationError
from casefiles.imaging.encode import encode_png
from casefiles.imaging.pixels import frame_count, modality_frame
from casefiles.imaging.voi import auto_window, default_window, to_display
from casefiles.model import Window


def render_frame(ds: Dataset, frame: int = 0, window: Window | None = None) -> npt.NDArray[np.uint8]:
    """One frame as a display image: the given window, else the image's VOI LUT or window, else auto."""
    pixels = modality_frame(ds, frame)
    if pixels.ndim == 2 and window is None and not ds.get("VOILUTSequence"):
        window = default_window(ds, frame) or auto_window(pixels)
    return to_display(ds, pixels, window)


def fit_within(image: npt.NDArray[Any], max_w: int, max_h: int) -> npt.NDArray[Any]:
    """Shrink ``image`` to fit max_w × max_h keeping its aspect ratio; never enlarges (returns it as is)."""
    for name, value in (("max_w", max_w), ("max_h", max_h)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValidationError(f"{name} must be a whole number of pixels ≥ 1 (got {value!r}).")
    if not isinstance(image, np.ndarray) or image.ndim not in (2, 3) or image.size == 0:
        raise RenderError("Only a non-empty 2-D grey or colour image can be resized.")
    height, width = image.shape[:2]
    scale = min(max_w / width, max_h / height)
    if scale >= 1.0:
        return image
    size = (min(max_w, max(1, round(width * scale))), min(max_h, max(1, round(height * scale))))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def thumbnail_png(ds: Dataset, frame: int | None = None, size: int = 256) -> bytes:
    """PNG thumbnail of ``frame`` (the middle one by default), longest side at most ``size``."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValidationError(f"Thumbnail size must be a whole number of pixels ≥ 1 (got {size!r}).")
    if frame is None:
        frame = frame_count(ds) // 2
    return encode_png(fit_within(render_frame(ds, frame), size, size))
