"""What goes on which slide of a conference deck, decided from the bundle alone (no python-pptx).

Order: title, agenda, then per case a section (divider, clinical history, key
images, stack clips, findings and diagnosis, teaching points), then a closing
slide. For a *reveal* plan nothing before the answer slide gives the answer
away: the agenda, the divider and the section name say "Case n" and the
modality, and the notes of earlier slides hold no findings or diagnosis.

Images: up to four key images get one slide each (as large as possible);
five or more go four to a 2x2 grid with captions, and a single left-over image
gets a slide of its own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from casefiles.model import AssetKind, Case, CasePlan, Conference, KeyImage
from exporters import _theme as theme
from exporters._deck_plan import (
    CONTINUED,
    NO_FINDINGS,
    NO_HISTORY,
    NO_KEY_IMAGES,
    ClipSlide,
    DeckSlide,
    DividerSlide,
    GridCell,
    GridSlide,
    ImageSlide,
    TextSlide,
    TitleSlide,
    carried_slides,
    format_window,
    image_slide,
    lines,
    safe_text,
    video_slides,
)
from exporters._text_fit import Box, Para, Role, fit_paragraphs, normalise, truncate_to_fit
from exporters.bundle import ConferenceBundle

AGENDA_HEADING = "Agenda"
FINDINGS_HEADING = "Findings and diagnosis"
ANSWER_HEADING = "Answer"
TEACHING_HEADING = "Teaching points"
CLOSING_TITLE = "Questions?"
NO_CASES = "No cases in this conference yet."
NO_ANSWER = "No findings or diagnosis recorded."
QUIZ_NOTE = "Unknown case: the findings and the diagnosis are in the notes of the answer slide."
#: A plan with more key images than this shows them four to a slide.
MAX_SINGLE_IMAGES = 4
GRID_SIZE = 4


@dataclass(frozen=True, slots=True)
class Section:
    """A named run of slides (a PowerPoint section): the opening, one per case, the closing."""

    name: str
    slides: tuple[DeckSlide, ...]


def plan_conference(bundle: ConferenceBundle) -> tuple[Section, ...]:
    """The sections and slides of ``bundle``'s deck, in presentation order."""
    conference = bundle.conference
    entries = list(bundle.entries())
    total = len(entries)
    opening: list[DeckSlide] = [_title_slide(conference)]
    opening += _text_slides(AGENDA_HEADING, _agenda(entries) or [Para(NO_CASES)])
    sections = [Section("Introduction", tuple(opening))]
    for n, (case, plan) in enumerate(entries, 1):
        sections.append(Section(_section_name(case, plan, n), tuple(plan_case(case, plan, n, total))))
    closing = _divider("", CLOSING_TITLE, [Para(_clean(conference.title))])
    sections.append(Section("Closing", (closing,)))
    return tuple(sections)


def plan_case(case: Case, plan: CasePlan, n: int, total: int) -> list[DeckSlide]:
    """One case's slides: divider, history, images, clips, answer, teaching points."""
    findings = safe_text(case.findings).strip() or NO_FINDINGS
    image_notes = QUIZ_NOTE if plan.reveal else f"Findings:\n{findings}"
    slides: list[DeckSlide] = [_case_divider(case, plan, n, total)]
    history = [Para(line) for line in lines(case.history)] or [Para(NO_HISTORY)]
    slides += _text_slides("Clinical history", history, notes=safe_text(case.history).strip() or NO_HISTORY)
    chosen = plan.chosen(case)
    if chosen:
        slides += _image_slides(case, chosen, image_notes)
    else:
        slides += _text_slides("Key images", [Para(NO_KEY_IMAGES)], notes=image_notes)
    if plan.stacks:
        slides += _clip_slides(case, chosen, image_notes)
    slides += video_slides(case, image_notes)
    slides += carried_slides(case, image_notes)
    slides += _answer_slides(case, plan, findings)
    points = [Para(t, Role.BULLET) for t in (normalise(safe_text(p)) for p in case.teaching_points) if t]
    if points:
        slides += _text_slides(TEACHING_HEADING, points)
    return slides


def describe(case: Case) -> str:
    """``CT · Chest``: what a reveal plan may show instead of the title."""
    parts = (normalise(safe_text(case.modality)), normalise(safe_text(case.body_part)))
    return " · ".join(p for p in parts if p)


def _clean(text: str) -> str:
    return normalise(safe_text(text))


def _title_slide(conference: Conference) -> TitleSlide:
    title = _clean(conference.title)
    title_fit = fit_paragraphs([Para(title)], theme.TITLE.text_box, theme.TITLE_SIZES)
    if len(title_fit.pages) > 1:
        title, _ = truncate_to_fit(title, title_fit.size, theme.TITLE.text_box)
    lines = [conference.kind.label]
    if conference.date is not None:
        lines.append(_long_date(conference.date))
    presenters = [p for p in (_clean(p) for p in conference.presenters) if p]
    if presenters:
        lines.append(("Presenter: " if len(presenters) == 1 else "Presenters: ") + ", ".join(presenters))
    sub_fit = fit_paragraphs([Para(line) for line in lines], theme.SUBTITLE.text_box, theme.SUBTITLE_SIZES)
    subtitle = sub_fit.pages[0]
    if len(sub_fit.pages) > 1:
        # Very many presenters: keep the lines that fit and cut the last one.
        last, _ = truncate_to_fit(" ".join(p.text for p in sub_fit.pages[0][-1:]), sub_fit.size, _line_box())
        subtitle = (*subtitle[:-1], Para(last))
    return TitleSlide(title, title_fit.size, subtitle, sub_fit.size)


def _line_box() -> Box:
    return Box(theme.SUBTITLE.text_box.width, theme.SUBTITLE_SIZES[-1] * 1.25)


def _long_date(date: dt.date) -> str:
    """``Thursday 26 November 2026``: unambiguous in every locale."""
    return f"{date:%A} {date.day} {date:%B %Y}"


def _agenda(entries: list[tuple[Case, CasePlan]]) -> list[Para]:
    paras = []
    for n, (case, plan) in enumerate(entries, 1):
        label = f"Case {n}" + (f" — {describe(case)}" if describe(case) else "") if plan.reveal else _clean(case.title)
        paras.append(Para(f"{n}. {label}"))
    return paras


def _section_name(case: Case, plan: CasePlan, n: int) -> str:
    if plan.reveal:
        return f"Case {n}"
    title = _clean(case.title)
    return f"Case {n}: {title[:60]}" + ("…" if len(title) > 60 else "")


def _divider(kicker: str, title: str, subtitle: list[Para], notes: str = "") -> DividerSlide:
    fit = fit_paragraphs([Para(title)], theme.DIVIDER_TITLE.text_box, theme.TITLE_SIZES)
    if len(fit.pages) > 1:
        title, _ = truncate_to_fit(title, fit.size, theme.DIVIDER_TITLE.text_box)
    sub = fit_paragraphs(subtitle, theme.DIVIDER_SUBTITLE.text_box, theme.SUBTITLE_SIZES)
    paras = sub.pages[0]
    if len(sub.pages) > 1 and paras:
        text, _ = truncate_to_fit(" ".join(p.text for p in subtitle), sub.size, theme.DIVIDER_SUBTITLE.text_box)
        paras = (Para(text),)
    return DividerSlide(kicker, title, fit.size, paras, sub.size, notes)


def _case_divider(case: Case, plan: CasePlan, n: int, total: int) -> DividerSlide:
    what = describe(case)
    if plan.reveal:
        return _divider(f"Case {n} of {total}", f"Case {n}", [Para(what or "Unknown case")], notes=QUIZ_NOTE)
    return _divider(f"Case {n} of {total}", _clean(case.title), [Para(what)] if what else [])


def _text_slides(heading: str, paras: list[Para], notes: str = "") -> list[DeckSlide]:
    fitted = fit_paragraphs(paras, theme.BODY.text_box, theme.BODY_SIZES)
    return [
        TextSlide(heading if i == 0 else heading + CONTINUED, page, fitted.size, notes)
        for i, page in enumerate(fitted.pages)
    ]


def _image_slides(case: Case, chosen: tuple[KeyImage, ...], notes: str) -> list[DeckSlide]:
    total = len(chosen)
    singles = [image_slide(case, key, n, total, notes) for n, key in enumerate(chosen, 1)]
    if total <= MAX_SINGLE_IMAGES:
        return list(singles)
    slides: list[DeckSlide] = []
    for start in range(0, total, GRID_SIZE):
        group = singles[start : start + GRID_SIZE]
        if len(group) == 1:
            slides.append(group[0])
            continue
        cells = tuple(_grid_cell(s) for s in group)
        listing = "\n".join(f"{start + i + 1}. {s.alt_text}" for i, s in enumerate(group))
        slides.append(GridSlide(cells, f"Images:\n{listing}\n\n{notes}"))
    return slides


def _grid_cell(single: ImageSlide) -> GridCell:
    text = single.alt_text + (f" ({single.window})" if single.window else "")
    _, caption_rect = theme.grid_cell(0)
    fitted = fit_paragraphs([Para(text)], caption_rect.text_box, theme.GRID_CAPTION_SIZES)
    caption = text
    if len(fitted.pages) > 1:
        caption, _ = truncate_to_fit(text, fitted.size, caption_rect.text_box)
    return GridCell(single.key, caption, fitted.size, single.alt_text)


def _clip_slides(case: Case, chosen: tuple[KeyImage, ...], notes: str) -> list[DeckSlide]:
    """One clip per series that a chosen key image comes from and that has more than one frame."""
    seen: dict[str, KeyImage] = {}
    for key in chosen:
        asset = case.asset(key.asset_id)
        if asset.kind is AssetKind.DICOM_SERIES and asset.frame_count > 1:
            seen.setdefault(asset.id, key)
    slides: list[DeckSlide] = []
    for asset_id, key in seen.items():
        asset = case.asset(asset_id)
        window = key.window or asset.default_window
        label = _clean(asset.label) or "Series"
        text = f"{label} — whole series ({asset.frame_count} images); play or scrub to scroll"
        rect = theme.CAPTION_WITH_WINDOW if window else theme.CAPTION_ALONE
        fitted = fit_paragraphs([Para(text)], rect.text_box, theme.CAPTION_SIZES)
        caption = text
        if len(fitted.pages) > 1:
            caption, _ = truncate_to_fit(text, fitted.size, rect.text_box)
        label_w = format_window(window) if window else ""
        slides.append(ClipSlide(asset_id, window, label_w, caption, fitted.size, notes, alt_text=text))
    return slides


def _answer_slides(case: Case, plan: CasePlan, findings: str) -> list[DeckSlide]:
    paras: list[Para] = []
    if plan.reveal:
        paras.append(Para(_clean(case.title), Role.SUBHEAD))
    diagnosis = lines(case.diagnosis)
    if diagnosis:
        paras.append(Para("Diagnosis", Role.SUBHEAD))
        paras += [Para(line) for line in diagnosis]
    found = lines(case.findings)
    if found:
        paras.append(Para("Findings", Role.SUBHEAD))
        paras += [Para(line) for line in found]
    differential = [Para(t, Role.BULLET) for t in (normalise(safe_text(d)) for d in case.differential) if t]
    if differential:
        paras.append(Para("Differential diagnosis", Role.SUBHEAD))
        paras += differential
    if len(paras) == (1 if plan.reveal else 0):
        paras.append(Para(NO_ANSWER))
    answer = safe_text(case.diagnosis).strip() or "No diagnosis recorded."
    notes = f"Diagnosis:\n{answer}\n\nFindings:\n{findings}"
    heading = ANSWER_HEADING if plan.reveal else FINDINGS_HEADING
    slides = _text_slides(heading, paras)
    # The answer goes into the notes of the (first) answer slide only.
    first = slides[0]
    if isinstance(first, TextSlide):
        slides[0] = TextSlide(first.heading, first.paras, first.size, notes)
    return slides
