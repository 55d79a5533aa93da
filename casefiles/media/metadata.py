"""Hidden metadata removed from JPEG, PNG and TIFF pictures: the one way CaseDeck does it.

Pictures kept as they are (inside PowerPoint decks, inside PDFs) lose
everything that is not needed to draw them: EXIF (GPS, camera owner, the
description a phone app wrote), XMP, IPTC, comments, text chunks, embedded
thumbnails and data after the end of the picture. The rule is *keep what draws
the picture*, not *remove what is known to identify*: unknown segments and
chunks go too.

* JPEG: the compressed pixels are copied untouched; of the APPn segments
  only JFIF (its thumbnail dropped), the ICC colour profile and Adobe's
  colour-transform note are kept.
* PNG: only chunks that draw the picture are kept (header, palette, data,
  transparency, colour and pixel-size chunks, animation frames); the ICC
  profile's free-text name is replaced by a neutral one.
* TIFF: the tags are too many and too free to walk safely, so the picture is
  decoded and written again (lossless, LZW) from its pixels with only its ICC
  profile and resolution.

A picture whose structure is damaged (cut short, a segment or chunk that runs
past the end, a wrong checksum, no end marker) cannot be cleaned with
certainty: :class:`~casefiles.errors.DeidentificationError` is raised with a
message that says so. Callers refuse the file that holds it (and may add
where the picture was); nothing is ever passed through as it came.
"""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image, ImageSequence

from casefiles.errors import DeidentificationError

__all__ = ["picture_kind", "strip_jpeg", "strip_metadata", "strip_png", "strip_tiff"]

JPEG_MAGIC = b"\xff\xd8"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TIFF_MAGICS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")

_APP0, _APP2, _APP14, _COM = 0xE0, 0xE2, 0xEE, 0xFE
_SOI, _EOI, _SOS, _TEM = 0xD8, 0xD9, 0xDA, 0x01
# Segments that describe how to decode the picture: SOFn (but not JPG, 0xC8), DHT, DAC; SOS, DQT,
# DNL, DRI, DHP, EXP; JPEG-LS frame and extension. Anything else (APPn, COM, JPGn, reserved) carries
# no pixels and goes.
_DECODING = frozenset({*range(0xC0, 0xD0)} - {0xC8}) | {0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF, 0xF7, 0xF8}
_JFIF_HEADER = 12  # "JFIF\0", version, units, X and Y density: the thumbnail size and pixels follow
_ADOBE_HEADER = 12  # "Adobe", version, flags0, flags1, colour transform

# Chunks that draw a PNG (or an APNG's frames). Text (tEXt, zTXt, iTXt), eXIf, tIME, private and
# unknown chunks go.
_PNG_KEPT = frozenset(
    {
        b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"cHRM", b"gAMA", b"iCCP", b"sBIT", b"sRGB",
        b"cICP", b"mDCv", b"cLLI", b"bKGD", b"pHYs", b"acTL", b"fcTL", b"fdAT",
    }
)  # fmt: skip
_ICC_NAME = b"ICC profile"


def picture_kind(data: bytes) -> str | None:
    """``"JPEG"``, ``"PNG"`` or ``"TIFF"`` by the file's first bytes; ``None`` for anything else."""
    if data.startswith(JPEG_MAGIC):
        return "JPEG"
    if data.startswith(PNG_MAGIC):
        return "PNG"
    if data[:4] in TIFF_MAGICS:
        return "TIFF"
    return None


def strip_metadata(data: bytes) -> bytes:
    """The JPEG, PNG or TIFF ``data`` without its metadata, by what the bytes are (never by a name).

    Raises :class:`~casefiles.errors.DeidentificationError` for anything
    else, and for a damaged picture.
    """
    kind = picture_kind(data)
    if kind == "JPEG":
        return strip_jpeg(data)
    if kind == "PNG":
        return strip_png(data)
    if kind == "TIFF":
        return strip_tiff(data)
    raise DeidentificationError(
        "This picture is not a JPEG, PNG or TIFF (whatever its name says), so its hidden metadata cannot be removed."
    )


def _damaged(kind: str, why: str) -> DeidentificationError:
    return DeidentificationError(
        f"A {kind} picture is damaged ({why}), so its hidden metadata (EXIF, XMP, comments) cannot be removed."
    )


# -- JPEG ------------------------------------------------------------------------------------------


def strip_jpeg(data: bytes, *, keep_colour_profile: bool = True) -> bytes:
    """The same JPEG (the same compressed pixels) without EXIF, XMP, IPTC, comments, thumbnails or trailers.

    Without ``keep_colour_profile`` the ICC profile goes too (a picture for a
    slide or a web page is shown as sRGB anyway).
    """
    if not data.startswith(JPEG_MAGIC):
        raise _damaged("JPEG", "it does not start as a JPEG does")
    out = bytearray(JPEG_MAGIC)
    pos, end = 2, len(data)
    framed = scanned = False
    while pos < end:
        if data[pos] != 0xFF:
            raise _damaged("JPEG", "a segment does not start where one must")
        while pos < end and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= end:
            break
        marker = data[pos]
        pos += 1
        if marker == _EOI:
            if not scanned:
                raise _damaged("JPEG", "it holds no image data")
            out += b"\xff\xd9"
            return bytes(out)  # anything after the end of the picture is dropped
        if marker in (0x00, _SOI, _TEM) or 0xD0 <= marker <= 0xD7:  # restarts belong inside image data
            raise _damaged("JPEG", "a marker is out of place")
        if pos + 2 > end:
            break
        length = int.from_bytes(data[pos : pos + 2], "big")
        stop = pos + length
        if length < 2 or stop > end:
            raise _damaged("JPEG", "a segment is cut short")
        body = _kept_segment(marker, data[pos + 2 : stop], keep_colour_profile)
        if body is not None:
            out += bytes((0xFF, marker)) + (len(body) + 2).to_bytes(2, "big") + body
        framed = framed or (0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC)) or marker == 0xF7
        pos = stop
        if marker == _SOS:
            if not framed:
                raise _damaged("JPEG", "its image data comes before its frame header")
            scanned = True
            scan_end = _scan_end(data, pos)
            out += data[pos:scan_end]
            pos = scan_end
    raise _damaged("JPEG", "it is cut short before its end marker")


def _kept_segment(marker: int, body: bytes, keep_colour_profile: bool) -> bytes | None:
    """The segment's body as it may stay, or ``None`` to drop it."""
    if marker in _DECODING:
        return body
    if marker == _APP0 and body.startswith(b"JFIF\x00") and len(body) >= _JFIF_HEADER + 2:
        return body[:_JFIF_HEADER] + b"\x00\x00"  # no thumbnail (it may show what a crop removed)
    if marker == _APP2 and body.startswith(b"ICC_PROFILE\x00") and keep_colour_profile:
        return body
    if marker == _APP14 and body.startswith(b"Adobe") and len(body) >= _ADOBE_HEADER:
        return body[:_ADOBE_HEADER]
    return None


def _scan_end(data: bytes, pos: int) -> int:
    """Where the entropy-coded data that starts at ``pos`` ends: the next marker not stuffed or a restart."""
    end = len(data)
    while True:
        at = data.find(b"\xff", pos)
        if at < 0 or at + 1 >= end:
            raise _damaged("JPEG", "its image data is cut short")
        follower = data[at + 1]
        if follower == 0x00 or 0xD0 <= follower <= 0xD7:
            pos = at + 2
        elif follower == 0xFF:
            pos = at + 1
        else:
            return at


# -- PNG -------------------------------------------------------------------------------------------


def strip_png(data: bytes, *, keep_colour_profile: bool = True) -> bytes:
    """The same PNG (the same compressed pixels) with only the chunks that draw it.

    Without ``keep_colour_profile`` the ICC profile chunk goes too.
    """
    if not data.startswith(PNG_MAGIC):
        raise _damaged("PNG", "it does not start as a PNG does")
    out = bytearray(PNG_MAGIC)
    pos, end = len(PNG_MAGIC), len(data)
    first = True
    pixels = False
    while pos + 12 <= end:
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        stop = pos + 12 + length
        if stop > end:
            raise _damaged("PNG", "a chunk is cut short")
        body = data[pos + 8 : stop - 4]
        if zlib.crc32(kind + body) != int.from_bytes(data[stop - 4 : stop], "big"):
            raise _damaged("PNG", "a chunk's checksum is wrong")
        if first and kind != b"IHDR":
            raise _damaged("PNG", "it does not start with its header")
        first = False
        pixels = pixels or kind == b"IDAT"
        if kind == b"iCCP":
            if not keep_colour_profile:
                pos = stop
                continue
            body = _renamed_profile(body)
        if kind in _PNG_KEPT:
            out += _png_chunk(kind, body)
        pos = stop
        if kind == b"IEND":
            if not pixels:
                raise _damaged("PNG", "it holds no image data")
            return bytes(out)  # anything after the end of the picture is dropped
    raise _damaged("PNG", "it is cut short before its end chunk")


def _renamed_profile(body: bytes) -> bytes:
    """An iCCP chunk whose profile name (free text) is replaced by a neutral one."""
    zero = body.find(b"\x00")
    if zero < 1:
        raise _damaged("PNG", "its colour profile chunk is malformed")
    return _ICC_NAME + body[zero:]


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


# -- TIFF ------------------------------------------------------------------------------------------


def strip_tiff(data: bytes) -> bytes:
    """The TIFF written again from its decoded pixels (every page), with only its ICC profile and resolution."""
    if data[:4] not in TIFF_MAGICS:
        raise _damaged("TIFF", "it does not start as a TIFF does")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != "TIFF":
                raise _damaged("TIFF", "it cannot be read as a TIFF")
            icc = image.info.get("icc_profile")
            dpi = image.info.get("dpi")
            pages = [_bare_copy(frame) for frame in ImageSequence.Iterator(image)]
        out = io.BytesIO()
        options: dict[str, object] = {"compression": "tiff_lzw"}
        if isinstance(icc, bytes) and icc:
            options["icc_profile"] = icc
        if isinstance(dpi, tuple) and len(dpi) == 2 and all(isinstance(v, int | float) and v > 0 for v in dpi):
            options["dpi"] = (float(dpi[0]), float(dpi[1]))
        pages[0].save(out, "TIFF", save_all=len(pages) > 1, append_images=pages[1:], **options)
    except DeidentificationError:
        raise
    except Exception as exc:  # Pillow and libtiff fail in many ways on damaged files
        raise _damaged("TIFF", "its image data cannot be decoded") from exc
    return out.getvalue()


def _bare_copy(frame: Image.Image) -> Image.Image:
    """The frame's pixels (and palette) in a new image that carries nothing else."""
    frame.load()
    bare = Image.frombytes(frame.mode, frame.size, frame.tobytes())
    if frame.mode in ("P", "PA"):
        palette = frame.getpalette()
        if palette is not None:
            bare.putpalette(palette)
    return bare
