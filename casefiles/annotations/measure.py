"""Measurements shown on rulers and angles: lengths in mm from pixel spacing, angles in degrees.

Pixel spacing in DICOM is ``(row spacing, column spacing)`` = (mm between
rows, i.e. along y; mm between columns, i.e. along x). Both are honoured, so
anisotropic pixels measure correctly. Without spacing a length is given in
pixels and says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pydicom.dataset import Dataset

from casefiles.annotations.model import Angle, Point, Ruler
from casefiles.errors import ValidationError
from casefiles.imaging._header import first_number, functional_item


@dataclass(frozen=True, slots=True)
class PixelSpacing:
    """Millimetres between pixel centres: ``row`` along y (down), ``column`` along x (across)."""

    row: float
    column: float

    def __post_init__(self) -> None:
        for name in ("row", "column"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
                raise ValidationError(f"Pixel spacing ({name}) must be a positive number of millimetres.")
            object.__setattr__(self, name, float(value))

    def scaled(self, sx: float, sy: float | None = None) -> PixelSpacing:
        """The spacing of the same image resized by ``sx`` (``sy``): bigger image, smaller pixels."""
        sy = sx if sy is None else sy
        if sx <= 0 or sy <= 0:
            raise ValidationError("Scale factors must be greater than 0.")
        return PixelSpacing(row=self.row / sy, column=self.column / sx)


def _spacing(value: object) -> PixelSpacing | None:
    try:
        values = list(value)  # type: ignore[call-overload]
    except TypeError:
        return None
    if len(values) != 2:
        return None
    row, column = first_number(values[0]), first_number(values[1])
    if row is None or column is None or row <= 0 or column <= 0:
        return None
    return PixelSpacing(row=row, column=column)


def pixel_spacing_of(ds: Dataset, frame: int = 0) -> PixelSpacing | None:
    """The spacing to measure ``frame`` with: PixelSpacing (per-frame, shared, top level), else ImagerPixelSpacing.

    ``None`` when the image has none (photos, many secondary captures) or it is
    unusable (missing values, zero, negative): measurements then use pixels.
    ImagerPixelSpacing is at the detector, so on a projection radiograph it
    overstates sizes slightly (geometric magnification); it is still what a
    PACS shows when nothing better is there.
    """
    if not isinstance(ds, Dataset):
        raise ValidationError("Pixel spacing can only be read from a DICOM dataset.")
    if isinstance(frame, bool) or not isinstance(frame, int) or frame < 0:
        raise ValidationError(f"Frame must be a whole number ≥ 0 (got {frame!r}).")
    measures = functional_item(ds, frame, "PixelMeasuresSequence")
    for source in (measures, ds):
        if source is not None:
            found = _spacing(source.get("PixelSpacing"))
            if found is not None:
                return found
    return _spacing(ds.get("ImagerPixelSpacing"))


def distance(p: Point, q: Point, spacing: PixelSpacing | None) -> float:
    """Distance from ``p`` to ``q``: millimetres with ``spacing``, else pixels."""
    dx, dy = q.x - p.x, q.y - p.y
    if spacing is not None:
        dx, dy = dx * spacing.column, dy * spacing.row
    return math.hypot(dx, dy)


def ruler_length(ruler: Ruler, spacing: PixelSpacing | None) -> float:
    return distance(ruler.start, ruler.end, spacing)


def angle_degrees(angle: Angle, spacing: PixelSpacing | None = None) -> float:
    """The angle at the vertex, 0–180°; with anisotropic spacing, the angle in the patient (in mm), not on screen."""
    sx, sy = (spacing.column, spacing.row) if spacing is not None else (1.0, 1.0)
    ax, ay = (angle.a.x - angle.vertex.x) * sx, (angle.a.y - angle.vertex.y) * sy
    bx, by = (angle.b.x - angle.vertex.x) * sx, (angle.b.y - angle.vertex.y) * sy
    return math.degrees(abs(math.atan2(ax * by - ay * bx, ax * bx + ay * by)))


def format_length(value: float, spacing: PixelSpacing | None) -> str:
    """``"42.3 mm"`` (one decimal; whole cm past 100 mm would hide precision, so mm throughout) or ``"17 px"``."""
    if spacing is None:
        return f"{value:.0f} px"
    return f"{value:.1f} mm"


def format_angle(value: float) -> str:
    return f"{value:.1f}°"


def label_for(annotation: Ruler | Angle, spacing: PixelSpacing | None) -> str:
    """The label a ruler or angle shows: its own text (if any) then the measurement."""
    if isinstance(annotation, Ruler):
        measured = format_length(ruler_length(annotation, spacing), spacing)
    else:
        measured = format_angle(angle_degrees(annotation, spacing))
    prefix = annotation.text.strip()
    return f"{prefix} {measured}" if prefix else measured
