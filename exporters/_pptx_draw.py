"""Draw planned slides with python-pptx: text boxes, bullets, pictures, slide numbers.

Only this module touches python-pptx shapes; what to draw was decided by
``_deck_plan`` and how it looks by ``_theme``. Auto-fit is always off: sizes
come from the plan, so PowerPoint and LibreOffice show the same thing.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from pptx.dml.color import RGBColor
from pptx.enum.shapes import MSO_SHAPE
from pptx.enum.text import MSO_ANCHOR, MSO_AUTO_SIZE, PP_ALIGN
from pptx.oxml import parse_xml
from pptx.oxml.ns import nsdecls
from pptx.presentation import Presentation
from pptx.slide import Slide
from pptx.text.text import TextFrame, _Paragraph
from pptx.util import Emu, Inches, Pt

from casefiles.errors import ExportError
from exporters import _theme as theme
from exporters._deck_plan import ImageSlide, TextSlide, TitleSlide
from exporters._image_clean import CleanImage
from exporters._text_fit import BULLET_INDENT_PT, SPACE_AFTER_EM, SPACE_BEFORE_SUBHEAD_EM, Para, Role, is_rtl

_BLANK_LAYOUT = 6  # "Blank" in python-pptx's default template
_FIELD_NAMESPACE = uuid.UUID("6f1d3c1e-2b0a-4c55-9a51-0c1a5e0dcafe")

UNAVAILABLE_TITLE = "Image unavailable"
UNAVAILABLE_DETAIL = "This key image could not be read when the deck was made."


@dataclass(frozen=True, slots=True)
class Unavailable:
    """A key image that could not be fetched or read; ``reason`` is generic and PHI-free."""

    reason: str


def new_slide(prs: Presentation, background: RGBColor) -> Slide:
    slide = prs.slides.add_slide(prs.slide_layouts[_BLANK_LAYOUT])
    fill = slide.background.fill
    fill.solid()
    fill.fore_color.rgb = background
    return slide


def draw_title(prs: Presentation, spec: TitleSlide) -> Slide:
    slide = new_slide(prs, theme.BACKGROUND)
    _rectangle(slide, theme.TITLE_BAR, theme.ACCENT)
    tf = _text_frame(slide, theme.TITLE, MSO_ANCHOR.BOTTOM)
    _fill(tf, [Para(spec.title)], spec.title_size, colour=theme.TITLE_TEXT, bold=True)
    if spec.subtitle:
        tf = _text_frame(slide, theme.SUBTITLE, MSO_ANCHOR.TOP)
        _fill(tf, spec.subtitle, spec.subtitle_size, colour=theme.BODY_TEXT)
    tf = _text_frame(slide, theme.FOOTER, MSO_ANCHOR.MIDDLE)
    _fill(tf, [Para("CaseDeck")], theme.FOOTER_SIZE, colour=theme.MUTED_TEXT, bold=True)
    return slide


def draw_text(prs: Presentation, spec: TextSlide) -> Slide:
    slide = new_slide(prs, theme.BACKGROUND)
    tf = _text_frame(slide, theme.HEADING, MSO_ANCHOR.BOTTOM)
    _fill(tf, [Para(spec.heading)], theme.HEADING_SIZE, colour=theme.TITLE_TEXT, bold=True)
    _rectangle(slide, theme.HEADING_RULE, theme.ACCENT)
    tf = _text_frame(slide, theme.BODY, MSO_ANCHOR.TOP)
    _fill(tf, spec.paras, spec.size, colour=theme.BODY_TEXT)
    _slide_number(slide, len(prs.slides))
    if spec.notes:
        _set_notes(slide, spec.notes)
    return slide


def draw_image(prs: Presentation, spec: ImageSlide, image: CleanImage | Unavailable) -> Slide:
    slide = new_slide(prs, theme.IMAGE_BACKGROUND)
    notes = spec.notes
    if isinstance(image, CleanImage):
        left, top, width, height = fit_image(image.width, image.height, theme.IMAGE_AREA)
        picture = slide.shapes.add_picture(io.BytesIO(image.data), left, top, width, height)
        # Alt text from the caption (case text), never the image's own name or metadata.
        for c_nv_pr in picture._element.xpath("./p:nvPicPr/p:cNvPr"):
            c_nv_pr.set("descr", spec.alt_text)
    else:
        _unavailable_panel(slide)
        notes = f"{UNAVAILABLE_TITLE}: {image.reason}\n\n{notes}"
    caption_rect = theme.CAPTION_WITH_WINDOW if spec.window else theme.CAPTION_ALONE
    tf = _text_frame(slide, caption_rect, MSO_ANCHOR.MIDDLE)
    _fill(tf, [Para(spec.caption)], spec.caption_size, colour=theme.BODY_TEXT, spacing=False)
    if spec.window:
        tf = _text_frame(slide, theme.WINDOW, MSO_ANCHOR.MIDDLE)
        _fill(tf, [Para(spec.window)], theme.WINDOW_SIZE, colour=theme.ACCENT, align=PP_ALIGN.RIGHT, spacing=False)
    _slide_number(slide, len(prs.slides))
    _set_notes(slide, notes)
    return slide


def _set_notes(slide: Slide, text: str) -> None:
    frame = slide.notes_slide.notes_text_frame
    if frame is None:
        raise ExportError("The speaker notes of a slide could not be written (the notes layout has no text area).")
    frame.text = text


def fit_image(px_width: int, px_height: int, area: theme.Rect) -> tuple[Emu, Emu, Emu, Emu]:
    """The largest box with the image's aspect ratio inside ``area``, centred (left, top, width, height)."""
    left, top, width, height = area.emu
    scale = min(width / px_width, height / px_height)
    w, h = round(px_width * scale), round(px_height * scale)
    return Emu(left + (width - w) // 2), Emu(top + (height - h) // 2), Emu(w), Emu(h)


def _unavailable_panel(slide: Slide) -> None:
    shape = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, *theme.UNAVAILABLE_PANEL.emu)
    shape.fill.solid()
    shape.fill.fore_color.rgb = theme.PANEL
    shape.line.fill.background()
    shape.shadow.inherit = False
    tf = shape.text_frame
    _configure(tf, MSO_ANCHOR.MIDDLE)
    _fill(tf, [Para(UNAVAILABLE_TITLE)], 32.0, colour=theme.TITLE_TEXT, bold=True, align=PP_ALIGN.CENTER)
    p = tf.add_paragraph()
    _style(p, Para(UNAVAILABLE_DETAIL), 18.0, colour=theme.MUTED_TEXT, bold=False, align=PP_ALIGN.CENTER)


def _rectangle(slide: Slide, rect: theme.Rect, colour: RGBColor) -> None:
    shape = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, *rect.emu)
    shape.fill.solid()
    shape.fill.fore_color.rgb = colour
    shape.line.fill.background()
    shape.shadow.inherit = False


def _text_frame(slide: Slide, rect: theme.Rect, anchor: MSO_ANCHOR) -> TextFrame:
    tf = slide.shapes.add_textbox(*rect.emu).text_frame
    _configure(tf, anchor)
    return tf


def _configure(tf: TextFrame, anchor: MSO_ANCHOR) -> None:
    tf.word_wrap = True
    tf.auto_size = MSO_AUTO_SIZE.NONE
    tf.vertical_anchor = anchor
    inset = Inches(theme.INSET_IN)
    tf.margin_left = tf.margin_right = tf.margin_top = tf.margin_bottom = inset


def _fill(
    tf: TextFrame,
    paras: Sequence[Para],
    size: float,
    *,
    colour: RGBColor,
    bold: bool = False,
    align: PP_ALIGN | None = None,
    spacing: bool = True,
) -> None:
    for i, para in enumerate(paras):
        p = tf.paragraphs[0] if i == 0 else tf.add_paragraph()
        _style(p, para, size, colour=colour, bold=bold, align=align, first=i == 0, spacing=spacing)


def _style(
    p: _Paragraph,
    para: Para,
    size: float,
    *,
    colour: RGBColor,
    bold: bool,
    align: PP_ALIGN | None = None,
    first: bool = False,
    spacing: bool = True,
) -> None:
    run = p.add_run()
    run.text = para.text
    font = run.font
    font.size = Pt(size)
    font.bold = bold or para.role is Role.SUBHEAD
    font.color.rgb = theme.ACCENT if para.role is Role.SUBHEAD else colour
    if spacing:
        p.space_after = Pt(SPACE_AFTER_EM * size)
        if para.role is Role.SUBHEAD and not first:
            p.space_before = Pt(SPACE_BEFORE_SUBHEAD_EM * size)
    rtl = is_rtl(para.text)
    if align is not None:
        p.alignment = align
    elif rtl:
        p.alignment = PP_ALIGN.RIGHT
    p_pr = p._p.get_or_add_pPr()
    if rtl:
        p_pr.set("rtl", "1")
    if para.role is Role.BULLET:
        indent = Pt(BULLET_INDENT_PT)
        p_pr.set("marL", str(indent))
        p_pr.set("indent", "0" if para.continued else str(-indent))
        if para.continued:
            p_pr.append(parse_xml(f"<a:buNone {nsdecls('a')}/>"))
        else:
            p_pr.append(parse_xml(f'<a:buClr {nsdecls("a")}><a:srgbClr val="{theme.ACCENT}"/></a:buClr>'))
            p_pr.append(parse_xml(f'<a:buChar {nsdecls("a")} char="•"/>'))


def _slide_number(slide: Slide, number: int) -> None:
    """A real slide-number field, so the numbers stay right if slides are moved later."""
    tf = _text_frame(slide, theme.NUMBER, MSO_ANCHOR.MIDDLE)
    p = tf.paragraphs[0]
    p.alignment = PP_ALIGN.RIGHT
    field_id = "{" + str(uuid.uuid5(_FIELD_NAMESPACE, str(number))).upper() + "}"
    colour = theme.MUTED_TEXT
    fld = parse_xml(
        f'<a:fld {nsdecls("a")} id="{field_id}" type="slidenum">'
        f'<a:rPr lang="en-US" sz="{round(theme.NUMBER_SIZE * 100)}">'
        f'<a:solidFill><a:srgbClr val="{colour}"/></a:solidFill></a:rPr>'
        f"<a:t>{number}</a:t></a:fld>"
    )
    p._p.append(fld)
