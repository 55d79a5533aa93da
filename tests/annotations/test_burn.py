"""Burn-in checked on pixels: where lines go, what is skipped, clipping, tiny and huge images."""

from __future__ import annotations

import numpy as np
import pytest

from casefiles.annotations.burn import burn_in
from casefiles.annotations.measure import PixelSpacing
from casefiles.annotations.model import (
    Angle,
    Arrow,
    Ellipse,
    Point,
    Polyline,
    Rectangle,
    Ruler,
    Style,
    Text,
    scaled,
)
from casefiles.errors import RenderError, ValidationError

RED = Style(color="#ff0000", width=3)


def _is_red(pixel: np.ndarray) -> bool:
    r, g, b = (int(v) for v in pixel)
    return r > 150 and g < 80 and b < 80


def gray(size: int = 512, value: int = 100) -> np.ndarray:
    return np.full((size, size), value, np.uint8)


def test_a_line_colours_the_pixels_along_it_and_nothing_far_away() -> None:
    image = gray()
    out = burn_in(image, [Arrow(start=Point(50.5, 200.5), end=Point(450.5, 200.5), style=RED)], spacing=None)
    assert out.shape == (512, 512, 3) and out.dtype == np.uint8
    # pixel centres on the line (row 200) are red from tail to head
    assert all(_is_red(out[200, x]) for x in range(55, 440, 10))
    # rows far from the line and the area before the tail keep the grey image
    assert (out[100] == 100).all() and (out[300] == 100).all()
    assert (out[200, :40] == 100).all()
    assert not np.shares_memory(out, image) and (image == 100).all()  # the input is untouched


def test_the_arrow_head_is_wider_than_the_shaft() -> None:
    out = burn_in(gray(), [Arrow(start=Point(50, 256), end=Point(450, 256), style=RED)], spacing=None)
    red = np.array([[_is_red(p) for p in row] for row in out[:, :, :]])
    shaft = red[:, 200].sum()
    head = red[:, 440].sum()
    assert head > 2 * shaft


def test_hidden_annotations_draw_nothing() -> None:
    image = gray()
    hidden = [
        Arrow(start=Point(10, 10), end=Point(400, 400), visible=False),
        Text(anchor=Point(20, 20), text="secret", visible=False),
    ]
    out = burn_in(image, hidden, spacing=None)
    assert (out == 100).all()


def test_parts_outside_the_image_are_clipped_not_a_crash() -> None:
    image = gray(100)
    shapes = [
        Ruler(start=Point(-1000, 50.5), end=Point(1000, 50.5), style=RED),
        Ellipse(center=Point(0, 0), rx=5000, ry=5000),
        Rectangle(top_left=Point(-50, -50), bottom_right=Point(20000, 30)),
        Polyline(vertices=(Point(-1e6, -1e6), Point(1e6, 1e6), Point(-1e6, 1e6)), closed=True),
        Text(anchor=Point(-500, -500), text="far away"),
        Arrow(start=Point(-300, -300), end=Point(-200, -200)),  # entirely off the image
    ]
    out = burn_in(image, shapes, spacing=PixelSpacing(0.5, 0.5))
    assert out.shape == (100, 100, 3)
    assert _is_red(out[50, 1]) and _is_red(out[50, 99])  # the ruler runs right to both borders


def test_grey_and_rgb_inputs_and_bad_inputs() -> None:
    rgb = np.zeros((40, 60, 3), np.uint8)
    rgb[..., 2] = 200
    out = burn_in(rgb, [], spacing=None)
    assert (out == rgb).all()
    with pytest.raises(RenderError, match="8-bit"):
        burn_in(np.zeros((10, 10), np.uint16), [], spacing=None)
    with pytest.raises(RenderError, match="grey"):
        burn_in(np.zeros((10, 10, 4), np.uint8), [], spacing=None)
    with pytest.raises(ValidationError, match="source_size"):
        burn_in(gray(10), [], spacing=None, source_size=(0, 10))


def test_one_pixel_image() -> None:
    tiny = np.zeros((1, 1), np.uint8)
    everything = [
        Arrow(start=Point(0, 0), end=Point(1, 1), style=Style("#ffffff", 3)),
        Ruler(start=Point(0, 0.5), end=Point(1, 0.5)),
        Angle(a=Point(1, 0), vertex=Point(0, 0), b=Point(0, 1)),
        Text(anchor=Point(0, 0), text="x"),
    ]
    out = burn_in(tiny, everything, spacing=None)
    assert out.shape == (1, 1, 3)
    arrow_only = burn_in(tiny, everything[:1], spacing=None)
    assert (arrow_only == 255).all()  # the arrow covers the only pixel


def test_4k_radiograph_looks_like_the_512_image_scaled_up() -> None:
    small = burn_in(gray(512, 0), [Ruler(start=Point(100, 256), end=Point(400, 256), style=RED)], spacing=None)
    ruler = Ruler(start=Point(800, 2048), end=Point(3200, 2048), style=RED)
    big = burn_in(np.zeros((4096, 4096), np.uint8), [ruler], spacing=PixelSpacing(0.1, 0.1))
    assert big.shape == (4096, 4096, 3)
    small_width = sum(_is_red(p) for p in small[:, 150])
    big_width = sum(_is_red(p) for p in big[:, 1200])
    # line width scales with the image (3 px at 1024): about 2-3 px on 512, about 12 px on 4096
    assert 2 <= small_width <= 4
    assert 11 <= big_width <= 15


def test_labels_are_legible_text_with_a_dark_outline() -> None:
    out = burn_in(gray(512, 255), [Text(anchor=Point(100, 100), text="LESION", size=40)], spacing=None)
    box = out[95:150, 95:300]
    yellow = (box[..., 0] > 200) & (box[..., 1] > 180) & (box[..., 2] < 80)
    dark = box.max(axis=2) < 60
    assert yellow.sum() > 200  # the letters
    assert dark.sum() > 100  # their outline keeps them readable on white
    assert (out[300:] == 255).all()


def test_ruler_label_shows_mm_and_is_drawn_near_the_ruler() -> None:
    ruler = Ruler(start=Point(100, 300), end=Point(400, 300), style=Style("#00ff00", 2))
    with_label = burn_in(gray(512, 0), [ruler], spacing=PixelSpacing(0.5, 0.5))
    rows = np.nonzero((with_label[..., 1] > 120).any(axis=1))[0]
    assert rows.min() < 290  # label text above the line
    assert rows.max() < 320


def test_resized_rendering_uses_source_size() -> None:
    arrow = Arrow(start=Point(0, 100.5), end=Point(200, 100.5), style=RED)
    half = burn_in(gray(100), [arrow], spacing=None, source_size=(200, 200))
    direct = burn_in(gray(100), [scaled(arrow, 0.5)], spacing=None)
    assert (half == direct).all()
    assert _is_red(half[50, 30])
