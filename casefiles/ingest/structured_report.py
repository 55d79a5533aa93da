"""A text structured report (Basic Text, Enhanced, Comprehensive SR) as a document of a case.

The report's content tree is read from the de-identified instance (whose text
the de-identifier has cleaned already) and written out as plain text: section
headings from CONTAINER items, "Concept: value" lines for TEXT, CODE and NUM
items. Every value is cleaned again by
:func:`casefiles.deid.freetext.clean_free_text`; items that name people,
dates, times or UIDs (PNAME, DATE, TIME, DATETIME, UIDREF) and references to
images or coordinates are not written at all. The text becomes a small PDF
(ReportLab, fixed metadata, no dates): the Case page shows such a document,
its pages can be added as images, and exporters carry those pages, not the PDF.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from pathlib import Path
from xml.sax.saxutils import escape

from pydicom.dataset import Dataset

from casefiles.deid.freetext import clean_free_text, clean_label
from casefiles.errors import ImportFailure
from casefiles.ingest.nonradiology import Converted, pdf_document

__all__ = ["MAX_REPORT_CHARS", "NO_TEXT", "report_document", "report_text"]

#: The longest text kept from one report; the rest is cut (a report, not a book).
MAX_REPORT_CHARS = 100_000
_MAX_DEPTH = 16  # deeper content trees are malformed (or hostile) input
_MAX_ITEMS = 5_000
_FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
NO_TEXT = "is a structured report with no text to show; left out"
_TRUNCATED = "[The rest of the report was cut.]"


def report_text(ds: Dataset) -> str:
    """The report's text: its title, then one line per heading, text, code or number, cleaned.

    Returns "" for a report with nothing to show.
    """
    lines = [line for line in _lines(ds, depth=0, budget=[_MAX_ITEMS]) if line.strip()]
    if not any(not line.startswith("#") for line in lines):
        return ""  # headings only: nothing a reader could learn from
    if not lines[0].startswith("# "):
        lines.insert(0, "# Report")  # the root container had no title
    text = "\n".join(lines)
    if len(text) > MAX_REPORT_CHARS:
        text = text[:MAX_REPORT_CHARS].rsplit("\n", 1)[0] + "\n" + _TRUNCATED
    return text


def report_document(ds: Dataset, *, workdir: Path) -> Converted:
    """A de-identified text SR as a PDF document asset, with page previews.

    Raises ImportFailure (a reason for the import report) when the report has no text.
    """
    text = report_text(ds)
    if not text:
        raise ImportFailure(NO_TEXT)
    return pdf_document(_pdf(text), workdir=workdir)


def _lines(item: Dataset, *, depth: int, budget: list[int]) -> Iterator[str]:
    if depth > _MAX_DEPTH or budget[0] <= 0:
        return
    budget[0] -= 1
    kind = str(item.get("ValueType", "") or "").strip().upper()
    name = _meaning(item)
    if kind == "CONTAINER":
        if name:
            yield f"# {name}" if depth == 0 else f"{'#' * min(depth + 1, 4)} {name}"
    else:
        value = _value(item, kind)
        if value:
            yield f"{name}: {value}" if name else value
    for child in _children(item):
        yield from _lines(child, depth=depth + 1, budget=budget)


def _children(item: Dataset) -> list[Dataset]:
    try:
        children = item.get("ContentSequence") or []
        return [c for c in children if isinstance(c, Dataset)]
    except Exception:  # a damaged sequence: what was read so far is the report
        return []


def _value(item: Dataset, kind: str) -> str:
    """The cleaned value of a TEXT, CODE or NUM item; "" for anything else."""
    try:
        if kind == "TEXT":
            return clean_free_text(str(item.get("TextValue", "") or "")).strip()
        if kind == "CODE":
            codes = item.get("ConceptCodeSequence") or []
            return _code_meaning(codes[0]) if codes else ""
        if kind == "NUM":
            return _number(item)
    except Exception:  # a value pydicom cannot decode is left out, not guessed
        return ""
    return ""


def _number(item: Dataset) -> str:
    values = item.get("MeasuredValueSequence") or []
    if not values:
        return ""
    measured = values[0]
    number = str(measured.get("NumericValue", "") or "").strip()
    if not number:
        return ""
    units = measured.get("MeasurementUnitsCodeSequence") or []
    unit = str(units[0].get("CodeValue", "") or "").strip() if units else ""
    unit = clean_label(unit, 32) if unit and unit != "1" else ""
    return f"{clean_label(number, 32)} {unit}".strip()


def _meaning(item: Dataset) -> str:
    try:
        names = item.get("ConceptNameCodeSequence") or []
        return _code_meaning(names[0]) if names else ""
    except Exception:
        return ""


def _code_meaning(code: Dataset) -> str:
    return clean_label(" ".join(str(code.get("CodeMeaning", "") or "").split()), 200)


def _pdf(text: str) -> bytes:
    """The text laid out on A4 pages: "# " lines as headings, the rest as paragraphs."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    regular, bold, unicode = _fonts()
    body = ParagraphStyle("body", fontName=regular, fontSize=10, leading=13, spaceAfter=4, splitLongWords=1)
    title = ParagraphStyle("title", fontName=bold, fontSize=15, leading=19, spaceAfter=8)
    heading = ParagraphStyle("heading", fontName=bold, fontSize=11.5, leading=15, spaceBefore=6, spaceAfter=3)
    story = []
    for number, line in enumerate(text.splitlines()):
        stripped = line.lstrip("#").strip()
        if not unicode:
            stripped = stripped.encode("cp1252", "replace").decode("cp1252")
        markup = escape(stripped) or "&nbsp;"
        if line.startswith("#"):
            story.append(Paragraph(markup, title if number == 0 else heading))
        else:
            story.append(Paragraph(markup, body))
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title="Structured report",
        author="CaseDeck",
        subject="",
        keywords="",
        creator="CaseDeck",
        producer="CaseDeck",
        invariant=1,  # fixed dates and document id: nothing of when or where it was made
        lang="",
    )
    doc.build(story)
    return out.getvalue()


def _fonts() -> tuple[str, str, bool]:
    """DejaVu Sans when installed (most scripts), else ReportLab's built-in Helvetica (Western European)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    names = ("CaseDeckReport", "CaseDeckReport-Bold")
    if names[0] in pdfmetrics.getRegisteredFontNames():
        return names[0], names[1], True
    regular, bold = _FONT_DIR / "DejaVuSans.ttf", _FONT_DIR / "DejaVuSans-Bold.ttf"
    if regular.is_file() and bold.is_file():
        with contextlib.suppress(Exception):  # a damaged font file: Helvetica rather than no report
            pdfmetrics.registerFont(TTFont(names[0], str(regular)))
            pdfmetrics.registerFont(TTFont(names[1], str(bold)))
            return names[0], names[1], True
    return "Helvetica", "Helvetica-Bold", False
