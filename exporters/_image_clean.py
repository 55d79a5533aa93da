"""Make a key image safe to embed: pixels only, no metadata, and proven readable.

Image encoders happily carry text along (PNG tEXt/iTXt/zTXt/eXIf chunks, JPEG
COM/EXIF/XMP/ICC segments, bytes after the end marker), and any of it can hold a
patient's name. PNG and JPEG are rewritten chunk by chunk keeping only what is
needed to draw the pixels (CaseDeck's one stripper, :mod:`casefiles.media.metadata`,
without colour profiles), which is lossless and far faster than re-encoding;
anything else Pillow can read is re-encoded as a bare PNG.
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from dataclasses import dataclass

from PIL import Image, ImageOps

from casefiles.errors import DeidentificationError, ExportError
from casefiles.media import metadata

PNG_SIGNATURE = metadata.PNG_MAGIC
_EXIF_ORIENTATION = 0x0112
#: Larger images are refused rather than decoded (Pillow's own bomb limit is far higher).
MAX_PIXELS = 64_000_000

_UNREADABLE = "The key image could not be read."


@dataclass(frozen=True, slots=True)
class CleanImage:
    """Encoded image bytes holding pixels only, with their size in pixels."""

    data: bytes
    width: int
    height: int
    format: str  # "png" or "jpeg"


def clean_image(data: object) -> CleanImage:
    """Strip everything but pixels from an encoded image and check that it decodes.

    Raises ExportError (with no detail from the file) when the bytes are not an
    image Pillow can read, or are truncated or corrupt.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ExportError(f"{_UNREADABLE} The image source returned {type(data).__name__}, not image bytes.")
    raw = bytes(data)
    if not raw:
        raise ExportError(f"{_UNREADABLE} The image source returned no data.")
    try:
        if raw.startswith(PNG_SIGNATURE):
            cleaned, fmt = strip_png(raw), "png"
        elif raw.startswith(b"\xff\xd8\xff"):
            if _needs_rotation(raw):
                cleaned, fmt = strip_png(_reencode_png(raw)), "png"
            else:
                cleaned, fmt = strip_jpeg(raw), "jpeg"
        else:
            cleaned, fmt = strip_png(_reencode_png(raw)), "png"
        width, height = _verified_size(cleaned, fmt)
    except ExportError:
        raise
    except Exception as exc:
        raise ExportError(_UNREADABLE) from exc
    return CleanImage(cleaned, width, height, fmt)


def strip_png(data: bytes) -> bytes:
    """Keep only the PNG chunks needed to draw the image (no colour profile); every chunk's CRC verified."""
    try:
        return metadata.strip_png(data, keep_colour_profile=False)
    except DeidentificationError:
        raise ExportError(f"{_UNREADABLE} The PNG file is truncated or corrupt.") from None


def strip_jpeg(data: bytes) -> bytes:
    """Keep only the JPEG segments needed to decode; drop comments, EXIF, XMP, ICC and trailers."""
    try:
        return metadata.strip_jpeg(data, keep_colour_profile=False)
    except DeidentificationError:
        raise ExportError(f"{_UNREADABLE} The JPEG file is truncated or corrupt.") from None


def _needs_rotation(data: bytes) -> bool:
    with Image.open(io.BytesIO(data)) as im:
        return im.getexif().get(_EXIF_ORIENTATION, 1) not in (0, 1)


def _reencode_png(data: bytes) -> bytes:
    """Decode any format Pillow reads, apply EXIF orientation, and write a bare PNG."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(data)) as im:
            _check_pixels(im.width, im.height)
            im.seek(0)
            upright = ImageOps.exif_transpose(im)
            if upright.mode not in ("1", "L", "LA", "I;16", "P", "RGB", "RGBA"):
                upright = upright.convert("RGBA" if "A" in upright.getbands() else "RGB")
            bare = upright.copy()
    bare.info.clear()
    buf = io.BytesIO()
    bare.save(buf, format="PNG", icc_profile=None, exif=b"")
    return buf.getvalue()


def _check_pixels(width: int, height: int) -> None:
    if width < 1 or height < 1:
        raise ExportError(f"{_UNREADABLE} It has no pixels.")
    if width * height > MAX_PIXELS:
        raise ExportError(
            f"The key image is too large to put on a slide ({width}×{height} pixels); export it at a smaller size."
        )


def _verified_size(data: bytes, fmt: str) -> tuple[int, int]:
    """The image's size, after proving every pixel decodes (verify() alone skips JPEG and PNG data).

    A plain PNG is checked by inflating its pixel stream and checking its length
    and row filters (CRCs were checked while stripping), a JPEG by decoding its
    whole entropy-coded stream at reduced scale: several times faster than a
    full decode, and as sure to catch a truncated or corrupt file.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(data)) as im:
            if (im.format or "").lower() != fmt:
                raise ExportError(_UNREADABLE)
            width, height = im.size
            _check_pixels(width, height)
            if fmt == "png" and _png_stream_ok(data):
                return width, height
            if fmt == "jpeg":
                im.draft(im.mode, (max(width // 8, 1), max(height // 8, 1)))
            im.load()
    return width, height


_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def _png_stream_ok(data: bytes) -> bool:
    """True when the inflated IDAT data has exactly one filtered row per line; False: decode fully instead.

    Raises ExportError when the stream is corrupt or short.
    """
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", data[16:29])
    if interlace or colour not in _PNG_CHANNELS:
        return False
    stride = 1 + (width * depth * _PNG_CHANNELS[colour] + 7) // 8
    idat = []
    pos = len(PNG_SIGNATURE)
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        if data[pos + 4 : pos + 8] == b"IDAT":
            idat.append(data[pos + 8 : pos + 8 + length])
        pos += 12 + length
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(b"".join(idat), stride * height + 1)
    except zlib.error as exc:
        raise ExportError(f"{_UNREADABLE} The PNG file is corrupt.") from exc
    if len(raw) != stride * height or not inflater.eof:
        raise ExportError(f"{_UNREADABLE} The PNG file is truncated or corrupt.")
    if max(raw[::stride]) > 4:
        raise ExportError(f"{_UNREADABLE} The PNG file is corrupt.")
    return True
