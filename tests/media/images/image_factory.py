"""Images made in the test carrying what phones and scanners write."""

from __future__ import annotations

import functools
import io
import math
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import tifffile
from PIL import ExifTags, Image, ImageCms

#: Strings planted in metadata; none may survive anywhere in the scrubbed bytes.
PHI_VALUES = (b"Smith", b"SMITH", b"iPhone 15", b"Canon", b"2023:05:04", b"Bob's scanner")


@functools.cache
def srgb_icc() -> bytes:
    """One sRGB profile per run (LittleCMS stamps each new profile with the current time)."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def phi_exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Apple"
    exif[ExifTags.Base.Model] = "iPhone 15"
    exif[ExifTags.Base.Artist] = "Dr Smith"
    exif[ExifTags.Base.ImageDescription] = "SMITH JOHN 1970"
    exif[ExifTags.Base.DateTime] = "2023:05:04 10:11:12"
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (48.0, 51.0, 29.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (2.0, 17.0, 40.0)
    return exif


XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" dc:creator="Dr Smith"/>'
    b"</rdf:RDF></x:xmpmeta>"
)


def photo(width: int = 96, height: int = 64) -> Image.Image:
    """A smooth colour gradient (photo-like, so JPEG error stays small) with a red left half marker."""
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1), np.full_like(x, 90)], axis=-1)
    rgb[:, : width // 2] = (220, 30, 30)
    return Image.fromarray(rgb.astype(np.uint8), "RGB")


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


#: Pyramid test pattern: top-left, top-right, bottom-left, bottom-right quadrant colours.
QUADRANTS = ((220, 30, 30), (30, 200, 30), (30, 30, 220), (240, 240, 240))


def _quadrant_pixels(y0: int, x0: int, tile: int, height: int, width: int) -> np.ndarray:
    bottom = (np.arange(y0, y0 + tile) >= height // 2)[:, None]
    right = (np.arange(x0, x0 + tile) >= width // 2)[None, :]
    return np.asarray(QUADRANTS, dtype=np.uint8)[bottom * 2 + right]


def quadrant_tiles(height: int, width: int, tile: int, encode_tile: Callable[[np.ndarray], bytes]) -> Iterator[bytes]:
    """The tiles of a quadrant image, encoded one at a time; tiles of one colour are encoded once."""
    uniform: dict[tuple[int, int], bytes] = {}
    for y0 in range(0, height, tile):
        for x0 in range(0, width, tile):
            straddles = y0 < height // 2 < y0 + tile or x0 < width // 2 < x0 + tile
            if straddles:
                yield encode_tile(_quadrant_pixels(y0, x0, tile, height, width))
                continue
            key = (int(y0 >= height // 2), int(x0 >= width // 2))
            if key not in uniform:
                uniform[key] = encode_tile(_quadrant_pixels(y0, x0, tile, height, width))
            yield uniform[key]


def deflate_tile(pixels: np.ndarray) -> bytes:
    return zlib.compress(np.ascontiguousarray(pixels).tobytes(), 1)


def jpeg_rgb_tile(pixels: np.ndarray) -> bytes:
    """A JPEG tile coded in RGB (no YCbCr), as Aperio scanners write for PhotometricInterpretation RGB."""
    return encode(Image.fromarray(pixels), "JPEG", quality=90, keep_rgb=True)


def write_pyramid(path: Path, size: int, levels: int, *, tile: int = 512, extratags: Sequence[Any] = ()) -> list[int]:
    """A tiled, deflate-compressed BigTIFF pyramid written tile by tile (never the whole image in memory).

    Level 0 is ``size`` × ``size``; each SubIFD level halves it. Returns the level sizes.
    """
    sizes = [math.ceil(size / 2**i) for i in range(levels)]
    with tifffile.TiffWriter(path, bigtiff=True) as writer:
        for index, side in enumerate(sizes):
            writer.write(
                quadrant_tiles(side, side, tile, deflate_tile),
                shape=(side, side, 3),
                dtype="uint8",
                tile=(tile, tile),
                compression="zlib",
                photometric="rgb",
                **({"subifds": levels - 1, "extratags": list(extratags)} if index == 0 else {"subfiletype": 1}),
            )
    return sizes


def write_jpeg_tiled_tiff(path: Path, size: int, *, tile: int = 256) -> None:
    """A single-level TIFF with RGB-coded JPEG tiles (tifffile cannot encode JPEG without imagecodecs,
    so the tiles are written pre-encoded and the Compression tag is set to JPEG afterwards)."""
    with tifffile.TiffWriter(path) as writer:
        writer.write(
            quadrant_tiles(size, size, tile, jpeg_rgb_tile),
            shape=(size, size, 3),
            dtype="uint8",
            tile=(tile, tile),
            compression=None,
            photometric="rgb",
        )
    with tifffile.TiffFile(path, mode="r+b") as tif:
        tif.pages[0].tags["Compression"].overwrite(7)


def write_tiff_bomb(path: Path, side: int = 100_000, *, tile: int = 1024) -> None:
    """A tiled TIFF declaring ``side`` × ``side`` pixels, all tiles but the first empty: small on disk."""
    count = math.ceil(side / tile) ** 2

    def tiles() -> Iterator[np.ndarray | None]:
        yield np.zeros((tile, tile, 3), dtype=np.uint8)  # tifffile reads the dtype off the first tile
        for _ in range(count - 1):
            yield None

    with tifffile.TiffWriter(path, bigtiff=True) as writer:
        writer.write(
            tiles(),
            shape=(side, side, 3),
            dtype="uint8",
            tile=(tile, tile),
            compression="zlib",
            photometric="rgb",
        )
