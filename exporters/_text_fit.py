"""Fit text into fixed boxes without a font renderer: estimate, shrink, then split.

Slides are laid out with auto-fit off (PowerPoint and LibreOffice disagree about
it), so the exporter must decide the font size and where text continues itself.
Widths are estimated per character from a generous sans-serif average (DejaVu
Sans, the widest face LibreOffice falls back to here), so estimates err towards
fewer characters per line: text ends up slightly small rather than overflowing.
"""

from __future__ import annotations

import enum
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace

from casefiles.errors import ExportError

#: Line height as a multiple of the font size (PowerPoint single spacing is ~1.2 em).
LINE_HEIGHT = 1.2
#: Fraction of the box width the estimate may fill; the rest absorbs estimation error.
WIDTH_MARGIN = 0.95
#: Space after a body/bullet paragraph and before a sub-heading, in em.
SPACE_AFTER_EM = 0.35
SPACE_BEFORE_SUBHEAD_EM = 0.6
#: Bullet indent in points (text starts this far right of the box's inner edge).
BULLET_INDENT_PT = 24.0

_WHITESPACE = re.compile(r"\s+")


class Role(enum.Enum):
    """How a paragraph is drawn; each role has its own spacing and indent."""

    SUBHEAD = "subhead"
    BODY = "body"
    BULLET = "bullet"


@dataclass(frozen=True, slots=True)
class Para:
    """One paragraph of slide text. ``continued`` marks the tail of a split paragraph."""

    text: str
    role: Role = Role.BODY
    continued: bool = False


@dataclass(frozen=True, slots=True)
class Box:
    """The usable inside of a text box, in points."""

    width: float
    height: float

    def __post_init__(self) -> None:
        if not (self.width > 0 and self.height > 0):
            raise ExportError("A text area of the slide layout has no room; this is a bug in the deck layout.")


@dataclass(frozen=True, slots=True)
class Fitted:
    """Paragraphs split over one or more slides, all at one font size."""

    size: float
    pages: tuple[tuple[Para, ...], ...]


def char_em(ch: str) -> float:
    """Rough advance width of ``ch`` in em for a wide sans-serif face."""
    if unicodedata.combining(ch) or ch in "\u200b\u200c\u200d\u200e\u200f\ufeff":
        return 0.0
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 1.0
    if ch == " ":
        return 0.32
    if ch in "il.,:;'|!ijtfI()[]":
        return 0.36
    if ch.isupper() or ch in "mwMW@%&":
        return 0.78
    if ch.isdigit():
        return 0.64
    return 0.58


def text_width(text: str, size: float) -> float:
    """Estimated width of ``text`` set at ``size`` points, in points."""
    return sum(char_em(c) for c in text) * size


def normalise(text: str) -> str:
    """Collapse runs of whitespace (including newlines) to single spaces."""
    return _WHITESPACE.sub(" ", text).strip()


def wrap(text: str, size: float, width: float) -> list[str]:
    """Greedy word wrap into lines no wider than ``width``; over-long words break anywhere.

    Joining the lines with single spaces gives back ``text`` except inside words
    that had to be broken, which is acceptable for display.
    """
    limit = width * WIDTH_MARGIN
    lines: list[str] = []
    current = ""
    for token in text.split(" "):
        if not token:
            continue
        word = token
        candidate = f"{current} {word}" if current else word
        if text_width(candidate, size) <= limit:
            current = candidate
            continue
        if current:
            lines.append(current)
            current = ""
        while text_width(word, size) > limit:
            cut = _longest_prefix(word, size, limit)
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    if current or not lines:
        lines.append(current)
    return lines


def _longest_prefix(word: str, size: float, limit: float) -> int:
    total = 0.0
    for i, ch in enumerate(word):
        total += char_em(ch) * size
        if total > limit:
            return max(i, 1)
    return len(word)


def _indent(para: Para) -> float:
    return BULLET_INDENT_PT if para.role is Role.BULLET else 0.0


def para_lines(para: Para, size: float, box: Box) -> list[str]:
    return wrap(para.text, size, box.width - _indent(para))


def _space_before(para: Para, size: float, first_on_page: bool) -> float:
    if first_on_page or para.role is not Role.SUBHEAD:
        return 0.0
    return SPACE_BEFORE_SUBHEAD_EM * size


def _space_after(size: float) -> float:
    return SPACE_AFTER_EM * size


def block_height(paras: Sequence[Para], size: float, box: Box) -> float:
    """Estimated height of ``paras`` stacked in ``box`` at ``size`` points."""
    total = 0.0
    for i, para in enumerate(paras):
        lines = len(para_lines(para, size, box))
        total += _space_before(para, size, i == 0) + lines * size * LINE_HEIGHT + _space_after(size)
    return total


def fit_paragraphs(paras: Sequence[Para], box: Box, sizes: Sequence[float]) -> Fitted:
    """Use the largest size in ``sizes`` at which everything fits on one slide; else split.

    When even the smallest size overflows, paragraphs are distributed over
    continuation pages at that size, splitting long paragraphs between lines and
    never leaving a sub-heading alone at the bottom of a page.
    """
    if not sizes:
        raise ExportError("No font sizes were given for a text area; this is a bug in the deck layout.")
    ordered = sorted(sizes, reverse=True)
    for size in ordered:
        if block_height(paras, size, box) <= box.height:
            return Fitted(size, (tuple(paras),))
    size = ordered[-1]
    return Fitted(size, _paginate(paras, size, box))


def _paginate(paras: Sequence[Para], size: float, box: Box) -> tuple[tuple[Para, ...], ...]:
    line_h = size * LINE_HEIGHT
    if box.height < line_h + _space_after(size):
        raise ExportError("A text area of the slide layout is too small for one line; this is a bug in the layout.")
    pages: list[list[Para]] = []
    page: list[Para] = []
    used = 0.0

    def new_page() -> None:
        nonlocal page, used
        carried: list[Para] = []
        # A sub-heading never ends a page: carry it over with what follows it.
        while page and page[-1].role is Role.SUBHEAD and any(p.role is not Role.SUBHEAD for p in page):
            carried.insert(0, page.pop())
        if page:
            pages.append(page)
        page = []
        used = 0.0
        for para in carried:
            used += _space_before(para, size, not page) + line_h * len(para_lines(para, size, box))
            used += _space_after(size)
            page.append(para)

    for para in paras:
        lines = para_lines(para, size, box)
        remaining_para = para
        while True:
            before = _space_before(remaining_para, size, not page)
            need = before + len(lines) * line_h + _space_after(size)
            if used + need <= box.height:
                page.append(remaining_para)
                used += need
                break
            room_lines = math.floor((box.height - used - before - _space_after(size)) / line_h)
            # Split between lines only leaving at least two on each side (no widows or orphans),
            # unless the paragraph is taller than a whole page and starts on an empty one.
            head_lines = min(room_lines, len(lines) - 2)
            splittable = remaining_para.role is not Role.SUBHEAD and len(lines) > 1
            if splittable and not page and head_lines < 2:
                head_lines = min(room_lines, len(lines) - 1)
            if splittable and (head_lines >= 2 or (not page and head_lines >= 1)):
                head, tail = lines[:head_lines], lines[head_lines:]
                page.append(replace(remaining_para, text=" ".join(head)))
                new_page()
                remaining_para = replace(remaining_para, text=" ".join(tail), continued=True)
                lines = tail
                continue
            if not page:
                # A single line wider than the page cannot happen (wrap breaks words), so this
                # is a paragraph taller than a page that could not split: place it anyway.
                page.append(remaining_para)
                used += need
                break
            new_page()
    if page:
        pages.append(page)
    return tuple(tuple(p) for p in pages) or ((),)


def truncate_to_fit(text: str, size: float, box: Box) -> tuple[str, bool]:
    """``text`` cut (with an ellipsis) to the lines that fit ``box``; also whether it was cut."""
    max_lines = max(1, math.floor(box.height / (size * LINE_HEIGHT)))
    lines = wrap(text, size, box.width)
    if len(lines) <= max_lines:
        return text, False
    kept = lines[:max_lines]
    last = kept[-1]
    while last and text_width(last + " …", size) > box.width * WIDTH_MARGIN:
        last = last[:-1]
    kept[-1] = last.rstrip() + " …"
    return " ".join(kept), True


def is_rtl(text: str) -> bool:
    """True when the first strongly directional character is right-to-left (Arabic, Hebrew...)."""
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind in ("R", "AL"):
            return True
        if kind == "L":
            return False
    return False
