"""The Case page's media section through AppTest: add a photo, a PDF and a bad file; mark the photo as a
key image; add a PDF page as an image; reorder."""

from __future__ import annotations

import io
import time

import numpy as np
from PIL import Image
from streamlit.testing.v1 import AppTest

from casefiles.config import Settings
from casefiles.model import Region
from casefiles.services import Services
from pages.ui import case_key
from tests.dicom_factory import write_ct_study
from tests.helpers import ROOT


def _photo() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((120, 160, 3), 90, np.uint8)).save(buffer, "JPEG")
    return buffer.getvalue()


def _clip(tmp_path) -> bytes:  # type: ignore[no-untyped-def]
    import subprocess

    from casefiles.imaging.cine import ffmpeg_exe

    path = tmp_path / "clip.mp4"
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=2",
         "-c:v", "libx264", str(path)],
        check=True, timeout=60,
    )  # fmt: skip
    return path.read_bytes()


def _deck() -> bytes:
    from pptx import Presentation

    prs = Presentation()
    for n in range(2):
        prs.slides.add_slide(prs.slide_layouts[1]).shapes.title.text = f"Slide {n + 1}"
    buffer = io.BytesIO()
    prs.save(buffer)
    return buffer.getvalue()


def _pdf() -> bytes:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    for page in range(2):
        pdf.drawString(72, 720, f"page {page + 1}")
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def test_add_media_mark_a_photo_and_take_a_pdf_page(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    services = Services(Settings(data_dir=data, seed_samples=False))
    case_id = services.import_dicom(write_ct_study(tmp_path / "ct", slices=2)).case_ids[0]
    monkeypatch.setenv("CASEDECK_DATA", str(data))
    monkeypatch.setenv("CASEDECK_SAMPLES", "0")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/case.py").run()
    at.file_uploader(key=f"media_upload_{case_id}_0").upload("IMG_0001.jpg", _photo(), "image/jpeg").upload(
        "report.pdf", _pdf(), "application/pdf"
    ).upload("notes.txt", b"text", "text/plain").upload("team.pptx", _deck(), "application/octet-stream").upload(
        "clip.mp4", _clip(tmp_path), "video/mp4"
    )
    at.run()
    at.button(key=case_key(case_id, "media_add")).click().run()
    assert not at.exception, at.exception
    for _ in range(240):  # the files are scrubbed in a background job; the page polls it
        if at.success:
            break
        time.sleep(0.5)
        at.run()
    assert [u.key for u in at.file_uploader] == [f"media_upload_{case_id}_1"], "a fresh, empty upload box"
    assert any("4 file(s) added" in s.value for s in at.success)
    assert any("File 3 of 5" in w.value for w in at.warning)
    case = services.get_case(case_id)
    photo, document, deck, video = case.assets[-4:]
    at.number_input(key=case_key(case_id, f"video_end_{video.id}")).set_value(1.0).run()
    at.button(key=case_key(case_id, f"video_apply_{video.id}")).click().run()
    assert not at.exception, at.exception
    assert services.get_case(case_id).asset(video.id).blob != video.blob, "the trimmed clip replaced the stored one"
    if deck.previews:  # LibreOffice drew the slides: tick their pictures
        assert len(deck.previews) == 2
        at.checkbox(key=case_key(case_id, f"media_slide_{deck.id}") + "_1").check().run()
    else:
        at.multiselect(key=case_key(case_id, f"media_slides_{deck.id}")).select(1).run()
    assert services.get_case(case_id).asset(deck.id).chosen == (1,)
    assert (photo.label, document.label) == ("Image 1", "PDF 1")
    shown = " ".join(str(e.value) for e in (*at.markdown, *at.caption, *at.success, *at.warning))
    assert "IMG_0001" not in shown and "report.pdf" not in shown

    at.button(key=case_key(case_id, f"media_key_{photo.id}")).click().run()
    assert any("Key images (1)" in s.value for s in at.subheader)
    assert len(document.previews) >= 2, "a picture of each page to choose from"
    at.checkbox(key=case_key(case_id, f"media_page_{document.id}") + "_0").check().run()
    at.text_input(key=case_key(case_id, f"media_pages_{document.id}")).input("2").run()
    assert at.button(key=case_key(case_id, f"media_pages_add_{document.id}")).label == "Add 2 page(s) as images"
    at.button(key=case_key(case_id, f"media_pages_add_{document.id}")).click().run()
    assert not at.exception, at.exception
    case = services.get_case(case_id)
    assert [a.caption for a in case.assets[-2:]] == ["PDF 1, page 1", "PDF 1, page 2"]

    # Black out a box on the photo: the stored file changes for good, its size stays.
    photo_now = case.asset(photo.id)
    before = services.blobs.get(photo_now.blob)
    services.black_out(case_id, photo.id, [Region(0, 0, 32, 32)])
    after_case = services.get_case(case_id)
    after = services.blobs.get(after_case.asset(photo.id).blob)
    assert after != before and not services.blobs.exists(photo_now.blob), "the old pixels are gone"
    with Image.open(io.BytesIO(after)) as im:
        assert im.getpixel((5, 5)) == (0, 0, 0) and im.size == Image.open(io.BytesIO(before)).size
    assert any(k.asset_id == photo.id for k in after_case.key_images), "the key image stays"
    at.button(key=case_key(case_id, f"media_up_{document.id}")).click().run()
    assert [a.id for a in services.get_case(case_id).assets].index(document.id) < [
        a.id for a in services.get_case(case_id).assets
    ].index(photo.id)
