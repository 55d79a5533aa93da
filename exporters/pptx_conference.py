"""Export a conference as one 16:9 PowerPoint deck, ready for the projector.

Title, agenda, then per case a PowerPoint section (divider, clinical history,
key images — one per slide, or four to a 2x2 grid when a case shows five or
more — stack clips, video clips, the chosen slides of the case's own
PowerPoints carried natively, findings and diagnosis, teaching points), and a
closing slide. A carried slide that cannot stay editable becomes a picture:
rendered by LibreOffice, else the one made at import. Reveal plans
(unknown-case quiz) keep the answer off every slide and speaker note before
the answer slide. Images carry a scale bar when the pixel spacing is known.

The deck uses the built-in dark theme, or the masters and layouts of an
institution's template (.potx or .pptx). It is written beside ``out`` under a
generic temporary name and renamed into place when complete; a failure or a
cancel never leaves a partial deck, and nothing but the cases' own text and
the rendered pixels goes into it.
"""

from __future__ import annotations

import io
import logging
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from casefiles.errors import Cancelled, CaseDeckError, ExportError
from casefiles.model import Asset, Case, KeyImage
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
    chosen_slides,
    deck_label,
    safe_text,
    slide_caption,
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
    draw_picture,
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
            if case is None:
                raise ExportError(
                    f"Slide {number} carries slides but belongs to no case; this is a bug in the deck plan."
                )
            deck, previews = media[0]
            return _carry(canvas, spec, case.asset(spec.asset_id), deck=deck, previews=previews, number=number)
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


def _carry(
    canvas: Canvas,
    spec: CarriedSlides,
    asset: Asset,
    *,
    deck: bytes | None,
    previews: Sequence[CleanImage | None],
    number: int,
) -> list[int]:
    """Append the chosen (else every) slide of a case's scrubbed PowerPoint, natively where possible.

    A slide that cannot be carried as editable content becomes a picture:
    copy_slides renders it with LibreOffice when it can; otherwise (or when the
    whole deck cannot be read) the picture made at import stands in for it, and
    a slide with neither says so. One bad deck never sinks the whole export.
    """
    from casefiles.media.slides import copy_slides

    before = len(canvas.prs.slides)
    count = _slide_count(deck, number)
    if deck is None or count is None:
        indexes = chosen_slides(asset, len(previews)) if previews else list(asset.chosen)
        for index in indexes:
            _stand_in(canvas, spec, asset, previews, index)
        if not indexes:  # neither the deck nor its pictures: say that its slides are missing
            missing = Unavailable("the presentation could not be read and has no pictures of its slides.")
            draw_picture(canvas, missing, f"Slides of {deck_label(asset)}", notes=spec.notes)
    else:
        remaining = chosen_slides(asset, count)
        with tempfile.TemporaryDirectory(prefix="casedeck-carry-") as tmp:
            workdir: Path | None = Path(tmp)
            while remaining:
                appended = len(canvas.prs.slides)
                try:
                    copy_slides(deck, remaining, canvas.prs, workdir=workdir)
                    break
                except Cancelled:
                    raise
                except Exception as exc:  # the slide at the failure point gets the import-time picture
                    logger.warning("A slide carried at slide %d could not be copied (%s).", number, type(exc).__name__)
                    done = len(canvas.prs.slides) - appended
                    if done >= len(remaining):
                        break
                    _stand_in(canvas, spec, asset, previews, remaining[done])
                    remaining = remaining[done + 1 :]
                    workdir = None  # LibreOffice failed once: do not wait for it again for this deck
    canvas.images.resync()  # pictures copied with the slides took image part names
    return [int(slide.slide_id) for slide in list(canvas.prs.slides)[before:]]


def _slide_count(deck: bytes | None, number: int) -> int | None:
    """How many slides the PowerPoint has; None when it is missing or cannot be read."""
    from pptx import Presentation

    if deck is None:
        return None
    try:
        return len(Presentation(io.BytesIO(deck)).slides)
    except Exception as exc:
        logger.warning("The PowerPoint carried at slide %d cannot be read (%s).", number, type(exc).__name__)
        return None


def _stand_in(
    canvas: Canvas, spec: CarriedSlides, asset: Asset, previews: Sequence[CleanImage | None], index: int
) -> None:
    """The picture of slide ``index`` made at import, or a panel saying it could not be shown."""
    preview = previews[index] if index < len(previews) else None
    picture = preview if preview is not None else Unavailable("the slide could not be carried or shown.")
    note = "Shown as a picture: this slide could not be carried as editable content."
    draw_picture(canvas, picture, slide_caption(asset, index), notes=f"{note}\n\n{spec.notes}")


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
        deck = _ask(lambda: media.asset_file(case, asset), number, "PowerPoint slides")
        previews = _ask(lambda: list(media.asset_previews(case, asset)), number, "slide pictures")
        return [(deck, previews)]
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
        return [
            (deck if isinstance(deck, bytes) else None, _clean_previews(previews, number)) for deck, previews in raw
        ]
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


def _clean_previews(previews: object, number: int) -> list[CleanImage | None]:
    """The import-time pictures of a PowerPoint's slides, cleaned; None for one that is not a picture."""
    if not isinstance(previews, list):
        return []
    out: list[CleanImage | None] = []
    for data in previews:
        try:
            out.append(clean_image(data))
        except CaseDeckError as exc:
            logger.warning("A slide picture for slide %d is not usable (%s).", number, type(exc).__name__)
            out.append(None)
    return out


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
