"""Key images lose every byte of metadata but none of their pixels, and unreadable data is refused."""

from __future__ import annotations

import io
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from casefiles.errors import ExportError
from exporters._image_clean import clean_image


def decoded(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("L"))


def assert_no_phi(kit: SimpleNamespace, data: bytes) -> None:
    lowered = data.lower()
    for phi in kit.FAKE_PHI:
        assert phi.lower().encode() not in lowered
        assert phi.lower().encode("utf-16-le") not in lowered


def test_png_keeps_exact_pixels_and_only_pixel_chunks(kit: SimpleNamespace) -> None:
    pixels = kit.scene(320, 200)
    source = kit.png_with_phi(pixels)
    assert b"zTXt" in source and b"iTXt" in source and b"eXIf" in source  # the fixture really planted them

    clean = clean_image(source)

    assert (clean.format, clean.width, clean.height) == ("png", 320, 200)
    assert set(kit.png_chunk_types(clean.data)) <= {b"IHDR", b"IDAT", b"IEND", b"pHYs", b"sRGB", b"gAMA"}
    assert clean.data.endswith(b"IEND\xaeB`\x82")  # nothing after the end chunk
    assert_no_phi(kit, clean.data)
    np.testing.assert_array_equal(decoded(clean.data), pixels)


def test_jpeg_keeps_identical_decoded_pixels_without_comment_exif_or_trailer(kit: SimpleNamespace) -> None:
    pixels = kit.scene(300, 240)
    source = kit.jpeg_with_phi(pixels)

    clean = clean_image(source)

    assert (clean.format, clean.width, clean.height) == ("jpeg", 300, 240)
    assert b"\xff\xfe" not in clean.data.split(b"\xff\xda", 1)[0]  # no COM before the scan
    assert b"Exif" not in clean.data
    assert clean.data.endswith(b"\xff\xd9")
    assert_no_phi(kit, clean.data)
    np.testing.assert_array_equal(decoded(clean.data), decoded(source))


def test_progressive_and_colour_jpeg_survive(kit: SimpleNamespace) -> None:
    rgb = np.dstack([kit.scene(256, 192, seed=s) for s in (0, 1, 2)])
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", progressive=True, quality=85, comment=b"DOE^JOHN")
    clean = clean_image(buf.getvalue())
    with Image.open(io.BytesIO(clean.data)) as im:
        assert im.mode == "RGB"
        np.testing.assert_array_equal(np.asarray(im), np.asarray(Image.open(io.BytesIO(buf.getvalue()))))
    assert_no_phi(kit, clean.data)


def test_exif_rotation_is_applied_before_the_exif_is_dropped(kit: SimpleNamespace) -> None:
    # Orientation 6: the viewer must rotate 90° clockwise, so a 300x200 file shows as 200x300.
    clean = clean_image(kit.jpeg_with_phi(kit.scene(300, 200), orientation=6))
    assert (clean.width, clean.height) == (200, 300)
    assert_no_phi(kit, clean.data)


def test_other_formats_become_a_bare_png(kit: SimpleNamespace) -> None:
    pixels = kit.scene(128, 96)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="TIFF", description="DOE^JOHN")
    clean = clean_image(buf.getvalue())
    assert clean.format == "png"
    assert_no_phi(kit, clean.data)
    np.testing.assert_array_equal(decoded(clean.data), pixels)


@pytest.mark.parametrize(
    "make_bad",
    [
        lambda png, jpg: b"",
        lambda png, jpg: b"not an image at all",
        lambda png, jpg: png[: len(png) // 2],  # truncated PNG
        lambda png, jpg: jpg[: len(jpg) // 2],  # truncated JPEG
        lambda png, jpg: png[:60] + bytes([png[60] ^ 0xFF]) + png[61:],  # corrupted PNG (bad CRC)
        lambda png, jpg: "a string, not bytes",
    ],
    ids=["empty", "garbage", "truncated-png", "truncated-jpeg", "bad-crc", "not-bytes"],
)
def test_unreadable_data_is_an_export_error_without_detail(kit: SimpleNamespace, make_bad) -> None:  # type: ignore[no-untyped-def]
    pixels = kit.scene(200, 150)
    bad = make_bad(kit.png_with_phi(pixels), kit.jpeg_with_phi(pixels))
    with pytest.raises(ExportError) as err:
        clean_image(bad)
    for phi in kit.FAKE_PHI:
        assert phi not in str(err.value)
