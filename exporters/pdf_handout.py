"""Export a conference as a printable PDF handout (ReportLab: no LibreOffice needed at run time).

Layout "case-per-page": each case starts a page with its title and history,
the chosen key images in a grid with captions, then findings, diagnosis,
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
from casefiles.model import Case, CasePlan, Conference, KeyImage
from casefiles.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from exporters._atomic import check_target, write_atomically
from exporters._deck_plan import format_window, safe_text
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
    total = sum(len(plan.chosen(case)) for case, plan in entries) + len(entries) + 1
    done = 0

    def fetch(case: Case, key: KeyImage) -> CleanImage | None:
        nonlocal done
        cancel.raise_if_cancelled()
        image = _fetch(media, case, key)
        done += 1
        progress(done, total, f"Prepared image {done} of {total - len(entries) - 1}")
        return image

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
                number, case, plan, styles=styles, fetch=fetch, width=width, height=height, per_page=per_page
            )
        else:
            story += _case_story(number, case, plan, styles=styles, fetch=fetch, width=width, height=height)
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
    number: int, case: Case, plan: CasePlan, *, styles: _Styles, fetch: Fetch, width: float, height: float
) -> list[Flowable]:
    story: list[Flowable] = [
        Paragraph(styles.text(f"Case {number}"), styles.label),
        Paragraph(styles.text(case.title), styles.title),
    ]
    story += _section("Clinical history", [case.history], styles, empty="No history given.")
    story.append(Paragraph(styles.text("Key images"), styles.heading))
    story += _image_grid(case, plan.chosen(case), styles=styles, fetch=fetch, width=width, max_height=height * 0.55)
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
