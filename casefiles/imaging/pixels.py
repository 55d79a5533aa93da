"""Decoding one frame and applying the Modality LUT: stored values to meaningful values.

Decoding goes through pydicom's per-frame decoder, so frame 150 of a
300-frame cine costs one frame, not 300. Grayscale comes back as float32
modality values (HU for CT); colour as 8-bit RGB, because a display of
colour data has no further use for the stored bit depth.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset
from pydicom.pixels.decoders.base import get_decoder
from pydicom.pixels.processing import apply_color_lut, convert_color_space
from pydicom.pixels.utils import as_pixel_options, get_expected_length

from casefiles.errors import RenderError
from casefiles.imaging._header import (
    check_frame,
    first_number,
    frame_total,
    functional_item,
    is_little_endian,
    photometric,
    require_pixels,
    transfer_syntax,
)
from casefiles.imaging._lut import apply_lut, read_lut

# What can go wrong inside pydicom and its plugins when the data is damaged or unsupported.
DECODE_FAILURES = (
    ValueError,
    AttributeError,
    RuntimeError,
    NotImplementedError,
    KeyError,
    TypeError,
    IndexError,
    EOFError,
    OSError,
    ImportError,
)
_YBR_TO_RGB = ("YBR_FULL", "YBR_FULL_422")


def frame_count(ds: Dataset) -> int:
    """How many frames the image holds (1 for a single-frame image)."""
    return frame_total(ds)


def modality_frame(ds: Dataset, frame: int = 0) -> npt.NDArray[Any]:
    """One frame after the Modality LUT.

    Grayscale: float32 H×W in modality units (Rescale Slope/Intercept, or the
    Modality LUT Sequence, per-frame functional groups first). Colour: uint8
    H×W×3 RGB (YBR converted, PALETTE COLOR applied, deeper samples scaled).
    """
    check_frame(ds, frame)
    pixels, props = _decode(ds, frame)
    reported = props.get("photometric_interpretation", photometric(ds))
    interpretation = str(getattr(reported, "value", reported)).strip().upper()
    if pixels.ndim == 3:
        return _rgb8(pixels, interpretation, int(props.get("bits_stored", 8) or 8))
    if interpretation == "PALETTE COLOR":
        return _palette(pixels, ds)
    if pixels.ndim != 2:
        raise RenderError("The image's pixel layout is not one CaseDeck can display.")
    if pixels.dtype.kind == "f":
        return np.ascontiguousarray(pixels, dtype=np.float32)
    return _modality_lut(pixels, ds, frame)


def _decode(ds: Dataset, frame: int) -> tuple[npt.NDArray[Any], dict[str, Any]]:
    require_pixels(ds)
    syntax = transfer_syntax(ds)
    try:
        decoder = get_decoder(syntax)
    except NotImplementedError:
        raise RenderError(
            f"Images stored as '{syntax.name}' cannot be decoded by CaseDeck; "
            "ask for the study to be sent uncompressed or in a standard compression."
        ) from None
    if not decoder.is_native and not decoder.is_available:
        raise RenderError(f"The decoder for '{syntax.name}' images is not installed, so this image cannot be shown.")
    # pydicom refuses a short buffer outright; a frame we checked is whole can still be read.
    whole = _require_frame_bytes(ds, frame) if decoder.is_native and "PixelData" in ds else True
    try:
        options = as_pixel_options(ds)
        pixels, props = decoder.as_array(ds, index=frame, validate=whole, raw=False, **options)
    except DECODE_FAILURES as exc:
        raise RenderError(
            "The image's pixel data could not be decoded; the file may be damaged, truncated "
            f"or compressed in a way the installed '{syntax.name}' decoders do not support."
        ) from exc
    return pixels, dict(props)


def _require_frame_bytes(ds: Dataset, frame: int) -> bool:
    """Reject a frame whose uncompressed bytes are cut off; return whether the whole object is complete.

    A truncated multi-frame file keeps its earlier frames viewable.
    """
    try:
        expected = get_expected_length(ds, "bytes")
        actual = len(ds.PixelData)
    except DECODE_FAILURES as exc:
        raise RenderError("The image header does not describe its pixels completely (size or depth missing).") from exc
    needed = -(-expected * (frame + 1) // frame_total(ds))  # ceil: 1-bit frames need not end on a byte
    if actual < needed:
        raise RenderError(
            "The image's pixel data is shorter than its header says; the file is probably truncated or damaged."
        )
    return actual >= expected


def _rgb8(pixels: npt.NDArray[Any], interpretation: str, bits_stored: int) -> npt.NDArray[np.uint8]:
    if pixels.shape[-1] != 3:
        raise RenderError("Only images with three colour samples (RGB or YBR) can be displayed in colour.")
    if interpretation in _YBR_TO_RGB:
        pixels = convert_color_space(pixels, interpretation, "RGB")
    elif interpretation != "RGB":
        raise RenderError(f"Colour images encoded as '{interpretation}' cannot be displayed yet.")
    return _to_uint8(pixels, bits_stored)


def _to_uint8(pixels: npt.NDArray[Any], bits: int) -> npt.NDArray[np.uint8]:
    if pixels.dtype == np.uint8 and bits <= 8:
        return np.ascontiguousarray(pixels)
    top = float(2 ** max(bits, 1) - 1)
    scaled = pixels.astype(np.float64) * (255.0 / top)
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def _palette(pixels: npt.NDArray[Any], ds: Dataset) -> npt.NDArray[np.uint8]:
    try:
        rgb = apply_color_lut(pixels, ds)
    except DECODE_FAILURES as exc:
        raise RenderError("The image's colour palette is missing or malformed, so it cannot be shown.") from exc
    rgb = rgb[..., :3]
    if rgb.dtype == np.uint8:
        return np.ascontiguousarray(rgb)
    descriptor = ds.get("RedPaletteColorLookupTableDescriptor") or [0, 0, 16]
    declared = int(descriptor[2]) if len(descriptor) == 3 else 16
    # Some writers store 8-bit entries in 16-bit words yet declare 16 bits: trust the data.
    bits = 8 if declared == 8 or (int(rgb.max(initial=0)) <= 255 and _palette_peak(ds) <= 255) else 16
    return _to_uint8(rgb, bits)


def _palette_peak(ds: Dataset) -> int:
    """Largest entry of the red/green/blue palettes (their real bit depth), read from the raw LUT data."""
    peak = 0
    for keyword in (
        "RedPaletteColorLookupTableData",
        "GreenPaletteColorLookupTableData",
        "BluePaletteColorLookupTableData",
    ):
        raw = ds.get(keyword)
        if isinstance(raw, bytes) and len(raw) >= 2:
            dtype = "<u2" if is_little_endian(ds) else ">u2"
            peak = max(peak, int(np.frombuffer(raw[: len(raw) - len(raw) % 2], dtype=dtype).max()))
        else:
            return 2**16 - 1  # segmented or unusual: assume the declared depth is right
    return peak


def _modality_lut(pixels: npt.NDArray[Any], ds: Dataset, frame: int) -> npt.NDArray[np.float32]:
    transform = functional_item(ds, frame, "PixelValueTransformationSequence")
    source = transform if transform is not None else ds
    lut_items = ds.get("ModalityLUTSequence") if transform is None else None
    if lut_items:
        signed = int(ds.get("PixelRepresentation", 0) or 0) == 1
        lut = read_lut(lut_items[0], signed_input=signed, little_endian=is_little_endian(ds))
        return apply_lut(pixels, lut)
    slope = first_number(source.get("RescaleSlope"))
    intercept = first_number(source.get("RescaleIntercept"))
    values = pixels.astype(np.float32)
    if slope is not None and slope != 1.0:
        if slope == 0.0:
            raise RenderError("The image's rescale slope is zero, so its pixel values carry no information.")
        values *= np.float32(slope)
    if intercept:
        values += np.float32(intercept)
    return values
