"""JPEG, PNG and TIFF pictures whose metadata names people and places, intact and damaged.

A phone photo of a specimen carries GPS, the photographer and a description
naming the patient; a referral deck carries such photos. :data:`PLANTED`
holds every planted string: none may ever reach the library.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import ExifTags, Image, PngImagePlugin, TiffImagePlugin

PATIENT = "Hortensia Quillfeather"
ARTIST = "Ambrose Pettigrew"
PLACE = "Fernleigh Clinic"
#: Every string planted in the pictures' metadata.
PLANTED = ("Quillfeather", "Hortensia", "Pettigrew", "Fernleigh")


def _picture() -> Image.Image:
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 255, size=(96, 128, 3), dtype=np.uint8)
    pixels[20:60, 30:90] = (200, 40, 120)
    return Image.fromarray(pixels)


def _exif() -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Artist] = ARTIST
    exif[ExifTags.Base.ImageDescription] = f"Biopsy of {PATIENT} at {PLACE}"
    exif[ExifTags.Base.Make] = "Phone maker"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (51.0, 30.0, 26.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (0.0, 7.0, 39.0)
    gps[ExifTags.GPS.GPSAreaInformation] = PLACE
    return exif


def tagged_jpeg() -> bytes:
    """A JPEG with EXIF (GPS, Artist, ImageDescription naming the patient), XMP and a comment."""
    xmp = f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><dc:creator>{ARTIST}</dc:creator></x:xmpmeta>'.encode()
    buffer = io.BytesIO()
    _picture().save(buffer, "JPEG", quality=90, exif=_exif(), xmp=xmp, comment=f"{PATIENT}".encode())
    return buffer.getvalue()


def jpeg_cut_inside_exif() -> bytes:
    """The JPEG cut short inside its EXIF segment, just after the patient's name."""
    data = tagged_jpeg()
    at = data.index(b"Quillfeather") + len(b"Quillfeather") + 4
    assert data[2:4] == b"\xff\xe1" or b"Exif" in data[:at]
    return data[:at]


def jpeg_cut_after_exif() -> bytes:
    """The JPEG cut short inside the segment after its (complete) EXIF: a quantisation table."""
    data = tagged_jpeg()
    dqt = data.index(b"\xff\xdb")
    assert data.index(b"Quillfeather") < dqt
    return data[: dqt + 20]


def jpeg_lying_segment_length() -> bytes:
    """The JPEG whole, but a segment after the EXIF claims to run past the end of the file."""
    data = bytearray(tagged_jpeg())
    dqt = data.index(b"\xff\xdb")
    data[dqt + 2 : dqt + 4] = struct.pack(">H", 0xFFF0)
    return bytes(data)


DAMAGED_JPEGS = {
    "cut inside the EXIF": jpeg_cut_inside_exif,
    "cut after the EXIF": jpeg_cut_after_exif,
    "a segment length that lies": jpeg_lying_segment_length,
}


def tagged_png() -> bytes:
    """A PNG with text chunks, an EXIF chunk and a private chunk naming the patient."""
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", ARTIST)
    info.add_itxt("Description", f"Wound of {PATIENT}")
    info.add(b"prVt", PLACE.encode())  # a private ancillary chunk: nobody knows what it holds
    buffer = io.BytesIO()
    _picture().save(buffer, "PNG", pnginfo=info, exif=_exif())
    return buffer.getvalue()


def png_cut_inside_a_chunk() -> bytes:
    """The PNG cut short inside its image data (the text chunks before it are whole)."""
    data = tagged_png()
    idat = data.index(b"IDAT")
    assert data.index(b"Pettigrew") < idat
    return data[: idat + 30]


def png_bad_checksum() -> bytes:
    """The PNG whole, with its image data's checksum wrong."""
    data = bytearray(tagged_png())
    idat = data.index(b"IDAT")
    length = struct.unpack(">I", data[idat - 4 : idat])[0]
    crc_at = idat + 4 + length
    data[crc_at : crc_at + 4] = struct.pack(">I", (zlib.crc32(b"x") & 0xFFFFFFFF))
    return bytes(data)


def tagged_tiff() -> bytes:
    """A TIFF whose Artist, ImageDescription and XMP tags name people."""
    ifd = TiffImagePlugin.ImageFileDirectory_v2()
    ifd[ExifTags.Base.Artist] = ARTIST
    ifd[ExifTags.Base.ImageDescription] = f"Specimen of {PATIENT}"
    ifd[ExifTags.Base.XMLPacket] = f"<x:xmpmeta><creator>{PLACE}</creator></x:xmpmeta>".encode()
    buffer = io.BytesIO()
    _picture().save(buffer, "TIFF", tiffinfo=ifd, compression="tiff_lzw")
    return buffer.getvalue()


def tiff_damaged_data() -> bytes:
    """The TIFF with its tags whole but its image data garbled (as a bad copy leaves it)."""
    data = bytearray(tagged_tiff())
    with Image.open(io.BytesIO(bytes(data))) as image:
        (offset,), (count,) = image.tag_v2[273], image.tag_v2[279]
    data[offset : offset + count] = bytes([0xAB]) * count
    return bytes(data)


def picture_pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB").tobytes()


def planted_in(data: bytes) -> list[str]:
    """The planted strings found in ``data`` (as ASCII/UTF-8 or UTF-16, as EXIF and XMP may hold them)."""
    return [s for s in PLANTED if s.encode() in data or s.encode("utf-16-le") in data]
