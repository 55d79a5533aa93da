"""Export a conference as a printable PDF handout (ReportLab: no LibreOffice needed at run time).

Layout "case-per-page": each case starts a page with its title and history,
the chosen key images in a grid with captions, the case's video clips (their
poster frames: a clip plays in the PowerPoint and the HTML show) and the chosen
slides of its own PowerPoints as small pictures, then findings, diagnosis,
differential and teaching points. For a reveal plan (unknown-case quiz) the
answer goes on the following page, so a printed sheet can be handed out
before the answer is given. Layouts "slides-2-per-page" and
"slides-6-per-page" print the same content as framed 16:9 panels, two or
six to a page like a presentation handout (a quiz case's answer panel again
starts a new page).

Text is real text (searchable, copyable) in DejaVu Sans when it is installed
(it covers Greek, Cyrillic, Hebrew, Arabic...), else Helvetica, which covers
Western European text only: other characters print as "?" rather than fail.
Images are cleaned of metadata before they are embedded; document properties
name only the conference title and CaseDeck, with fixed dates.
"""

from __future__ import annotations

import functools
import io
import logging
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4, letter
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    Flowable,
    Image,
    KeepInFrame,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from casefiles.errors import Cancelled, ExportError
from casefiles.model import Asset, AssetKind, Case, CasePlan, Conference, KeyImage
from casefiles.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from exporters._atomic import check_target, write_atomically
from exporters._deck_plan import chosen_slides, deck_label, format_window, safe_text, slide_caption, video_title
from exporters._image_clean import CleanImage, clean_image
from exporters.bundle import ConferenceBundle, MediaSource

__all__ = ["LAYOUTS", "PAPER_SIZES", "export_conference_pdf"]

logger = logging.getLogger(__name__)

LAYOUTS = ("case-per-page", "slides-2-per-page", "slides-6-per-page")
PAPER_SIZES = {"a4": A4, "letter": letter}
DEJAVU_DIR = Path("/usr/share/fonts/truetype/dejavu")
_MARGIN = 15 * mm
_CAPTION_IN_GRID = 300  # longer captions are printed in full below the grid
_GREY = colors.HexColor("#4B5563")
_LIGHT = colors.HexColor("#E5E7EB")
_ACCENT = colors.HexColor("#0369A1")
_SLIDE_COLUMNS = 3
VIDEO_NOTE = "clip, plays in the PowerPoint/HTML show"


def export_conference_pdf(
    bundle: ConferenceBundle,
    media: MediaSource,
    out: Path,
    *,
    layout: str = "case-per-page",
    paper: str = "a4",
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> Path:
    """Write ``bundle`` as a PDF handout to ``out`` and return the path written.

    ``layout`` is one of :data:`LAYOUTS`; ``paper`` is "a4" or "letter". A
    key image the media source cannot render prints as an "image unavailable"
    box. Raises :class:`~casefiles.errors.Cancelled` (nothing written) and
    :class:`~casefiles.errors.ExportError` when the handout cannot be made.
    """
    if not isinstance(bundle, ConferenceBundle):
        raise ExportError(f"A handout can only be made from a conference bundle, not from {type(bundle).__name__}.")
    if layout not in LAYOUTS:
        raise ExportError(f"Unknown handout layout {layout!r}; choose one of {', '.join(LAYOUTS)}.")
    if paper not in PAPER_SIZES:
        raise ExportError(f"Unknown paper size {paper!r}; choose one of {', '.join(PAPER_SIZES)}.")
    target = check_target(out, ".pdf", "PDF handout")
    fonts = handout_fonts(DEJAVU_DIR)
    styles = _Styles.make(fonts)
    entries = list(bundle.entries())
    pictures = sum(len(plan.chosen(case)) + len(_media_assets(case)) for case, plan in entries)
    total = pictures + len(entries) + 1
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        progress(done, total, f"Prepared image {done} of {pictures}")

    def fetch(case: Case, key: KeyImage) -> CleanImage | None:
        cancel.raise_if_cancelled()
        image = _fetch(media, case, key)
        step()
        return image

    def fetch_media(case: Case) -> list[_Media]:
        out = []
        for asset in _media_assets(case):
            cancel.raise_if_cancelled()
            out.append(_fetch_media(media, case, asset))
            step()
        return out

    story: list[Flowable] = []
    slides = layout != "case-per-page"
    page_size = PAPER_SIZES[paper]
    width = page_size[0] - 2 * _MARGIN
    height = page_size[1] - 2 * _MARGIN - 12 * mm
    for number, (case, plan) in enumerate(entries, 1):
        cancel.raise_if_cancelled()
        if slides:
            per_page = 2 if layout == "slides-2-per-page" else 6
            story += _slides_story(
                number,
                case,
                plan,
                styles=styles,
                fetch=fetch,
                extra=fetch_media(case),
                width=width,
                height=height,
                per_page=per_page,
            )
        else:
            story += _case_story(
                number, case, plan, styles=styles, fetch=fetch, extra=fetch_media(case), width=width, height=height
            )
        story.append(PageBreak())
        done += 1
        progress(done, total, f"Laid out case {number} of {len(entries)}")
    if not entries:
        story.append(Paragraph(styles.text("This conference has no cases yet."), styles.body))
    cancel.raise_if_cancelled()
    footer = _footer(bundle.conference, styles)

    def write(stream: IO[bytes]) -> None:
        doc = SimpleDocTemplate(
            stream,
            pagesize=page_size,
            leftMargin=_MARGIN,
            rightMargin=_MARGIN,
            topMargin=_MARGIN,
            bottomMargin=_MARGIN + 8 * mm,
            title=safe_text(bundle.conference.title),
            author="CaseDeck",
            subject="",
            keywords="",
            creator="CaseDeck",
            producer="CaseDeck",
            invariant=1,  # fixed dates and document id: the same conference gives the same file
            lang="",
        )
        doc.build(story, onFirstPage=footer, onLaterPages=footer)

    write_atomically(target, write, "PDF handout")
    progress(total, total, "Handout saved")
    return target


# -- fonts and styles ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fonts:
    """The font names registered with ReportLab, and whether they cover more than Latin-1."""

    regular: str
    bold: str
    unicode: bool


@functools.cache
def handout_fonts(font_dir: Path = DEJAVU_DIR) -> Fonts:
    """DejaVu Sans if installed (Debian fonts-dejavu-core), else the built-in Helvetica."""
    regular, bold = font_dir / "DejaVuSans.ttf", font_dir / "DejaVuSans-Bold.ttf"
    if regular.is_file() and bold.is_file():
        try:
            pdfmetrics.registerFont(TTFont("CaseDeckSans", str(regular)))
            pdfmetrics.registerFont(TTFont("CaseDeckSans-Bold", str(bold)))
            return Fonts("CaseDeckSans", "CaseDeckSans-Bold", unicode=True)
        except Exception as exc:  # a damaged font file: print in Helvetica rather than fail
            logger.warning("DejaVu Sans could not be loaded (%s); using Helvetica.", type(exc).__name__)
    else:
        logger.info("DejaVu Sans is not installed; the PDF handout uses Helvetica (Western European text only).")
    return Fonts("Helvetica", "Helvetica-Bold", unicode=False)


@dataclass(frozen=True, slots=True)
class _Styles:
    fonts: Fonts
    title: ParagraphStyle
    label: ParagraphStyle
    heading: ParagraphStyle
    body: ParagraphStyle
    bullet: ParagraphStyle
    caption: ParagraphStyle
    placeholder: ParagraphStyle
    footer: ParagraphStyle

    @classmethod
    def make(cls, fonts: Fonts) -> _Styles:
        def style(name: str, size: float, *, bold: bool = False, **extra: Any) -> ParagraphStyle:
            return ParagraphStyle(
                name,
                fontName=fonts.bold if bold else fonts.regular,
                fontSize=size,
                leading=size * 1.25,
                splitLongWords=1,
                **extra,
            )

        return cls(
            fonts=fonts,
            title=style("title", 18, bold=True, spaceAfter=4 * mm),
            label=style("label", 9, textColor=_ACCENT, spaceAfter=1 * mm),
            heading=style("heading", 12, bold=True, spaceBefore=3 * mm, spaceAfter=1.5 * mm, textColor=_ACCENT),
            body=style("body", 10, spaceAfter=1.5 * mm),
            bullet=style("bullet", 10, leftIndent=5 * mm, bulletIndent=1 * mm, spaceAfter=1 * mm),
            caption=style("caption", 8.5, textColor=_GREY, alignment=TA_CENTER),
            placeholder=style("placeholder", 10, textColor=_GREY, alignment=TA_CENTER),
            footer=style("footer", 8, textColor=_GREY),
        )

    def text(self, value: str) -> str:
        """Paragraph markup for plain text: escaped, printable in the font, line breaks kept."""
        clean = safe_text(value)
        if not self.fonts.unicode:
            clean = clean.encode("cp1252", "replace").decode("cp1252")
        return "<br/>".join(escape(line) for line in clean.splitlines()) or "&nbsp;"


# -- case-per-page ------------------------------------------------------------------------------

Fetch = Callable[[Case, KeyImage], CleanImage | None]


def _case_story(
    number: int,
    case: Case,
    plan: CasePlan,
    *,
    styles: _Styles,
    fetch: Fetch,
    extra: Sequence[_Media],
    width: float,
    height: float,
) -> list[Flowable]:
    story: list[Flowable] = [
        Paragraph(styles.text(f"Case {number}"), styles.label),
        Paragraph(styles.text(case.title), styles.title),
    ]
    story += _section("Clinical history", [case.history], styles, empty="No history given.")
    story.append(Paragraph(styles.text("Key images"), styles.heading))
    story += _image_grid(case, plan.chosen(case), styles=styles, fetch=fetch, width=width, max_height=height * 0.55)
    story += _media_story(extra, styles=styles, width=width, max_height=height * 0.4)
    answer = _answer(case, styles)
    if plan.reveal:
        story.append(PageBreak())
        story.append(Paragraph(styles.text(f"Case {number}: answer"), styles.label))
        story.append(Paragraph(styles.text(case.title), styles.title))
    story += answer
    return story


def _section(heading: str, texts: Sequence[str], styles: _Styles, *, empty: str = "") -> list[Flowable]:
    paras = [t for t in texts if t.strip()]
    if not paras and not empty:
        return []
    out: list[Flowable] = [Paragraph(styles.text(heading), styles.heading)]
    out += [Paragraph(styles.text(t), styles.body) for t in paras or [empty]]
    return out


def _bullets(heading: str, items: Sequence[str], styles: _Styles) -> list[Flowable]:
    items = [i for i in items if i.strip()]
    if not items:
        return []
    out: list[Flowable] = [Paragraph(styles.text(heading), styles.heading)]
    out += [Paragraph(styles.text(item), styles.bullet, bulletText="•") for item in items]
    return out


def _answer(case: Case, styles: _Styles) -> list[Flowable]:
    story = _section("Findings", [case.findings], styles)
    story += _section("Diagnosis", [case.diagnosis], styles)
    story += _bullets("Differential diagnosis", case.differential, styles)
    story += _bullets("Teaching points", case.teaching_points, styles)
    if not story:
        story = _section("Diagnosis", [], styles, empty="No findings or diagnosis recorded.")
    return story


def _image_grid(
    case: Case, keys: Sequence[KeyImage], *, styles: _Styles, fetch: Fetch, width: float, max_height: float
) -> list[Flowable]:
    if not keys:
        return [Paragraph(styles.text("No key images selected."), styles.body)]
    columns = 1 if len(keys) == 1 else 2
    rows = (len(keys) + columns - 1) // columns
    cell_w = width / columns - 4 * mm
    cell_h = min(max_height / min(rows, 2), cell_w * 0.9)
    cells: list[list[Flowable]] = []
    long_captions: list[Flowable] = []
    for index, key in enumerate(keys, 1):
        caption = _caption(index, key)
        shown = caption if len(caption) <= _CAPTION_IN_GRID else f"Figure {index} (caption below)"
        if shown != caption:
            long_captions.append(Paragraph(styles.text(caption), styles.body))
        cells.append(
            [_picture(fetch(case, key), cell_w, cell_h, styles), Paragraph(styles.text(shown), styles.caption)]
        )
    grid_rows = [cells[r * columns : (r + 1) * columns] for r in range(rows)]
    if len(grid_rows[-1]) < columns:
        grid_rows[-1] = [*grid_rows[-1], [Spacer(1, 1)]]
    table = Table(grid_rows, colWidths=[width / columns] * columns, hAlign="CENTER")
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("ALIGN", (0, 0), (-1, -1), "CENTER"),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3 * mm),
            ]
        )
    )
    return [table, *long_captions]


def _caption(index: int, key: KeyImage) -> str:
    parts = [f"Figure {index}"]
    if key.caption.strip():
        parts.append(key.caption.strip())
    if key.window is not None:
        parts.append(format_window(key.window))
    return " · ".join(parts)


def _picture(image: CleanImage | None, max_w: float, max_h: float, styles: _Styles) -> Flowable:
    if image is None:
        box = Table(
            [[Paragraph(styles.text("Image unavailable"), styles.placeholder)]],
            colWidths=[max_w * 0.8],
            rowHeights=[max_h * 0.6],
        )
        box.setStyle(
            TableStyle(
                [
                    ("BACKGROUND", (0, 0), (-1, -1), _LIGHT),
                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ]
            )
        )
        return box
    scale = min(max_w / image.width, max_h / image.height)
    return Image(io.BytesIO(image.data), width=image.width * scale, height=image.height * scale)


def _fetch(media: MediaSource, case: Case, key: KeyImage) -> CleanImage | None:
    """The key image cleaned of metadata, or None (an "unavailable" box); never the source's message."""
    try:
        return clean_image(media.key_image(case, key))
    except Cancelled:
        raise
    except Exception as exc:  # a CaseDeckError from the source, or bytes that are not an image
        logger.warning("A key image could not be produced for the handout (%s).", type(exc).__name__)
        return None


# -- video clips and carried slides -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Video:
    """A video clip as the handout prints it: its poster frame (None: unavailable) and caption."""

    caption: str
    poster: CleanImage | None


@dataclass(frozen=True, slots=True)
class _Slides:
    """The chosen slides of a case's PowerPoint: (caption, picture) each, or a line saying where they are."""

    label: str
    pictures: tuple[tuple[str, CleanImage | None], ...]
    missing: str


_Media = _Video | _Slides


def _media_assets(case: Case) -> list[Asset]:
    """The case's videos, then its PowerPoints (the deck's order); PDFs print only pages added as images."""
    videos = [a for a in case.assets if a.kind is AssetKind.VIDEO]
    return videos + [a for a in case.assets if a.kind is AssetKind.SLIDE_DECK]


def _fetch_media(media: MediaSource, case: Case, asset: Asset) -> _Media:
    if asset.kind is AssetKind.VIDEO:
        number = [a.id for a in _media_assets(case)].index(asset.id) + 1
        duration = _ask(lambda: mp4_duration_s(media.stack_video(case, asset, None)), "video")
        parts = [f"Video {number} — {video_title(asset)}"]
        if duration is not None:
            parts.append(format_duration(duration))
        poster = _ask(lambda: clean_image(media.stack_poster(case, asset, None)), "poster frame")
        return _Video(", ".join(parts) + f" — {VIDEO_NOTE}", poster)
    label = deck_label(asset)
    previews = _ask(lambda: list(media.asset_previews(case, asset)), "slide pictures") or []
    if not previews:
        count = len(asset.chosen)
        what = f"The {count} chosen slides" if count > 1 else "The chosen slide" if count else "The slides"
        return _Slides(label, (), f"{what} of {label} are in the PowerPoint export.")
    pictures = [(slide_caption(asset, n), _clean_or_none(previews[n])) for n in chosen_slides(asset, len(previews))]
    return _Slides(label, tuple(pictures), "")


def _clean_or_none(data: object) -> CleanImage | None:
    try:
        return clean_image(data)
    except ExportError as exc:
        logger.warning("A slide picture is not usable in the handout (%s).", type(exc).__name__)
        return None


def _ask(call: Callable[[], Any], what: str) -> Any:
    """The media source's answer, or None when it failed (logged by type only: its message may hold PHI)."""
    try:
        return call()
    except Cancelled:
        raise
    except Exception as exc:
        logger.warning("A %s could not be produced for the handout (%s).", what, type(exc).__name__)
        return None


def _media_story(items: Sequence[_Media], *, styles: _Styles, width: float, max_height: float) -> list[Flowable]:
    story: list[Flowable] = []
    videos = [i for i in items if isinstance(i, _Video)]
    if videos:
        story.append(Paragraph(styles.text("Video clips"), styles.heading))
        cell_w = width / 2 - 4 * mm
        cells = [
            [
                _picture(v.poster, cell_w, min(max_height, cell_w * 0.75), styles),
                Paragraph(styles.text(v.caption), styles.caption),
            ]
            for v in videos
        ]
        story.append(_grid(cells, 1 if len(cells) == 1 else 2, width))
    for deck in (i for i in items if isinstance(i, _Slides)):
        story.append(Paragraph(styles.text(f"Slides from {deck.label}"), styles.heading))
        if not deck.pictures:
            story.append(Paragraph(styles.text(deck.missing), styles.body))
            continue
        cell_w = width / _SLIDE_COLUMNS - 4 * mm
        cells = [
            [_picture(picture, cell_w, cell_w * 0.75, styles), Paragraph(styles.text(caption), styles.caption)]
            for caption, picture in deck.pictures
        ]
        story.append(_grid(cells, _SLIDE_COLUMNS, width))
    return story


def _grid(cells: list[list[Flowable]], columns: int, width: float) -> Table:
    rows = [cells[r : r + columns] for r in range(0, len(cells), columns)]
    rows[-1] = rows[-1] + [[Spacer(1, 1)]] * (columns - len(rows[-1]))
    table = Table(rows, colWidths=[width / columns] * columns, hAlign="CENTER")
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("ALIGN", (0, 0), (-1, -1), "CENTER"),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3 * mm),
            ]
        )
    )
    return table


def _media_panels(items: Sequence[_Media], *, styles: _Styles, width: float, height: float) -> list[list[Flowable]]:
    """One panel per video and per chosen slide (a PowerPoint without pictures: one panel saying so)."""
    panels: list[list[Flowable]] = []
    for item in items:
        if isinstance(item, _Video):
            panels.append(
                [_picture(item.poster, width, height, styles), Paragraph(styles.text(item.caption), styles.caption)]
            )
        elif not item.pictures:
            panels.append(
                [
                    Paragraph(styles.text(f"Slides from {item.label}"), styles.heading),
                    Paragraph(styles.text(item.missing), styles.body),
                ]
            )
        else:
            panels += [
                [_picture(picture, width, height, styles), Paragraph(styles.text(caption), styles.caption)]
                for caption, picture in item.pictures
            ]
    return panels


def format_duration(seconds: float) -> str:
    """``0:07`` or ``1:02:05``: how long a clip runs, to the second (at least 0:01 for a clip that runs at all)."""
    total = max(round(seconds), 1 if seconds > 0 else 0)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def mp4_duration_s(data: bytes) -> float | None:
    """The running time an MP4 declares in its movie header (``moov/mvhd``); None when it declares none."""
    moov = _box(data, 0, len(data), b"moov")
    if moov is None:
        return None
    mvhd = _box(data, moov[0], moov[1], b"mvhd")
    if mvhd is None:
        return None
    start, end = mvhd
    version = data[start] if start < end else -1
    if version == 0 and end - start >= 20:
        timescale, duration = struct.unpack(">II", data[start + 12 : start + 20])
    elif version == 1 and end - start >= 32:
        timescale, duration = struct.unpack(">IQ", data[start + 20 : start + 32])
    else:
        return None
    if timescale == 0 or duration in (0, 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF):
        return None
    return float(duration / timescale)


def _box(data: bytes, start: int, end: int, wanted: bytes) -> tuple[int, int] | None:
    """The payload (start, end) of the first ``wanted`` box among the boxes in ``data[start:end]``."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        header = 8
        if size == 1 and pos + 16 <= end:
            (size,) = struct.unpack(">Q", data[pos + 8 : pos + 16])
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            return None
        if kind == wanted:
            return pos + header, pos + size
        pos += size
    return None


# -- slides per page ----------------------------------------------------------------------------


def _slides_story(
    number: int,
    case: Case,
    plan: CasePlan,
    *,
    styles: _Styles,
    fetch: Fetch,
    width: float,
    height: float,
    extra: Sequence[_Media],
    per_page: int,
) -> list[Flowable]:
    """The case as framed 16:9 panels, ``per_page`` to a page; a quiz case's answer starts a new page."""
    columns = 1 if per_page == 2 else 2
    rows = per_page // columns
    panel_w = width / columns - 4 * mm
    panel_h = min(panel_w * 9 / 16, height / rows - 6 * mm)
    question: list[list[Flowable]] = [
        [Paragraph(styles.text(f"Case {number}"), styles.label), Paragraph(styles.text(case.title), styles.title)],
        _section("Clinical history", [case.history], styles, empty="No history given."),
    ]
    for index, key in enumerate(plan.chosen(case), 1):
        picture = _picture(fetch(case, key), panel_w - 6 * mm, panel_h - 18 * mm, styles)
        question.append([picture, Paragraph(styles.text(_caption(index, key)), styles.caption)])
    question += _media_panels(extra, styles=styles, width=panel_w - 6 * mm, height=panel_h - 18 * mm)
    answer = [_answer(case, styles)]
    groups = [question, answer] if plan.reveal else [question + answer]
    story: list[Flowable] = []
    for group in groups:
        framed = [_panel(content, panel_w, panel_h) for content in group]
        while len(framed) % columns:
            framed.append(Spacer(panel_w, panel_h))
        grid = [framed[i : i + columns] for i in range(0, len(framed), columns)]
        for start in range(0, len(grid), rows):
            if story:
                story.append(PageBreak())
            table = Table(grid[start : start + rows], colWidths=[width / columns] * columns)
            table.setStyle(
                TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("BOTTOMPADDING", (0, 0), (-1, -1), 4 * mm)])
            )
            story.append(table)
    return story


def _panel(content: list[Flowable], width: float, height: float) -> Flowable:
    """One slide: its content shrunk to fit the frame (very long text gets small, never spills)."""
    fitted = KeepInFrame(width - 6 * mm, height - 6 * mm, content, mode="shrink", hAlign="CENTER")
    box = Table([[fitted]], colWidths=[width], rowHeights=[height])
    box.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 0.75, _GREY),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("ALIGN", (0, 0), (-1, -1), "CENTER"),
            ]
        )
    )
    return box


# -- page furniture -----------------------------------------------------------------------------


def _footer(conference: Conference, styles: _Styles) -> Callable[[Any, Any], None]:
    parts = [conference.title, conference.kind.label]
    if conference.date is not None:
        parts.append(conference.date.isoformat())
    label = styles.text(" · ".join(parts)).replace("<br/>", " ")

    def draw(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        footer = Paragraph(f"{label} — page {doc.page}", styles.footer)
        _width, h = footer.wrap(doc.width, 20 * mm)
        footer.drawOn(canvas, doc.leftMargin, _MARGIN - h + 4 * mm)
        canvas.restoreState()

    return draw
