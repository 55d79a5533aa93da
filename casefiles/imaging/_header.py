"""Reading the few header values rendering needs, tolerant of real-world quirks.

Enhanced (multi-frame) objects keep per-frame values in functional groups;
older objects keep them at the top level. Lookups try the frame's own group,
then the shared group, then the top level, so callers need not care which.
"""

from __future__ import annotations

import math
from typing import Any

from pydicom.dataset import Dataset
from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from casefiles.errors import RenderError

PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")


def has_pixels(ds: Dataset) -> bool:
    return any(keyword in ds for keyword in PIXEL_KEYWORDS)


def require_pixels(ds: Dataset) -> None:
    if not isinstance(ds, Dataset):
        raise RenderError("Only a DICOM dataset can be rendered.")
    if not has_pixels(ds):
        raise RenderError(
            "This DICOM object holds no image pixels (it may be a report, a structure set or a presentation state)."
        )


def frame_total(ds: Dataset) -> int:
    """Number of frames per (0028,0008); absent, empty or 0 means one, as pydicom assumes."""
    require_pixels(ds)
    return declared_frames(ds)


def declared_frames(ds: Dataset) -> int:
    """Like ``frame_total`` but for headers read without their pixels (stop_before_pixels)."""
    raw = ds.get("NumberOfFrames")
    if raw is None or raw == "":
        return 1
    try:
        count = int(raw)
    except (TypeError, ValueError):
        raise RenderError("The image header gives a number of frames that is not a whole number.") from None
    if count < 0:
        raise RenderError("The image header gives a negative number of frames.")
    return max(count, 1)


def check_frame(ds: Dataset, frame: int, *, need_pixels: bool = True) -> int:
    """Validate ``frame`` (0-based) against the dataset; return the frame total."""
    if isinstance(frame, bool) or not isinstance(frame, int):
        raise RenderError(f"A frame number must be a whole number, not {type(frame).__name__}.")
    if not isinstance(ds, Dataset):
        raise RenderError("Only a DICOM dataset can be rendered.")
    total = frame_total(ds) if need_pixels else declared_frames(ds)
    if not 0 <= frame < total:
        noun = "frame" if total == 1 else "frames"
        raise RenderError(f"Frame {frame + 1} does not exist; this image has {total} {noun}.")
    return total


def photometric(ds: Dataset) -> str:
    return str(ds.get("PhotometricInterpretation", "MONOCHROME2") or "MONOCHROME2").strip().upper()


def is_color(ds: Dataset) -> bool:
    try:
        samples = int(ds.get("SamplesPerPixel", 1) or 1)
    except (TypeError, ValueError):
        samples = 1
    return samples > 1 or photometric(ds) == "PALETTE COLOR"


def _items(value: Any) -> list[Dataset]:
    try:
        return [item for item in value if isinstance(item, Dataset)]
    except TypeError:
        return []


def functional_item(ds: Dataset, frame: int, sequence: str) -> Dataset | None:
    """The first item of ``sequence`` for ``frame`` from the per-frame, then shared, functional groups."""
    per_frame = _items(ds.get("PerFrameFunctionalGroupsSequence", []))
    groups = [per_frame[frame]] if frame < len(per_frame) else []
    groups += _items(ds.get("SharedFunctionalGroupsSequence", []))[:1]
    for group in groups:
        found = _items(group.get(sequence, []))
        if found:
            return found[0]
    return None


def first_number(value: Any) -> float | None:
    """First value of a (possibly multi-valued) numeric element, or None when absent or unusable."""
    if value is None or (isinstance(value, str | bytes) and not value):
        return None
    if not isinstance(value, str | bytes):
        try:
            value = next(iter(value))
        except TypeError:
            pass
        except StopIteration:
            return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def transfer_syntax(ds: Dataset) -> UID:
    """The transfer syntax of the pixel data; inferred from how the dataset was read if the meta lacks it."""
    meta = getattr(ds, "file_meta", None)
    uid = meta.get("TransferSyntaxUID") if meta is not None else None
    if uid:
        return UID(str(uid))
    implicit, little = getattr(ds, "original_encoding", (None, None))
    inferred: UID | None = (
        {
            (True, True): ImplicitVRLittleEndian,
            (False, True): ExplicitVRLittleEndian,
            (False, False): ExplicitVRBigEndian,
        }.get((bool(implicit), bool(little)))
        if implicit is not None and little is not None
        else None
    )
    if inferred is None:
        raise RenderError("The image has no transfer syntax in its file header, so its pixels cannot be decoded.")
    return inferred


def is_little_endian(ds: Dataset) -> bool:
    try:
        little = transfer_syntax(ds).is_little_endian
    except RenderError:
        return True
    return bool(little) if little is not None else True
