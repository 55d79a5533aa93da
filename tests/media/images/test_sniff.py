"""Files are typed by what they contain, whatever their name says."""

from __future__ import annotations

import io
import subprocess
import zipfile
from pathlib import Path

import pillow_heif
import pydicom.data
import pytest
from pptx import Presentation

from casefiles.errors import ImportFailure
from casefiles.imaging.cine import ffmpeg_exe
from casefiles.media.sniff import MediaType, sniff
from tests.media.images.image_factory import encode, photo

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def _pptx_bytes() -> bytes:
    out = io.BytesIO()
    Presentation().save(out)
    return out.getvalue()


def _rewrite_content_types(data: bytes, old: bytes, new: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            body = source.read(item)
            if item.filename == "[Content_Types].xml":
                assert old in body
                body = body.replace(old, new)
            target.writestr(item, body)
    return out.getvalue()


def _docx_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'wordprocessingml.document.main+xml"/></Types>',
        )
        archive.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


def _plain_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("notes.txt", "hello")
    return out.getvalue()


PPTX_MAIN = b"application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"
PPTM_MAIN = b"application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml"


def _image_bytes(fmt: str) -> bytes:
    if fmt == "HEIF":
        pillow_heif.register_heif_opener()
    if fmt == "BIGTIFF":
        return encode(photo(), "TIFF", big_tiff=True)
    return encode(photo(), fmt)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (lambda: _image_bytes("JPEG"), MediaType.JPEG),
        (lambda: _image_bytes("PNG"), MediaType.PNG),
        (lambda: _image_bytes("TIFF"), MediaType.TIFF),
        (lambda: _image_bytes("BIGTIFF"), MediaType.BIGTIFF),
        (lambda: _image_bytes("WEBP"), MediaType.WEBP),
        (lambda: _image_bytes("HEIF"), MediaType.HEIC),
        (lambda: _image_bytes("GIF"), MediaType.GIF),
        (lambda: PDF, MediaType.PDF),
        (lambda: b"junk before the header\n" + PDF, MediaType.PDF),
        (lambda: Path(pydicom.data.get_testdata_file("CT_small.dcm")).read_bytes(), MediaType.DICOM),
        (_pptx_bytes, MediaType.PPTX),
        (lambda: _rewrite_content_types(_pptx_bytes(), PPTX_MAIN, PPTM_MAIN), MediaType.PPTM),
        (_docx_bytes, MediaType.DOCX),
        (_plain_zip, MediaType.ZIP),
        (lambda: b"PK\x03\x04 but the rest is damaged", MediaType.ZIP),
        (lambda: b"", MediaType.UNKNOWN),
        (lambda: b"Patient: Smith\nplain text notes\n" * 20, MediaType.UNKNOWN),
        (lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), MediaType.UNKNOWN),  # old .ppt / encrypted OOXML
    ],
    ids=[
        "jpeg", "png", "tiff", "bigtiff", "webp", "heic", "gif", "pdf", "pdf-after-junk", "dicom", "pptx", "pptm",
        "docx", "zip", "damaged-zip", "empty", "text", "ole2",
    ],
)  # fmt: skip
def test_types_by_content(tmp_path: Path, content: object, expected: MediaType) -> None:
    path = tmp_path / "upload.bin"
    path.write_bytes(content())  # type: ignore[operator]
    assert sniff(path) is expected


@pytest.mark.parametrize(
    ("container", "args", "expected"),
    [
        ("mp4", ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"], MediaType.MP4),
        ("mov", ["-c:v", "mpeg4"], MediaType.MOV),
        ("avi", ["-c:v", "mjpeg", "-pix_fmt", "yuvj420p"], MediaType.AVI),
        ("webm", ["-c:v", "libvpx", "-deadline", "realtime"], MediaType.WEBM),
        ("matroska", ["-c:v", "mpeg4"], MediaType.MKV),
    ],
)
def test_video_containers(tmp_path: Path, container: str, args: list[str], expected: MediaType) -> None:
    path = tmp_path / "clip.dat"  # no telling extension: the content decides
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=5:duration=0.4",
         *args, "-f", container, "-y", str(path)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    assert sniff(path) is expected


def test_a_pdf_named_jpg_is_a_pdf(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(PDF)
    assert sniff(path) is MediaType.PDF


def test_a_png_named_heic_is_a_png(tmp_path: Path) -> None:
    path = tmp_path / "IMG_0001.HEIC"
    path.write_bytes(_image_bytes("PNG"))
    assert sniff(path) is MediaType.PNG


def test_macro_part_in_a_pptx_makes_it_pptm(tmp_path: Path) -> None:
    data = _rewrite_content_types(
        _pptx_bytes(),
        b"</Types>",
        b'<Override PartName="/ppt/vbaProject.bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>',
    )
    path = tmp_path / "deck.pptx"
    path.write_bytes(data)
    assert sniff(path) is MediaType.PPTM


def test_unreadable_file_is_an_import_failure_without_its_name(tmp_path: Path) -> None:
    with pytest.raises(ImportFailure) as caught:
        sniff(tmp_path / "SMITH_JOHN_brain.jpg")
    assert "SMITH" not in str(caught.value)


def test_image_and_video_groups() -> None:
    assert {t for t in MediaType if t.is_image} == {
        MediaType.JPEG, MediaType.PNG, MediaType.TIFF, MediaType.BIGTIFF, MediaType.WEBP, MediaType.HEIC, MediaType.GIF,
    }  # fmt: skip
    assert MediaType.MOV.is_video
    assert not MediaType.PDF.is_video
    assert not MediaType.PDF.is_image
