"""Scrubbed images keep their pixels and colour profile, and nothing else of what the source carried."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pillow_heif
import pytest
from PIL import Image, ImageFile, PngImagePlugin

from casefiles.errors import ImportFailure, ValidationError
from casefiles.media.images import ScrubbedImage, redact_image, scrub_image
from casefiles.media.sniff import MediaType
from tests.helpers import ROOT
from tests.media.images.image_factory import (
    PHI_VALUES,
    QUADRANTS,
    XMP,
    encode,
    phi_exif,
    photo,
    srgb_icc,
    write_jpeg_tiled_tiff,
    write_pyramid,
    write_tiff_bomb,
)

pillow_heif.register_heif_opener()


def _open(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _assert_clean(result: ScrubbedImage) -> Image.Image:
    """No EXIF, XMP, comment or text chunk in the stored bytes or the preview; no planted value anywhere."""
    for data in (result.data, result.preview_png):
        for value in PHI_VALUES:
            assert value not in data
        image = _open(data)
        assert dict(image.getexif()) == {}
        assert not {"exif", "xmp", "XML:com.adobe.xmp", "comment", "Author", "Comment", "Description"} & set(image.info)
        if image.format == "PNG":
            assert image.text == {}  # type: ignore[attr-defined]
    stored = _open(result.data)
    assert stored.format == {"image/jpeg": "JPEG", "image/png": "PNG"}[result.media_type]
    assert stored.size == (result.width, result.height)
    return stored


def _mean_error(a: Image.Image, b: Image.Image) -> float:
    return float(
        np.abs(np.asarray(a.convert("RGB"), dtype=np.int16) - np.asarray(b.convert("RGB"), dtype=np.int16)).mean()
    )


SOURCES = {
    "jpeg": ("JPEG", {"exif": phi_exif(), "comment": b"Patient SMITH", "xmp": XMP, "quality": 95}),
    "png": ("PNG", {"exif": phi_exif(), "pnginfo": "text"}),
    "tiff": ("TIFF", {"exif": phi_exif(), "compression": "tiff_lzw"}),
    "bigtiff": ("TIFF", {"exif": phi_exif(), "big_tiff": True}),
    "webp": ("WEBP", {"exif": phi_exif(), "xmp": XMP, "quality": 95}),
    "heic": ("HEIF", {"exif": phi_exif(), "xmp": XMP, "quality": 95}),
}


@pytest.mark.parametrize("name", list(SOURCES))
def test_round_trip_drops_metadata_and_keeps_icc(name: str, quarantine: Path, workdir: Path) -> None:
    fmt, params = SOURCES[name]
    if params.get("pnginfo") == "text":
        info = PngImagePlugin.PngInfo()
        info.add_text("Author", "Dr Smith")
        info.add_itxt("Comment", "SMITH JOHN 1970")
        params = {**params, "pnginfo": info}
    source = photo()
    path = quarantine / f"upload.{name}"
    path.write_bytes(encode(source, fmt, icc_profile=srgb_icc(), **params))
    for value in (b"Smith", b"iPhone 15"):
        assert value in path.read_bytes()  # the plant is really there to be removed

    result = scrub_image(path, workdir=workdir)

    stored = _assert_clean(result)
    assert result.source_format is MediaType(name)
    assert result.media_type == "image/jpeg"  # opaque colour photos are stored as JPEG
    assert stored.info.get("icc_profile") == srgb_icc()
    assert (result.width, result.height) == source.size
    assert _mean_error(stored, source) < 4
    assert list(workdir.iterdir()) == []


def test_gif_palette_source_is_stored_as_png_without_comment(quarantine: Path, workdir: Path) -> None:
    path = quarantine / "diagram.gif"
    path.write_bytes(encode(photo().quantize(16), "GIF", comment=b"Patient SMITH"))
    result = scrub_image(path, workdir=workdir)
    stored = _assert_clean(result)
    assert result.media_type == "image/png"
    assert stored.mode == "P"


def test_orientation_6_rotates_the_pixels(quarantine: Path, workdir: Path) -> None:
    path = quarantine / "phone.jpg"
    path.write_bytes(encode(photo(96, 64), "JPEG", exif=phi_exif(orientation=6), quality=95))
    result = scrub_image(path, workdir=workdir)
    stored = np.asarray(_assert_clean(result))
    # Stored landscape with the red half on the left; shown turned 90° clockwise: portrait, red on top.
    assert (result.width, result.height) == (64, 96)
    assert np.abs(stored[10, 32].astype(int) - (220, 30, 30)).max() < 12
    assert np.abs(stored[85, 32].astype(int) - (220, 30, 30)).max() > 60


def test_orientation_tag_of_a_tiled_tiff_is_applied(quarantine: Path, workdir: Path) -> None:
    path = quarantine / "slide.tif"
    write_pyramid(path, 600, 1, tile=256, extratags=[(274, "H", 1, 3, True)])  # 3: upside down
    result = scrub_image(path, workdir=workdir)
    stored = np.asarray(_assert_clean(result)).astype(int)
    assert np.abs(stored[50, 50] - QUADRANTS[3]).max() < 12  # the bottom-right quadrant is now top-left
    assert np.abs(stored[550, 550] - QUADRANTS[0]).max() < 12


def test_alpha_keeps_png_and_opaque_alpha_does_not(quarantine: Path, workdir: Path) -> None:
    rgba = photo().convert("RGBA")
    alpha = np.full((64, 96), 255, dtype=np.uint8)
    alpha[:, :10] = 0
    rgba.putalpha(Image.fromarray(alpha))
    path = quarantine / "overlay.png"
    path.write_bytes(encode(rgba, "PNG"))
    result = scrub_image(path, workdir=workdir)
    assert result.media_type == "image/png"
    assert _open(result.data).getchannel("A").getextrema() == (0, 255)

    path.write_bytes(encode(photo().convert("RGBA"), "PNG"))
    assert scrub_image(path, workdir=workdir).media_type == "image/jpeg"


def test_sixteen_bit_grey_png_is_stored_as_8_bit_png(quarantine: Path, workdir: Path) -> None:
    ramp = (np.arange(256 * 64, dtype=np.uint32).reshape(64, 256) * 4).astype(np.uint16)
    path = quarantine / "micrograph.png"
    path.write_bytes(encode(Image.fromarray(ramp), "PNG"))
    result = scrub_image(path, workdir=workdir)
    stored = _open(result.data)
    assert (result.media_type, stored.mode) == ("image/png", "L")
    assert np.array_equal(np.asarray(stored), (ramp >> 8).astype(np.uint8))


def test_large_photo_is_downscaled_to_max_side_and_preview_fits(quarantine: Path, workdir: Path) -> None:
    path = quarantine / "big.jpg"
    path.write_bytes(encode(photo(3000, 2000), "JPEG", quality=90))
    result = scrub_image(path, workdir=workdir, max_side=1000, preview_side=128)
    assert (result.width, result.height) == (1000, 667)
    preview = _open(result.preview_png)
    assert preview.format == "PNG"
    assert max(preview.size) == 128


def test_pyramid_20k_reads_one_level_within_memory_bound(tmp_path: Path, quarantine: Path, workdir: Path) -> None:
    """A 20000² slide (1.2 GB decoded) imports from its 10000² level, downscaled tile row by tile row."""
    path = quarantine / "slide.tif"
    assert write_pyramid(path, 20_000, 5) == [20_000, 10_000, 5_000, 2_500, 1_250]
    assert path.stat().st_size < 50_000_000
    script = textwrap.dedent(
        f"""
        import json, sys, tracemalloc
        from pathlib import Path
        from casefiles.media.images import scrub_image
        tracemalloc.start()
        result = scrub_image(Path({str(path)!r}), workdir=Path({str(workdir)!r}))
        peak = tracemalloc.get_traced_memory()[1]
        # VmHWM: this process image's own peak. ru_maxrss would carry the pytest worker's peak
        # over fork and exec (Linux keeps it in the signal struct), so it said more about earlier tests.
        after = int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])
        Path({str(tmp_path / "result.jpg")!r}).write_bytes(result.data)
        print(json.dumps({{"level": result.pyramid_level, "size": [result.width, result.height],
                          "source": list(result.source_size), "peak": peak, "rss_kb": after}}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300, check=True
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["level"] == 1  # the smallest level still ≥ 8192 px
    assert report["size"] == [8192, 8192]
    assert report["source"] == [20_000, 20_000]
    assert report["peak"] < 300 * 2**20  # Python/numpy allocations
    # The whole process, Pillow's C buffers and tifffile's decoding included: about 370 MB seen.
    # Level 0 would need 1.2 GB for its pixels alone (20000² RGB), so this fails if it is ever read.
    rss_mb = report["rss_kb"] // 1024
    assert rss_mb < 1024, f"the import process peaked at {rss_mb} MB"
    stored = np.asarray(_open((tmp_path / "result.jpg").read_bytes())).astype(int)
    for (y, x), colour in zip([(1000, 1000), (1000, 7000), (7000, 1000), (7000, 7000)], QUADRANTS, strict=True):
        assert np.abs(stored[y, x] - colour).max() < 12


@pytest.mark.parametrize(("max_side", "level", "size"), [(1500, 1, 1500), (600, 2, 600), (400, 3, 400), (300, 3, 300)])
def test_pyramid_level_choice(quarantine: Path, workdir: Path, max_side: int, level: int, size: int) -> None:
    path = quarantine / "slide.tif"
    assert write_pyramid(path, 3200, 4, tile=256) == [3200, 1600, 800, 400]
    result = scrub_image(path, workdir=workdir, max_side=max_side, preview_side=64)
    assert (result.pyramid_level, result.width, result.height) == (level, size, size)


def test_jpeg_tiled_tiff_colours_are_right(quarantine: Path, workdir: Path) -> None:
    path = quarantine / "scanner.tif"
    write_jpeg_tiled_tiff(path, 1000)
    result = scrub_image(path, workdir=workdir)
    stored = np.asarray(_assert_clean(result)).astype(int)
    for (y, x), colour in zip([(100, 100), (100, 900), (900, 100), (900, 900)], QUADRANTS, strict=True):
        assert np.abs(stored[y, x] - colour).max() < 12


def test_tiff_bomb_is_refused_before_decoding(quarantine: Path, workdir: Path) -> None:
    path = quarantine / "bomb.tif"
    write_tiff_bomb(path)
    assert path.stat().st_size < 2_000_000
    with pytest.raises(ImportFailure, match="megapixels"):
        scrub_image(path, workdir=workdir)


def test_png_declaring_a_huge_size_is_refused(quarantine: Path, workdir: Path) -> None:
    data = bytearray(encode(Image.new("L", (8, 8)), "PNG"))
    data[16:24] = (40_000).to_bytes(4, "big") * 2  # IHDR width and height; the CRC no longer matches
    path = quarantine / "huge.png"
    path.write_bytes(bytes(data))
    with pytest.raises(ImportFailure):
        scrub_image(path, workdir=workdir)


def test_truncated_jpeg_is_refused_with_a_clear_message(quarantine: Path, workdir: Path) -> None:
    data = encode(photo(400, 300), "JPEG", quality=90)
    path = quarantine / "SMITH_JOHN_wound.jpg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImportFailure) as caught:
        scrub_image(path, workdir=workdir)
    assert "incomplete or damaged" in str(caught.value)
    assert "SMITH" not in str(caught.value)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_file_lying_about_its_type_is_handled_by_content(quarantine: Path, workdir: Path) -> None:
    png_named_jpg = quarantine / "photo.jpg"
    png_named_jpg.write_bytes(encode(photo(), "PNG"))
    assert scrub_image(png_named_jpg, workdir=workdir).source_format is MediaType.PNG

    pdf_named_jpg = quarantine / "SMITH_scan.jpg"
    pdf_named_jpg.write_bytes(b"%PDF-1.4\n%%EOF\n")
    with pytest.raises(ImportFailure, match="not an image") as caught:
        scrub_image(pdf_named_jpg, workdir=workdir)
    assert "SMITH" not in str(caught.value)


def test_bad_options_are_rejected(quarantine: Path, workdir: Path) -> None:
    path = quarantine / "a.png"
    path.write_bytes(encode(photo(), "PNG"))
    with pytest.raises(ValidationError):
        scrub_image(path, workdir=quarantine / "missing")
    with pytest.raises(ValidationError):
        scrub_image(path, workdir=workdir, max_side=0)
    with pytest.raises(ValidationError):
        scrub_image(path, workdir=workdir, max_side=256, preview_side=512)


# --- redaction -------------------------------------------------------------------------------------


def _scrubbed(quarantine: Path, workdir: Path, image: Image.Image, fmt: str) -> ScrubbedImage:
    path = quarantine / f"source.{fmt.lower()}"
    path.write_bytes(encode(image, fmt, icc_profile=srgb_icc(), exif=phi_exif()))
    return scrub_image(path, workdir=workdir)


def test_redaction_blackens_the_box_in_a_stored_jpeg(quarantine: Path, workdir: Path) -> None:
    source = photo(320, 240)
    stored = _scrubbed(quarantine, workdir, source, "JPEG")
    redacted = redact_image(stored.data, [(100, 50, 60, 40)])
    image = _open(redacted)
    pixels = np.asarray(image).astype(int)
    assert image.format == "JPEG"
    assert pixels[50:90, 100:160].max() <= 8
    assert _mean_error(image.crop((0, 120, 320, 240)), source.crop((0, 120, 320, 240))) < 4  # the rest is intact
    assert image.info.get("icc_profile") == srgb_icc()
    assert dict(image.getexif()) == {}


def test_redaction_in_a_png_is_exact_and_clips_to_the_image(quarantine: Path, workdir: Path) -> None:
    rgba = photo(120, 80).convert("RGBA")
    rgba.putalpha(128)
    stored = _scrubbed(quarantine, workdir, rgba, "PNG")
    assert stored.media_type == "image/png"
    redacted = _open(redact_image(stored.data, [(100, 60, 50, 50)]))  # runs off the bottom-right corner
    pixels = np.asarray(redacted)
    assert redacted.format == "PNG"
    assert (pixels[60:, 100:] == (0, 0, 0, 255)).all()
    assert (pixels[:60, :100, :3] == np.asarray(rgba)[:60, :100, :3]).all()


def test_redaction_rejects_boxes_it_cannot_apply(quarantine: Path, workdir: Path) -> None:
    stored = _scrubbed(quarantine, workdir, photo(), "PNG")
    for regions in ([], [(500, 500, 10, 10)], [(0, 0, 0, 10)], [(0, 0, 1.5, 2)], ["abcd"]):
        with pytest.raises(ValidationError):
            redact_image(stored.data, regions)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        redact_image(b"%PDF-1.4", [(0, 0, 1, 1)])
