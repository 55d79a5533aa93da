"""Whole frames to display images, thumbnails, resizing and encoding."""

from __future__ import annotations

import os
import warnings

import cv2
import numpy as np
import pydicom
import pytest
from pydicom import dcmread

from casefiles.errors import RenderError, ValidationError
from casefiles.imaging import (
    auto_window,
    encode_jpeg,
    encode_png,
    fit_within,
    frame_count,
    modality_frame,
    render_frame,
    thumbnail_png,
    to_display,
)
from casefiles.model import Window

BUNDLED = sorted(
    name
    for name in os.listdir(os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files"))
    if name.endswith(".dcm")
)


def _decode(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)


@pytest.mark.parametrize("name", BUNDLED)
def test_every_bundled_file_renders_or_raises_render_error(name):
    """Whatever arrives from a PACS, the user gets an image or a plain RenderError, never a crash."""
    path = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files", name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = dcmread(path, force=True)  # files without a preamble/meta arrive from old archives too
        try:
            last = frame_count(ds) - 1
            image = render_frame(ds, last)
        except RenderError as exc:
            assert name not in str(exc)
            return
    assert image.dtype == np.uint8
    assert image.shape[:2] == (ds.Rows, ds.Columns)
    assert image.ndim == 2 or image.shape[2] == 3


def test_render_frame_uses_header_window(testdata):
    ds = testdata("MR_small.dcm")
    np.testing.assert_array_equal(render_frame(ds), to_display(ds, modality_frame(ds), Window(600, 1600)))


def test_render_frame_explicit_window_wins(testdata):
    ds = testdata("MR_small.dcm")
    window = Window(center=1000, width=200)
    np.testing.assert_array_equal(render_frame(ds, 0, window), to_display(ds, modality_frame(ds), window))
    assert not np.array_equal(render_frame(ds, 0, window), render_frame(ds))


def test_render_frame_auto_window_without_voi_uses_full_range(testdata):
    ds = testdata("CT_small.dcm")
    image = render_frame(ds)
    assert image.min() == 0 and image.max() == 255
    hu = modality_frame(ds)
    np.testing.assert_array_equal(image, to_display(ds, hu, auto_window(hu)))


def test_render_frame_per_frame_windows(gray):
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    frames = np.stack([np.full((2, 2), 100, np.int16)] * 2)
    ds = gray(frames)
    groups = []
    for center in ("0", "200"):
        group, voi = Dataset(), Dataset()
        voi.WindowCenter, voi.WindowWidth = center, "100"
        group.FrameVOILUTSequence = Sequence([voi])
        groups.append(group)
    ds.PerFrameFunctionalGroupsSequence = Sequence(groups)
    assert render_frame(ds, 0)[0, 0] == 255  # 100 is above the first frame's window
    assert render_frame(ds, 1)[0, 0] == 0  # and below the second's


def test_render_monochrome1_bundled_or_converted(testdata):
    ds = testdata("MR_small.dcm")
    normal = render_frame(ds)
    ds.PhotometricInterpretation = "MONOCHROME1"
    np.testing.assert_array_equal(render_frame(ds), 255 - normal)


def test_render_multiframe_and_error_past_the_end(testdata):
    ds = testdata("examples_ybr_color.dcm")
    assert render_frame(ds, 29).shape == (240, 320, 3)
    with pytest.raises(RenderError, match="does not exist"):
        render_frame(ds, 30)


def test_render_without_pixels(testdata):
    with pytest.raises(RenderError, match="no image pixels"):
        render_frame(testdata("test-SR.dcm"))


def test_thumbnail_keeps_aspect_and_fits(testdata):
    ds = testdata("examples_palette.dcm")  # 800 x 350 colour
    thumb = _decode(thumbnail_png(ds, size=256))
    assert thumb.shape == (112, 256, 3)
    small = _decode(thumbnail_png(ds, size=64))
    assert max(small.shape[:2]) == 64


def test_thumbnail_of_tall_image(testdata):
    ds = testdata("JPEG2000.dcm")  # 256 wide, 1024 tall
    thumb = _decode(thumbnail_png(ds, size=128))
    assert thumb.shape == (128, 32)


def test_thumbnail_never_enlarges(testdata):
    thumb = _decode(thumbnail_png(testdata("MR_small.dcm"), size=256))
    assert thumb.shape == (64, 64)


def test_thumbnail_uses_middle_frame(testdata):
    ds = testdata("examples_ybr_color.dcm")
    middle = _decode(thumbnail_png(ds))
    expected = cv2.cvtColor(fit_within(render_frame(ds, 15), 256, 256), cv2.COLOR_RGB2BGR)
    np.testing.assert_array_equal(middle, expected)
    first = _decode(thumbnail_png(ds, frame=0))
    assert not np.array_equal(first, middle)


def test_thumbnail_of_huge_image(gray):
    side = 4096
    ramp = np.linspace(0, 4000, side, dtype=np.float32).astype(np.uint16)
    ds = gray(np.tile(ramp, (side, 1)), bits_stored=12)
    thumb = _decode(thumbnail_png(ds))
    assert thumb.shape == (256, 256)
    assert thumb[:, 0].max() < 10 and thumb[:, -1].min() > 245  # dark left, bright right


def test_one_pixel_image_renders_and_thumbnails(gray):
    ds = gray(np.array([[42]], dtype=np.uint16))
    assert render_frame(ds).shape == (1, 1)
    assert _decode(thumbnail_png(ds)).shape == (1, 1)


def test_thumbnail_rejects_bad_size(testdata):
    with pytest.raises(ValidationError):
        thumbnail_png(testdata("MR_small.dcm"), size=0)


def test_fit_within_downscales_only_and_keeps_aspect():
    image = np.zeros((300, 1000, 3), np.uint8)
    assert fit_within(image, 500, 500).shape == (150, 500, 3)
    assert fit_within(image, 2000, 60).shape == (60, 200, 3)
    assert fit_within(image, 2000, 2000) is image
    sliver = np.zeros((5000, 1), np.uint8)
    assert fit_within(sliver, 100, 100).shape == (100, 1)


def test_fit_within_area_interpolation_averages():
    checker = np.indices((64, 64)).sum(axis=0) % 2 * 255
    out = fit_within(checker.astype(np.uint8), 8, 8)
    assert np.abs(out.astype(int) - 128).max() <= 1  # a fine pattern averages to grey, no moiré


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_fit_within_rejects_bad_bounds(bad):
    with pytest.raises(ValidationError):
        fit_within(np.zeros((4, 4), np.uint8), bad, 10)


def test_png_roundtrip_keeps_colour_order():
    image = np.zeros((5, 7, 3), np.uint8)
    image[..., 0] = 255  # pure red in RGB
    data = encode_png(image)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    decoded = _decode(data)  # OpenCV decodes to BGR
    assert tuple(decoded[2, 3]) == (0, 0, 255)
    np.testing.assert_array_equal(decoded[..., ::-1], image)


def test_png_grey_roundtrip_lossless():
    image = np.arange(256, dtype=np.uint8).reshape(16, 16)
    np.testing.assert_array_equal(_decode(encode_png(image)), image)


def test_jpeg_encodes_close_and_quality_matters():
    rng = np.random.default_rng(0)
    image = cv2.GaussianBlur(rng.integers(0, 256, (64, 64), dtype=np.uint8), (5, 5), 0)
    high, low = encode_jpeg(image, 95), encode_jpeg(image, 20)
    assert high.startswith(b"\xff\xd8") and low.startswith(b"\xff\xd8")
    assert len(low) < len(high)
    assert np.abs(_decode(high).astype(int) - image).mean() < 3
    red = np.zeros((16, 16, 3), np.uint8)
    red[..., 0] = 255
    assert _decode(encode_jpeg(red))[8, 8, 2] > 240  # BGR: red channel last


@pytest.mark.parametrize("quality", [0, 101, 90.0, True])
def test_jpeg_rejects_bad_quality(quality):
    with pytest.raises(ValidationError):
        encode_jpeg(np.zeros((2, 2), np.uint8), quality)


@pytest.mark.parametrize(
    "bad",
    [np.zeros((2, 2), np.uint16), np.zeros((2, 2, 2), np.uint8), np.zeros((0, 4), np.uint8), np.zeros(4, np.uint8)],
)
def test_encoders_reject_non_display_images(bad):
    with pytest.raises(RenderError):
        encode_png(bad)
    with pytest.raises(RenderError):
        encode_jpeg(bad)
