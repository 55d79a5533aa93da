"""Export a conference as one 16:9 PowerPoint deck, ready for the projector.

Title, agenda, then per case a PowerPoint section (divider, clinical history,
key images — one per slide, or four to a 2x2 grid when a case shows five or
more — stack clips, findings and diagnosis, teaching points), and a closing
slide. Reveal plans (unknown-case quiz) keep the answer off every slide and
speaker note before the answer slide. Images carry a scale bar when the pixel
spacing is known.

The deck uses the built-in dark theme, or the masters and layouts of an
institution's template (.potx or .pptx). It is written beside ``out`` under a
generic temporary name and renamed into place when complete; a failure or a
cancel never leaves a partial deck, and nothing but the cases' own text and
the rendered pixels goes into it.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from casefiles.errors import Cancelled, CaseDeckError, ExportError
from casefiles.model import Case, KeyImage
from casefiles.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from exporters import _theme as theme
from exporters._conference_plan import Section, plan_conference
from exporters._deck_plan import (
    CarriedSlides,
    ClipSlide,
    DeckSlide,
    DividerSlide,
    GridSlide,
    ImageSlide,
    TextSlide,
    TitleSlide,
    safe_text,
)
from exporters._image_clean import CleanImage, clean_image
from exporters._pptx_draw import (
    DARK,
    TEMPLATE,
    Canvas,
    ImageParts,
    Unavailable,
    draw_clip,
    draw_divider,
    draw_grid,
    draw_image,
    draw_text,
    draw_title,
)
from exporters._pptx_package import check_target, new_presentation, set_metadata, set_sections, write_atomically
from exporters._template import map_layouts, open_template
from exporters._text_fit import normalise
from exporters._video_clean import clean_mp4
from exporters.bundle import ConferenceBundle, MediaSource

__all__ = ["export_conference_pptx"]

logger = logging.getLogger(__name__)

_BLANK_LAYOUT = 6  # "Blank" in python-pptx's default template
#: How many slides ahead of drawing the media thread may run (bounds memory to a few slides of images).
_LOOKAHEAD = 3
_MEDIA_METHODS = ("key_image", "pixel_spacing_mm", "stack_video", "stack_poster")
T = TypeVar("T")
KeyResult = tuple[CleanImage | Unavailable, float | None]
ClipResult = tuple[bytes, CleanImage] | Unavailable


def export_conference_pptx(
    bundle: ConferenceBundle,
    media: MediaSource,
    out: Path,
    *,
    template: Path | None = None,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> Path:
    """Write ``bundle`` as a .pptx deck to ``out`` and return the path written.

    ``template``: an institution's .potx or .pptx whose masters and layouts the
    deck uses (its own slides are not carried over). Progress is reported once
    per slide and once when the file is saved. Raises Cancelled (nothing
    written) when ``cancel`` is set, and ExportError when the template cannot
    be opened or the deck cannot be built or saved.
    """
    if not isinstance(bundle, ConferenceBundle):
        raise ExportError(f"A conference deck can only be made from a conference bundle, not {type(bundle).__name__}.")
    if not all(callable(getattr(media, name, None)) for name in _MEDIA_METHODS):
        raise ExportError("The media source given to the PowerPoint export cannot render images.")
    target = check_target(out)
    sections = plan_conference(bundle)
    cases = [None, *(case for case, _ in bundle.entries()), None]
    return build_deck(
        list(zip(sections, cases, strict=True)),
        media,
        target,
        title=bundle.conference.title,
        template=template,
        progress=progress,
        cancel=cancel,
    )


def build_deck(
    sections: Sequence[tuple[Section, Case | None]],
    media: MediaSource,
    target: Path,
    *,
    title: str,
    template: Path | None,
    progress: ProgressFn,
    cancel: CancelToken,
    with_sections: bool = True,
) -> Path:
    """Draw planned sections (each with the case its images come from) and save atomically.

    A three-stage pipeline, a few slides deep: one thread asks the media source
    (in slide order, never from two threads at once), one checks and strips
    what it returned, and this thread builds the slides. Rendering, encoding
    and PNG inflation release the GIL, so on two cores they overlap with
    building slide XML.
    """
    canvas = _canvas(template)
    slides = [(spec, case, section.name) for section, case in sections for spec in section.slides]
    total = len(slides) + 1
    section_ids: dict[str, list[int]] = {section.name: [] for section, _ in sections}
    pending: dict[int, Future[list[Any]]] = {}
    fetcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="casedeck-media")
    cleaner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="casedeck-clean")
    try:
        for index, (spec, case, name) in enumerate(slides):
            cancel.raise_if_cancelled()
            for ahead in range(index, min(index + _LOOKAHEAD + 1, len(slides))):
                if ahead not in pending:
                    spec_ahead, case_ahead, _ = slides[ahead]
                    raw = fetcher.submit(_fetch, media, spec_ahead, case_ahead, ahead + 1, cancel)
                    pending[ahead] = cleaner.submit(_clean, spec_ahead, raw, ahead + 1)
            number = index + 1
            section_ids[name].extend(_draw(canvas, spec, case, number, pending.pop(index)))
            progress(number, total, f"Built slide {number} of {total - 1}")
    finally:
        fetcher.shutdown(wait=True, cancel_futures=True)
        cleaner.shutdown(wait=True, cancel_futures=True)
    cancel.raise_if_cancelled()
    try:
        if with_sections:
            set_sections(canvas.prs, [(section.name, section_ids[section.name]) for section, _ in sections])
        set_metadata(canvas.prs, title=normalise(safe_text(title)))
    except Exception as exc:
        raise ExportError("The deck could not be finished (its document properties could not be set).") from exc
    write_atomically(canvas.prs, target)
    progress(total, total, "Deck saved")
    return target


def _canvas(template: Path | None) -> Canvas:
    if template is None:
        prs = new_presentation()
        prs.slide_width = theme.SLIDE_WIDTH
        prs.slide_height = theme.SLIDE_HEIGHT
        blank = prs.slide_layouts[_BLANK_LAYOUT]
        return Canvas(prs, DARK, dict.fromkeys(("title", "section", "text", "image"), blank), ImageParts(prs))
    prs = open_template(template)
    return Canvas.fitted(prs, TEMPLATE, map_layouts(prs))


def _draw(canvas: Canvas, spec: DeckSlide, case: Case | None, number: int, fetched: Future[list[Any]]) -> list[int]:
    """Draw one planned slide (carried slides: several) with the media fetched for it; their ids, for sections."""
    try:
        media = fetched.result()
        if isinstance(spec, CarriedSlides):
            chosen = case.asset(spec.asset_id).chosen if case is not None else ()
            return _carry(canvas, media[0], chosen, number)
        if isinstance(spec, TitleSlide):
            slide = draw_title(canvas, spec)
        elif isinstance(spec, DividerSlide):
            slide = draw_divider(canvas, spec)
        elif isinstance(spec, TextSlide):
            slide = draw_text(canvas, spec)
        elif case is None:
            raise ExportError(f"Slide {number} shows images but belongs to no case; this is a bug in the deck plan.")
        elif isinstance(spec, ImageSlide):
            slide = draw_image(canvas, spec, *media[0])
        elif isinstance(spec, GridSlide):
            slide = draw_grid(canvas, spec, media)
        elif isinstance(spec, ClipSlide):
            slide = draw_clip(canvas, spec, media[0])
        else:  # pragma: no cover - the plan types are closed
            raise ExportError(f"Slide {number} has a kind the PowerPoint export does not know.")
    except (Cancelled, ExportError):
        raise
    except Exception as exc:
        raise ExportError(f"Slide {number} of the deck could not be built ({type(exc).__name__}).") from exc
    return [int(slide.slide_id)]


def _carry(canvas: Canvas, deck: object, chosen: tuple[int, ...], number: int) -> list[int]:
    """Append the chosen (else every) slide of a case's scrubbed PowerPoint, natively; none if unreadable."""
    from pptx import Presentation

    from casefiles.media.slides import copy_slides

    if not isinstance(deck, bytes):
        return []
    before = len(canvas.prs.slides)
    try:
        count = len(Presentation(io.BytesIO(deck)).slides)
        copy_slides(deck, [n for n in chosen if n < count] or range(count), canvas.prs)
    except Exception as exc:  # a deck that cannot be carried must not sink the whole export
        logger.warning("Slides carried at slide %d could not all be copied (%s).", number, type(exc).__name__)
    return [int(slide.slide_id) for slide in list(canvas.prs.slides)[before:]]


def _fetch(
    media: MediaSource, spec: DeckSlide, case: Case | None, number: int, cancel: CancelToken
) -> list[tuple[object, object]]:
    """What slide ``number`` shows, as the media source returned it (runs on the media thread).

    Pairs of (key image, pixel spacing), or one (clip, poster); None for what failed.
    """
    cancel.raise_if_cancelled()
    if case is None:
        return []
    if isinstance(spec, ImageSlide):
        return [_fetch_key(media, case, spec.key, number)]
    if isinstance(spec, GridSlide):
        return [_fetch_key(media, case, cell.key, number) for cell in spec.cells]
    if isinstance(spec, CarriedSlides):
        asset = case.asset(spec.asset_id)
        return [(_ask(lambda: media.asset_file(case, asset), number, "PowerPoint slides"), None)]
    if isinstance(spec, ClipSlide):
        asset = case.asset(spec.asset_id)
        video = _ask(lambda: media.stack_video(case, asset, spec.window), number, "stack clip")
        poster = _ask(lambda: media.stack_poster(case, asset, spec.window), number, "clip poster") if video else None
        return [(video, poster)]
    return []


def _fetch_key(media: MediaSource, case: Case, key: KeyImage, number: int) -> tuple[object, object]:
    data = _ask(lambda: media.key_image(case, key), number, "key image")
    spacing = _ask(lambda: media.pixel_spacing_mm(case, key), number, "pixel spacing") if data is not None else None
    return data, spacing


def _clean(spec: DeckSlide, fetched: Future[list[tuple[object, object]]], number: int) -> list[Any]:
    """Check and strip what was fetched for slide ``number`` (runs on the cleaning thread)."""
    raw = fetched.result()
    if isinstance(spec, CarriedSlides):
        return [data for data, _ in raw]
    if isinstance(spec, ClipSlide):
        return [_clean_clip(video, poster, number) for video, poster in raw]
    return [_clean_key(data, spacing, number) for data, spacing in raw]


def _clean_key(data: object, spacing: object, number: int) -> KeyResult:
    """The key image, cleaned, with its pixel spacing; or why it is unavailable (never the source's message)."""
    if data is None:
        return Unavailable("the image could not be produced from the stored series."), None
    try:
        image = clean_image(data)
    except CaseDeckError as exc:
        logger.warning("Key image for slide %d is not a readable PNG or JPEG (%s).", number, type(exc).__name__)
        return Unavailable("the image data was not a readable PNG or JPEG."), None
    if isinstance(spacing, bool) or not isinstance(spacing, int | float) or not 0 < spacing < 1000:
        return image, None
    return image, float(spacing)


def _clean_clip(video: object, poster: object, number: int) -> ClipResult:
    if video is None or poster is None:
        return Unavailable("the series could not be made into a clip.")
    try:
        return clean_mp4(video), clean_image(poster)
    except CaseDeckError as exc:
        logger.warning("Stack clip for slide %d is not usable (%s).", number, type(exc).__name__)
        return Unavailable("the clip or its poster frame was not a readable MP4 and PNG.")


def _ask(call: Callable[[], T], number: int, what: str) -> T | None:
    """The media source's answer, or None when it failed (logged by type only: its message may hold PHI)."""
    try:
        return call()
    except Cancelled:
        raise
    except Exception as exc:
        logger.warning("The %s for slide %d could not be produced (%s).", what, number, type(exc).__name__)
        return None
