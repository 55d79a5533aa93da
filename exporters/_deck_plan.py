"""What goes on which slide, decided from the case alone (no python-pptx, no images).

Keeping the plan pure makes the slide count known before any work starts (for
progress), and lets text fitting be tested without writing a deck.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

from casefiles.model import Asset, AssetKind, Case, KeyImage, Window
from exporters import _theme as theme
from exporters._text_fit import Para, Role, fit_paragraphs, normalise, truncate_to_fit

HISTORY_HEADING = "Clinical history"
IMAGES_HEADING = "Key images"
DIAGNOSIS_HEADING = "Diagnosis and teaching points"
NO_HISTORY = "No history given."
NO_KEY_IMAGES = "No key images selected."
NO_DIAGNOSIS = "No diagnosis or teaching points given."
NO_FINDINGS = "No findings recorded."
CONTINUED = " (continued)"

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


@dataclass(frozen=True, slots=True)
class TitleSlide:
    title: str
    title_size: float
    subtitle: tuple[Para, ...]
    subtitle_size: float


@dataclass(frozen=True, slots=True)
class TextSlide:
    heading: str
    paras: tuple[Para, ...]
    size: float
    notes: str = ""


@dataclass(frozen=True, slots=True)
class ImageSlide:
    key: KeyImage
    caption: str
    caption_size: float
    window: str
    notes: str
    alt_text: str


SlideSpec = TitleSlide | TextSlide | ImageSlide


def safe_text(text: str) -> str:
    """Drop characters XML cannot hold (control characters, lone surrogates); keep newlines."""
    text = _NOT_XML.sub("", text)
    if any(unicodedata.category(c) == "Cs" for c in text):
        text = "".join(c for c in text if unicodedata.category(c) != "Cs")
    return text


def format_window(window: Window) -> str:
    """``W 400 / L 40``: how radiologists write a window (width, then level)."""
    return f"W {_number(window.width)} / L {_number(window.center)}"


def _number(value: float) -> str:
    if math.isclose(value, round(value), abs_tol=1e-9):
        return str(round(value))
    return f"{value:.1f}".rstrip("0").rstrip(".")


def lines(text: str) -> list[str]:
    """Non-empty lines of free text, each with its whitespace collapsed."""
    return [line for line in (normalise(part) for part in safe_text(text).splitlines()) if line]


def plan_deck(case: Case, *, videos: bool = False, carried: bool = False) -> tuple[DeckSlide, ...]:
    """The slides for ``case``, in presentation order.

    ``videos``: a clip slide per video of the case after the key images;
    ``carried``: then the chosen slides of each PowerPoint the case holds. Both
    need a media source that can give the files, so the caller says whether it has one.
    """
    findings = safe_text(case.findings).strip() or NO_FINDINGS
    slides: list[DeckSlide] = [_title_slide(case)]
    history = [Para(line) for line in lines(case.history)] or [Para(NO_HISTORY)]
    slides += _text_slides(HISTORY_HEADING, history)
    notes = f"Findings:\n{findings}"
    if case.key_images:
        total = len(case.key_images)
        slides += [image_slide(case, key, n, total, notes) for n, key in enumerate(case.key_images, 1)]
    else:
        slides += _text_slides(IMAGES_HEADING, [Para(NO_KEY_IMAGES)], notes=findings)
    if videos:
        slides += video_slides(case, notes)
    if carried:
        slides += carried_slides(case, notes)
    slides += _text_slides(DIAGNOSIS_HEADING, _diagnosis_paras(case))
    return tuple(slides)


def _title_slide(case: Case) -> TitleSlide:
    title = normalise(safe_text(case.title))
    title_fit = fit_paragraphs([Para(title)], theme.TITLE.text_box, theme.TITLE_SIZES)
    if len(title_fit.pages) > 1:
        title, _ = truncate_to_fit(title, title_fit.size, theme.TITLE.text_box)
    lines = []
    what = " · ".join(
        part for part in (normalise(safe_text(case.modality)), normalise(safe_text(case.body_part))) if part
    )
    if what:
        lines.append(what)
    if case.difficulty.value:
        lines.append(f"Difficulty: {case.difficulty.value.capitalize()}")
    author = normalise(safe_text(case.author))
    if author:
        lines.append(f"Author: {author}")
    subtitle = [Para(line) for line in lines]
    sub_fit = fit_paragraphs(subtitle, theme.SUBTITLE.text_box, theme.SUBTITLE_SIZES)
    return TitleSlide(title, title_fit.size, sub_fit.pages[0], sub_fit.size)


def _text_slides(heading: str, paras: list[Para], notes: str = "") -> list[DeckSlide]:
    fitted = fit_paragraphs(paras, theme.BODY.text_box, theme.BODY_SIZES)
    return [
        TextSlide(heading if i == 0 else heading + CONTINUED, page, fitted.size, notes)
        for i, page in enumerate(fitted.pages)
    ]


def _diagnosis_paras(case: Case) -> list[Para]:
    paras: list[Para] = []
    diagnosis = lines(case.diagnosis)
    if diagnosis:
        paras.append(Para("Diagnosis", Role.SUBHEAD))
        paras += [Para(line) for line in diagnosis]
    sections = (("Differential diagnosis", case.differential), ("Teaching points", case.teaching_points))
    for title, items in sections:
        bullets = [Para(text, Role.BULLET) for text in (normalise(safe_text(item)) for item in items) if text]
        if bullets:
            paras.append(Para(title, Role.SUBHEAD))
            paras += bullets
    return paras or [Para(NO_DIAGNOSIS)]


def image_slide(case: Case, key: KeyImage, n: int, total: int, notes: str) -> ImageSlide:
    asset = case.asset(key.asset_id)
    default = f"{normalise(safe_text(asset.label)) or 'Key image'} — image {n} of {total}"
    full_caption = normalise(safe_text(key.caption)) or default
    window = format_window(key.window) if key.window else ""
    rect = theme.CAPTION_WITH_WINDOW if window else theme.CAPTION_ALONE
    fitted = fit_paragraphs([Para(full_caption)], rect.text_box, theme.CAPTION_SIZES)
    caption, cut = full_caption, False
    if len(fitted.pages) > 1:
        caption, cut = truncate_to_fit(full_caption, fitted.size, rect.text_box)
    if cut:
        notes = f"Caption: {full_caption}\n\n{notes}"
    return ImageSlide(key, caption, fitted.size, window, notes, alt_text=full_caption)


@dataclass(frozen=True, slots=True)
class DividerSlide:
    """A section divider (one per case) or the closing slide: a small kicker line above a big title."""

    kicker: str
    title: str
    title_size: float
    subtitle: tuple[Para, ...]
    subtitle_size: float
    notes: str = ""


@dataclass(frozen=True, slots=True)
class GridCell:
    key: KeyImage
    caption: str
    caption_size: float
    alt_text: str


@dataclass(frozen=True, slots=True)
class GridSlide:
    """Two to four key images in a 2x2 grid, each with its caption under it."""

    cells: tuple[GridCell, ...]
    notes: str


@dataclass(frozen=True, slots=True)
class ClipSlide:
    """A whole series as a scrollable (playable) clip with its poster frame."""

    asset_id: str
    window: Window | None
    window_label: str
    caption: str
    caption_size: float
    notes: str
    alt_text: str


@dataclass(frozen=True, slots=True)
class CarriedSlides:
    """The slides of a PowerPoint the case holds, carried into the deck natively (editable)."""

    asset_id: str
    notes: str


DeckSlide = TitleSlide | TextSlide | ImageSlide | DividerSlide | GridSlide | ClipSlide | CarriedSlides


def video_slides(case: Case, notes: str) -> list[DeckSlide]:
    """Every video clip of the case (endoscopy, ultrasound, clinical video), in the case's order."""
    slides: list[DeckSlide] = []
    for asset in case.assets:
        if asset.kind is not AssetKind.VIDEO:
            continue
        text = video_title(asset)
        caption, size = fit_caption(text)
        slides.append(ClipSlide(asset.id, None, "", caption, size, notes, alt_text=text))
    return slides


def fit_caption(text: str) -> tuple[str, float]:
    """A caption band's text (cut to fit when it must be) and its size in points, for a slide with no window."""
    box = theme.CAPTION_ALONE.text_box
    fitted = fit_paragraphs([Para(text)], box, theme.CAPTION_SIZES)
    if len(fitted.pages) > 1:
        return truncate_to_fit(text, fitted.size, box)[0], fitted.size
    return text, fitted.size


def carried_slides(case: Case, notes: str) -> list[DeckSlide]:
    """One entry per PowerPoint the case holds; its chosen slides are carried when the deck is drawn."""
    return [CarriedSlides(asset.id, notes) for asset in case.assets if asset.kind is AssetKind.SLIDE_DECK]


def video_title(asset: Asset) -> str:
    """What a video is called on its slide, page or show: its caption, else its label, else "Video"."""
    return normalise(safe_text(asset.caption)) or normalise(safe_text(asset.label)) or "Video"


def deck_label(asset: Asset) -> str:
    """What an imported PowerPoint is called when its slides are shown."""
    return normalise(safe_text(asset.label)) or "the case's presentation"


def chosen_slides(asset: Asset, count: int) -> list[int]:
    """The 0-based slides of a PowerPoint of ``count`` slides to show: the chosen ones that exist, else all."""
    return [n for n in asset.chosen if n < count] or list(range(count))


def slide_caption(asset: Asset, index: int) -> str:
    """``Slide 3 of Referral slides``: a carried slide shown as a picture (``index`` is 0-based)."""
    return f"Slide {index + 1} of {deck_label(asset)}"
