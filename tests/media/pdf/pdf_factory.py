"""PDFs built in the test, loaded with the identifying extras a real report can carry."""

from __future__ import annotations

import io

from PIL import Image
from pypdf import PdfReader, PdfWriter
from pypdf.actions import JavaScript
from pypdf.annotations import FreeText, Text
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    TextStringObject,
)
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

NAME = "DOE^JOHN"
#: The name as bytes: whole, as UTF-16 (titles with accents) and as separate words.
NAME_SPELLINGS = (b"DOE^JOHN", "DOE^JOHN".encode("utf-16-be"), b"DOE", b"JOHN")

XMP = f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">
<dc:creator><rdf:Seq><rdf:li>{NAME}</rdf:li></rdf:Seq></dc:creator>
</rdf:Description></rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>""".encode()


def photo_with_exif() -> bytes:
    """A JPEG whose EXIF, XMP and comment name the patient, as a phone scanner app might write."""
    image = Image.new("RGB", (96, 64))
    for x in range(96):
        for y in range(64):
            image.putpixel((x, y), (x * 2, y * 3, 128))
    exif = Image.Exif()
    exif[0x013B] = NAME  # Artist
    exif[0x010E] = NAME  # ImageDescription
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90, exif=exif, xmp=XMP, comment=NAME.encode())
    return out.getvalue()


def _base_pdf(page_sizes: list[tuple[float, float]], *, rotate_second: bool = False, photo: bool = True) -> bytes:
    """Pages with text and a JPEG photo; the info dictionary names the patient (reportlab writes it)."""
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=page_sizes[0])
    pdf.setAuthor(NAME)
    pdf.setTitle(NAME)
    pdf.setSubject(NAME)
    pdf.setCreator(NAME)
    pdf.setKeywords(NAME)
    for number, size in enumerate(page_sizes):
        pdf.setPageSize(size)
        pdf.setFont("Helvetica", 18)
        pdf.drawString(40, size[1] - 60, f"Histology report, page {number + 1}")
        pdf.rect(40, 40, size[0] - 80, 60, fill=1)
        if photo and number == 0:
            pdf.drawImage(ImageReader(io.BytesIO(photo_with_exif())), 40, 120, width=192, height=128)
        pdf.showPage()
    pdf.save()
    if not rotate_second:
        return out.getvalue()
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(out.getvalue())))
    writer.pages[1].rotate(90)  # shown turned a quarter clockwise, as a scanned landscape form
    rotated = io.BytesIO()
    writer.write(rotated)
    return rotated.getvalue()


def identifying_pdf(page_sizes: list[tuple[float, float]] | None = None, *, rotate_second: bool = False) -> bytes:
    """A report carrying the name in every place a PDF can hide it."""
    sizes = page_sizes or [(612, 792), (612, 792), (792, 612)]
    reader = PdfReader(io.BytesIO(_base_pdf(sizes, rotate_second=rotate_second)))
    writer = PdfWriter(clone_from=reader)
    writer.add_metadata({"/Producer": NAME, "/Creator": NAME, "/Author": NAME, "/Title": NAME + " ★"})
    writer.xmp_metadata = XMP  # type: ignore[assignment]
    page = writer.pages[0]
    page_xmp = DecodedStreamObject()
    page_xmp.set_data(XMP)
    page_xmp.update({NameObject("/Type"): NameObject("/Metadata"), NameObject("/Subtype"): NameObject("/XML")})
    page[NameObject("/Metadata")] = writer._add_object(page_xmp)
    page[NameObject("/PieceInfo")] = DictionaryObject(
        {NameObject("/Illustrator"): DictionaryObject({NameObject("/Private"): TextStringObject(NAME)})}
    )
    note = Text(rect=(400, 700, 420, 720), text=f"Reviewed by {NAME}")
    note[NameObject("/T")] = TextStringObject(NAME)
    writer.add_annotation(0, note)
    free_text = FreeText(text=f"Seen by {NAME}", rect=(300, 300, 500, 330))
    free_text[NameObject("/T")] = TextStringObject(NAME)
    writer.add_annotation(0, free_text)
    writer.add_open_action(JavaScript(f"app.alert('{NAME}');"))  # document-level JavaScript
    writer.root_object[NameObject("/OpenAction")] = DictionaryObject(
        {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject(f"app.alert('{NAME}');")}
    )
    writer.add_attachment("DOE_JOHN_history.txt", f"Patient {NAME}".encode())
    writer.add_outline_item(title=f"Patient {NAME}", page_number=0)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def plain_pdf(page_sizes: list[tuple[float, float]], *, rotate_second: bool = False) -> bytes:
    return _base_pdf(page_sizes, rotate_second=rotate_second, photo=False)


def layered_pdf() -> bytes:
    """One page with a black box on an optional-content layer that is OFF by default."""
    reader = PdfReader(io.BytesIO(plain_pdf([(300, 300)])))
    writer = PdfWriter(clone_from=reader)
    layer = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/OCG"),
                NameObject("/Name"): TextStringObject("Hidden layer"),
                NameObject("/Usage"): DictionaryObject(
                    {
                        NameObject("/CreatorInfo"): DictionaryObject(
                            {
                                NameObject("/Creator"): TextStringObject(NAME),
                                NameObject("/Subtype"): NameObject("/Artwork"),
                            }
                        )
                    }
                ),
            }
        )
    )
    page = writer.pages[0]
    resources = page["/Resources"].get_object()
    resources[NameObject("/Properties")] = DictionaryObject({NameObject("/L0"): layer})
    box = DecodedStreamObject()
    box.set_data(b"/OC /L0 BDC 0 0 0 rg 100 100 100 100 re f EMC")
    contents = page.raw_get("/Contents")
    page[NameObject("/Contents")] = ArrayObject([contents, writer._add_object(box)])
    writer.root_object[NameObject("/OCProperties")] = DictionaryObject(
        {
            NameObject("/OCGs"): ArrayObject([layer]),
            NameObject("/D"): DictionaryObject(
                {
                    NameObject("/OFF"): ArrayObject([layer]),
                    NameObject("/Order"): ArrayObject([layer]),
                    NameObject("/Creator"): TextStringObject(NAME),
                }
            ),
        }
    )
    writer.pages[0][NameObject("/Rotate")] = NumberObject(0)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
