"""Burning annotations into a display image, as every exporter shows them.

Lines, arrows, ellipses, rectangles and outlines are drawn anti-aliased
with OpenCV at sub-pixel precision over a thin dark halo (so a yellow line
stays visible on white bone); text uses Pillow's bundled scalable font with a
dark outline (no system fonts). Line widths and text sizes are given for a
1024-pixel display and scaled with the image's longer side, so a 512² CT and
a 3000² radiograph carry annotations that look alike on a slide. Parts that
fall outside the image are clipped; hidden annotations are skipped.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from casefiles.annotations.geometry import clip_segment
from casefiles.annotations.measure import PixelSpacing, label_for
from casefiles.annotations.model import (
    DEFAULT_TEXT_SIZE,
    Angle,
    Annotation,
    Arrow,
    Ellipse,
    Point,
    Polyline,
    Rectangle,
    Ruler,
    Style,
    Text,
)
from casefiles.errors import RenderError, ValidationError

#: Annotation sizes are given for a display this many pixels across.
REFERENCE_SIDE = 1024
_SHIFT = 4  # OpenCV fixed-point bits: coordinates are drawn to 1/16 pixel
_ONE = 1 << _SHIFT
_HALO = (0, 0, 0)
Rgb = tuple[int, int, int]


@functools.lru_cache(maxsize=32)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _as_rgb(image: object) -> npt.NDArray[np.uint8]:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise RenderError("Annotations can only be drawn on an 8-bit display image (uint8).")
    if image.ndim == 2 and image.size:
        return np.ascontiguousarray(np.repeat(image[:, :, None], 3, axis=2))
    if image.ndim == 3 and image.shape[2] == 3 and image.size:
        return np.ascontiguousarray(image.copy())
    raise RenderError(f"Annotations can only be drawn on a grey (H, W) or RGB (H, W, 3) image, not {image.shape}.")


class _Canvas:
    """One image being drawn on, with the scale that maps annotation coordinates and sizes to it."""

    def __init__(self, rgb: npt.NDArray[np.uint8], sx: float, sy: float) -> None:
        self.rgb = rgb
        self.height, self.width = rgb.shape[:2]
        self.sx, self.sy = sx, sy
        self.unit = max(self.height, self.width) / REFERENCE_SIDE
        self.texts: list[tuple[str, tuple[float, float], int, Rgb, str]] = []

    def map(self, p: Point) -> tuple[float, float]:
        """Annotation coordinates to this image's pixel-corner coordinates."""
        return p.x * self.sx, p.y * self.sy

    def thickness(self, style: Style) -> int:
        return max(1, round(style.width * self.unit))

    def font_px(self, size: float) -> int:
        return max(6, round(size * self.unit))

    @staticmethod
    def fixed(xy: tuple[float, float]) -> tuple[int, int]:
        # A pixel's centre is at +0.5 in annotation coordinates, at its index for OpenCV.
        return round((xy[0] - 0.5) * _ONE), round((xy[1] - 0.5) * _ONE)

    def _stroke(self, draw: Any, style: Style) -> None:
        t = self.thickness(style)
        halo = t + 2 * max(1, round(self.unit))
        draw(_HALO, halo)
        draw(style.rgb, t)

    def lines(self, points: Sequence[tuple[float, float]], style: Style, *, closed: bool = False) -> None:
        pts = np.array([self.fixed(p) for p in points], dtype=np.int32).reshape(-1, 1, 2)
        self._stroke(
            lambda color, t: cv2.polylines(self.rgb, [pts], closed, color, t, cv2.LINE_AA, _SHIFT),
            style,
        )

    def ellipse(self, center: tuple[float, float], axes: tuple[float, float], style: Style) -> None:
        c = self.fixed(center)
        ax = (round(axes[0] * _ONE), round(axes[1] * _ONE))
        self._stroke(
            lambda color, t: cv2.ellipse(self.rgb, c, ax, 0, 0, 360, color, t, cv2.LINE_AA, _SHIFT),
            style,
        )

    def fill(self, points: Sequence[tuple[float, float]], style: Style, *, halo: bool) -> None:
        """A filled polygon, or (``halo``) only the dark rim that goes under it."""
        pts = np.array([self.fixed(p) for p in points], dtype=np.int32).reshape(-1, 1, 2)
        if halo:
            cv2.polylines(self.rgb, [pts], True, _HALO, 2 * max(1, round(self.unit)) + 1, cv2.LINE_AA, _SHIFT)
        else:
            cv2.fillPoly(self.rgb, [pts], style.rgb, cv2.LINE_AA, _SHIFT)

    def text(self, text: str, xy: tuple[float, float], size: float, style: Style, placement: str = "la") -> None:
        """Queue text; it is drawn after every line so that no line crosses a label."""
        if text.strip():
            self.texts.append((text, xy, self.font_px(size), style.rgb, placement))

    def text_size(self, text: str, size: float) -> tuple[float, float]:
        font = _font(self.font_px(size))
        box = ImageDraw.Draw(Image.new("RGB", (1, 1))).multiline_textbbox((0, 0), text, font=font)
        return float(box[2] - box[0]), float(box[3] - box[1])

    def finish(self) -> npt.NDArray[np.uint8]:
        if not self.texts:
            return self.rgb
        pil = Image.fromarray(self.rgb, mode="RGB")
        draw = ImageDraw.Draw(pil)
        for text, at, px, rgb, placement in self.texts:
            font = _font(px)
            left, top, right, bottom = draw.multiline_textbbox((0, 0), text, font=font)
            w, h = right - left, bottom - top
            shift = (w / 2, h / 2) if placement == "center" else (0.0, 0.0)
            x, y = self._keep_inside(at[0] - shift[0], at[1] - shift[1], w, h)
            draw.multiline_text(
                (x - left, y - top),
                text,
                font=font,
                fill=rgb,
                stroke_width=max(1, round(px / 10)),
                stroke_fill=_HALO,
            )
        return np.asarray(pil, dtype=np.uint8).copy()

    def _keep_inside(self, x: float, y: float, w: float, h: float) -> tuple[float, float]:
        """Nudge a label that pokes out of the image back in, when it fits; leave it clipped otherwise."""
        if w <= self.width:
            x = min(max(x, 0.0), self.width - w)
        if h <= self.height:
            y = min(max(y, 0.0), self.height - h)
        return x, y


def _unit(dx: float, dy: float) -> tuple[float, float]:
    length = math.hypot(dx, dy)
    return (dx / length, dy / length) if length else (1.0, 0.0)


def _draw_arrow(canvas: _Canvas, arrow: Arrow) -> None:
    tail, head = canvas.map(arrow.start), canvas.map(arrow.end)
    ux, uy = _unit(head[0] - tail[0], head[1] - tail[1])
    length = math.hypot(head[0] - tail[0], head[1] - tail[1])
    t = canvas.thickness(arrow.style)
    head_len = min(max(5.0 * t, 26.0 * canvas.unit), 0.45 * length) if length else 0.0
    half = head_len * 0.4
    base = (head[0] - ux * head_len, head[1] - uy * head_len)
    triangle = [head, (base[0] - uy * half, base[1] + ux * half), (base[0] + uy * half, base[1] - ux * half)]
    canvas.fill(triangle, arrow.style, halo=True)
    canvas.lines([tail, (base[0] + ux * 0.5 * t, base[1] + uy * 0.5 * t)], arrow.style)
    canvas.fill(triangle, arrow.style, halo=False)
    if arrow.text.strip():
        _label(canvas, arrow.text, tail, (-ux, -uy), arrow.style)


def _label(
    canvas: _Canvas,
    text: str,
    at: tuple[float, float],
    away: tuple[float, float],
    style: Style,
    *,
    other_side: bool = False,
) -> None:
    """Centre ``text`` just beyond ``at`` in direction ``away`` (a unit vector).

    With ``other_side``, the opposite direction is used when the label would
    not fit inside the image on the preferred side.
    """
    if not text.strip():
        return
    w, h = canvas.text_size(text, DEFAULT_TEXT_SIZE)
    pad = 4 * canvas.unit + canvas.thickness(style)
    sides = [away, (-away[0], -away[1])] if other_side else [away]
    for ax, ay in sides:
        gap = abs(ax) * w / 2 + abs(ay) * h / 2 + pad
        x, y = at[0] + ax * gap, at[1] + ay * gap
        if w / 2 <= x <= canvas.width - w / 2 and h / 2 <= y <= canvas.height - h / 2:
            break
    else:
        ax, ay = away
        gap = abs(ax) * w / 2 + abs(ay) * h / 2 + pad
        x, y = at[0] + ax * gap, at[1] + ay * gap
    canvas.text(text, (x, y), DEFAULT_TEXT_SIZE, style, "center")


def _draw_ruler(canvas: _Canvas, ruler: Ruler, spacing: PixelSpacing | None) -> None:
    a, b = canvas.map(ruler.start), canvas.map(ruler.end)
    canvas.lines([a, b], ruler.style)
    ux, uy = _unit(b[0] - a[0], b[1] - a[1])
    nx, ny = -uy, ux
    tick = max(5.0 * canvas.unit, 1.5 * canvas.thickness(ruler.style))
    for end in (a, b):
        canvas.lines([(end[0] - nx * tick, end[1] - ny * tick), (end[0] + nx * tick, end[1] + ny * tick)], ruler.style)
    if ny > 0 or (ny == 0 and nx < 0):  # put the label above / left of the line
        nx, ny = -nx, -ny
    visible = clip_segment(a, b, canvas.width, canvas.height) or (a, b)  # label the part on the image
    mid = ((visible[0][0] + visible[1][0]) / 2, (visible[0][1] + visible[1][1]) / 2)
    _label(canvas, label_for(ruler, spacing), mid, (nx, ny), ruler.style, other_side=True)


def _draw_angle(canvas: _Canvas, angle: Angle, spacing: PixelSpacing | None) -> None:
    a, v, b = canvas.map(angle.a), canvas.map(angle.vertex), canvas.map(angle.b)
    canvas.lines([a, v, b], angle.style)
    ua, ub = _unit(a[0] - v[0], a[1] - v[1]), _unit(b[0] - v[0], b[1] - v[1])
    bx, by = _unit(ua[0] + ub[0], ua[1] + ub[1])
    if math.isclose(ua[0] + ub[0], 0.0, abs_tol=1e-9) and math.isclose(ua[1] + ub[1], 0.0, abs_tol=1e-9):
        bx, by = -ua[1], ua[0]  # a straight angle: label beside the vertex
    _label(canvas, label_for(angle, spacing), v, (-bx, -by), angle.style, other_side=True)


def _draw(canvas: _Canvas, annotation: Annotation, spacing: PixelSpacing | None) -> None:
    if isinstance(annotation, Arrow):
        _draw_arrow(canvas, annotation)
    elif isinstance(annotation, Ruler):
        _draw_ruler(canvas, annotation, spacing)
    elif isinstance(annotation, Angle):
        _draw_angle(canvas, annotation, spacing)
    elif isinstance(annotation, Ellipse):
        c = canvas.map(annotation.center)
        canvas.ellipse(c, (annotation.rx * canvas.sx, annotation.ry * canvas.sy), annotation.style)
        _label(canvas, annotation.text, (c[0], c[1] - annotation.ry * canvas.sy), (0.0, -1.0), annotation.style)
    elif isinstance(annotation, Rectangle):
        corners = [canvas.map(p) for p in annotation.corners]
        canvas.lines(corners, annotation.style, closed=True)
        top = ((corners[0][0] + corners[1][0]) / 2, corners[0][1])
        _label(canvas, annotation.text, top, (0.0, -1.0), annotation.style)
    elif isinstance(annotation, Polyline):
        pts = [canvas.map(p) for p in annotation.vertices]
        canvas.lines(pts, annotation.style, closed=annotation.closed)
        first = pts[0]
        _label(canvas, annotation.text, first, (0.0, -1.0), annotation.style)
    elif isinstance(annotation, Text):
        canvas.text(annotation.text, canvas.map(annotation.anchor), annotation.size, annotation.style)
    else:
        raise ValidationError(f"Cannot draw a {type(annotation).__name__}; it is not an annotation.")


def burn_in(
    image: npt.NDArray[np.uint8],
    annotations: Iterable[Annotation],
    *,
    spacing: PixelSpacing | None,
    source_size: tuple[int, int] | None = None,
) -> npt.NDArray[np.uint8]:
    """A copy of ``image`` (grey or RGB uint8) as RGB with the visible ``annotations`` drawn in.

    ``spacing`` (of the original image; ``None`` for none) labels rulers in mm.
    ``source_size`` = (columns, rows) of the image the annotation coordinates
    refer to, when ``image`` is a resized rendering of it (e.g. fitted to a
    slide); by default they refer to ``image`` itself.
    """
    rgb = _as_rgb(image)
    height, width = rgb.shape[:2]
    if source_size is None:
        sx = sy = 1.0
    else:
        if (
            not isinstance(source_size, tuple)
            or len(source_size) != 2
            or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in source_size)
        ):
            raise ValidationError("source_size must be (columns, rows), two whole numbers ≥ 1.")
        sx, sy = width / source_size[0], height / source_size[1]
    if spacing is not None and not isinstance(spacing, PixelSpacing):
        raise ValidationError("spacing must be a PixelSpacing or None.")
    canvas = _Canvas(rgb, sx, sy)
    for annotation in annotations:
        if annotation.visible:
            _draw(canvas, annotation, spacing)
    return canvas.finish()
