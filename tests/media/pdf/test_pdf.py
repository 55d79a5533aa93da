"""casefiles.media.pdf: what a registrar sees when a referring team's PDF is added to a case."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import numpy as np
import pypdfium2
import pytest
from PIL import Image
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    ByteStringObject,
    DictionaryObject,
    IndirectObject,
    TextStringObject,
)

from casefiles.errors import Cancelled, DeidentificationError, ImportFailure, ValidationError
from casefiles.media import pdf as media_pdf
from casefiles.media.pdf import PdfInfo, inspect_pdf, page_thumbnails, render_pages, scrub_pdf
from casefiles.progress import CancelToken
from tests.helpers import require_tool
from tests.media.pdf.pdf_factory import (
    NAME_SPELLINGS,
    identifying_pdf,
    layered_pdf,
    photo_with_exif,
    plain_pdf,
)

LETTER = (612.0, 792.0)
LANDSCAPE = (792.0, 612.0)


def _all_stream_data(data: bytes) -> list[bytes]:
    """Every stream's content with its compression undone (a JPEG stays a JPEG file)."""
    reader = PdfReader(io.BytesIO(data))
    found = []
    for entries in reader.xref.values():
        for idnum in entries:
            obj = reader.get_object(idnum)
            if hasattr(obj, "get_data"):
                found.append(bytes(obj.get_data()))
    return found


def _all_strings(data: bytes) -> list[str]:
    """Every string in every object, decoded the way a reader shows it (octal escapes, UTF-16...)."""
    reader = PdfReader(io.BytesIO(data))
    found: list[str] = []
    stack: list[object] = [reader.trailer]
    stack += [reader.get_object(idnum) for entries in reader.xref.values() for idnum in entries]
    while stack:
        item = stack.pop()
        if isinstance(item, (TextStringObject, ByteStringObject)):
            found.append(str(item) if isinstance(item, TextStringObject) else item.decode("latin-1"))
        elif isinstance(item, DictionaryObject):
            stack.extend(v for v in item.values() if not isinstance(v, IndirectObject))
        elif isinstance(item, ArrayObject):
            stack.extend(v for v in item if not isinstance(v, IndirectObject))
    return found


def _names_anywhere(data: bytes) -> list[str]:
    """Where the name still shows: raw bytes, any stream once decompressed, any string once decoded."""
    places = []
    if any(spelling in data for spelling in NAME_SPELLINGS):
        places.append("raw bytes")
    if any(spelling in blob for blob in _all_stream_data(data) for spelling in NAME_SPELLINGS):
        places.append("a stream")
    if any("DOE" in text or "JOHN" in text for text in _all_strings(data)):
        places.append("a string")
    return places


def _page_pixels(data: bytes, index: int, *, annots: bool) -> np.ndarray:
    doc = pypdfium2.PdfDocument(data)
    try:
        return np.asarray(doc[index].render(scale=1, draw_annots=annots).to_pil().convert("RGB"))
    finally:
        doc.close()


def _size(png_or_jpeg: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(png_or_jpeg)) as image:
        return image.size


# --- inspect --------------------------------------------------------------------------------------


def test_inspect_counts_pages(write_pdf) -> None:
    assert inspect_pdf(write_pdf(identifying_pdf())) == PdfInfo(page_count=3)


def test_content_decides_not_extension(write_pdf) -> None:
    """A PDF saved without (or with a wrong) extension is still read; a PNG named .pdf is not."""
    assert inspect_pdf(write_pdf(plain_pdf([LETTER]), "scan.bin")).page_count == 1
    png = io.BytesIO()
    Image.new("RGB", (8, 8)).save(png, format="PNG")
    with pytest.raises(ImportFailure, match="not a PDF"):
        inspect_pdf(write_pdf(png.getvalue(), "DOE_JOHN.pdf"))


def _encrypted_with_empty_password() -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(plain_pdf([LETTER]))))
    writer.encrypt(user_password="", owner_password="owner-secret", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _encrypted_with_password() -> bytes:
    from reportlab.lib.pdfencrypt import StandardEncryption
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out, encrypt=StandardEncryption("user-secret", "owner-secret", strength=128))
    pdf.drawString(100, 700, "Histology report")
    pdf.showPage()
    pdf.save()
    return out.getvalue()


@pytest.mark.parametrize("make", [_encrypted_with_empty_password, _encrypted_with_password])
@pytest.mark.parametrize(
    "call",
    [
        inspect_pdf,
        page_thumbnails,
        lambda path: render_pages(path, [0]),
        scrub_pdf,
    ],
    ids=["inspect", "thumbnails", "render", "scrub"],
)
def test_encrypted_pdf_is_refused_even_without_a_user_password(write_pdf, make, call) -> None:
    data = make()
    assert PdfReader(io.BytesIO(data)).is_encrypted
    with pytest.raises(ImportFailure, match="password-protected; remove the password") as caught:
        call(write_pdf(data))
    assert "DOE" not in str(caught.value)


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],
        lambda data: data[:-12],  # only the end marker lost: PDFium alone would repair this silently
        lambda data: data[:5],
        lambda data: b"%PDF-1.7\n" + bytes(range(256)) * 8 + b"\n%%EOF\n",
        lambda data: b"",
    ],
    ids=["half", "end-marker", "header-only", "garbage", "empty"],
)
def test_damaged_pdf_is_refused_with_a_clear_message(write_pdf, damage) -> None:
    path = write_pdf(damage(identifying_pdf()))
    for call in (inspect_pdf, page_thumbnails, scrub_pdf, lambda p: render_pages(p, [0])):
        with pytest.raises(ImportFailure) as caught:
            call(path)
        message = str(caught.value)
        assert "damaged" in message or "not a PDF" in message
        assert "DOE" not in message and "report" not in message.lower().split("pdf")[0]


def test_missing_file_and_folder_are_import_failures(quarantine: Path) -> None:
    with pytest.raises(ImportFailure, match="no longer there"):
        inspect_pdf(quarantine / "DOE_JOHN.pdf")
    with pytest.raises(ImportFailure, match="folder"):
        inspect_pdf(quarantine)
    with pytest.raises(ValidationError):
        inspect_pdf(str(quarantine / "x.pdf"))  # type: ignore[arg-type]


def test_oversized_file_is_refused_before_reading(write_pdf, monkeypatch) -> None:
    path = write_pdf(plain_pdf([LETTER]))
    monkeypatch.setattr(media_pdf, "MAX_PDF_BYTES", 100)
    with pytest.raises(ImportFailure, match="larger than"):
        inspect_pdf(path)


# --- thumbnails -----------------------------------------------------------------------------------


def test_one_png_thumbnail_per_page_fitting_the_box(write_pdf) -> None:
    path = write_pdf(identifying_pdf([LETTER, LETTER, LANDSCAPE], rotate_second=True))
    thumbnails = page_thumbnails(path)
    assert len(thumbnails) == 3
    assert all(thumb.startswith(b"\x89PNG\r\n\x1a\n") for thumb in thumbnails)
    portrait, rotated, landscape = (_size(thumb) for thumb in thumbnails)
    assert portrait[1] == 256 and 195 <= portrait[0] <= 199  # 612/792 of 256
    assert rotated[0] == 256 and rotated[1] < 256  # the page's /Rotate is honoured
    assert landscape[0] == 256 and landscape[1] < 256
    small = page_thumbnails(path, side=64)
    assert max(_size(small[0])) == 64


def test_thumbnails_stop_at_the_cap_and_show_the_first_pages(write_pdf) -> None:
    path = write_pdf(plain_pdf([LETTER] * 3 + [LANDSCAPE] * 2))
    assert inspect_pdf(path).page_count == 5
    thumbnails = page_thumbnails(path, max_pages=3)
    assert len(thumbnails) == 3
    assert all(_size(thumb)[1] == 256 for thumb in thumbnails)  # the first three, portrait, pages


def test_thumbnails_report_progress_and_can_be_cancelled(write_pdf) -> None:
    path = write_pdf(plain_pdf([LETTER] * 3))
    calls: list[tuple[int, int]] = []
    page_thumbnails(path, progress=lambda done, total, _msg: calls.append((done, total)))
    assert calls[0] == (0, 3) and calls[-1] == (3, 3)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        page_thumbnails(path, cancel=token)


@pytest.mark.parametrize("bad", [0, 15, 4096, True, 256.0, "256"])
def test_thumbnail_size_is_validated(write_pdf, bad) -> None:
    with pytest.raises(ValidationError, match="Thumbnail size"):
        page_thumbnails(write_pdf(plain_pdf([LETTER])), side=bad)


# --- rendering chosen pages -----------------------------------------------------------------------


def test_render_chosen_pages_at_the_requested_resolution(write_pdf) -> None:
    path = write_pdf(plain_pdf([LETTER, LANDSCAPE, LETTER]))
    first, second = render_pages(path, [1, 0])  # the order given, 0-based
    assert _size(first) == (1650, 1275)  # 11 × 8.5 in at 150 dpi
    assert _size(second) == (1275, 1650)
    (low,) = render_pages(path, [2], dpi=72)
    assert _size(low) == (612, 792)


def test_render_never_exceeds_max_side(write_pdf) -> None:
    poster = write_pdf(plain_pdf([(14_400.0, 7_200.0)]))  # 200 × 100 inches
    (image,) = render_pages(poster, [0])
    assert _size(image) == (2400, 1200)
    (small,) = render_pages(poster, [0], max_side=500)
    assert _size(small) == (500, 250)


def test_render_as_jpeg_and_the_image_shows_the_page(write_pdf) -> None:
    path = write_pdf(plain_pdf([LETTER]))
    (jpeg,) = render_pages(path, [0], image_format="jpeg", dpi=72)
    assert jpeg[:2] == b"\xff\xd8"
    with Image.open(io.BytesIO(jpeg)) as image:
        pixels = np.asarray(image.convert("L"))
        assert not image.getexif()  # fresh pixels: nothing carried from the PDF
    # The black bar drawn 40–100 pt from the bottom is black; the margin above it is white.
    assert pixels[792 - 70, 300] < 40
    assert pixels[792 - 300, 300] > 215


def test_render_pages_validates_the_choice(write_pdf) -> None:
    path = write_pdf(plain_pdf([LETTER, LETTER]))
    with pytest.raises(ValidationError, match="has 2 page"):
        render_pages(path, [0, 2])
    with pytest.raises(ValidationError, match="at least one page"):
        render_pages(path, [])
    with pytest.raises(ValidationError, match="counted from 0"):
        render_pages(path, [-1])
    with pytest.raises(ValidationError, match="counted from 0"):
        render_pages(path, [True])
    with pytest.raises(ValidationError, match="list of page numbers"):
        render_pages(path, "0")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="Resolution"):
        render_pages(path, [0], dpi=10_000)
    with pytest.raises(ValidationError, match="PNG or JPEG"):
        render_pages(path, [0], image_format="gif")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="At most"):
        render_pages(path, [0] * (media_pdf.MAX_RENDER_PAGES + 1))


# --- scrubbing ------------------------------------------------------------------------------------


def test_source_pdf_really_carries_the_name_everywhere(write_pdf) -> None:
    """The fixture the scrub tests rely on: if this fails, they prove nothing."""
    data = identifying_pdf()
    reader = PdfReader(io.BytesIO(data))
    assert reader.metadata is not None and reader.metadata.author == "DOE^JOHN"
    assert "/Metadata" in reader.root_object and "/Metadata" in reader.pages[0]
    assert "/OpenAction" in reader.root_object
    assert {"/JavaScript", "/EmbeddedFiles"} <= set(reader.root_object["/Names"])
    assert "/Outlines" in reader.root_object
    assert {annot.get_object()["/T"] for annot in reader.pages[0]["/Annots"]} == {"DOE^JOHN"}
    assert _names_anywhere(data) == ["raw bytes", "a stream", "a string"]
    assert reader.metadata.title == "DOE^JOHN ★"  # stored as UTF-16
    assert any(b"Exif" in blob and b"DOE^JOHN" in blob for blob in _all_stream_data(data))


def test_scrubbed_copy_names_no_one(write_pdf) -> None:
    scrubbed = scrub_pdf(write_pdf(identifying_pdf()))
    reader = PdfReader(io.BytesIO(scrubbed))
    assert not reader.metadata
    assert "/Info" not in reader.trailer
    assert reader.xmp_metadata is None
    for key in ("/Metadata", "/OpenAction", "/Names", "/Outlines", "/AcroForm", "/AA"):
        assert key not in reader.root_object
    assert len(reader.pages) == 3
    for page in reader.pages:
        assert "/Annots" not in page and "/Metadata" not in page and "/PieceInfo" not in page
    assert reader.attachments == {}
    assert _names_anywhere(scrubbed) == []


def test_scrub_keeps_the_pages_as_they_were(write_pdf) -> None:
    original = identifying_pdf([LETTER, LETTER, LANDSCAPE], rotate_second=True)
    scrubbed = scrub_pdf(write_pdf(original))
    before, after = PdfReader(io.BytesIO(original)), PdfReader(io.BytesIO(scrubbed))
    for old, new in zip(before.pages, after.pages, strict=True):
        assert new.get_contents().get_data() == old.get_contents().get_data()
        assert new.mediabox == old.mediabox and new.rotation == old.rotation
    for index in range(3):  # what the page shows (annotations aside) is pixel for pixel the same
        assert np.array_equal(_page_pixels(scrubbed, index, annots=True), _page_pixels(original, index, annots=False))


def test_scrub_cleans_the_jpeg_inside_but_keeps_its_pixels(write_pdf) -> None:
    scrubbed = scrub_pdf(write_pdf(identifying_pdf()))
    jpegs = [blob for blob in _all_stream_data(scrubbed) if blob[:2] == b"\xff\xd8"]
    assert len(jpegs) == 1
    with Image.open(io.BytesIO(jpegs[0])) as cleaned, Image.open(io.BytesIO(photo_with_exif())) as source:
        assert not cleaned.getexif()
        assert "xmp" not in cleaned.info and "comment" not in cleaned.info
        assert np.array_equal(np.asarray(cleaned), np.asarray(source))


def test_scrub_keeps_hidden_layers_hidden(write_pdf) -> None:
    original = layered_pdf()
    # Precondition: the box on the hidden layer really is hidden, and would show if the layer were on.
    assert _page_pixels(original, 0, annots=False)[300 - 150, 150].tolist() == [255, 255, 255]
    scrubbed = scrub_pdf(write_pdf(original))
    assert _page_pixels(scrubbed, 0, annots=False)[300 - 150, 150].tolist() == [255, 255, 255]
    reader = PdfReader(io.BytesIO(scrubbed))
    (layer,) = reader.root_object["/OCProperties"]["/OCGs"]
    assert "/Usage" not in layer.get_object()
    assert _names_anywhere(scrubbed) == []
    without_config = PdfReader(io.BytesIO(scrubbed))
    writer = PdfWriter(clone_from=without_config)
    del writer.root_object["/OCProperties"]
    out = io.BytesIO()
    writer.write(out)
    assert _page_pixels(out.getvalue(), 0, annots=False)[300 - 150, 150].tolist() == [0, 0, 0]


def test_scrub_refuses_an_image_it_cannot_clean(write_pdf) -> None:
    """A JPEG whose header is broken cannot be cleaned: the PDF is refused, not stored half-clean."""
    reader = PdfReader(io.BytesIO(identifying_pdf()))
    writer = PdfWriter(clone_from=reader)
    for entries in (writer._objects,):
        for obj in entries:
            if obj is not None and obj.get("/Subtype") == "/Image":
                from pypdf.generic import NameObject, StreamObject

                StreamObject.set_data(obj, b"\xff\xd8\x00garbage")
                obj[NameObject("/Filter")] = NameObject("/DCTDecode")
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(DeidentificationError, match="cannot be removed"):
        scrub_pdf(write_pdf(out.getvalue()))


def test_scrubbed_copy_reads_clean_in_poppler(write_pdf, tmp_path: Path) -> None:
    """An independent reader (poppler's pdfinfo) finds no metadata, JavaScript or form in the copy."""
    pdfinfo = require_tool("pdfinfo")
    target = tmp_path / "scrubbed.pdf"
    target.write_bytes(scrub_pdf(write_pdf(identifying_pdf())))
    result = subprocess.run([pdfinfo, str(target)], capture_output=True, text=True, check=True)
    fields = dict(line.split(":", 1) for line in result.stdout.splitlines() if ":" in line)
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    for key in ("Title", "Author", "Creator", "Producer", "Subject", "Keywords", "CreationDate", "ModDate"):
        assert key not in fields
    assert fields["Metadata Stream"] == "no" and fields["JavaScript"] == "no" and fields["Form"] == "none"
    assert fields["Pages"] == "3" and fields["Encrypted"] == "no"
    assert "DOE" not in result.stdout + result.stderr


def test_nothing_is_written_outside_the_quarantine(write_pdf, quarantine: Path, empty_tmpdir: Path) -> None:
    path = write_pdf(identifying_pdf())
    inspect_pdf(path)
    page_thumbnails(path)
    render_pages(path, [0, 2], image_format="jpeg")
    scrub_pdf(path)
    assert sorted(p.name for p in quarantine.iterdir()) == ["DOE_JOHN_report.pdf"]
    assert list(empty_tmpdir.iterdir()) == []
