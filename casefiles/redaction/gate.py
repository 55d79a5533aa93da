"""The text "gate": where in an 8-bit frame lines of characters may be, with morphology only (no model).

Burned-in text is made of thin strokes in high contrast against a locally flat
background, in glyphs of similar height standing side by side on a line.
The gate looks for exactly that, in about 1 ms of CPU for a 512² CT slice:

1. **Top-hat and black-hat** with a square a little wider than a stroke keep
   thin light (and, separately, thin dark) marks and drop the slowly varying
   background: anatomy larger than the square, gradients, the black around a fan.
2. **Glyph-sized components**: the marks with enough contrast, split into
   connected components; those of a character's size are kept. Round, filled
   blobs (contrast-filled vessels seen end-on, lung nodules, speckle grains)
   may join a line but cannot make one.
3. **Lines**: components of similar height that overlap vertically and follow
   each other within about a character's height are joined; a line needs
   several glyphs, or one long stroke-like word, to count.
4. **Boxes**: each line's box, padded so anti-aliased edges are covered, and
   clipped to the frame.

The gate is tuned to pass every line of text (glyphs ~6–40 px high, contrast ≥
~50 grey levels) and some texture that looks like text; the recogniser
(:mod:`casefiles.redaction.recognise`) then drops what does not read as
characters. Its known blind spots: glyphs taller than ~40 px, faint text, and
text written over busy anatomy.

**Which 8-bit frame**: pass what :func:`casefiles.redaction.frames.to_uint8`
makes of a decoded frame: 8-bit data as stored, deeper grayscale stretched
from its own minimum to its maximum, MONOCHROME1 inverted, palette colour
applied (colour frames are converted to gray by :func:`gray_frame`). No
clinical window is applied on purpose: consoles draw text at an extreme value,
which a window (``casefiles.imaging.voi.to_display``) could clip into the same
grey as the tissue around it, while the full range keeps it apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from casefiles.errors import ValidationError
from casefiles.redaction.geometry import Box

cv2.setNumThreads(1)  # measured: a second thread makes these small morphology calls slower

MIN_GLYPH_HEIGHT = 6
"""Smaller marks cannot be legible characters (6 px is a tiny but readable digit)."""
MAX_GLYPH_HEIGHT = 40
"""Taller glyphs are not found (their strokes are as wide as the morphology square)."""
MIN_CONTRAST = 50
"""Grey levels a stroke must stand above (or below) its local background."""

_KERNEL = 9  # odd, wider than the stroke of a ≤ 40 px glyph drawn by a console
_MIN_SIDE = 8
_CORE_KERNEL = np.ones((3, 3), np.uint8)
_SAME_COLOUR = 16  # grey levels between glyph peaks of one line (anti-aliasing, JPEG ringing)


@dataclass(frozen=True, slots=True)
class _Glyph:
    x: int
    y: int
    width: int
    height: int
    blob: bool  # round and filled: may join a line, cannot make one
    peak: int  # its brightest grey level: the text's colour, shared by every glyph of a line

    @property
    def right(self) -> int:
        return self.x + self.width

    @property
    def bottom(self) -> int:
        return self.y + self.height


def gray_frame(frame: npt.NDArray[Any]) -> npt.NDArray[np.uint8]:
    """An 8-bit H×W gray frame from a gray (H×W) or RGB (H×W×3 / ×4) one; other input is refused.

    Colour is reduced to its brightest channel rather than to luminance, so
    coloured text (yellow, cyan or red readouts) keeps its contrast against black.
    """
    if not isinstance(frame, np.ndarray):
        raise ValidationError(f"Text screening needs a numpy frame, not {type(frame).__name__}.")
    if frame.dtype != np.uint8:
        raise ValidationError(f"Text screening needs an 8-bit frame (uint8), not {frame.dtype}; render it first.")
    if frame.ndim == 2:
        return np.ascontiguousarray(frame)
    if frame.ndim == 3 and frame.shape[2] in (3, 4):
        return np.ascontiguousarray(frame[..., :3].max(axis=2))
    raise ValidationError(f"Text screening needs a gray (H×W) or RGB (H×W×3) frame, not shape {frame.shape}.")


def candidate_lines(frame: npt.NDArray[np.uint8], *, pad: int | None = None) -> list[Box]:
    """Boxes around what may be lines of text in a 2-D uint8 frame, top to bottom.

    ``pad`` pixels are added on every side (default: a quarter of the line's
    height plus 2, which covers anti-aliased edges and accents); boxes are
    clipped to the frame. Pure: the frame is not changed and nothing is kept.
    """
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 2:
        raise ValidationError("candidate_lines needs a 2-D uint8 frame; use gray_frame() on colour frames first.")
    if pad is not None and (isinstance(pad, bool) or not isinstance(pad, int) or pad < 0):
        raise ValidationError("pad must be a whole number of pixels, 0 or more.")
    height, width = frame.shape
    if min(height, width) < _MIN_SIDE:
        return []
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (_KERNEL, _KERNEL))
    lines: list[Box] = []
    inverse = np.asarray(cv2.bitwise_not(frame), np.uint8)
    for image in (frame, inverse):  # light text on dark, then dark text on light
        response = cv2.morphologyEx(image, cv2.MORPH_TOPHAT, kernel)  # on the inverse: the black-hat
        _, marks = cv2.threshold(response, MIN_CONTRAST - 1, 255, cv2.THRESH_BINARY)
        glyphs = _glyphs_in_marks(np.asarray(marks, np.uint8), image)
        lines.extend(_lines(glyphs))
    boxes = [_padded(line, pad).clipped(width, height) for line in _merged(lines)]
    return [box for box in boxes if box is not None]


def _glyphs_in_marks(marks: npt.NDArray[np.uint8], image: npt.NDArray[np.uint8]) -> list[_Glyph]:
    """:func:`_glyphs` of the part of the frame that holds marks: the same glyphs, found cheaper.

    Nothing outside the marks' bounding rectangle can be part of a glyph, so labelling
    runs on that rectangle, widened by one pixel (the 3×3 erosion then sees the same
    empty neighbours as on the whole frame) and started on even coordinates (the labeller
    works in 2×2 blocks, so it meets the marks in the same order and numbers the
    components alike); glyph positions are moved back into frame coordinates. A frame
    without any mark has no glyphs. ``tests/redaction/test_gate_equivalence.py`` pins
    the result to the whole-frame code's on a wide corpus.
    """
    x, y, width, height = cv2.boundingRect(marks)
    if width == 0 or height == 0:
        return []  # no mark at all
    rows, columns = marks.shape
    left, top = max(x - 1, 0) & ~1, max(y - 1, 0) & ~1
    # An even number of rows and columns where the frame allows: OpenCV's labeller takes rows in
    # pairs, and measured 2-3× slower on an odd number of them.
    right = min(x + width + 1 + (x + width + 1 - left) % 2, columns)
    bottom = min(y + height + 1 + (y + height + 1 - top) % 2, rows)
    if left == 0 and top == 0 and right == columns and bottom == rows:
        return _glyphs(marks, image)
    glyphs = _glyphs(marks[top:bottom, left:right], image[top:bottom, left:right])
    return [_Glyph(g.x + left, g.y + top, g.width, g.height, g.blob, g.peak) for g in glyphs]


def _glyphs(marks: npt.NDArray[np.uint8], image: npt.NDArray[np.uint8]) -> list[_Glyph]:
    """Connected marks of a character's size; blobs flagged.

    A blob is a mark with a thick core: after a 3×3 erosion a quarter or more
    of it is left (a console's glyph strokes are 1–3 px wide, so at most a thin
    spine of it survives), or it is round and filled.
    """
    # Grana's block-based labelling: measured 3× faster than the default on these sparse masks
    count, labels, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(marks, 8, cv2.CV_32S, cv2.CCL_GRANA)
    if count <= 1:
        return []
    stats = stats[1:]
    widths = stats[:, cv2.CC_STAT_WIDTH]
    heights = stats[:, cv2.CC_STAT_HEIGHT]
    areas = stats[:, cv2.CC_STAT_AREA]
    # A glyph is between MIN and MAX high and at most a few glyphs wide (touching letters);
    # dots and commas are too small to count but lie inside the line box anyway.
    keep = (heights >= MIN_GLYPH_HEIGHT) & (heights <= MAX_GLYPH_HEIGHT) & (widths <= 4 * heights)
    fill = areas / np.maximum(widths * heights, 1)
    keep &= (fill <= 0.95) | (widths <= 3)  # a solid block (a filled marker) is not a glyph; "I" and "l" are
    if not keep.any():
        return []  # cores and peaks describe kept components only
    inside = marks > 0
    owners = np.asarray(labels, np.int32)[inside]  # each mark's component (int32 already: no copy of the labels)
    core = cv2.erode(marks, _CORE_KERNEL)
    cores = np.bincount(owners[core[inside] > 0], minlength=count)[1:]  # the core lies inside the marks
    peaks = np.zeros(count, np.uint8)  # the image's own type: numpy's fast path (30x faster than int64)
    np.maximum.at(peaks, owners, image[inside])
    aspect = widths / np.maximum(heights, 1)
    blob = (cores >= 0.25 * areas) | ((fill >= 0.6) & (aspect >= 0.6) & (aspect <= 1.6))
    return [
        _Glyph(int(x), int(y), int(w), int(h), bool(b), int(p))
        for (x, y, w, h), b, p in zip(stats[keep, :4], blob[keep], peaks[1:][keep], strict=True)
    ]


def _lines(glyphs: list[_Glyph]) -> list[Box]:
    """Glyphs chained into text lines; only chains that look like text come back.

    Two glyphs chain when they follow each other within about a character's
    height, have similar heights and share a top or a bottom line (capitals
    and digits share both; a descender or an ascender keeps one). Candidate
    pairs are found with numpy so thousands of speckle grains stay cheap.
    """
    if not glyphs:
        return []
    glyphs = sorted(glyphs, key=lambda g: g.x)
    xs = np.array([g.x for g in glyphs], np.int64)
    ys = np.array([g.y for g in glyphs], np.int64)
    hs = np.array([g.height for g in glyphs], np.int64)
    rights = xs + np.array([g.width for g in glyphs], np.int64)
    bottoms = ys + hs
    reach = int(1.2 * MAX_GLYPH_HEIGHT) + 1
    ends = np.searchsorted(xs, rights + reach, side="right")
    counts = np.maximum(ends - np.arange(len(glyphs)) - 1, 0)
    first = np.repeat(np.arange(len(glyphs)), counts)
    second = first + 1 + (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
    tall = np.maximum(hs[first], hs[second])
    short = np.minimum(hs[first], hs[second])
    overlap = np.minimum(bottoms[first], bottoms[second]) - np.maximum(ys[first], ys[second])
    aligned = (np.abs(ys[first] - ys[second]) <= 0.35 * tall) | (
        np.abs(bottoms[first] - bottoms[second]) <= 0.35 * tall
    )
    linked = (xs[second] - rights[first] <= 1.2 * tall) & (tall <= 2.5 * short) & (overlap >= 0.5 * short) & aligned
    parent = list(range(len(glyphs)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(first[linked].tolist(), second[linked].tolist(), strict=True):
        root_i, root_j = find(i), find(j)
        if root_i != root_j:
            parent[root_j] = root_i
    groups: dict[int, list[_Glyph]] = {}
    for i, glyph in enumerate(glyphs):
        groups.setdefault(find(i), []).append(glyph)
    text: list[Box] = []
    rest: list[Box] = []
    for group in groups.values():
        (text if _looks_like_text(group) else rest).append(_box(group))
    return _absorbed(text, rest)


def _absorbed(lines: list[Box], rest: list[Box]) -> list[Box]:
    """Lines grown sideways over the other glyph groups in their row (a word of heavy glyphs,
    a lone initial, a word after a wide space): a text line's neighbour is text too.

    Only groups no taller than the line and lying within its row are taken, and the row
    stays the line's own, so a line cannot grow up or down into texture.
    """
    grown: list[Box] = []
    for line in sorted(lines, key=lambda box: (box.y, box.x)):
        box = line
        taken = True
        while taken:
            taken = False
            for j in range(len(rest) - 1, -1, -1):
                other = rest[j]
                if other.height > 1.3 * line.height:
                    continue
                overlap = min(line.bottom, other.bottom) - max(line.y, other.y)
                gap = max(box.x, other.x) - min(box.right, other.right)
                if overlap >= 0.7 * other.height and gap <= 3 * line.height:
                    box = box.union(rest.pop(j))
                    taken = True
        grown.append(box)
    return _joined_rows(grown)


def _joined_rows(lines: list[Box]) -> list[Box]:
    """Text lines in one row with less than about three characters between them made one line
    (words split by a wide space or a dash too small to count as a glyph)."""
    joined = sorted(lines, key=lambda box: box.x)
    changed = True
    while changed:
        changed = False
        for i in range(len(joined)):
            for j in range(len(joined) - 1, i, -1):
                if same_row(joined[i], joined[j]):
                    joined[i] = joined[i].union(joined.pop(j))
                    changed = True
    return joined


def same_row(a: Box, b: Box, *, gap: float = 3.0) -> bool:
    """Two line boxes in one row of text, at most ``gap`` line heights apart."""
    short, tall = sorted((a.height, b.height))
    if tall > 1.5 * short:
        return False
    overlap = min(a.bottom, b.bottom) - max(a.y, b.y)
    between = max(a.x, b.x) - min(a.right, b.right)
    return overlap >= 0.6 * short and between <= gap * tall


def _looks_like_text(group: list[_Glyph]) -> bool:
    strokes = [g for g in group if not g.blob]
    if not strokes:
        return False
    # Text is drawn in one colour: its glyphs peak at the same grey level, texture's do not.
    colour = _median([g.peak for g in strokes])
    strokes = [g for g in strokes if abs(g.peak - colour) <= _SAME_COLOUR]
    if not strokes:
        return False
    box = _box(group)
    median_height = _median([g.height for g in group])
    if box.height > 2.0 * median_height:  # a chain that wanders up or down is texture, not a line
        return False
    if len(strokes) >= 3:
        return True
    # two stroke glyphs (a short ID, "45Y") or one wide word of touching letters
    return box.width >= 2.0 * median_height and (len(strokes) == 2 or strokes[0].width >= 2 * strokes[0].height)


def _median(values: list[int]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return float(ordered[middle]) if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _box(group: list[_Glyph]) -> Box:
    left = min(g.x for g in group)
    top = min(g.y for g in group)
    return Box(left, top, max(g.right for g in group) - left, max(g.bottom for g in group) - top)


def _padded(box: Box, pad: int | None) -> Box:
    return box.padded(box.height // 4 + 2 if pad is None else pad)


def _merged(boxes: list[Box]) -> list[Box]:
    """Overlapping boxes (the same line found light-on-dark and dark-on-light) joined."""
    merged = list(boxes)
    changed = True
    while changed:
        changed = False
        for i in range(len(merged)):
            for j in range(len(merged) - 1, i, -1):
                if merged[i].intersects(merged[j]):
                    merged[i] = merged[i].union(merged[j])
                    del merged[j]
                    changed = True
    return sorted(merged, key=lambda b: (b.y, b.x))
