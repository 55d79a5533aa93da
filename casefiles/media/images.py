"""Photos and pathology images made safe to store: pixels and colour profile kept, every other byte dropped.

A phone photo carries GPS, device serials and capture times in EXIF/XMP; a
slide-scanner TIFF carries a label image and scanner notes. Only the decoded
pixels (EXIF orientation applied) and the ICC colour profile leave here,
re-encoded into a fresh file: JPEG quality 92 for opaque colour images, PNG for
images with real transparency and for grey or palette images from lossless
sources (diagrams, scans), whose edges JPEG would blur.

Pyramidal slide-scanner TIFFs are read one pyramid level, tile row by tile
row, downscaled as they arrive, so a 100k × 100k slide never sits in memory.
A file that declares more than ``max_pixels`` pixels with no smaller level
that fits is refused before anything is decoded (a decompression bomb costs
nothing to make).
"""

from __future__ import annotations

import io
import math
import struct
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

from casefiles.errors import ImportFailure, ValidationError
from casefiles.media.sniff import MediaType, sniff

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "JPEG_QUALITY",
    "ScrubbedImage",
    "redact_image",
    "scrub_image",
]

#: Largest image (in pixels) decoded at all: 300 MP, about 1.2 GB once decoded.
DEFAULT_MAX_PIXELS = 300_000_000
JPEG_QUALITY = 92
_MIN_SIDE = 16
_STRIPE_ROWS = 256  # input rows downscaled together in a tiled/striped TIFF
_MIN_SEGMENT_ALLOWANCE = 1 << 22  # tiles up to 2048 × 2048 are fine even on a tiny image

_NOT_AN_IMAGE = "This file is not an image CaseDeck can import; use JPEG, PNG, TIFF, WebP or HEIC."
_DAMAGED = (
    "This image is incomplete or damaged (for example cut short while copying); "
    "copy or export it again and import the new file."
)
_TOO_LARGE = (
    "This image declares more than {mp} megapixels and has no smaller pyramid level, so it is not "
    "opened (it could exhaust memory); export a smaller copy or a pyramidal TIFF and import that."
)

# EXIF Orientation -> the transposition that shows the image upright (as Pillow's ImageOps.exif_transpose).
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_PILLOW_FORMATS = {
    MediaType.JPEG: ("JPEG", "MPO"),
    MediaType.PNG: ("PNG",),
    MediaType.WEBP: ("WEBP",),
    MediaType.GIF: ("GIF",),
    MediaType.HEIC: ("HEIF",),
    MediaType.TIFF: ("TIFF",),
    MediaType.BIGTIFF: ("TIFF",),
}
_LOSSLESS_SOURCES = frozenset({MediaType.PNG, MediaType.GIF, MediaType.TIFF, MediaType.BIGTIFF})
_ICC_SPACE = {"RGB": b"RGB ", "RGBA": b"RGB ", "P": b"RGB ", "L": b"GRAY", "LA": b"GRAY"}
# What Pillow, libheif and the TIFF readers raise on malformed input.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, IndexError, RuntimeError)


@dataclass(frozen=True, slots=True)
class ScrubbedImage:
    """An image re-encoded without metadata, ready for the BlobStore.

    ``source_size`` is the full-resolution (width, height) the file declared;
    ``pyramid_level`` is the TIFF pyramid level read (0 = full resolution, and
    always 0 for other formats).
    """

    data: bytes
    media_type: str  # "image/jpeg" | "image/png"
    width: int
    height: int
    preview_png: bytes
    source_format: MediaType
    source_size: tuple[int, int]
    pyramid_level: int = 0


def scrub_image(
    path: Path,
    *,
    workdir: Path,
    max_side: int = 8192,
    preview_side: int = 512,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> ScrubbedImage:
    """Decode the image at ``path`` (typed by content) and re-encode it without metadata.

    The result keeps the full resolution up to ``max_side`` pixels on the long
    side, upright, with its ICC profile; ``preview_png`` fits in
    ``preview_side``. ``workdir`` is the quarantine folder for scratch files
    (nothing here needs one today; nothing is written anywhere else).
    Raises :class:`ImportFailure` for files that are not images, damaged or too large.
    """
    path = Path(path)
    _check_options(workdir, max_side, preview_side, max_pixels)
    kind = sniff(path)
    if not kind.is_image:
        raise ImportFailure(_NOT_AN_IMAGE)
    if kind in (MediaType.TIFF, MediaType.BIGTIFF):
        decoded = _decode_tiff(path, kind, max_side, max_pixels)
    else:
        decoded = _decode_with_pillow(path, kind, max_side, max_pixels)
    image = _upright(decoded.image, decoded.orientation)
    image, icc, as_png = _output_mode(image, decoded.icc, lossless=kind in _LOSSLESS_SOURCES)
    image.info = {}  # nothing read from the source may reach the encoder
    data, media_type = _encode(image, icc, as_png=as_png)
    return ScrubbedImage(
        data=data,
        media_type=media_type,
        width=image.width,
        height=image.height,
        preview_png=_preview(image, icc, preview_side),
        source_format=kind,
        source_size=decoded.source_size,
        pyramid_level=decoded.level,
    )


def redact_image(data: bytes, regions: Sequence[tuple[int, int, int, int]]) -> bytes:
    """Fill each ``(x, y, width, height)`` box black in a stored JPEG or PNG; same format out, no metadata.

    JPEG boxes grow outwards (2 px, then to the 16-pixel block grid), so every
    block the re-encoding touches inside a box is uniformly black; the original
    quantisation tables and chroma subsampling are reused so the rest of the
    image loses as little as possible.
    """
    if not isinstance(data, bytes | bytearray) or not data:
        raise ValidationError("Redaction needs the stored image's bytes.")
    boxes = _validate_regions(regions)
    kind = _sniff_bytes(bytes(data))
    if kind not in (MediaType.JPEG, MediaType.PNG):
        raise ValidationError("Redaction boxes can only be applied to stored JPEG or PNG images.")
    try:
        with Image.open(io.BytesIO(data), formats=_PILLOW_FORMATS[kind]) as source:
            source.load()
            image = source.copy()
            icc = source.info.get("icc_profile")
            transparency = source.info.get("transparency")
            jpeg_options = _jpeg_options_of(source) if kind is MediaType.JPEG else {}
    except Image.DecompressionBombError as exc:
        raise ValidationError("This stored image is too large to redact.") from exc
    except _DECODE_ERRORS as exc:
        raise ValidationError("The stored image is damaged and cannot be redacted.") from exc
    if image.mode == "P":
        image = image.convert("RGBA" if transparency is not None else "RGB")
    elif image.mode not in ("L", "LA", "RGB", "RGBA"):
        image = image.convert("RGB")
    # JPEG: snap outwards to the 16-px block grid, with a 2-px margin so the chroma smoothing of the
    # neighbouring blocks cannot tint the pixels the user covered.
    grid, margin = (16, 2) if kind is MediaType.JPEG else (1, 0)
    draw = ImageDraw.Draw(image)
    black: Any = {"L": 0, "LA": (0, 255), "RGB": (0, 0, 0), "RGBA": (0, 0, 0, 255)}[image.mode]
    painted = 0
    for x, y, w, h in boxes:
        left, top = max(0, (x - margin) // grid * grid), max(0, (y - margin) // grid * grid)
        right = min(image.width, math.ceil((x + w + margin) / grid) * grid)
        bottom = min(image.height, math.ceil((y + h + margin) / grid) * grid)
        if x >= image.width or y >= image.height or x + w <= 0 or y + h <= 0:
            continue
        if right <= left or bottom <= top:
            continue
        draw.rectangle((left, top, right - 1, bottom - 1), fill=black)
        painted += 1
    if not painted:
        raise ValidationError("Every redaction box lies outside the image; draw the boxes on the image.")
    image.info = {}
    out = io.BytesIO()
    if kind is MediaType.JPEG:
        image.save(out, "JPEG", icc_profile=icc, **jpeg_options)
    else:
        image.save(out, "PNG", icc_profile=icc)
    return out.getvalue()


# --- options -------------------------------------------------------------------------------------


def preview_png(image: bytes, side: int = 512) -> bytes:
    """A thumbnail of a stored JPEG or PNG (Pillow writes no metadata unless asked)."""
    with Image.open(io.BytesIO(image)) as picture:
        picture.thumbnail((side, side))
        out = io.BytesIO()
        picture.convert("RGB" if picture.mode not in ("L", "RGB") else picture.mode).save(out, "PNG")
    return out.getvalue()


def _check_options(workdir: Path, max_side: int, preview_side: int, max_pixels: int) -> None:
    if not Path(workdir).is_dir():
        raise ValidationError("The import working folder does not exist.")
    for name, value in (("max_side", max_side), ("preview_side", preview_side), ("max_pixels", max_pixels)):
        if isinstance(value, bool) or not isinstance(value, int) or value < _MIN_SIDE:
            raise ValidationError(f"{name} must be a whole number of at least {_MIN_SIDE} (got {value!r}).")
    if preview_side > max_side:
        raise ValidationError("preview_side cannot be larger than max_side.")


def _validate_regions(regions: Sequence[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    if isinstance(regions, str | bytes) or not isinstance(regions, Sequence) or not regions:
        raise ValidationError("Give at least one redaction box as (x, y, width, height).")
    boxes = []
    for region in regions:
        if not isinstance(region, Sequence) or len(region) != 4:
            raise ValidationError("Each redaction box is (x, y, width, height) in image pixels.")
        if any(isinstance(v, bool) or not isinstance(v, int) for v in region):
            raise ValidationError("Redaction box coordinates must be whole pixels.")
        x, y, w, h = region
        if w <= 0 or h <= 0:
            raise ValidationError("A redaction box needs a positive width and height.")
        boxes.append((x, y, w, h))
    return boxes


def _jpeg_options_of(source: Image.Image) -> dict[str, Any]:
    """The source JPEG's own quantisation tables and subsampling (Pillow's "keep" needs the original object)."""
    from PIL import JpegImagePlugin

    tables = getattr(source, "quantization", None)
    if not tables:
        return {"quality": JPEG_QUALITY}
    options: dict[str, Any] = {"qtables": [list(table) for _, table in sorted(tables.items())]}
    sampling = JpegImagePlugin.get_sampling(source)
    if sampling != -1:
        options["subsampling"] = sampling
    return options


def _sniff_bytes(data: bytes) -> MediaType:
    if data.startswith(b"\xff\xd8\xff"):
        return MediaType.JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return MediaType.PNG
    return MediaType.UNKNOWN


# --- decoding -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Decoded:
    image: Image.Image
    icc: bytes | None
    orientation: int
    source_size: tuple[int, int]
    level: int


def _decode_with_pillow(path: Path, kind: MediaType, max_side: int, max_pixels: int) -> _Decoded:
    if kind is MediaType.HEIC:
        _register_heif()
    try:
        with Image.open(path, formats=_PILLOW_FORMATS[kind]) as source:
            width, height = source.size
            if width * height > max_pixels:
                raise ImportFailure(_TOO_LARGE.format(mp=max_pixels // 1_000_000))
            if source.format in ("JPEG", "MPO") and max(source.size) > max_side:
                source.draft(source.mode, (max_side, max_side))  # DCT scaling: decode at 1/2, 1/4 or 1/8
            source.load()
            icc = source.info.get("icc_profile")
            orientation = _orientation(source)
            image = _fit(source, max_side)
    except Image.DecompressionBombError as exc:
        raise ImportFailure(_TOO_LARGE.format(mp=max_pixels // 1_000_000)) from exc
    except _DECODE_ERRORS as exc:
        raise ImportFailure(_DAMAGED) from exc
    return _Decoded(image, icc or None, orientation, (width, height), 0)


def _register_heif() -> None:
    try:
        import pillow_heif
    except ImportError as exc:  # pragma: no cover - installed with CaseDeck
        raise ImportFailure("HEIC photos need the pillow-heif package; install CaseDeck's requirements.") from exc
    pillow_heif.register_heif_opener()


def _orientation(image: Image.Image) -> int:
    """EXIF orientation 1–8; a damaged EXIF block counts as upright rather than failing the import."""
    try:
        value = image.getexif().get(0x0112, 1)
    except _DECODE_ERRORS:
        return 1
    return value if isinstance(value, int) and value in _TRANSPOSE else 1


def _fit(image: Image.Image, max_side: int) -> Image.Image:
    """Downscale to fit ``max_side`` (before rotating: the box is square, and rotating fewer pixels is cheaper)."""
    if max(image.size) <= max_side:
        return image
    if image.mode in ("P", "1"):
        image = image.convert("RGBA" if "transparency" in image.info else ("L" if image.mode == "1" else "RGB"))
    elif image.mode not in ("L", "LA", "RGB", "RGBA", "CMYK", "I", "F", "I;16"):
        image = image.convert("RGB")
    scale = max_side / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _upright(image: Image.Image, orientation: int) -> Image.Image:
    method = _TRANSPOSE.get(orientation)
    return image if method is None else image.transpose(method)


# --- TIFF -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Level:
    index: int
    width: int
    height: int
    page: Any  # tifffile.TiffPage (keyframe) of this level
    frame: Any  # the page or frame whose tiles are read


def _decode_tiff(path: Path, kind: MediaType, max_side: int, max_pixels: int) -> _Decoded:
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            levels = _tiff_levels(tif)
            base = levels[0]
            level = _choose_level(levels, max_side, max_pixels)
            if _can_read_segments(level.page):
                image = _read_level(tif, level, max_side)
            elif level.index == 0 and level.page.index == 0:
                # A flat TIFF in a compression only libtiff knows: Pillow reads page 0.
                return _decode_with_pillow(path, kind, max_side, max_pixels)
            else:
                raise ImportFailure(
                    "This slide-scanner TIFF uses a compression CaseDeck cannot read tile by tile; "
                    "save it as a JPEG-compressed or uncompressed TIFF and import that."
                )
            icc = level.page.iccprofile or None
            orientation_tag = level.page.tags.get(274)
            orientation = int(orientation_tag.value) if orientation_tag is not None else 1
    except ImportFailure:
        raise
    except (tifffile.TiffFileError, NotImplementedError, MemoryError, *_DECODE_ERRORS) as exc:
        raise ImportFailure(_DAMAGED) from exc
    return _Decoded(
        image,
        bytes(icc) if icc else None,
        orientation if orientation in _TRANSPOSE else 1,
        (base.width, base.height),
        level.index,
    )


def _tiff_levels(tif: Any) -> list[_Level]:
    """The main image's pyramid, largest first; label and macro images (which show patient labels) never."""
    if not tif.series:
        raise ImportFailure(_DAMAGED)
    series = tif.series[0]
    levels = []
    for index, level in enumerate(series.levels):
        page = level.keyframe
        frame = level.pages[0] if level.pages else None
        if page is None or frame is None:
            continue
        levels.append(_Level(index, int(page.imagewidth), int(page.imagelength), page, frame))
    if not levels:
        raise ImportFailure(_DAMAGED)
    return levels


def _choose_level(levels: list[_Level], max_side: int, max_pixels: int) -> _Level:
    """The smallest level still at least ``max_side`` on its long side, else the largest that fits the budget."""
    affordable = [lv for lv in levels if lv.width * lv.height <= max_pixels]
    if not affordable:
        raise ImportFailure(_TOO_LARGE.format(mp=max_pixels // 1_000_000))
    big_enough = [lv for lv in affordable if max(lv.width, lv.height) >= max_side]
    if big_enough:
        return min(big_enough, key=lambda lv: lv.width * lv.height)
    return max(affordable, key=lambda lv: lv.width * lv.height)


def _can_read_segments(page: Any) -> bool:
    from tifffile import TIFF

    if page.compression == 7:  # JPEG: Pillow decodes the tiles if imagecodecs is missing
        return True
    if page.compression == 1:
        return True
    try:
        TIFF.DECOMPRESSORS[page.compression]
    except KeyError:
        return False
    return True


def _read_level(tif: Any, level: _Level, max_side: int) -> Image.Image:
    """Read one level segment row by segment row, downscaling each stripe into the output as it comes."""
    page, frame = level.page, level.frame
    if page.imagedepth != 1 or (page.planarconfig != 1 and page.samplesperpixel > 1):
        raise ImportFailure("This TIFF stores its image in a layout CaseDeck cannot read (volumetric or planar).")
    if page.dtype is None or np.dtype(page.dtype).kind not in "ui" or np.dtype(page.dtype).itemsize > 2:
        raise ImportFailure("This TIFF holds floating-point or 32-bit samples; export it as an 8-bit image.")
    mode = _tiff_mode(page)
    width, height = level.width, level.height
    scale = min(1.0, max_side / max(width, height))
    out_w, out_h = max(1, round(width * scale)), max(1, round(height * scale))
    out = Image.new(mode, (out_w, out_h))
    y0 = 0
    pending: list[npt.NDArray[Any]] = []
    for stripe in _stripes(tif, page, frame):
        pending.append(stripe)
        rows = sum(part.shape[0] for part in pending)
        if rows < _STRIPE_ROWS and y0 + rows < height:
            continue
        block = pending[0] if len(pending) == 1 else np.concatenate(pending, axis=0)
        pending = []
        y1 = y0 + block.shape[0]
        top, bottom = round(y0 * out_h / height), round(y1 * out_h / height)
        if bottom > top:
            pixels: npt.NDArray[Any] = _to_display(block, page)
            if pixels.shape[0] != bottom - top or pixels.shape[1] != out_w:
                import cv2

                pixels = cv2.resize(pixels, (out_w, bottom - top), interpolation=cv2.INTER_AREA)
            out.paste(Image.fromarray(np.ascontiguousarray(pixels)), (0, top))
        y0 = y1
    return out


def _tiff_mode(page: Any) -> str:
    samples, photometric = int(page.samplesperpixel), int(page.photometric)
    if photometric == 3:  # palette
        return "RGB"
    if samples == 1 and photometric in (0, 1):
        return "L"
    if samples == 2 and photometric in (0, 1):
        return "LA"
    if samples in (3, 4) and photometric in (2, 6):
        return "RGBA" if samples == 4 else "RGB"
    raise ImportFailure("This TIFF uses a colour model CaseDeck cannot show (for example CMYK or Lab).")


def _stripes(tif: Any, page: Any, frame: Any) -> Iterator[npt.NDArray[Any]]:
    """One segment row at a time (a row of tiles, or one strip), cropped to the image width."""
    width, height = int(page.imagewidth), int(page.imagelength)
    samples = int(page.samplesperpixel)
    if page.is_tiled:
        seg_w, seg_h = int(page.tilewidth), int(page.tilelength)
    else:
        seg_w, seg_h = width, int(min(page.rowsperstrip or height, height))
    if seg_w * seg_h > max(4 * width * height, _MIN_SEGMENT_ALLOWANCE):
        raise ImportFailure(_DAMAGED)  # a tile far larger than the image: malformed, or a bomb
    across, down = math.ceil(width / seg_w), math.ceil(height / seg_h)
    offsets, counts = frame.dataoffsets, frame.databytecounts
    if len(offsets) < across * down or len(counts) < across * down:
        raise ImportFailure(_DAMAGED)
    decode = _segment_decoder(page)
    handle = tif.filehandle
    dtype = np.dtype(page.dtype)
    for row in range(down):
        rows = min(seg_h, height - row * seg_h)
        stripe = np.zeros((rows, width, samples), dtype=dtype)
        for col in range(across):
            index = row * across + col
            offset, count = int(offsets[index]), int(counts[index])
            if not offset or not count:
                continue  # a sparse (empty) tile stays black
            handle.seek(offset)
            data = handle.read(count)
            if len(data) != count:
                raise ImportFailure(_DAMAGED)
            segment = decode(data, index, seg_h, seg_w, samples)
            if segment is None:
                continue
            x = col * seg_w
            cols = min(seg_w, width - x)
            stripe[:, x : x + cols] = segment[:rows, :cols]
        yield stripe


def _segment_decoder(page: Any) -> Any:
    """A function (data, index, seg_h, seg_w, samples) -> (seg_h, seg_w, samples) array or None."""
    from tifffile import TIFF

    native = True
    if page.compression == 7:
        try:
            TIFF.DECOMPRESSORS[7]
        except KeyError:
            native = False
    if native:
        jpegtables = page.jpegtables

        def decode_native(data: bytes, index: int, seg_h: int, seg_w: int, samples: int) -> Any:
            segment, _indices, _shape = page.decode(data, index, jpegtables=jpegtables)
            if segment is None:
                return None
            return segment.reshape(segment.shape[-3], segment.shape[-2], segment.shape[-1])

        return decode_native

    tables = bytes(page.jpegtables) if page.jpegtables else b""
    rgb_stored = int(page.photometric) == 2  # JPEG tiles in RGB photometric are not YCbCr-coded

    def decode_jpeg(data: bytes, index: int, seg_h: int, seg_w: int, samples: int) -> Any:
        stream = data
        if tables and len(tables) > 4 and data.startswith(b"\xff\xd8"):
            stream = tables[:-2] + data[2:]  # shared tables (minus EOI) + the tile (minus SOI)
        with Image.open(io.BytesIO(stream), formats=("JPEG",)) as tile:
            if rgb_stored and tile.mode == "RGB":
                tile.tile = [tile.tile[0]._replace(args=("RGB", "RGB"))]
            tile.load()
            array = np.asarray(tile)
        if array.ndim == 2:
            array = array[:, :, np.newaxis]
        if array.shape[2] != samples or array.shape[0] > seg_h or array.shape[1] > seg_w:
            raise ImportFailure(_DAMAGED)
        return array

    return decode_jpeg


def _to_display(block: npt.NDArray[Any], page: Any) -> npt.NDArray[np.uint8]:
    """8-bit pixels in the output mode's channel order."""
    photometric = int(page.photometric)
    if photometric == 3:
        colormap = np.asarray(page.colormap)
        lut = (colormap >> 8).astype(np.uint8) if colormap.max() > 255 else colormap.astype(np.uint8)
        return np.ascontiguousarray(lut[:, block[:, :, 0]].transpose(1, 2, 0))
    if block.dtype.itemsize == 2:
        block = (block.astype(np.uint16) >> 8).astype(np.uint8)
    elif block.dtype != np.uint8:
        block = block.astype(np.uint8)
    if photometric == 0:  # min-is-white
        block = 255 - block
    if block.shape[2] == 1:
        return np.ascontiguousarray(block[:, :, 0])
    return np.ascontiguousarray(block)


# --- output ---------------------------------------------------------------------------------------


def _output_mode(image: Image.Image, icc: bytes | None, *, lossless: bool) -> tuple[Image.Image, bytes | None, bool]:
    """A mode JPEG or PNG can hold, the ICC profile only if it describes that colour space, and whether PNG.

    PNG for real transparency, and for grey or palette images from lossless
    sources (diagrams, scans, 16-bit microscopy); JPEG for everything else.
    """
    mode = image.mode
    if mode == "1":
        image = image.convert("L")
    elif mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in image.info
        image = image.convert("RGBA") if has_alpha else (image if lossless else image.convert("RGB"))
    elif mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        image = Image.fromarray((np.asarray(image).astype(np.uint16) >> 8).astype(np.uint8))
    elif mode in ("I", "F"):
        image = Image.fromarray(_stretch(np.asarray(image)))
    elif mode == "La":
        image = image.convert("LA")
    elif mode not in ("L", "LA", "RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in mode else "RGB")
    if image.mode in ("RGBA", "LA") and image.getchannel("A").getextrema() == (255, 255):
        image = image.convert(image.mode[:-1])  # an alpha channel that hides nothing
    if icc and (len(icc) < 20 or icc[16:20] != _ICC_SPACE.get(image.mode)):
        icc = None
    as_png = image.mode in ("RGBA", "LA", "P") or (image.mode == "L" and lossless)
    return image, icc, as_png


def _stretch(array: npt.NDArray[Any]) -> npt.NDArray[np.uint8]:
    finite = np.nan_to_num(array.astype(np.float64))
    low, high = float(finite.min()), float(finite.max())
    if high <= low:
        return np.zeros(array.shape, dtype=np.uint8)
    return ((finite - low) * (255.0 / (high - low))).round().astype(np.uint8)


def _encode(image: Image.Image, icc: bytes | None, *, as_png: bool) -> tuple[bytes, str]:
    out = io.BytesIO()
    if as_png:
        image.save(out, "PNG", icc_profile=icc, compress_level=6)
        return out.getvalue(), "image/png"
    image.save(out, "JPEG", quality=JPEG_QUALITY, icc_profile=icc)
    return out.getvalue(), "image/jpeg"


def _preview(image: Image.Image, icc: bytes | None, side: int) -> bytes:
    preview = image.convert("RGB") if image.mode == "P" else image  # transparent palettes are RGBA by now
    if max(preview.size) > side:
        scale = side / max(preview.size)
        size = (max(1, round(preview.width * scale)), max(1, round(preview.height * scale)))
        preview = preview.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    out = io.BytesIO()
    preview.save(out, "PNG", icc_profile=icc if preview.mode == image.mode else None, compress_level=6)
    return out.getvalue()
