"""Whole-slide microscopy: choosing a pyramid level and assembling its tiles into one picture.

A VL Whole Slide Microscopy series stores one instance per pyramid level, each
a grid of tiles (frames). A case needs one overview picture of the slide, not
the 100k × 100k base level: :func:`choose_level` picks the smallest level that
still shows about ``target`` pixels on its long side, and refuses to pick any
level above a pixel budget, so a base level is never assembled in memory.
:func:`total_pixel_matrix` then decodes that level's tiles one at a time into
a single RGB array.

highdicom 0.28 can do the assembly too (``Image.get_total_pixel_matrix``), but
it insists on every attribute of the WSI modules (Optical Path Sequence,
Dimension Index Sequence...) that scanner exports and de-identified copies
often lack; this reads what the tiles need and nothing more.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset

from casefiles.errors import RenderError, ValidationError
from casefiles.imaging._header import frame_total
from casefiles.imaging.pixels import modality_frame

__all__ = ["DEFAULT_TARGET_SIDE", "MAX_LEVEL_PIXELS", "LevelSize", "choose_level", "level_size", "total_pixel_matrix"]

#: The long side a slide picture should have at least (enough for a projected slide).
DEFAULT_TARGET_SIDE = 2048
#: Largest level assembled at all: 8192 × 8192 RGB is 192 MB.
MAX_LEVEL_PIXELS = 8192 * 8192


@dataclass(frozen=True, slots=True)
class LevelSize:
    """The size of one pyramid level's whole picture (its total pixel matrix), in pixels."""

    columns: int
    rows: int

    def __post_init__(self) -> None:
        for name in ("columns", "rows"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValidationError(f"A slide level's {name} must be a whole number ≥ 1 (got {value!r}).")

    @property
    def long_side(self) -> int:
        return max(self.columns, self.rows)

    @property
    def pixels(self) -> int:
        return self.columns * self.rows


def level_size(ds: Dataset) -> LevelSize:
    """Total Pixel Matrix Columns × Rows of a tiled image (Columns × Rows for an untiled one)."""
    columns = _whole(ds.get("TotalPixelMatrixColumns")) or _whole(ds.get("Columns"))
    rows = _whole(ds.get("TotalPixelMatrixRows")) or _whole(ds.get("Rows"))
    if not columns or not rows:
        raise RenderError("The slide image does not say how large it is (no Total Pixel Matrix size).")
    return LevelSize(columns, rows)


def choose_level(
    sizes: Sequence[LevelSize], *, target: int = DEFAULT_TARGET_SIDE, max_pixels: int = MAX_LEVEL_PIXELS
) -> int:
    """The index in ``sizes`` of the level to show.

    The smallest level whose long side reaches ``target``; when every level is
    smaller, the largest. Levels above ``max_pixels`` are never chosen: then the
    largest level within the budget is. Raises RenderError when every level is
    over budget (a slide with no usable pyramid).
    """
    if not sizes:
        raise ValidationError("A slide needs at least one level to choose from.")
    if isinstance(target, bool) or not isinstance(target, int) or target < 1:
        raise ValidationError(f"The target side must be a whole number ≥ 1 (got {target!r}).")
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, int) or max_pixels < 1:
        raise ValidationError(f"The pixel budget must be a whole number ≥ 1 (got {max_pixels!r}).")
    fitting = [n for n, size in enumerate(sizes) if size.pixels <= max_pixels]
    if not fitting:
        raise RenderError(
            "Every level of this slide is too large to draw (it has no reduced-resolution levels); "
            "export the slide from the scanner software with its pyramid and import it again."
        )
    large_enough = [n for n in fitting if sizes[n].long_side >= target]
    if large_enough:
        return min(large_enough, key=lambda n: (sizes[n].pixels, n))
    return max(fitting, key=lambda n: (sizes[n].pixels, -n))


def total_pixel_matrix(ds: Dataset, *, max_pixels: int = MAX_LEVEL_PIXELS) -> npt.NDArray[np.uint8]:
    """The whole level as one H×W×3 RGB array, its tiles decoded one at a time.

    Tiles are placed by their order (Dimension Organization Type TILED_FULL)
    or by their Plane Position (Slide) in the per-frame functional groups;
    only the first focal plane and optical path are used. Raises RenderError
    for a level over ``max_pixels``, a missing or undecodable tile, or tile
    positions outside the picture.
    """
    size = level_size(ds)
    if size.pixels > max_pixels:
        raise RenderError(
            f"This slide level is {size.columns} × {size.rows} pixels, too large to draw at once; "
            "a smaller pyramid level is needed."
        )
    tile_rows, tile_columns = _whole(ds.get("Rows")), _whole(ds.get("Columns"))
    if not tile_rows or not tile_columns:
        raise RenderError("The slide image does not say how large its tiles are.")
    positions = _tile_positions(ds, size, tile_columns, tile_rows)
    canvas = np.full((size.rows, size.columns, 3), 255, dtype=np.uint8)  # white glass where no tile is
    for frame, (left, top) in positions:
        tile = modality_frame(ds, frame)
        if tile.ndim == 2:  # a monochrome level (fluorescence): stored values to grey RGB
            tile = np.repeat(_grey8(tile, _whole(ds.get("BitsStored")) or 8)[:, :, None], 3, axis=2)
        if tile.dtype != np.uint8 or tile.shape[:2] != (tile_rows, tile_columns):
            raise RenderError("A tile of the slide does not have the size its header gives.")
        height, width = min(tile_rows, size.rows - top), min(tile_columns, size.columns - left)
        canvas[top : top + height, left : left + width] = tile[:height, :width]
    return canvas


def _tile_positions(
    ds: Dataset, size: LevelSize, tile_columns: int, tile_rows: int
) -> list[tuple[int, tuple[int, int]]]:
    """(frame index, (left, top) 0-based) of each tile of the first focal plane and optical path."""
    frames = frame_total(ds)
    across, down = math.ceil(size.columns / tile_columns), math.ceil(size.rows / tile_rows)
    organisation = str(ds.get("DimensionOrganizationType", "") or "").strip().upper()
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    if organisation == "TILED_FULL" or not per_frame:
        if frames < across * down:
            raise RenderError(
                f"The slide level has {frames} tile(s) but needs {across * down} to cover its picture; "
                "the file is incomplete."
            )
        return [
            (row * across + column, (column * tile_columns, row * tile_rows))
            for row in range(down)
            for column in range(across)
        ]
    if len(per_frame) != frames:
        raise RenderError("The slide level describes a different number of tiles than it holds; the file is damaged.")
    placed: dict[tuple[int, int], int] = {}
    for frame, item in enumerate(per_frame):
        plane = item.get("PlanePositionSlideSequence")
        if not plane:
            raise RenderError("A tile of the slide has no position; the file is damaged.")
        column = _whole(plane[0].get("ColumnPositionInTotalImagePixelMatrix"), allow_negative=True)
        row = _whole(plane[0].get("RowPositionInTotalImagePixelMatrix"), allow_negative=True)
        if column is None or row is None or not (1 <= column <= size.columns and 1 <= row <= size.rows):
            raise RenderError("A tile of the slide lies outside its picture; the file is damaged.")
        placed.setdefault((column - 1, row - 1), frame)  # later focal planes / optical paths repeat positions
    return [(frame, position) for position, frame in placed.items()]


def _whole(value: object, *, allow_negative: bool = False) -> int | None:
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return None
    return number if allow_negative or number > 0 else None


def _grey8(pixels: npt.NDArray[np.generic], bits: int) -> npt.NDArray[np.uint8]:
    """Stored values over the full range their bit depth allows (the same scale for every tile)."""
    top = float(2 ** min(max(bits, 1), 32) - 1)
    return np.clip(np.round(pixels.astype(np.float32) * (255.0 / top)), 0, 255).astype(np.uint8)
