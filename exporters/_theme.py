"""The deck's look: a dark palette for darkened reading rooms, and where things go.

Everything is laid out on python-pptx's blank layout at PowerPoint's 16:9 size
(13.333 x 7.5 in), so the 4:3 template's placeholders never matter. Geometry is
in inches here and converted once; text areas are also given in points (inside
their insets) because text fitting works in points.
"""

from __future__ import annotations

from dataclasses import dataclass

from pptx.dml.color import RGBColor
from pptx.util import Emu, Inches, Length

from exporters._text_fit import Box

SLIDE_WIDTH = Emu(12_192_000)  # 13.333 in
SLIDE_HEIGHT = Emu(6_858_000)  # 7.5 in

# Palette: near-black slate, light grey text (not pure white: less glare), one accent.
BACKGROUND = RGBColor(0x11, 0x18, 0x27)
IMAGE_BACKGROUND = RGBColor(0x00, 0x00, 0x00)
TITLE_TEXT = RGBColor(0xF3, 0xF4, 0xF6)
BODY_TEXT = RGBColor(0xD1, 0xD5, 0xDB)
MUTED_TEXT = RGBColor(0x9C, 0xA3, 0xAF)
ACCENT = RGBColor(0x38, 0xBD, 0xF8)
PANEL = RGBColor(0x1F, 0x29, 0x37)

#: Text inset on every side of a text box, in inches.
INSET_IN = 0.1

# Font sizes in points, largest first; fitting picks the largest that fits.
TITLE_SIZES = (44.0, 40.0, 36.0, 32.0, 28.0, 24.0)
SUBTITLE_SIZES = (24.0, 22.0, 20.0, 18.0, 16.0, 14.0)
HEADING_SIZE = 32.0
BODY_SIZES = (28.0, 26.0, 24.0, 22.0, 20.0, 18.0)
CAPTION_SIZES = (20.0, 18.0, 16.0, 14.0)
WINDOW_SIZE = 18.0
NUMBER_SIZE = 14.0
FOOTER_SIZE = 14.0


@dataclass(frozen=True, slots=True)
class Rect:
    """A rectangle on the slide, in inches."""

    left: float
    top: float
    width: float
    height: float

    @property
    def emu(self) -> tuple[Length, Length, Length, Length]:
        return (Inches(self.left), Inches(self.top), Inches(self.width), Inches(self.height))

    @property
    def text_box(self) -> Box:
        """The area text may use inside this rectangle, in points."""
        return Box((self.width - 2 * INSET_IN) * 72, (self.height - 2 * INSET_IN) * 72)

    def with_width(self, width: float) -> Rect:
        return Rect(self.left, self.top, width, self.height)


# Title slide
TITLE_BAR = Rect(0.8, 1.6, 0.1, 4.3)
TITLE = Rect(1.1, 1.4, 11.4, 2.7)
SUBTITLE = Rect(1.1, 4.2, 11.4, 1.9)
FOOTER = Rect(1.1, 6.7, 6.0, 0.5)

# Text slides (history, diagnosis...)
HEADING = Rect(0.8, 0.45, 11.73, 0.95)
HEADING_RULE = Rect(0.9, 1.45, 1.2, 0.06)
BODY = Rect(0.8, 1.75, 11.73, 5.0)

# Image slides: the image gets everything above a caption band.
IMAGE_AREA = Rect(0.15, 0.15, 13.033, 6.45)
CAPTION_WITH_WINDOW = Rect(0.4, 6.65, 9.2, 0.8)
CAPTION_ALONE = Rect(0.4, 6.65, 11.4, 0.8)
WINDOW = Rect(9.7, 6.65, 2.2, 0.8)
UNAVAILABLE_PANEL = Rect(2.4, 1.4, 8.533, 4.0)

# Every slide but the title slide.
NUMBER = Rect(11.93, 6.75, 1.1, 0.6)

# Section dividers and the closing slide: a kicker ("Case 2 of 5") above a large title.
KICKER = Rect(1.1, 1.3, 11.4, 0.8)
DIVIDER_TITLE = Rect(1.1, 2.1, 11.4, 2.5)
DIVIDER_SUBTITLE = Rect(1.1, 4.7, 11.4, 1.5)
KICKER_SIZE = 24.0

# 2x2 grids: four cells above the slide number, each an image area over a caption band.
GRID_LEFT, GRID_TOP = 0.15, 0.15
GRID_GAP = 0.2
GRID_CELL_W = (13.033 - GRID_GAP) / 2
GRID_CELL_H = (6.5 - GRID_GAP) / 2
GRID_CAPTION_H = 0.55
GRID_CAPTION_SIZES = (16.0, 14.0)


def grid_cell(index: int) -> tuple[Rect, Rect]:
    """The image area and the caption band of grid cell ``index`` (0..3, row by row)."""
    row, col = divmod(index, 2)
    left = GRID_LEFT + col * (GRID_CELL_W + GRID_GAP)
    top = GRID_TOP + row * (GRID_CELL_H + GRID_GAP)
    image = Rect(left, top, GRID_CELL_W, GRID_CELL_H - GRID_CAPTION_H)
    caption = Rect(left, top + GRID_CELL_H - GRID_CAPTION_H, GRID_CELL_W, GRID_CAPTION_H)
    return image, caption


#: Scale bars: the largest of these lengths that spans at most this fraction of the image width.
SCALE_BAR_MM = (100.0, 50.0, 20.0, 10.0, 5.0, 2.0, 1.0)
SCALE_BAR_MAX_FRACTION = 0.25
SCALE_BAR_SIZE = 12.0
