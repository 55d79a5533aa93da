"""Decks built with python-pptx the way a referring team's PowerPoint would carry a patient's name."""

from __future__ import annotations

import io
import zipfile

from PIL import Image
from pptx import Presentation
from pptx.chart.data import CategoryChartData
from pptx.enum.chart import XL_CHART_TYPE
from pptx.opc.constants import RELATIONSHIP_TYPE as RT
from pptx.opc.package import Part
from pptx.opc.packuri import PackURI
from pptx.oxml import parse_xml
from pptx.util import Inches, Pt

NAME = "DOE^JOHN"
TITLES = ["Tumor board: pancreas", "History", "Imaging findings", "Histology", "Plan"]
BODY = {1: "Weight loss and jaundice", 2: "Hypodense mass in the pancreatic head", 4: "Whipple procedure"}
NOTES = f"Speaker notes about {NAME}"
LINK = f"https://pacs.example/viewer?patient={NAME}"

_P = "http://schemas.openxmlformats.org/presentationml/2006/main"
_COMMENT_AUTHORS_XML = (
    f'<p:cmAuthorLst xmlns:p="{_P}"><p:cmAuthor id="0" name="{NAME}" initials="JD" lastIdx="1" clrIdx="0"/>'
    "</p:cmAuthorLst>"
)
_COMMENTS_XML = (
    f'<p:cmLst xmlns:p="{_P}"><p:cm authorId="0" dt="2024-03-01T10:00:00.000" idx="1">'
    f'<p:pos x="10" y="10"/><p:text>Check with {NAME} family</p:text></p:cm></p:cmLst>'
)
_APP_XML = (
    '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
    f"<Company>{NAME} clinic</Company><Manager>{NAME}</Manager></Properties>"
)
_CUSTOM_XML = (
    '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" '
    'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
    '<property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="2" name="Patient">'
    f"<vt:lpwstr>{NAME}</vt:lpwstr></property></Properties>"
)


_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_P188 = "http://schemas.microsoft.com/office/powerpoint/2018/8/main"
_MODERN_AUTHORS_XML = (
    f'<p188:authorLst xmlns:p188="{_P188}"><p188:author id="{{1A2B3C4D-0000-0000-0000-000000000001}}" '
    f'name="{NAME}" initials="JD" userId="{NAME}@hospital.example" providerId="AD"/></p188:authorLst>'
)
_MODERN_COMMENTS_XML = (
    f'<p188:cmLst xmlns:p188="{_P188}" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">'
    '<p188:cm id="{1A2B3C4D-0000-0000-0000-000000000002}" authorId="{1A2B3C4D-0000-0000-0000-000000000001}" '
    'created="2024-03-01T10:00:00.000"><p188:txBody><a:bodyPr/><a:p><a:r><a:t>'
    f"Ask {NAME} about the biopsy</a:t></a:r></a:p></p188:txBody></p188:cm></p188:cmLst>"
)
LINKED_PICTURE = f"file:///C:/Users/{NAME}/scan.jpg"


def micrograph_jpeg(with_exif: bool = True) -> bytes:
    """A pink-and-purple 'histology' picture whose EXIF names the patient."""
    image = Image.new("RGB", (400, 300), (230, 160, 200))
    for x in range(0, 400, 40):
        for y in range(0, 300, 40):
            image.paste((90, 40, 140), (x, y, x + 20, y + 20))
    exif = Image.Exif()
    if with_exif:
        exif[0x013B] = NAME  # Artist
        exif[0x010E] = f"Biopsy {NAME}"  # ImageDescription
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=90, exif=exif.tobytes() if with_exif else b"")
    return buf.getvalue()


def build_deck(*, notes: bool = True, comment: bool = True, widescreen: bool = False) -> bytes:
    """Five slides (title, text, text+link+chart, picture, text) with the patient's name in every hiding place."""
    prs = Presentation()
    if widescreen:
        prs.slide_width, prs.slide_height = Inches(13.333), Inches(7.5)
    title_layout, content_layout, title_only = prs.slide_layouts[0], prs.slide_layouts[1], prs.slide_layouts[5]
    for i, title in enumerate(TITLES):
        layout = title_layout if i == 0 else title_only if i == 3 else content_layout
        slide = prs.slides.add_slide(layout)
        slide.shapes.title.text = title
        if i == 0:
            slide.placeholders[1].text = "Multidisciplinary meeting"
        if i in BODY:
            body = slide.placeholders[1].text_frame
            body.text = BODY[i]
        if i == 2:
            run = body.add_paragraph().add_run()
            run.text = "Open in the viewer"
            run.hyperlink.address = LINK
            data = CategoryChartData()
            data.categories = ["CA 19-9", "CEA"]
            data.add_series("Marker", (120.0, 8.0))
            slide.shapes.add_chart(XL_CHART_TYPE.COLUMN_CLUSTERED, Inches(6), Inches(4.5), Inches(3), Inches(2.5), data)
        if i == 3:
            slide.shapes.add_picture(io.BytesIO(micrograph_jpeg()), Inches(1), Inches(1.8), Inches(6), Inches(4.5))
            box = slide.shapes.add_textbox(Inches(7.2), Inches(2), Inches(2.5), Inches(1))
            box.text_frame.text = "H&E x20"
            box.text_frame.paragraphs[0].runs[0].font.size = Pt(20)
        if notes and i in (1, 3):
            slide.notes_slide.notes_text_frame.text = NOTES
    core = prs.core_properties
    core.author = NAME
    core.last_modified_by = NAME
    core.title = f"{NAME} tumor board"
    core.subject = NAME
    core.keywords = NAME
    core.comments = NAME
    package = prs.part.package
    package.part_related_by(RT.EXTENDED_PROPERTIES).blob = _APP_XML.encode()
    custom = Part(
        PackURI("/docProps/custom.xml"),
        "application/vnd.openxmlformats-officedocument.custom-properties+xml",
        package,
        _CUSTOM_XML.encode(),
    )
    package.relate_to(custom, RT.CUSTOM_PROPERTIES)
    if comment:
        authors = Part(
            PackURI("/ppt/commentAuthors.xml"),
            "application/vnd.openxmlformats-officedocument.presentationml.commentAuthors+xml",
            package,
            _COMMENT_AUTHORS_XML.encode(),
        )
        prs.part.relate_to(authors, RT.COMMENT_AUTHORS)
        comments = Part(
            PackURI("/ppt/comments/comment1.xml"),
            "application/vnd.openxmlformats-officedocument.presentationml.comments+xml",
            package,
            _COMMENTS_XML.encode(),
        )
        prs.slides[1].part.relate_to(comments, RT.COMMENTS)
        _add_modern_comment(prs, prs.slides[4])
    _add_linked_picture(prs.slides[4])
    buf = io.BytesIO()
    prs.save(buf)
    return buf.getvalue()


def _add_modern_comment(prs, slide) -> None:
    """A comment as PowerPoint 365 writes it: an authors part, a comments part and a reference in the slide."""
    package = prs.part.package
    authors = Part(
        PackURI("/ppt/authors.xml"), "application/vnd.ms-powerpoint.authors+xml", package, _MODERN_AUTHORS_XML.encode()
    )
    prs.part.relate_to(authors, "http://schemas.microsoft.com/office/2018/10/relationships/authors")
    comments = Part(
        PackURI("/ppt/comments/modernComment_1.xml"),
        "application/vnd.ms-powerpoint.comments+xml",
        package,
        _MODERN_COMMENTS_XML.encode(),
    )
    r_id = slide.part.relate_to(comments, "http://schemas.microsoft.com/office/2018/10/relationships/comments")
    ext_lst = parse_xml(
        f'<p:extLst xmlns:p="{_P}"><p:ext uri="{{6950BFC3-D8DA-4A85-94F7-54DA5524770B}}">'
        f'<p188:commentRel xmlns:p188="{_P188}" xmlns:r="{_R}" r:id="{r_id}"/></p:ext></p:extLst>'
    )
    slide._element.append(ext_lst)


def _add_linked_picture(slide) -> None:
    """A picture that is only a link to a file on the author's disk (r:link, external target)."""
    r_id = slide.part.relate_to(LINKED_PICTURE, RT.IMAGE, is_external=True)
    pic = parse_xml(
        f'<p:pic xmlns:p="{_P}" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:r="{_R}">'
        '<p:nvPicPr><p:cNvPr id="90" name="Linked scan"/><p:cNvPicPr/><p:nvPr/></p:nvPicPr>'
        f'<p:blipFill><a:blip r:link="{r_id}"/><a:stretch><a:fillRect/></a:stretch></p:blipFill>'
        '<p:spPr><a:xfrm><a:off x="6000000" y="4500000"/><a:ext cx="2000000" cy="1500000"/></a:xfrm>'
        '<a:prstGeom prst="rect"><a:avLst/></a:prstGeom></p:spPr></p:pic>'
    )
    slide.shapes._spTree.append(pic)


def dangling_references(deck: bytes) -> list[str]:
    """Every r:* attribute (and SmartArt relId) that names a relationship its part does not have."""
    from lxml import etree

    members = all_members(deck)
    problems = []
    for name, data in members.items():
        if not name.endswith(".xml") or name.startswith("[") or "/_rels/" in name:
            continue
        folder, _, base = name.rpartition("/")
        rels_name = f"{folder}/_rels/{base}.rels" if folder else f"_rels/{base}.rels"
        r_ids = set()
        if rels_name in members:
            r_ids = {rel.get("Id") for rel in etree.fromstring(members[rels_name])}
        for el in etree.fromstring(data).iter(etree.Element):
            for attr, value in el.attrib.items():
                if (attr.startswith(f"{{{_R}}}") or attr == "relId") and value and value not in r_ids:
                    problems.append(f"{name}: {etree.QName(el).localname} -> {value}")
    return problems


def add_active_x(deck: bytes, slide_index: int) -> bytes:
    """``deck`` with an ActiveX check box on one slide (a control PowerPoint runs; not carried natively)."""
    prs = Presentation(io.BytesIO(deck))
    slide = prs.slides[slide_index]
    control = Part(
        PackURI("/ppt/activeX/activeX1.xml"),
        "application/vnd.ms-office.activeX+xml",
        prs.part.package,
        b'<ax:ocx xmlns:ax="http://schemas.microsoft.com/office/2006/activeX" '
        b'ax:classid="{8BD21D40-EC42-11CE-9E0D-00AA006002F3}" ax:persistence="persistPropertyBag"/>',
    )
    r_id = slide.part.relate_to(control, RT.CONTROL)
    c_sld = slide._element.cSld
    controls = parse_xml(
        f'<p:controls xmlns:p="{_P}" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f'<p:control spid="1025" name="CheckBox1" r:id="{r_id}" imgW="914400" imgH="228600"/></p:controls>'
    )
    c_sld.spTree.addnext(controls)
    buf = io.BytesIO()
    prs.save(buf)
    return buf.getvalue()


def as_macro_deck(deck: bytes) -> bytes:
    """``deck`` saved as PowerPoint saves a .pptm: macro content type and a vbaProject.bin."""
    src = zipfile.ZipFile(io.BytesIO(deck))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "[Content_Types].xml":
                data = data.replace(
                    b"application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
                    b"application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml",
                )
            zf.writestr(info.filename, data)
        zf.writestr("ppt/vbaProject.bin", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)
    return out.getvalue()


def all_members(deck: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(deck)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}
