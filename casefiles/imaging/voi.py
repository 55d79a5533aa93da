"""Choosing and applying the VOI transform: modality values to 8-bit grey levels.

The window functions follow PS3.3 C.11.2.1.2 (LINEAR) and C.11.2.1.3
(LINEAR_EXACT, SIGMOID) with an output range of 0–255; MONOCHROME1 is
inverted afterwards so high values look dark, as the modality intended.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset

from casefiles.errors import RenderError, ValidationError
from casefiles.imaging._header import (
    check_frame,
    first_number,
    functional_item,
    is_color,
    is_little_endian,
    photometric,
)
from casefiles.imaging._lut import apply_lut, read_lut
from casefiles.model import Window

_AUTO_LOW, _AUTO_HIGH = 0.5, 99.5
_AUTO_SAMPLE = 1 << 20  # percentiles of a million evenly spaced pixels are as good as of all of them
_FUNCTIONS = ("LINEAR", "LINEAR_EXACT", "SIGMOID")


def default_window(ds: Dataset, frame: int = 0) -> Window | None:
    """The window the modality suggested for ``frame`` (first of several), or None if it gave none.

    Looks in the frame's functional groups, then the shared ones, then the
    top-level Window Center/Width. A window the header spoils (width < 1,
    not a number) counts as none, so the image still renders with an auto window.
    """
    check_frame(ds, frame, need_pixels=False)  # a header read without its pixels is enough
    if is_color(ds):
        return None
    item = functional_item(ds, frame, "FrameVOILUTSequence")
    source = item if item is not None else ds
    center = first_number(source.get("WindowCenter"))
    width = first_number(source.get("WindowWidth"))
    if center is None or width is None:
        return None
    try:
        return Window(center=center, width=width)
    except ValidationError:
        return None


def auto_window(pixels: npt.NDArray[Any]) -> Window:
    """A window spanning the 0.5–99.5 % range of the finite values, for images without a VOI.

    Robust to a few hot pixels or a black border; used for MR, CR and DX
    objects that carry no window of their own.
    """
    if not isinstance(pixels, np.ndarray) or pixels.dtype.kind not in "biuf" or pixels.size == 0:
        raise RenderError("There are no pixel values to choose a window from.")
    flat = pixels.reshape(-1)
    if flat.size > _AUTO_SAMPLE:
        flat = flat[:: (flat.size // _AUTO_SAMPLE) | 1]  # an odd stride does not alias with even widths
    values = flat.astype(np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise RenderError("The image holds no finite pixel values to choose a window from.")
    low, high = np.percentile(values, [_AUTO_LOW, _AUTO_HIGH])
    return Window(center=float(low + high) / 2, width=max(float(high - low), 1.0))


def to_display(ds: Dataset, pixels: npt.NDArray[Any], window: Window | None) -> npt.NDArray[np.uint8]:
    """Map modality values to 8-bit display values (H×W grey or H×W×3 RGB).

    With an explicit ``window`` that window is used. Without one, the
    dataset's VOI LUT Sequence is used if present, else its own window, else an
    auto window. Colour images pass through unchanged: windows apply to grey only.
    """
    if not isinstance(pixels, np.ndarray) or pixels.size == 0:
        raise RenderError("There are no pixels to display.")
    if pixels.ndim == 3 and pixels.shape[2] == 3:
        if pixels.dtype != np.uint8:
            raise RenderError("Colour pixels must be 8-bit RGB, as modality_frame returns them.")
        return np.ascontiguousarray(pixels)
    if pixels.ndim != 2 or pixels.dtype.kind not in "biuf":
        raise RenderError("Only a 2-D grey frame or an RGB frame can be displayed.")
    if window is not None and not isinstance(window, Window):
        raise ValidationError("The window must be a Window (centre and width).")
    lut_items = ds.get("VOILUTSequence") if window is None else None
    if lut_items:
        signed = int(ds.get("PixelRepresentation", 0) or 0) == 1 and "ModalityLUTSequence" not in ds
        lut = read_lut(lut_items[0], signed_input=signed, little_endian=is_little_endian(ds))
        levels = apply_lut(pixels, lut)
        levels *= np.float32(255.0 / lut.max_output)
        image = _round_to_uint8(levels)
    else:
        if window is None:
            window = default_window(ds) or auto_window(pixels)
        image = apply_window(pixels, window, voi_function(ds))
    if photometric(ds) == "MONOCHROME1":
        np.subtract(255, image, out=image)
    return image


def voi_function(ds: Dataset) -> str:
    """LINEAR, LINEAR_EXACT or SIGMOID per (0028,1056); LINEAR when absent or unknown."""
    item = functional_item(ds, 0, "FrameVOILUTSequence")
    raw = ds.get("VOILUTFunction") or (item.get("VOILUTFunction") if item is not None else None)
    name = str(raw or "LINEAR").strip().upper()
    return name if name in _FUNCTIONS else "LINEAR"


def apply_window(values: npt.NDArray[Any], window: Window, function: str = "LINEAR") -> npt.NDArray[np.uint8]:
    """Window ``values`` to 0–255 with a VOI LUT Function from PS3.3 C.11.2.1."""
    center, width = float(window.center), float(window.width)
    out = values.astype(np.float32)  # always a copy we may overwrite
    if function == "SIGMOID":
        out -= np.float32(center)
        out *= np.float32(-4.0 / width)
        np.clip(out, -80.0, 80.0, out=out)  # exp() stays finite; the result is saturated there anyway
        np.exp(out, out=out)
        out += np.float32(1.0)
        np.divide(np.float32(255.0), out, out=out)
    elif function == "LINEAR_EXACT":
        out -= np.float32(center)
        out *= np.float32(255.0 / width)
        out += np.float32(127.5)
    elif width <= 1.0:
        # C.11.2.1.2.1 with w = 1 is a threshold at c - 0.5.
        return np.where(values > center - 0.5, np.uint8(255), np.uint8(0)).astype(np.uint8)
    else:
        out -= np.float32(center - 0.5)
        out *= np.float32(255.0 / (width - 1.0))
        out += np.float32(127.5)
    return _round_to_uint8(out)


def _round_to_uint8(levels: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]:
    np.nan_to_num(levels, copy=False, nan=0.0, posinf=255.0, neginf=0.0)  # NaN in float pixel data shows black
    np.clip(levels, 0.0, 255.0, out=levels)
    levels += np.float32(0.5)
    return levels.astype(np.uint8)
