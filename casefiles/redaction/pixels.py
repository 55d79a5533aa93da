"""Blanking boxes in every frame of an image, on a copy.

The result is always uncompressed Explicit VR Little Endian: re-encoding
would need an encoder for every syntax we can read, and re-compressing lossy
data would degrade it again. Colour comes back as RGB whatever it was stored
as (YBR_FULL, YBR_FULL_422, JPEG's YCbCr), with the header updated to match.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels.processing import apply_color_lut
from pydicom.uid import (
    UID,
    ExplicitVRLittleEndian,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLSNearLossless,
)
from pydicom.valuerep import VR

from casefiles.errors import DeidentificationError, ValidationError
from casefiles.imaging.pixels import DECODE_FAILURES
from casefiles.redaction.frames import frame_total, iter_decoded, transfer_syntax
from casefiles.redaction.geometry import Box

# Syntaxes that are always lossy, and the method the standard names for them. Syntaxes
# that may be either (JPEG 2000, HTJ2K) keep the sender's Lossy Image Compression value.
_LOSSY_METHODS: dict[UID, str] = {
    JPEGBaseline8Bit: "ISO_10918_1",
    JPEGExtended12Bit: "ISO_10918_1",
    JPEGLSNearLossless: "ISO_14495_1",
}
_ENCAPSULATION_ONLY = ("ExtendedOffsetTable", "ExtendedOffsetTableLengths")


def redact(ds: Dataset, boxes: Sequence[Box]) -> Dataset:
    """A copy of ``ds`` with every box blanked in every frame; ``ds`` itself is not changed.

    Blank is black as displayed: 0 for RGB and MONOCHROME2 (the lowest value
    for signed data), the highest value for MONOCHROME1, the darkest palette
    entry for PALETTE COLOR. Boxes are clipped to the image; boxes wholly
    outside it are ignored. Pixel data is written back uncompressed (Explicit VR
    Little Endian); a lossy source is marked Lossy Image Compression "01". The
    Icon Image Sequence is dropped because the thumbnail shows the same text.
    Burned In Annotation and the SOP Instance UID are left to the caller, who
    decides whether the result is trusted and how UIDs are remapped.
    Raises DeidentificationError when the pixels cannot be decoded.
    """
    wanted = _checked_boxes(boxes)
    source_syntax = transfer_syntax(ds)
    total = frame_total(ds)
    output: npt.NDArray[Any] | None = None
    props: dict[str, Any] = {}
    clipped: list[Box] = []
    blank = 0
    count = 0
    for count, (pixels, frame_props) in enumerate(iter_decoded(ds), start=1):
        if output is None:
            props = frame_props
            rows, columns = int(pixels.shape[0]), int(pixels.shape[1])
            clipped = [box for box in (b.clipped(columns, rows) for b in wanted) if box is not None]
            blank = _blank_value(props, pixels.dtype, ds)
            output = np.empty((total, *pixels.shape), dtype=pixels.dtype)
        if count > total or pixels.shape != output.shape[1:]:
            raise DeidentificationError(
                "The image's frames do not match its header (count or size), so it was not redacted."
            )
        frame = output[count - 1]
        frame[...] = pixels
        for box in clipped:
            frame[box.y : box.bottom, box.x : box.right, ...] = blank
    if output is None or count != total:
        raise DeidentificationError("The image holds fewer frames than its header says, so it was not redacted.")
    return _with_pixels(ds, output, props, source_syntax)


def _checked_boxes(boxes: Sequence[Box]) -> list[Box]:
    if isinstance(boxes, str | bytes) or not isinstance(boxes, Sequence):
        raise ValidationError("boxes must be a list of Box rectangles.")
    for box in boxes:
        if not isinstance(box, Box):
            raise ValidationError(f"boxes must hold Box rectangles, not {type(box).__name__}.")
    return list(boxes)


def _value_range(bits_stored: int, signed: bool) -> tuple[int, int]:
    if signed:
        return -(1 << (bits_stored - 1)), (1 << (bits_stored - 1)) - 1
    return 0, (1 << bits_stored) - 1


def _blank_value(props: dict[str, Any], dtype: np.dtype[Any], ds: Dataset) -> int:
    """The stored value that displays black for this photometric interpretation."""
    interpretation = props["photometric_interpretation"]
    bits_stored = int(props.get("bits_stored") or dtype.itemsize * 8)
    low, high = _value_range(bits_stored, dtype.kind == "i")
    if interpretation == "MONOCHROME1":
        return high
    if interpretation == "PALETTE COLOR":
        try:
            values = np.arange(low, high + 1, dtype=np.int64).astype(dtype)
            colours = apply_color_lut(values, ds)[..., :3].astype(np.int64)
        except DECODE_FAILURES as exc:
            raise DeidentificationError("The image's colour palette is missing or malformed.") from exc
        return int(values[int(np.argmin(colours.sum(axis=-1)))])
    if interpretation == "MONOCHROME2":
        return low
    return 0


def _with_pixels(ds: Dataset, frames: npt.NDArray[Any], props: dict[str, Any], source: UID) -> Dataset:
    """A deep copy of ``ds`` carrying ``frames`` as native little-endian pixel data."""
    out = copy.deepcopy(ds)
    data = frames.astype(frames.dtype.newbyteorder("<"), copy=False).tobytes()
    out.PixelData = data if len(data) % 2 == 0 else data + b"\x00"
    element = out["PixelData"]
    element.VR = VR.OB if frames.dtype.itemsize == 1 else VR.OW
    element.is_undefined_length = False
    samples = 3 if frames.ndim == 4 else 1
    bits_stored = int(props.get("bits_stored") or frames.dtype.itemsize * 8)
    out.SamplesPerPixel = samples
    out.PhotometricInterpretation = props["photometric_interpretation"]
    if samples > 1:
        out.PlanarConfiguration = 0
    elif "PlanarConfiguration" in out:
        del out.PlanarConfiguration
    out.Rows, out.Columns = int(frames.shape[1]), int(frames.shape[2])
    out.BitsAllocated = frames.dtype.itemsize * 8
    out.BitsStored = bits_stored
    out.HighBit = bits_stored - 1
    out.PixelRepresentation = 1 if frames.dtype.kind == "i" else 0
    for keyword in (*_ENCAPSULATION_ONLY, "IconImageSequence"):
        if keyword in out:
            delattr(out, keyword)
    if source in _LOSSY_METHODS:
        out.LossyImageCompression = "01"
        if "LossyImageCompressionMethod" not in out:
            out.LossyImageCompressionMethod = _LOSSY_METHODS[source]
    if getattr(out, "file_meta", None) is None:
        out.file_meta = FileMetaDataset()
    out.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return out
