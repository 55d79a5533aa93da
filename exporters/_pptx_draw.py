"""Draw planned slides with python-pptx: text boxes, bullets, pictures, clips, slide numbers.

Only this module touches python-pptx shapes; what to draw was decided by the
planners and how it looks by a :class:`Canvas` (the built-in dark theme, or an
institution's template). Auto-fit is always off: sizes come from the plan, so
PowerPoint and LibreOffice show the same thing.

Everything is laid out on a 13.333 x 7.5 in page; a canvas maps that page
uniformly into the real slide, so a template that is not 16:9 is used as is
(the layout is scaled and centred, fonts scale with it).
"""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pptx.dml.color import ColorFormat, RGBColor
from pptx.enum.dml import MSO_THEME_COLOR
from pptx.enum.shapes import MSO_SHAPE
from pptx.enum.text import MSO_ANCHOR, MSO_AUTO_SIZE, PP_ALIGN
from pptx.opc.constants import CONTENT_TYPE as CT
from pptx.opc.constants import RELATIONSHIP_TYPE as RT
from pptx.opc.packuri import PackURI
from pptx.oxml import parse_xml
from pptx.oxml.ns import nsdecls
from pptx.parts.image import ImagePart
from pptx.presentation import Presentation
from pptx.shapes.picture import Picture
from pptx.slide import Slide, SlideLayout
from pptx.text.text import TextFrame, _Paragraph
from pptx.util import Emu, Inches, Length, Pt

from casefiles.errors import ExportError
from exporters import _theme as theme
from exporters._deck_plan import (
    ClipSlide,
    DividerSlide,
    GridSlide,
    ImageSlide,
    TextSlide,
    TitleSlide,
    fit_caption,
)
from exporters._image_clean import CleanImage
from exporters._text_fit import (
    BULLET_INDENT_PT,
    SPACE_AFTER_EM,
    SPACE_BEFORE_SUBHEAD_EM,
    Para,
    Role,
    is_rtl,
    text_width,
)

_FIELD_NAMESPACE = uuid.UUID("6f1d3c1e-2b0a-4c55-9a51-0c1a5e0dcafe")
_PAGE_W, _PAGE_H = int(theme.SLIDE_WIDTH), int(theme.SLIDE_HEIGHT)

UNAVAILABLE_TITLE = "Image unavailable"
UNAVAILABLE_DETAIL = "This key image could not be read when the deck was made."
CLIP_UNAVAILABLE_TITLE = "Clip unavailable"
CLIP_UNAVAILABLE_DETAIL = "This series could not be made into a clip when the deck was made."
SLIDE_UNAVAILABLE_TITLE = "Slide unavailable"
SLIDE_UNAVAILABLE_DETAIL = "This slide could not be carried into the deck or shown as a picture."

#: A colour: fixed RGB, or a theme colour name ("tx1", "accent1"...) that follows a template.
Colour = RGBColor | str


@dataclass(frozen=True, slots=True)
class Unavailable:
    """A key image or clip that could not be fetched or read; ``reason`` is generic and PHI-free."""

    reason: str


@dataclass(frozen=True, slots=True)
class Look:
    """Colours and fonts. ``None`` backgrounds and fonts mean "the template's own"."""

    background: RGBColor | None
    image_background: RGBColor | None
    title_text: Colour
    body_text: Colour
    muted_text: Colour
    accent: Colour
    panel: Colour
    heading_font: str | None = None
    body_font: str | None = None


DARK = Look(
    background=theme.BACKGROUND,
    image_background=theme.IMAGE_BACKGROUND,
    title_text=theme.TITLE_TEXT,
    body_text=theme.BODY_TEXT,
    muted_text=theme.MUTED_TEXT,
    accent=theme.ACCENT,
    panel=theme.PANEL,
)

#: For an institution's template: its background, theme colours and theme fonts.
TEMPLATE = Look(
    background=None,
    image_background=None,
    title_text="tx1",
    body_text="tx1",
    muted_text="tx1",
    accent="accent1",
    panel="bg2",
    heading_font="+mj-lt",
    body_font="+mn-lt",
)


class ImageParts:
    """The deck's image parts indexed by SHA-1.

    python-pptx looks for a duplicate and a free part name by walking every
    part of the package for each picture, which grows with the square of the
    deck's size; this index makes adding a picture constant-time.
    """

    _PREFIX = "/ppt/media/image"

    def __init__(self, prs: Presentation) -> None:
        self._package = prs.part.package
        self._by_sha1: dict[str, ImagePart] = {}
        self._next = 1
        self.resync()

    def resync(self) -> None:
        """Pick up image parts python-pptx added itself (poster frames, a template's pictures)."""
        used = [0]
        for part in self._package.iter_parts():
            if isinstance(part, ImagePart):
                self._by_sha1.setdefault(part.sha1, part)
            if part.partname.startswith(self._PREFIX) and part.partname.idx is not None:
                used.append(part.partname.idx)
        self._next = max(self._next, max(used) + 1)

    def add_picture(self, slide: Slide, image: CleanImage, box: tuple[Emu, Emu, Emu, Emu]) -> Picture:
        sha1 = hashlib.sha1(image.data, usedforsecurity=False).hexdigest()
        part = self._by_sha1.get(sha1)
        if part is None:
            ext, content_type = ("png", CT.PNG) if image.format == "png" else ("jpg", CT.JPEG)
            partname = PackURI(f"{self._PREFIX}{self._next}.{ext}")
            part = ImagePart(partname, content_type, self._package, image.data)
            self._next += 1
            self._by_sha1[sha1] = part
        r_id = slide.part.relate_to(part, RT.IMAGE)
        pic = slide.shapes._add_pic_from_image_part(part, r_id, *box)
        shape = slide.shapes._shape_factory(pic)
        if not isinstance(shape, Picture):  # pragma: no cover - python-pptx always makes a Picture of a p:pic
            raise ExportError("A picture could not be added to a slide; this is a bug in the deck export.")
        return shape


@dataclass(frozen=True, slots=True)
class Canvas:
    """Where and how slides are drawn: the presentation, its look, a layout per slide role, the page mapping."""

    prs: Presentation
    look: Look
    layouts: Mapping[str, SlideLayout]
    images: ImageParts
    scale: float = 1.0
    dx: int = 0
    dy: int = 0

    @classmethod
    def fitted(cls, prs: Presentation, look: Look, layouts: Mapping[str, SlideLayout]) -> Canvas:
        """A canvas mapping the 16:9 page uniformly (and centred) into ``prs``'s slide size."""
        width, height = int(prs.slide_width or _PAGE_W), int(prs.slide_height or _PAGE_H)
        scale = min(width / _PAGE_W, height / _PAGE_H)
        dx, dy = round((width - _PAGE_W * scale) / 2), round((height - _PAGE_H * scale) / 2)
        return cls(prs, look, layouts, ImageParts(prs), scale, dx, dy)

    def box(self, rect: theme.Rect) -> tuple[Emu, Emu, Emu, Emu]:
        left, top, width, height = (int(v) for v in rect.emu)
        return self.place(left, top, width, height)

    def place(self, left: int, top: int, width: int, height: int) -> tuple[Emu, Emu, Emu, Emu]:
        """Page EMU to slide EMU."""
        s = self.scale
        return (
            Emu(self.dx + round(left * s)),
            Emu(self.dy + round(top * s)),
            Emu(round(width * s)),
            Emu(round(height * s)),
        )

    def pt(self, size: float) -> Length:
        return Pt(size * self.scale)


def new_slide(canvas: Canvas, role: str, background: RGBColor | None) -> Slide:
    """A slide on the layout for ``role``, emptied of the layout's placeholders (we draw our own boxes)."""
    slide = canvas.prs.slides.add_slide(canvas.layouts[role])
    for placeholder in list(slide.placeholders):
        element = placeholder._element
        element.getparent().remove(element)
    if background is not None:
        fill = slide.background.fill
        fill.solid()
        fill.fore_color.rgb = background
    return slide


def draw_title(canvas: Canvas, spec: TitleSlide) -> Slide:
    look = canvas.look
    slide = new_slide(canvas, "title", look.background)
    _rectangle(canvas, slide, theme.TITLE_BAR, look.accent)
    tf = _text_frame(canvas, slide, theme.TITLE, MSO_ANCHOR.BOTTOM)
    _fill(canvas, tf, [Para(spec.title)], spec.title_size, colour=look.title_text, bold=True, heading=True)
    if spec.subtitle:
        tf = _text_frame(canvas, slide, theme.SUBTITLE, MSO_ANCHOR.TOP)
        _fill(canvas, tf, spec.subtitle, spec.subtitle_size, colour=look.body_text)
    tf = _text_frame(canvas, slide, theme.FOOTER, MSO_ANCHOR.MIDDLE)
    _fill(canvas, tf, [Para("CaseDeck")], theme.FOOTER_SIZE, colour=look.muted_text, bold=True)
    return slide


def draw_divider(canvas: Canvas, spec: DividerSlide) -> Slide:
    look = canvas.look
    slide = new_slide(canvas, "section", look.background)
    _rectangle(canvas, slide, theme.TITLE_BAR, look.accent)
    if spec.kicker:
        tf = _text_frame(canvas, slide, theme.KICKER, MSO_ANCHOR.BOTTOM)
        _fill(canvas, tf, [Para(spec.kicker)], theme.KICKER_SIZE, colour=look.accent, bold=True, spacing=False)
    tf = _text_frame(canvas, slide, theme.DIVIDER_TITLE, MSO_ANCHOR.MIDDLE)
    _fill(canvas, tf, [Para(spec.title)], spec.title_size, colour=look.title_text, bold=True, heading=True)
    if spec.subtitle:
        tf = _text_frame(canvas, slide, theme.DIVIDER_SUBTITLE, MSO_ANCHOR.TOP)
        _fill(canvas, tf, spec.subtitle, spec.subtitle_size, colour=look.body_text)
    _slide_number(canvas, slide)
    if spec.notes:
        set_notes(slide, spec.notes)
    return slide


def draw_text(canvas: Canvas, spec: TextSlide) -> Slide:
    look = canvas.look
    slide = new_slide(canvas, "text", look.background)
    tf = _text_frame(canvas, slide, theme.HEADING, MSO_ANCHOR.BOTTOM)
    _fill(canvas, tf, [Para(spec.heading)], theme.HEADING_SIZE, colour=look.title_text, bold=True, heading=True)
    _rectangle(canvas, slide, theme.HEADING_RULE, look.accent)
    tf = _text_frame(canvas, slide, theme.BODY, MSO_ANCHOR.TOP)
    _fill(canvas, tf, spec.paras, spec.size, colour=look.body_text)
    _slide_number(canvas, slide)
    if spec.notes:
        set_notes(slide, spec.notes)
    return slide


def draw_image(canvas: Canvas, spec: ImageSlide, image: CleanImage | Unavailable, spacing_mm: float | None) -> Slide:
    look = canvas.look
    slide = new_slide(canvas, "image", look.image_background)
    notes = spec.notes
    if isinstance(image, CleanImage):
        _picture(canvas, slide, image, theme.IMAGE_AREA, alt_text=spec.alt_text, spacing_mm=spacing_mm)
    else:
        _unavailable_panel(canvas, slide, theme.UNAVAILABLE_PANEL, UNAVAILABLE_TITLE, UNAVAILABLE_DETAIL)
        notes = f"{UNAVAILABLE_TITLE}: {image.reason}\n\n{notes}"
    _caption_band(canvas, slide, spec.caption, spec.caption_size, spec.window)
    _slide_number(canvas, slide)
    set_notes(slide, notes)
    return slide


def draw_grid(
    canvas: Canvas, spec: GridSlide, images: Sequence[tuple[CleanImage | Unavailable, float | None]]
) -> Slide:
    look = canvas.look
    slide = new_slide(canvas, "image", look.image_background)
    notes = spec.notes
    for index, (cell, (image, spacing)) in enumerate(zip(spec.cells, images, strict=True)):
        area, caption = theme.grid_cell(index)
        if isinstance(image, CleanImage):
            _picture(canvas, slide, image, area, alt_text=cell.alt_text, spacing_mm=spacing)
        else:
            _unavailable_panel(canvas, slide, area, UNAVAILABLE_TITLE, "", title_size=20.0)
            notes = f"Image {index + 1}: {UNAVAILABLE_TITLE.lower()} ({image.reason})\n\n{notes}"
        tf = _text_frame(canvas, slide, caption, MSO_ANCHOR.TOP)
        _fill(canvas, tf, [Para(cell.caption)], cell.caption_size, colour=look.body_text, spacing=False)
    _slide_number(canvas, slide)
    set_notes(slide, notes)
    return slide


def draw_clip(canvas: Canvas, spec: ClipSlide, clip: tuple[bytes, CleanImage] | Unavailable) -> Slide:
    """A movie shape with its poster frame, as large as fits; PowerPoint plays it, the poster shows elsewhere."""
    look = canvas.look
    slide = new_slide(canvas, "image", look.image_background)
    notes = spec.notes
    if isinstance(clip, Unavailable):
        _unavailable_panel(canvas, slide, theme.UNAVAILABLE_PANEL, CLIP_UNAVAILABLE_TITLE, CLIP_UNAVAILABLE_DETAIL)
        notes = f"{CLIP_UNAVAILABLE_TITLE}: {clip.reason}\n\n{notes}"
    else:
        video, poster = clip
        left, top, width, height = fit_image(poster.width, poster.height, canvas.box(theme.IMAGE_AREA))
        movie = slide.shapes.add_movie(
            io.BytesIO(video),
            left,
            top,
            width,
            height,
            poster_frame_image=io.BytesIO(poster.data),
            mime_type="video/mp4",
        )
        canvas.images.resync()  # python-pptx named the poster's image part itself
        for c_nv_pr in movie._element.xpath("./p:nvPicPr/p:cNvPr"):
            c_nv_pr.set("name", f"Clip {len(slide.shapes)}")
            c_nv_pr.set("descr", spec.alt_text)
    _caption_band(canvas, slide, spec.caption, spec.caption_size, spec.window_label)
    _slide_number(canvas, slide)
    set_notes(slide, notes)
    return slide


def draw_picture(canvas: Canvas, image: CleanImage | Unavailable, caption: str, *, notes: str) -> Slide:
    """A picture standing in for a slide carried from another deck (or a panel), captioned under it."""
    look = canvas.look
    slide = new_slide(canvas, "image", look.image_background)
    if isinstance(image, CleanImage):
        _picture(canvas, slide, image, theme.IMAGE_AREA, alt_text=caption, spacing_mm=None)
    else:
        _unavailable_panel(canvas, slide, theme.UNAVAILABLE_PANEL, SLIDE_UNAVAILABLE_TITLE, SLIDE_UNAVAILABLE_DETAIL)
        notes = f"{SLIDE_UNAVAILABLE_TITLE}: {image.reason}\n\n{notes}"
    shown, size = fit_caption(caption)
    _caption_band(canvas, slide, shown, size, "")
    _slide_number(canvas, slide)
    set_notes(slide, notes)
    return slide


def set_notes(slide: Slide, text: str) -> None:
    frame = slide.notes_slide.notes_text_frame
    if frame is None:
        raise ExportError("The speaker notes of a slide could not be written (the notes layout has no text area).")
    frame.text = text


def fit_image(px_width: int, px_height: int, area: tuple[Emu, Emu, Emu, Emu]) -> tuple[Emu, Emu, Emu, Emu]:
    """The largest box with the image's aspect ratio inside ``area``, centred (left, top, width, height)."""
    left, top, width, height = area
    scale = min(width / px_width, height / px_height)
    w, h = round(px_width * scale), round(px_height * scale)
    return Emu(left + (width - w) // 2), Emu(top + (height - h) // 2), Emu(w), Emu(h)


def scale_bar_mm(image_width_mm: float) -> float | None:
    """The longest round length (100, 50, 20, 10... mm) no wider than a quarter of the image; None if none fits."""
    for length in theme.SCALE_BAR_MM:
        if length <= image_width_mm * theme.SCALE_BAR_MAX_FRACTION:
            return length
    return None


def _picture(
    canvas: Canvas, slide: Slide, image: CleanImage, area: theme.Rect, *, alt_text: str, spacing_mm: float | None
) -> None:
    left, top, width, height = fit_image(image.width, image.height, canvas.box(area))
    picture = canvas.images.add_picture(slide, image, (left, top, width, height))
    # Alt text from the caption (case text), never the image's own name or metadata.
    for c_nv_pr in picture._element.xpath("./p:nvPicPr/p:cNvPr"):
        c_nv_pr.set("descr", alt_text)
    if spacing_mm is not None and spacing_mm > 0:
        _scale_bar(canvas, slide, (left, top, width, height), image.width * spacing_mm)


def _scale_bar(canvas: Canvas, slide: Slide, pic: tuple[Emu, Emu, Emu, Emu], image_width_mm: float) -> None:
    """A white bar with its length, on a dark plate, inside the picture's bottom-left corner."""
    length = scale_bar_mm(image_width_mm)
    if length is None:
        return
    left, top, width, height = pic
    bar_w = round(width * length / image_width_mm)
    margin = round(min(width, height) * 0.03)
    label_h = round(canvas.pt(theme.SCALE_BAR_SIZE) * 1.6)
    bar_h = max(round(canvas.pt(3)), 1)
    pad = round(canvas.pt(4))
    label = f"{length:g} mm"
    label_w = round(canvas.pt(text_width(label, theme.SCALE_BAR_SIZE) * 1.15))
    plate_w = max(bar_w, label_w) + 2 * pad
    plate_h = label_h + bar_h + 2 * pad
    plate_left = left + margin
    plate_top = top + height - margin - plate_h
    plate = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, Emu(plate_left), Emu(plate_top), Emu(plate_w), Emu(plate_h))
    _plain(plate, RGBColor(0, 0, 0))
    bar = slide.shapes.add_shape(
        MSO_SHAPE.RECTANGLE, Emu(plate_left + pad), Emu(plate_top + pad + label_h), Emu(bar_w), Emu(bar_h)
    )
    _plain(bar, RGBColor(0xFF, 0xFF, 0xFF))
    box = slide.shapes.add_textbox(Emu(plate_left + pad), Emu(plate_top + pad), Emu(plate_w - 2 * pad), Emu(label_h))
    tf = box.text_frame
    _configure(tf, MSO_ANCHOR.BOTTOM)
    tf.word_wrap = False
    tf.margin_left = tf.margin_right = tf.margin_top = tf.margin_bottom = Emu(0)
    _fill(canvas, tf, [Para(label)], theme.SCALE_BAR_SIZE, colour=RGBColor(0xFF, 0xFF, 0xFF), spacing=False)
    box.name = f"Scale bar {label}"


def _caption_band(canvas: Canvas, slide: Slide, caption: str, size: float, window: str) -> None:
    look = canvas.look
    caption_rect = theme.CAPTION_WITH_WINDOW if window else theme.CAPTION_ALONE
    tf = _text_frame(canvas, slide, caption_rect, MSO_ANCHOR.MIDDLE)
    _fill(canvas, tf, [Para(caption)], size, colour=look.body_text, spacing=False)
    if window:
        tf = _text_frame(canvas, slide, theme.WINDOW, MSO_ANCHOR.MIDDLE)
        _fill(canvas, tf, [Para(window)], theme.WINDOW_SIZE, colour=look.accent, align=PP_ALIGN.RIGHT, spacing=False)


def _unavailable_panel(
    canvas: Canvas, slide: Slide, rect: theme.Rect, title: str, detail: str, *, title_size: float = 32.0
) -> None:
    look = canvas.look
    shape = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, *canvas.box(rect))
    _plain(shape, look.panel)
    tf = shape.text_frame
    _configure(tf, MSO_ANCHOR.MIDDLE)
    _fill(canvas, tf, [Para(title)], title_size, colour=look.title_text, bold=True, align=PP_ALIGN.CENTER)
    if detail:
        p = tf.add_paragraph()
        _style(canvas, p, Para(detail), 18.0, colour=look.muted_text, bold=False, align=PP_ALIGN.CENTER)


def _plain(shape: object, colour: Colour) -> None:
    """A flat fill without outline or shadow."""
    fill = shape.fill  # type: ignore[attr-defined]
    fill.solid()
    _paint(fill.fore_color, colour)
    shape.line.fill.background()  # type: ignore[attr-defined]
    shape.shadow.inherit = False  # type: ignore[attr-defined]


def _rectangle(canvas: Canvas, slide: Slide, rect: theme.Rect, colour: Colour) -> None:
    _plain(slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, *canvas.box(rect)), colour)


def _paint(color: ColorFormat, colour: Colour) -> None:
    if isinstance(colour, RGBColor):
        color.rgb = colour
    else:
        color.theme_color = MSO_THEME_COLOR.from_xml(colour)


def _colour_xml(colour: Colour) -> str:
    if isinstance(colour, RGBColor):
        return f'<a:srgbClr val="{colour}"/>'
    return f'<a:schemeClr val="{colour}"/>'


def _text_frame(canvas: Canvas, slide: Slide, rect: theme.Rect, anchor: MSO_ANCHOR) -> TextFrame:
    tf = slide.shapes.add_textbox(*canvas.box(rect)).text_frame
    _configure(tf, anchor)
    inset = Emu(round(Inches(theme.INSET_IN) * canvas.scale))
    tf.margin_left = tf.margin_right = tf.margin_top = tf.margin_bottom = inset
    return tf


def _configure(tf: TextFrame, anchor: MSO_ANCHOR) -> None:
    tf.word_wrap = True
    tf.auto_size = MSO_AUTO_SIZE.NONE
    tf.vertical_anchor = anchor
    inset = Inches(theme.INSET_IN)
    tf.margin_left = tf.margin_right = tf.margin_top = tf.margin_bottom = inset


def _fill(
    canvas: Canvas,
    tf: TextFrame,
    paras: Sequence[Para],
    size: float,
    *,
    colour: Colour,
    bold: bool = False,
    align: PP_ALIGN | None = None,
    spacing: bool = True,
    heading: bool = False,
) -> None:
    for i, para in enumerate(paras):
        p = tf.paragraphs[0] if i == 0 else tf.add_paragraph()
        _style(
            canvas, p, para, size, colour=colour, bold=bold, align=align, first=i == 0, spacing=spacing, heading=heading
        )


def _style(
    canvas: Canvas,
    p: _Paragraph,
    para: Para,
    size: float,
    *,
    colour: Colour,
    bold: bool,
    align: PP_ALIGN | None = None,
    first: bool = False,
    spacing: bool = True,
    heading: bool = False,
) -> None:
    look = canvas.look
    run = p.add_run()
    run.text = para.text
    font = run.font
    font.size = canvas.pt(size)
    font.bold = bold or para.role is Role.SUBHEAD
    _paint(font.color, look.accent if para.role is Role.SUBHEAD else colour)
    face = look.heading_font if heading else look.body_font
    if face:
        font.name = face
    if spacing:
        p.space_after = canvas.pt(SPACE_AFTER_EM * size)
        if para.role is Role.SUBHEAD and not first:
            p.space_before = canvas.pt(SPACE_BEFORE_SUBHEAD_EM * size)
    rtl = is_rtl(para.text)
    if align is not None:
        p.alignment = align
    elif rtl:
        p.alignment = PP_ALIGN.RIGHT
    p_pr = p._p.get_or_add_pPr()
    if rtl:
        p_pr.set("rtl", "1")
    if para.role is Role.BULLET:
        indent = Emu(round(Pt(BULLET_INDENT_PT) * canvas.scale))
        p_pr.set("marL", str(indent))
        p_pr.set("indent", "0" if para.continued else str(-indent))
        if para.continued:
            p_pr.append(parse_xml(f"<a:buNone {nsdecls('a')}/>"))
        else:
            p_pr.append(parse_xml(f"<a:buClr {nsdecls('a')}>{_colour_xml(look.accent)}</a:buClr>"))
            p_pr.append(parse_xml(f'<a:buChar {nsdecls("a")} char="•"/>'))


def _slide_number(canvas: Canvas, slide: Slide) -> None:
    """A real slide-number field, so the numbers stay right if slides are moved later."""
    number = len(canvas.prs.slides)
    tf = _text_frame(canvas, slide, theme.NUMBER, MSO_ANCHOR.MIDDLE)
    p = tf.paragraphs[0]
    p.alignment = PP_ALIGN.RIGHT
    field_id = "{" + str(uuid.uuid5(_FIELD_NAMESPACE, str(number))).upper() + "}"
    fld = parse_xml(
        f'<a:fld {nsdecls("a")} id="{field_id}" type="slidenum">'
        f'<a:rPr lang="en-US" sz="{round(theme.NUMBER_SIZE * canvas.scale * 100)}">'
        f"<a:solidFill>{_colour_xml(canvas.look.muted_text)}</a:solidFill></a:rPr>"
        f"<a:t>{number}</a:t></a:fld>"
    )
    p._p.append(fld)
