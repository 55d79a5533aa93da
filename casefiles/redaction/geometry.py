"""Rectangles in image pixels, and what OCR found in them.

A finding never carries the recognised text: on these images the text is
usually the patient's name, ID or birth date, and a finding may be logged,
shown or stored.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from casefiles.errors import ValidationError


def _require_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"Box {name} must be a whole number of pixels, not {type(value).__name__}.")
    return value


@dataclass(frozen=True, slots=True)
class Box:
    """A rectangle in image pixels: columns x..x+width-1, rows y..y+height-1.

    x and y may be negative (a box drawn partly off the image); clip it with
    :meth:`clipped` before indexing pixels.
    """

    x: int
    y: int
    width: int
    height: int

    def __post_init__(self) -> None:
        for name in ("x", "y", "width", "height"):
            _require_int(name, getattr(self, name))
        if self.width < 0 or self.height < 0:
            raise ValidationError(f"Box size must not be negative (got {self.width}×{self.height} pixels).")

    @property
    def right(self) -> int:
        """One past the last column inside the box."""
        return self.x + self.width

    @property
    def bottom(self) -> int:
        """One past the last row inside the box."""
        return self.y + self.height

    @property
    def is_empty(self) -> bool:
        return self.width == 0 or self.height == 0

    def clipped(self, width: int, height: int) -> Box | None:
        """The part of the box inside a ``width``×``height`` image, or None when nothing is left."""
        if _require_int("image width", width) <= 0 or _require_int("image height", height) <= 0:
            raise ValidationError(f"Image size must be positive (got {width}×{height} pixels).")
        left, top = max(self.x, 0), max(self.y, 0)
        right, bottom = min(self.right, width), min(self.bottom, height)
        if right <= left or bottom <= top:
            return None
        return Box(left, top, right - left, bottom - top)

    def padded(self, pixels: int) -> Box:
        """The box grown by ``pixels`` on every side (may then reach off the image)."""
        if _require_int("padding", pixels) < 0:
            raise ValidationError("Box padding must not be negative.")
        return Box(self.x - pixels, self.y - pixels, self.width + 2 * pixels, self.height + 2 * pixels)

    def intersects(self, other: Box) -> bool:
        """True when the two boxes share at least one pixel."""
        return self.x < other.right and other.x < self.right and self.y < other.bottom and other.y < self.bottom

    def union(self, other: Box) -> Box:
        """The smallest box holding both."""
        left, top = min(self.x, other.x), min(self.y, other.y)
        return Box(left, top, max(self.right, other.right) - left, max(self.bottom, other.bottom) - top)

    def scaled_down(self, factor: int) -> Box:
        """The box in an image ``factor`` times smaller, rounded outwards so nothing is lost."""
        if _require_int("scale factor", factor) < 1:
            raise ValidationError("Scale factor must be at least 1.")
        left, top = self.x // factor, self.y // factor
        right, bottom = -(-self.right // factor), -(-self.bottom // factor)
        return Box(left, top, right - left, bottom - top)


@dataclass(frozen=True, slots=True)
class TextFinding:
    """Where OCR saw text, and how sure it was (0-100, Tesseract's word confidence).

    Deliberately has no ``text`` field: what was read may be PHI.
    """

    box: Box
    confidence: float

    def __post_init__(self) -> None:
        if not isinstance(self.box, Box):
            raise ValidationError(f"A text finding needs a Box, not {type(self.box).__name__}.")
        if isinstance(self.confidence, bool) or not isinstance(self.confidence, int | float):
            raise ValidationError("Text finding confidence must be a number from 0 to 100.")
        if not (math.isfinite(self.confidence) and 0.0 <= self.confidence <= 100.0):
            raise ValidationError(f"Text finding confidence must be from 0 to 100 (got {self.confidence}).")


def _same_line_and_close(a: Box, b: Box) -> bool:
    """Two boxes on one text row with at most a character-height gap: parts of one line."""
    overlap = min(a.bottom, b.bottom) - max(a.y, b.y)
    if overlap < 0.5 * min(a.height, b.height):
        return False
    gap = max(a.x, b.x) - min(a.right, b.right)
    return gap <= max(a.height, b.height)


def merge_findings(findings: Iterable[TextFinding]) -> list[TextFinding]:
    """Merge findings that overlap or sit side by side on one line; keep the highest confidence.

    Used to join words into lines, the variants of one frame, and the frames
    of one image; the result is sorted top to bottom, left to right.
    """
    merged = [f for f in findings if not f.box.is_empty]
    changed = True
    while changed:
        changed = False
        for i in range(len(merged)):
            for j in range(len(merged) - 1, i, -1):
                a, b = merged[i], merged[j]
                if a.box.intersects(b.box) or _same_line_and_close(a.box, b.box):
                    merged[i] = TextFinding(a.box.union(b.box), max(a.confidence, b.confidence))
                    del merged[j]
                    changed = True
    return sorted(merged, key=lambda f: (f.box.y, f.box.x, f.box.height, f.box.width))
