"""Export a conference as one self-contained HTML presentation that runs from a USB stick.

The file needs no server and no network: styles, script and every image are
inside it (images as ``data:`` URIs), and a Content-Security-Policy forbids the
page from loading or sending anything, so a copy on a laptop in a lecture hall
behaves like the one tested here. The slides are the PowerPoint conference
deck's own plan (same order, reveal rules, text fitting and theme geometry),
drawn on a 1600x900 stage the script scales to the window. Series chosen as
stacks become scrollable viewers (mouse wheel, arrow keys, slider, cine),
sampled so the file stays small. A case's video clips play in the page (the
MP4 is inside it, up to a budget per show; above it the poster frame stands in
and the clip plays in the PowerPoint), and the chosen slides of a case's own
PowerPoint show as the pictures made of them at import.

The same document is the app's "present" view: :func:`render_conference_html`
returns it without writing a file. Only case text the presenter wrote and
pixels from the media source go in; no ids, file names or image metadata.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TypeVar

from PIL import Image

from casefiles.errors import Cancelled, ExportError
from casefiles.model import Asset, AssetKind, Case, KeyImage
from casefiles.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from exporters import _theme as theme
from exporters._atomic import check_target, write_atomically
from exporters._conference_plan import plan_conference
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
    fit_caption,
    safe_text,
    slide_caption,
)
from exporters._image_clean import CleanImage, clean_image
from exporters._text_fit import Para, Role, normalise
from exporters._video_clean import clean_mp4
from exporters.bundle import ConferenceBundle, MediaSource

__all__ = [
    "CLIP_BUDGET_BYTES",
    "MAX_STACK_FRAMES",
    "STACK_SIDE",
    "export_conference_html",
    "render_conference_html",
]

logger = logging.getLogger(__name__)

#: Stacks are sampled to at most this many slices of at most this many pixels a side.
MAX_STACK_FRAMES = 150
STACK_SIDE = 512
#: Key images larger than this (long side) are scaled down; PNGs above the byte budget become JPEG.
KEY_IMAGE_SIDE = 1920
PNG_BUDGET = 1_500_000
JPEG_QUALITY = 90
#: Video clips are put inside the page up to this many bytes per show (a data: URI grows them by a third);
#: a clip that would go over shows its poster frame instead and plays in the PowerPoint.
CLIP_BUDGET_BYTES = 150 * 1024 * 1024

#: The stage is the deck's 13.333 x 7.5 in slide at 120 CSS px per inch.
PX_PER_IN = 120
STAGE_W, STAGE_H = 1600, 900
_PX_PER_PT = PX_PER_IN / 72

UNAVAILABLE_TITLE = "Image unavailable"
STACK_UNAVAILABLE_TITLE = "Series unavailable"
UNAVAILABLE_DETAIL = "This image could not be produced when the presentation was made."
STACK_UNAVAILABLE_DETAIL = "This series could not be produced when the presentation was made."
CLIP_UNAVAILABLE_TITLE = "Clip unavailable"
CLIP_UNAVAILABLE_DETAIL = "This video clip could not be produced when the presentation was made."
CLIP_TOO_LARGE = "Clip too large for the offline show; it plays in the PowerPoint"
CLIP_NOT_ADDED = "This clip could not be added to the show"
SLIDES_HEADING = "Slides from the case's PowerPoint"

_KICKER = theme.Rect(0.8, 0.12, 11.0, 0.36)
_KICKER_SIZE = 14.0
_STACK_CONTROLS_IN = 0.6
_T = TypeVar("_T")


# --------------------------------------------------------------------------------------------
# Which slides: the PowerPoint conference deck's own plan, with the case each slide belongs to


@dataclass(frozen=True, slots=True)
class _Slide:
    """A planned deck slide, the case it shows (None for opening and closing) and a context line."""

    spec: DeckSlide
    case: Case | None
    keys: tuple[KeyImage, ...]
    kicker: str


def _plan(bundle: ConferenceBundle) -> tuple[_Slide, ...]:
    """Every slide in order: exactly the slides of the PowerPoint deck of the same conference."""
    entries = list(bundle.entries())
    sections = plan_conference(bundle)
    if len(sections) != len(entries) + 2:
        raise ExportError("The presentation could not be planned (its sections do not match its cases).")
    slides = [_Slide(spec, None, (), "") for spec in sections[0].slides]
    total = len(entries)
    for n, ((case, plan), section) in enumerate(zip(entries, sections[1:-1], strict=True), 1):
        # A reveal plan names the case only on its answer slide, which already says it.
        kicker = f"Case {n} of {total}" if plan.reveal else f"Case {n} of {total} · {_clean(case.title)}"
        keys = plan.chosen(case)
        slides += [_Slide(spec, case, keys, kicker) for spec in section.slides]
    slides += [_Slide(spec, None, (), "") for spec in sections[-1].slides]
    return tuple(slides)


def _clean(text: str) -> str:
    return normalise(safe_text(text))


# --------------------------------------------------------------------------------------------
# Media: fetched, cleaned of metadata, sized; failures become placeholders


@dataclass(frozen=True, slots=True)
class _Picture:
    image: CleanImage
    spacing_mm: float | None


@dataclass(frozen=True, slots=True)
class _Frames:
    frames: tuple[CleanImage, ...]
    start: int


@dataclass(frozen=True, slots=True)
class _Unavailable:
    """Why media is missing, in words safe to show (never the media source's own message)."""

    title: str
    detail: str


def _fetch_picture(media: MediaSource, case: Case, key: KeyImage, number: int) -> _Picture | _Unavailable:
    try:
        data = media.key_image(case, key)
        image = _sized(clean_image(data), KEY_IMAGE_SIDE, png_budget=PNG_BUDGET)
    except Cancelled:
        raise
    except Exception as exc:
        logger.warning("Key image for slide %d could not be produced (%s).", number, type(exc).__name__)
        return _Unavailable(UNAVAILABLE_TITLE, UNAVAILABLE_DETAIL)
    spacing: float | None = None
    try:
        value = media.pixel_spacing_mm(case, key)
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0:
            spacing = float(value)
    except Cancelled:
        raise
    except Exception as exc:
        logger.info("No scale bar on slide %d: pixel spacing unavailable (%s).", number, type(exc).__name__)
    return _Picture(image, spacing)


def _fetch_frames(
    media: MediaSource, case: Case, spec: ClipSlide, *, start_frame: int, number: int, cancel: CancelToken
) -> _Frames | _Unavailable:
    try:
        asset = case.asset(spec.asset_id)
        raw = list(media.stack_frames(case, asset, spec.window, max_frames=MAX_STACK_FRAMES, max_side=STACK_SIDE))
        if not raw:
            raise ExportError("The media source returned no frames.")
        frames = []
        for data in sample_evenly(raw, MAX_STACK_FRAMES):
            cancel.raise_if_cancelled()
            frames.append(_sized(clean_image(data), STACK_SIDE, png_budget=0))
    except Cancelled:
        raise
    except Exception as exc:
        logger.warning("Series for slide %d could not be produced (%s).", number, type(exc).__name__)
        return _Unavailable(STACK_UNAVAILABLE_TITLE, STACK_UNAVAILABLE_DETAIL)
    # Open at the sampled slice nearest the key image the series was chosen for.
    total = asset.frame_count
    start = round(start_frame * (len(frames) - 1) / (total - 1)) if total > 1 else 0
    return _Frames(tuple(frames), min(max(start, 0), len(frames) - 1))


@dataclass(frozen=True, slots=True)
class _Clip:
    """A video clip to put in the page: the cleaned MP4 (None: poster only, with ``note``) and its poster."""

    video: bytes | None
    poster: CleanImage | None
    note: str = ""


@dataclass
class _Budget:
    """Bytes of video the show may still hold."""

    left: int


def _fetch_clip(media: MediaSource, case: Case, asset: Asset, number: int, budget: _Budget) -> _Clip | _Unavailable:
    """A case's video for slide ``number``: in the page while the budget lasts, else its poster and a note."""
    poster: CleanImage | None = None
    try:
        poster = _sized(clean_image(media.stack_poster(case, asset, None)), KEY_IMAGE_SIDE, png_budget=PNG_BUDGET)
    except Cancelled:
        raise
    except Exception as exc:
        logger.warning("Poster frame for slide %d could not be produced (%s).", number, type(exc).__name__)
    try:
        raw = media.stack_video(case, asset, None)
        if isinstance(raw, bytes | bytearray) and len(raw) > budget.left:
            logger.info("The clip on slide %d is over the show's video budget; its poster stands in.", number)
            return _Clip(None, poster, CLIP_TOO_LARGE) if poster else _Unavailable(CLIP_TOO_LARGE, "")
        video = clean_mp4(raw)
    except Cancelled:
        raise
    except Exception as exc:
        logger.warning("Video clip for slide %d could not be produced (%s).", number, type(exc).__name__)
        if poster is None:
            return _Unavailable(CLIP_UNAVAILABLE_TITLE, CLIP_UNAVAILABLE_DETAIL)
        return _Clip(None, poster, CLIP_NOT_ADDED)
    budget.left -= len(video)
    return _Clip(video, poster)


def _fetch_previews(media: MediaSource, case: Case, asset: Asset, number: int) -> list[CleanImage]:
    """The pictures of a PowerPoint's slides made at import, cleaned and sized; empty when there are none."""
    try:
        raw = list(media.asset_previews(case, asset))
    except Cancelled:
        raise
    except Exception as exc:
        logger.warning("Slide pictures for slide %d could not be read (%s).", number, type(exc).__name__)
        return []
    try:
        return [_sized(clean_image(data), KEY_IMAGE_SIDE, png_budget=PNG_BUDGET) for data in raw]
    except Exception as exc:  # pictures that do not line up with the slides would mislabel them: use none
        logger.warning("A slide picture for slide %d is not usable (%s).", number, type(exc).__name__)
        return []


def _deck_size(media: MediaSource, case: Case, asset: Asset, number: int) -> int | None:
    """How many slides a case's PowerPoint has (read only when no slides were chosen); None if unknown."""
    from pptx import Presentation

    try:
        return len(Presentation(io.BytesIO(media.asset_file(case, asset))).slides)
    except Cancelled:
        raise
    except Exception as exc:
        logger.info("The PowerPoint for slide %d could not be counted (%s).", number, type(exc).__name__)
        return None


def sample_evenly(items: Sequence[_T], limit: int) -> list[_T]:
    """At most ``limit`` items spread evenly over ``items``, keeping the first and the last."""
    if limit < 1:
        raise ExportError("A stack must keep at least one frame.")
    n = len(items)
    if n <= limit:
        return list(items)
    if limit == 1:
        return [items[n // 2]]
    return [items[round(i * (n - 1) / (limit - 1))] for i in range(limit)]


def _sized(image: CleanImage, max_side: int, *, png_budget: int) -> CleanImage:
    """Scale down images larger than ``max_side``; re-encode PNGs above ``png_budget`` bytes as JPEG."""
    too_big = max(image.width, image.height) > max_side
    too_heavy = image.format == "png" and len(image.data) > png_budget
    if not too_big and not too_heavy:
        return image
    with Image.open(io.BytesIO(image.data)) as im:
        im.load()
        pic = im.convert("L") if im.mode in ("1", "L", "I;16", "I", "F") else im.convert("RGB")
    if too_big:
        scale = max_side / max(image.width, image.height)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        pic = pic.resize(size, Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    if image.format == "png" and not too_heavy:
        pic.save(buf, format="PNG")
    else:
        pic.save(buf, format="JPEG", quality=JPEG_QUALITY)
    return clean_image(buf.getvalue())


def _data_uri(image: CleanImage) -> str:
    return f"data:image/{image.format};base64,{base64.b64encode(image.data).decode('ascii')}"


# --------------------------------------------------------------------------------------------
# HTML: every position and size comes from the deck's theme (inches and points -> stage px)


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _px(value: float) -> str:
    return f"{round(value, 1):g}px"


def _box(rect: theme.Rect) -> tuple[float, float, float, float]:
    return (rect.left * PX_PER_IN, rect.top * PX_PER_IN, rect.width * PX_PER_IN, rect.height * PX_PER_IN)


def _place_px(left: float, top: float, width: float, height: float) -> str:
    return f"left:{_px(left)};top:{_px(top)};width:{_px(width)};height:{_px(height)}"


def _place(rect: theme.Rect) -> str:
    return _place_px(*_box(rect))


def _font(size_pt: float) -> str:
    return f"font-size:{_px(size_pt * _PX_PER_PT)}"


def _paras(paras: Sequence[Para]) -> str:
    out = []
    for para in paras:
        cls = {Role.SUBHEAD: "sub", Role.BODY: "body", Role.BULLET: "bullet"}[para.role]
        if para.continued:
            cls += " cont"
        out.append(f'<p class="{cls}" dir="auto">{_e(para.text)}</p>')
    return "".join(out)


def _fit_box(cls: str, rect: theme.Rect, size: float, inner: str) -> str:
    """A text box the script may shrink further if the browser's font runs wider than estimated."""
    return f'<div class="fit {cls}" style="{_place(rect)};{_font(size)}"><div class="inner">{inner}</div></div>'


def _section(kind: str, body: str) -> str:
    return f'<section class="slide slide-{kind}" data-kind="{kind}">{body}</section>'


def _kicker(text: str) -> str:
    if not text:
        return ""
    return f'<div class="kicker" dir="auto" style="{_place(_KICKER)};{_font(_KICKER_SIZE)}">{_e(text)}</div>'


def _title_html(spec: TitleSlide) -> str:
    return _section(
        "title",
        f'<div class="bar" style="{_place(theme.TITLE_BAR)}"></div>'
        + _fit_box("title bottom", theme.TITLE, spec.title_size, f'<h1 dir="auto">{_e(spec.title)}</h1>')
        + _fit_box("subtitle", theme.SUBTITLE, spec.subtitle_size, _paras(spec.subtitle))
        + f'<div class="footer" style="{_place(theme.FOOTER)};{_font(theme.FOOTER_SIZE)}">CaseDeck</div>',
    )


def _divider_html(spec: DividerSlide) -> str:
    kicker = ""
    if spec.kicker:
        kicker = (
            f'<div class="divider-kicker" dir="auto" style="{_place(theme.KICKER)};{_font(theme.KICKER_SIZE)}">'
            f"{_e(spec.kicker)}</div>"
        )
    return _section(
        "divider",
        f'<div class="bar" style="{_place(theme.TITLE_BAR)}"></div>'
        + kicker
        + _fit_box("title middle", theme.DIVIDER_TITLE, spec.title_size, f'<h1 dir="auto">{_e(spec.title)}</h1>')
        + _fit_box("subtitle", theme.DIVIDER_SUBTITLE, spec.subtitle_size, _paras(spec.subtitle)),
    )


def _text_html(spec: TextSlide, kicker: str) -> str:
    return _section(
        "text",
        _kicker(kicker) + f'<h2 class="heading" dir="auto" style="{_place(theme.HEADING)};{_font(theme.HEADING_SIZE)}">'
        f"{_e(spec.heading)}</h2>"
        f'<div class="rule" style="{_place(theme.HEADING_RULE)}"></div>'
        + _fit_box("body", theme.BODY, spec.size, _paras(spec.paras)),
    )


def _caption_html(caption: str, size: float, window: str, title: str) -> str:
    rect = theme.CAPTION_WITH_WINDOW if window else theme.CAPTION_ALONE
    out = (
        f'<div class="caption" dir="auto" title="{_e(title)}" style="{_place(rect)};{_font(size)}">'
        f"<span>{_e(caption)}</span></div>"
    )
    if window:
        out += f'<div class="window" style="{_place(theme.WINDOW)};{_font(theme.WINDOW_SIZE)}">{_e(window)}</div>'
    return out


def _unavailable_html(missing: _Unavailable, place: str, size: float = 1.0) -> str:
    return (
        f'<div class="unavailable" role="img" aria-label="{_e(missing.title)}" style="{place};--k:{size:g}">'
        f"<h3>{_e(missing.title)}</h3><p>{_e(missing.detail)}</p></div>"
    )


def _fit(width: int, height: int, area: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """The largest box of the image's aspect inside ``area``, centred: (left, top, width, height) in px."""
    left, top, area_w, area_h = area
    scale = min(area_w / width, area_h / height)
    w, h = width * scale, height * scale
    return left + (area_w - w) / 2, top + (area_h - h) / 2, w, h


def _scale_bar(spacing_mm: float, image_px: int, shown_px: float) -> str:
    """The deck's scale bar: the longest round length spanning at most a set fraction of the image."""
    mm_per_shown_px = spacing_mm * image_px / shown_px
    room_mm = theme.SCALE_BAR_MAX_FRACTION * shown_px * mm_per_shown_px
    fitting = [mm for mm in theme.SCALE_BAR_MM if mm <= room_mm]
    if not fitting:
        return ""
    mm = max(fitting)
    label = f"{mm:g} mm" if mm < 10 else f"{mm / 10:g} cm"
    return f'<div class="scalebar" style="width:{_px(mm / mm_per_shown_px)}"><span>{label}</span></div>'


def _picture_html(media: _Picture | _Unavailable, area: theme.Rect, alt: str, *, compact: bool = False) -> str:
    if isinstance(media, _Unavailable):
        place = _place(area) if compact else _place(theme.UNAVAILABLE_PANEL)
        return _unavailable_html(media, place, 0.6 if compact else 1.0)
    left, top, w, h = _fit(media.image.width, media.image.height, _box(area))
    bar = _scale_bar(media.spacing_mm, media.image.width, w) if media.spacing_mm else ""
    return (
        f'<figure class="picture" style="{_place_px(left, top, w, h)}">'
        f'<img src="{_data_uri(media.image)}" alt="{_e(alt)}" decoding="async">{bar}</figure>'
    )


def _image_html(spec: ImageSlide, media: _Picture | _Unavailable) -> str:
    return _section(
        "image",
        _picture_html(media, theme.IMAGE_AREA, spec.alt_text)
        + _caption_html(spec.caption, spec.caption_size, spec.window, spec.alt_text),
    )


def _grid_html(spec: GridSlide, media: Sequence[_Picture | _Unavailable]) -> str:
    cells = []
    for index, (cell, fetched) in enumerate(zip(spec.cells, media, strict=True)):
        image_rect, caption_rect = theme.grid_cell(index)
        cells.append(
            _picture_html(fetched, image_rect, cell.alt_text, compact=True)
            + f'<div class="caption grid-caption" dir="auto" title="{_e(cell.alt_text)}" '
            f'style="{_place(caption_rect)};{_font(cell.caption_size)}"><span>{_e(cell.caption)}</span></div>'
        )
    return _section("grid", "".join(cells))


def _stack_html(spec: ClipSlide, media: _Frames | _Unavailable, stack_id: int) -> str:
    caption = _caption_html(spec.caption, spec.caption_size, spec.window_label, spec.alt_text)
    if isinstance(media, _Unavailable):
        return _section("stack", _unavailable_html(media, _place(theme.UNAVAILABLE_PANEL)) + caption)
    area = theme.IMAGE_AREA
    view_h = (area.height - _STACK_CONTROLS_IN) * PX_PER_IN
    first = media.frames[0]
    canvas_box = _fit(first.width, first.height, (0, 0, area.width * PX_PER_IN, view_h))
    count = len(media.frames)
    frames = json.dumps([_data_uri(f) for f in media.frames], separators=(",", ":")).replace("<", "\\u003c")
    return _section(
        "stack",
        f'<div class="stack" data-stack="{stack_id}" data-start="{media.start}" data-count="{count}" '
        f'style="{_place(area)}">'
        f'<div class="viewer" style="height:{_px(view_h)}" title="Scroll: mouse wheel, ↑ ↓ or drag up and down">'
        f'<canvas width="{first.width}" height="{first.height}" aria-label="{_e(spec.alt_text)}" '
        f'style="{_place_px(*canvas_box)}"></canvas></div>'
        f'<div class="stack-controls" style="height:{_px(_STACK_CONTROLS_IN * PX_PER_IN)}">'
        '<button type="button" class="cine" aria-pressed="false" title="Play or pause the series (P)">'
        '<span class="icon" aria-hidden="true"></span><span class="label">Play</span></button>'
        f'<input type="range" class="slider" min="0" max="{count - 1}" value="{media.start}" '
        'aria-label="Slice" tabindex="-1">'
        f'<span class="slice">Slice {media.start + 1} / {count}</span>'
        '<span class="hint">wheel or ↑ ↓ to scroll</span></div></div>'
        f'<script type="application/json" class="frames" id="stack-frames-{stack_id}">{frames}</script>' + caption,
    )


def _video_html(spec: ClipSlide, clip: _Clip | _Unavailable) -> str:
    caption = _caption_html(spec.caption, spec.caption_size, spec.window_label, spec.alt_text)
    if isinstance(clip, _Unavailable):
        return _section("video", _unavailable_html(clip, _place(theme.UNAVAILABLE_PANEL)) + caption)
    if clip.video is None:
        picture = _picture_html(_Picture(clip.poster, None), theme.IMAGE_AREA, spec.alt_text) if clip.poster else ""
        note = f'<div class="clip-note" role="note" style="{_note_place()}">{_e(clip.note)}</div>'
        return _section("video", picture + note + caption)
    poster = f' poster="{_data_uri(clip.poster)}"' if clip.poster else ""
    source = f"data:video/mp4;base64,{base64.b64encode(clip.video).decode('ascii')}"
    return _section(
        "video",
        f'<div class="clip" style="{_place(theme.IMAGE_AREA)}">'
        f'<video controls preload="metadata" playsinline{poster} aria-label="{_e(spec.alt_text)}" '
        f'src="{source}"></video></div>' + caption,
    )


def _note_place() -> str:
    left, top, width, height = _box(theme.IMAGE_AREA)
    return _place_px(left, top + height - 72, width, 72)


def _carried_html(asset: Asset, previews: Sequence[CleanImage], count: int | None) -> list[str]:
    """A picture slide per chosen slide; without pictures, one text slide saying where the slides are."""
    if previews:
        out = []
        for index in chosen_slides(asset, len(previews)):
            alt = slide_caption(asset, index)
            caption, size = fit_caption(alt)
            out.append(
                _section(
                    "image",
                    _picture_html(_Picture(previews[index], None), theme.IMAGE_AREA, alt)
                    + _caption_html(caption, size, "", alt),
                )
            )
        return out
    label = deck_label(asset)
    shown = len(chosen_slides(asset, count)) if count is not None else len(asset.chosen)
    what = "its slides" if not shown else f"{shown} slide" if shown == 1 else f"{shown} slides"
    text = f"{label}: {what} — shown in the PowerPoint export."
    return [_text_html(TextSlide(SLIDES_HEADING, (Para(text),), theme.BODY_SIZES[-1]), "")]


def _asset(name: str) -> str:
    return resources.files(__package__ or "exporters").joinpath(name).read_text(encoding="utf-8")


def _palette() -> str:
    colours = {
        "bg": theme.BACKGROUND,
        "image-bg": theme.IMAGE_BACKGROUND,
        "title": theme.TITLE_TEXT,
        "body": theme.BODY_TEXT,
        "muted": theme.MUTED_TEXT,
        "accent": theme.ACCENT,
        "panel": theme.PANEL,
    }
    return ":root{" + "".join(f"--{name}:#{colour};" for name, colour in colours.items()) + "}"


def _document(title: str, slides: Sequence[str]) -> str:
    script = _asset("html_show.js")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    # Nothing may be fetched or sent; only this exact script may run (escaped case text cannot add one).
    policy = (
        "default-src 'none'; img-src data:; media-src data:; style-src 'unsafe-inline'; "
        f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    )
    total = len(slides)
    first, *rest = slides
    first = first.replace('class="slide ', 'class="slide current ', 1)
    number = theme.NUMBER
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{_e(title)}</title>\n"
        f"<style>{_palette()}\n{_asset('html_show.css')}</style>\n</head>\n<body>\n"
        f'<main id="stage" class="stage" aria-roledescription="presentation" aria-label="{_e(title)}">\n'
        + "\n".join([first, *rest])
        + f'\n<div id="counter" class="counter" aria-live="polite" style="{_place(number)};'
        f'{_font(theme.NUMBER_SIZE)}">1 / {total}</div>\n'
        '<div class="progress"><div id="progress-fill"></div></div>\n</main>\n'
        '<nav class="toolbar" aria-label="Presentation controls">'
        '<button type="button" data-action="prev" title="Previous slide (←)">‹ Previous</button>'
        '<button type="button" data-action="next" title="Next slide (→ or Space)">Next ›</button>'
        '<button type="button" data-action="fullscreen" title="Full screen (F)">Full screen</button></nav>\n'
        f"<script>{script}</script>\n</body>\n</html>\n"
    )


# --------------------------------------------------------------------------------------------
# Public API


def render_conference_html(
    bundle: ConferenceBundle,
    media: MediaSource,
    *,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> str:
    """The whole presentation as one HTML document (the app serves this text as its "present" view).

    Progress is reported once per slide. Raises Cancelled when ``cancel`` is
    set, and ExportError when the bundle or media source is not usable.
    """
    _check_inputs(bundle, media)
    plan = _plan(bundle)
    total = len(plan)
    return _build(bundle, media, plan, total=total, progress=progress, cancel=cancel)


def export_conference_html(
    bundle: ConferenceBundle,
    media: MediaSource,
    out: Path,
    *,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> Path:
    """Write the conference as one offline .html presentation to ``out`` and return the path.

    The file is written beside ``out`` under a generic temporary name and
    renamed into place only when complete: a failure or a cancel leaves no
    partial file (and an existing file at ``out`` untouched).
    """
    _check_inputs(bundle, media)
    target = check_target(out, (".html", ".htm"), "HTML presentation")
    plan = _plan(bundle)
    total = len(plan) + 1
    document = _build(bundle, media, plan, total=total, progress=progress, cancel=cancel)
    cancel.raise_if_cancelled()
    data = document.encode("utf-8")
    write_atomically(target, lambda fh: fh.write(data), "presentation")
    progress(total, total, "Presentation saved")
    return target


def _check_inputs(bundle: object, media: object) -> None:
    if not isinstance(bundle, ConferenceBundle):
        raise ExportError(f"A presentation can only be made from a conference bundle, not {type(bundle).__name__}.")
    for name in ("key_image", "pixel_spacing_mm", "stack_frames"):
        if not callable(getattr(media, name, None)):
            raise ExportError(f"The media source given to the HTML export cannot provide {name.replace('_', ' ')}.")


def _build(
    bundle: ConferenceBundle,
    media: MediaSource,
    plan: Sequence[_Slide],
    *,
    total: int,
    progress: ProgressFn,
    cancel: CancelToken,
) -> str:
    slides: list[str] = []
    stacks = 0
    budget = _Budget(CLIP_BUDGET_BYTES)
    for number, slide in enumerate(plan, 1):
        cancel.raise_if_cancelled()
        try:
            html_text, is_stack = _slide_html(slide, media, number, stacks + 1, cancel=cancel, budget=budget)
        except (Cancelled, ExportError):
            raise
        except Exception as exc:
            raise ExportError(f"Slide {number} of the presentation could not be built ({type(exc).__name__}).") from exc
        stacks += is_stack
        slides += html_text
        progress(number, total, f"Built slide {number} of {len(plan)}")
    title = _clean(bundle.conference.title) or "Conference"
    return _document(title, slides)


def _slide_html(
    slide: _Slide, media: MediaSource, number: int, stack_id: int, *, cancel: CancelToken, budget: _Budget
) -> tuple[list[str], bool]:
    """One planned slide's HTML (carried PowerPoint slides: several), and whether it holds a stack viewer."""
    spec, case = slide.spec, slide.case
    if isinstance(spec, TitleSlide):
        return [_title_html(spec)], False
    if isinstance(spec, DividerSlide):
        return [_divider_html(spec)], False
    if isinstance(spec, TextSlide):
        return [_text_html(spec, slide.kicker)], False
    if case is None:
        raise ExportError(f"Slide {number} shows images but belongs to no case; this is a bug in the deck plan.")
    if isinstance(spec, ImageSlide):
        return [_image_html(spec, _fetch_picture(media, case, spec.key, number))], False
    if isinstance(spec, GridSlide):
        return [_grid_html(spec, [_fetch_picture(media, case, cell.key, number) for cell in spec.cells])], False
    asset = case.asset(spec.asset_id)
    if isinstance(spec, CarriedSlides):
        previews = _fetch_previews(media, case, asset, number)
        count = None if previews or asset.chosen else _deck_size(media, case, asset, number)
        return _carried_html(asset, previews, count), False
    if asset.kind is AssetKind.VIDEO:
        return [_video_html(spec, _fetch_clip(media, case, asset, number, budget))], False
    start = next((key.frame for key in slide.keys if key.asset_id == spec.asset_id), 0)
    fetched = _fetch_frames(media, case, spec, start_frame=start, number=number, cancel=cancel)
    return [_stack_html(spec, fetched, stack_id)], isinstance(fetched, _Frames)
