"""Make a key image safe to embed: pixels only, no metadata, and proven readable.

Image encoders happily carry text along (PNG tEXt/iTXt/zTXt/eXIf chunks, JPEG
COM/EXIF/XMP/ICC segments, bytes after the end marker), and any of it can hold a
patient's name. PNG and JPEG are rewritten chunk by chunk keeping only what is
needed to draw the pixels, which is lossless and far faster than re-encoding;
anything else Pillow can read is re-encoded as a bare PNG.
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from dataclasses import dataclass

from PIL import Image, ImageOps

from casefiles.errors import ExportError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Chunks that only describe how to draw the pixels; every other chunk is dropped.
_PNG_KEEP = frozenset({b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"sBIT", b"pHYs"})
# JPEG segments needed to decode: frame headers, tables (DHT/DAC/DQT), scan headers, DNL, restart interval.
_JPEG_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_JPEG_KEEP = _JPEG_SOF | {0xC4, 0xCC, 0xDA, 0xDB, 0xDC, 0xDD}
_JPEG_SOS, _JPEG_EOI, _JPEG_SOI = 0xDA, 0xD9, 0xD8
_JPEG_APP0, _JPEG_APP14 = 0xE0, 0xEE
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
    """Keep only the PNG chunks needed to draw the image; verify every chunk's CRC."""
    if not data.startswith(PNG_SIGNATURE):
        raise ExportError(f"{_UNREADABLE} It is not a PNG file.")
    out = [PNG_SIGNATURE]
    pos = len(PNG_SIGNATURE)
    seen_idat = False
    first = True
    while True:
        if pos + 12 > len(data):
            raise ExportError(f"{_UNREADABLE} The PNG file is truncated.")
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        ctype = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise ExportError(f"{_UNREADABLE} The PNG file is truncated.")
        (crc,) = struct.unpack(">I", data[end - 4 : end])
        if zlib.crc32(data[pos + 4 : end - 4]) != crc:
            raise ExportError(f"{_UNREADABLE} The PNG file is corrupt.")
        if first and ctype != b"IHDR":
            raise ExportError(f"{_UNREADABLE} The PNG file is corrupt.")
        first = False
        if ctype in _PNG_KEEP:
            out.append(data[pos:end])
        seen_idat = seen_idat or ctype == b"IDAT"
        pos = end
        if ctype == b"IEND":
            break
    if not seen_idat:
        raise ExportError(f"{_UNREADABLE} The PNG file holds no pixel data.")
    return b"".join(out)


def strip_jpeg(data: bytes) -> bytes:
    """Keep only the JPEG segments needed to decode; drop comments, EXIF, XMP, ICC and trailers."""
    if not data.startswith(b"\xff\xd8"):
        raise ExportError(f"{_UNREADABLE} It is not a JPEG file.")
    out = [b"\xff\xd8"]
    pos = 2
    seen_frame = seen_scan = False
    size = len(data)
    while True:
        # Markers may be preceded by any number of 0xFF fill bytes.
        if pos >= size or data[pos] != 0xFF:
            raise ExportError(f"{_UNREADABLE} The JPEG file is corrupt.")
        while pos < size and data[pos] == 0xFF:
            pos += 1
        if pos >= size:
            raise ExportError(f"{_UNREADABLE} The JPEG file is truncated.")
        marker = data[pos]
        pos += 1
        if marker == _JPEG_EOI:
            break
        if marker == _JPEG_SOI or 0xD0 <= marker <= 0xD7 or marker in (0x00, 0x01):
            raise ExportError(f"{_UNREADABLE} The JPEG file is corrupt.")
        if pos + 2 > size:
            raise ExportError(f"{_UNREADABLE} The JPEG file is truncated.")
        (length,) = struct.unpack(">H", data[pos : pos + 2])
        end = pos + length
        if length < 2 or end > size:
            raise ExportError(f"{_UNREADABLE} The JPEG file is truncated.")
        segment = data[pos:end]
        if marker in _JPEG_KEEP:
            out.append(bytes((0xFF, marker)) + segment)
            seen_frame = seen_frame or marker in _JPEG_SOF
        elif marker == _JPEG_APP14 and segment[2:7] == b"Adobe" and length == 14:
            # Fixed-size block whose only job is to say how colour was transformed.
            out.append(bytes((0xFF, marker)) + segment)
        elif marker == _JPEG_APP0 and segment[2:7] == b"JFIF\x00" and length >= 16:
            # Keep the density, drop any embedded thumbnail.
            out.append(b"\xff\xe0\x00\x10" + segment[2:14] + b"\x00\x00")
        pos = end
        if marker == _JPEG_SOS:
            if not seen_frame:
                raise ExportError(f"{_UNREADABLE} The JPEG file is corrupt.")
            scan_end = _entropy_end(data, pos)
            out.append(data[pos:scan_end])
            pos = scan_end
            seen_scan = True
    if not seen_scan:
        raise ExportError(f"{_UNREADABLE} The JPEG file holds no pixel data.")
    out.append(b"\xff\xd9")
    return b"".join(out)


def _entropy_end(data: bytes, pos: int) -> int:
    """Offset of the first marker after entropy-coded data (stuffed 0xFF00 and RSTn are data)."""
    size = len(data)
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= size:
            raise ExportError(f"{_UNREADABLE} The JPEG file is truncated.")
        nxt = data[pos + 1]
        if nxt == 0x00 or 0xD0 <= nxt <= 0xD7:
            pos += 2
        elif nxt == 0xFF:
            pos += 1
        else:
            return pos


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
