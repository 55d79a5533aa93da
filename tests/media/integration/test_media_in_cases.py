"""Mixed media through the case: each format is added scrubbed, shows a thumbnail, becomes a key image
(images, PDF pages) and reaches the PPTX export; one bad file is reported and the rest are added."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pptx import Presentation

from casefiles.config import Settings
from casefiles.ingest import Upload
from casefiles.model import AssetKind
from casefiles.services import Services
from tests.dicom_factory import write_ct_study

NAME = "DOE^JOHN"


@pytest.fixture
def library(tmp_path: Path) -> Services:
    return Services(Settings(data_dir=tmp_path / "data", seed_samples=False))


def _photo() -> bytes:
    image = Image.fromarray(np.full((240, 320, 3), (30, 140, 200), np.uint8))
    exif = Image.Exif()
    exif[0x013B] = NAME  # Artist
    exif[0x010F] = "Phone maker"
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, comment=NAME.encode())
    return buffer.getvalue()


def _pdf() -> bytes:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    pdf.setAuthor(NAME)
    pdf.setTitle(NAME)
    for page in range(3):
        pdf.drawString(72, 720, f"Pathology report page {page + 1}")
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _deck() -> bytes:
    prs = Presentation()
    prs.core_properties.author = NAME
    for n in range(2):
        slide = prs.slides.add_slide(prs.slide_layouts[1])
        slide.shapes.title.text = f"Referring team slide {n + 1}"
    buffer = io.BytesIO()
    prs.save(buffer)
    return buffer.getvalue()


def test_photos_pdfs_and_slides_join_a_case_scrubbed_and_reach_the_deck(library: Services, tmp_path: Path) -> None:
    case_id = library.import_dicom(write_ct_study(tmp_path / "ct", slices=2)).case_ids[0]
    uploads = [
        Upload("DOE_JOHN_photo.jpg", _photo()),
        Upload("report.pdf", _pdf()),
        Upload("slides.pptx", _deck()),
        Upload("broken.jpg", _photo()[:300]),
        Upload("notes.txt", b"just text"),
    ]
    report = library.import_media(case_id, uploads)
    assert len(report.asset_ids) == 3
    assert [p.item for p in report.problems] == ["file 4 of 5", "file 5 of 5"]
    assert "damaged" in report.problems[0].reason or "incomplete" in report.problems[0].reason
    case = library.get_case(case_id)
    kinds = [a.kind for a in case.assets]
    assert kinds[-3:] == [AssetKind.IMAGE, AssetKind.DOCUMENT, AssetKind.SLIDE_DECK]
    assert [a.label for a in case.assets[-3:]] == ["Image 1", "PDF 1", "Slides 1"], "labels never from file names"
    for asset in case.assets[-3:-1]:
        assert asset.thumbnail and library.blobs.exists(asset.thumbnail)
    for path in (tmp_path / "data").rglob("*"):
        if path.is_file():
            assert b"DOE" not in path.read_bytes(), f"{path.name} holds the name"
    assert not any(library.settings.quarantine_dir.iterdir())

    photo, document = case.assets[-3], case.assets[-2]
    case = library.add_pdf_pages(case_id, document.id, [1])
    page = case.assets[-1]
    assert page.kind is AssetKind.IMAGE and page.caption == "PDF 1, page 2"
    case = library.toggle_key_image(case_id, photo.id, 0, None)
    case = library.toggle_key_image(case_id, page.id, 0, None)
    case = library.move_asset(case_id, photo.id, -10)
    assert library.get_case(case_id).assets[0].id == photo.id

    out = library.export_case_pptx(case_id, tmp_path / "case.pptx")
    pictures = [s for slide in Presentation(str(out)).slides for s in slide.shapes if s.shape_type == 13]
    assert len(pictures) >= 2, "the photo and the PDF page are on slides"


def test_a_video_is_transcoded_without_metadata(library: Services, tmp_path: Path) -> None:
    from casefiles.imaging.cine import ffmpeg_exe

    clip = tmp_path / "clip.mov"
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=10:duration=2",
         "-metadata", f"title={NAME}", "-metadata", "creation_time=2024-03-12T10:00:00Z",
         "-c:v", "mpeg4", str(clip)],
        check=True, timeout=60,
    )  # fmt: skip
    case_id = library.import_dicom(write_ct_study(tmp_path / "ct", slices=2)).case_ids[0]
    report = library.import_media(case_id, [clip])
    assert report.problems == ()
    video = library.get_case(case_id).asset(report.asset_ids[0])
    assert video.kind is AssetKind.VIDEO and video.media_type == "video/mp4" and video.thumbnail
    data = library.blobs.get(video.blob or "")
    assert data[4:8] == b"ftyp" and NAME.encode() not in data and b"2024-03-12" not in data


def test_a_video_of_a_case_plays_in_the_conference_deck(library: Services, tmp_path: Path) -> None:
    from casefiles.imaging.cine import ffmpeg_exe

    clip = tmp_path / "endoscopy.avi"
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=10:duration=2",
         "-c:v", "mjpeg", str(clip)],
        check=True, timeout=60,
    )  # fmt: skip
    case_id = library.import_dicom(write_ct_study(tmp_path / "ct", slices=2)).case_ids[0]
    report = library.import_media(case_id, [clip])
    library.set_asset_caption(case_id, report.asset_ids[0], "Endoscopy: ulcerated mass")
    conference = library.create_conference("Tumor board", case_ids=[case_id])
    out = library.export(conference.id, "pptx", tmp_path / "deck.pptx")
    prs = Presentation(str(out))
    videos = [p for p in prs.part.package.iter_parts() if p.content_type == "video/mp4"]
    assert len(videos) == 1
    texts = [s.text_frame.text for slide in prs.slides for s in slide.shapes if s.has_text_frame]
    assert any("Endoscopy: ulcerated mass" in t for t in texts)


def test_slides_of_a_case_deck_are_carried_editable_into_the_conference_deck(library: Services, tmp_path: Path) -> None:
    case_id = library.import_dicom(write_ct_study(tmp_path / "ct", slices=2)).case_ids[0]
    report = library.import_media(case_id, [Upload("team.pptx", _deck())])
    assert report.problems == ()
    conference = library.create_conference("Tumor board", case_ids=[case_id])
    out = library.export(conference.id, "pptx", tmp_path / "deck.pptx")
    prs = Presentation(str(out))
    titles = [s.shapes.title.text for s in prs.slides if s.shapes.title is not None and s.shapes.title.has_text_frame]
    assert "Referring team slide 1" in titles and "Referring team slide 2" in titles, "carried as editable text"
    assert NAME not in (prs.core_properties.author or "")
    html = library.export(conference.id, "html", tmp_path / "show.html")
    assert html.exists(), "the HTML show leaves the carried slides to PowerPoint and still builds"


def test_only_the_chosen_slides_are_carried(library: Services, tmp_path: Path) -> None:
    case_id = library.import_dicom(write_ct_study(tmp_path / "ct", slices=2)).case_ids[0]
    deck_id = library.import_media(case_id, [Upload("team.pptx", _deck())]).asset_ids[0]
    case = library.get_case(case_id)
    assert library.slide_titles(case, deck_id) == ("Referring team slide 1", "Referring team slide 2")
    library.choose_slides(case_id, deck_id, [1])
    assert library.get_case(case_id).asset(deck_id).chosen == (1,)
    conference = library.create_conference("Grand rounds", case_ids=[case_id])
    prs = Presentation(str(library.export(conference.id, "pptx", tmp_path / "deck.pptx")))
    titles = [s.shapes.title.text for s in prs.slides if s.shapes.title is not None and s.shapes.title.has_text_frame]
    assert "Referring team slide 2" in titles and "Referring team slide 1" not in titles
    assert not any(library.settings.quarantine_dir.iterdir())


def test_a_clip_is_trimmed_muted_and_given_a_poster(library: Services, tmp_path: Path) -> None:
    from casefiles.imaging.cine import ffmpeg_exe

    clip = tmp_path / "us.mp4"
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=10:duration=4",
         "-f", "lavfi", "-i", "sine=frequency=440:duration=4", "-shortest", "-c:v", "libx264", "-c:a", "aac",
         str(clip)],
        check=True, timeout=60,
    )  # fmt: skip
    case_id = library.import_dicom(write_ct_study(tmp_path / "ct", slices=2)).case_ids[0]
    video_id = library.import_media(case_id, [clip]).asset_ids[0]
    before = library.video_info(library.get_case(case_id), video_id)
    assert before.has_audio and 3.5 < before.duration_s < 4.5
    old = library.get_case(case_id).asset(video_id)
    case = library.edit_video(case_id, video_id, start_s=1.0, end_s=3.0, mute=True, poster_s=0.5)
    after = library.video_info(case, video_id)
    assert not after.has_audio and 1.7 < after.duration_s < 2.3
    edited = case.asset(video_id)
    assert edited.blob != old.blob and edited.thumbnail != old.thumbnail
    assert not any(library.settings.quarantine_dir.iterdir())


def test_cancel_keeps_finished_files_and_drops_the_one_in_progress(library: Services, tmp_path: Path) -> None:
    from casefiles.errors import Cancelled
    from casefiles.progress import CancelToken

    case_id = library.import_dicom(write_ct_study(tmp_path / "ct", slices=2)).case_ids[0]
    token = CancelToken()

    def cancel_at_the_third(done: int, total: int, message: str) -> None:
        if done == 1:  # pressed while the PDF is scrubbed: it stops between pages, the deck never starts
            token.cancel()

    uploads = [Upload("a.jpg", _photo()), Upload("b.pdf", _pdf()), Upload("c.pptx", _deck())]
    with pytest.raises(Cancelled):
        library.import_media(case_id, uploads, progress=cancel_at_the_third, cancel=token)
    case = library.get_case(case_id)
    assert [a.label for a in case.assets if a.kind is not AssetKind.DICOM_SERIES] == ["Image 1"]
    assert not any(library.settings.quarantine_dir.iterdir()), "the unfinished file's quarantine is wiped"


def test_a_case_edited_while_files_are_scrubbed_keeps_the_edit(library: Services, tmp_path: Path) -> None:
    case_id = library.import_dicom(write_ct_study(tmp_path / "ct", slices=2)).case_ids[0]

    def edit_meanwhile(done: int, total: int, message: str) -> None:
        if done == 0:
            library.update_case(case_id, {"history": "Typed while the photo was scrubbed"})

    library.import_media(case_id, [Upload("a.jpg", _photo())], progress=edit_meanwhile)
    case = library.get_case(case_id)
    assert case.history == "Typed while the photo was scrubbed"
    assert [a.label for a in case.assets if a.kind is AssetKind.IMAGE] == ["Image 1"]


@pytest.mark.parametrize("keep", [False, True])
def test_speaker_notes_go_unless_the_presenter_keeps_them(library: Services, tmp_path: Path, keep: bool) -> None:
    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[1])
    slide.shapes.title.text = "Referring team slide"
    slide.notes_slide.notes_text_frame.text = "Ask about the PET timing"
    buffer = io.BytesIO()
    prs.save(buffer)
    case_id = library.import_dicom(write_ct_study(tmp_path / "ct", slices=2)).case_ids[0]
    library.import_media(case_id, [Upload("team.pptx", buffer.getvalue())], keep_notes=keep)
    conference = library.create_conference("Tumor board", case_ids=[case_id])

    deck = Presentation(str(library.export(conference.id, "pptx", tmp_path / "deck.pptx")))

    carried = [s for s in deck.slides if s.shapes.title is not None and s.shapes.title.text == "Referring team slide"]
    assert len(carried) == 1
    notes = carried[0].notes_slide.notes_text_frame.text if carried[0].has_notes_slide else ""
    assert ("Ask about the PET timing" in notes) is keep
