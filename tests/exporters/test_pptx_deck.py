"""The PowerPoint export as a presenter meets it: reopen the written deck and check what is on it."""

from __future__ import annotations

import io
import logging
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE
from pptx.enum.text import MSO_AUTO_SIZE
from pptx.util import Emu, Pt

from casefiles.errors import Cancelled, ExportError
from casefiles.model import KeyImage
from casefiles.progress import CancelToken
from exporters import export_case_pptx

SLIDE_W, SLIDE_H = 12_192_000, 6_858_000
Source = Callable[[KeyImage], bytes]


def texts(slide) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(shape.text_frame.text for shape in slide.shapes if shape.has_text_frame)


def notes(slide) -> str:  # type: ignore[no-untyped-def]
    return slide.notes_slide.notes_text_frame.text if slide.has_notes_slide else ""


def pictures(slide) -> list:  # type: ignore[no-untyped-def,type-arg]
    return [s for s in slide.shapes if s.shape_type == MSO_SHAPE_TYPE.PICTURE]


def export(tmp_path: Path, case, source: Source, name: str = "deck.pptx", **kw) -> Path:  # type: ignore[no-untyped-def]
    return export_case_pptx(case, source, tmp_path / name, **kw)


def test_deck_has_title_history_one_slide_per_key_image_and_diagnosis(
    tmp_path: Path, kit: SimpleNamespace, phi_source: tuple[Source, dict[int, np.ndarray]]
) -> None:
    source, _ = phi_source
    case = kit.make_case(images=3, captions=("", "Coronal reformat through the apex"))
    out = export(tmp_path, case, source)

    prs = Presentation(str(out))
    assert (prs.slide_width, prs.slide_height) == (SLIDE_W, SLIDE_H)  # 16:9, 13.333 x 7.5 in
    slides = list(prs.slides)
    assert len(slides) == 1 + 1 + 3 + 1
    title, history, *image_slides, diagnosis = slides
    assert case.title in texts(title)
    assert "CT · Chest" in texts(title) and "Intermediate" in texts(title) and "Teaching Faculty" in texts(title)
    assert "CaseDeck" in texts(title)
    assert "Clinical history" in texts(history) and case.history in texts(history)
    # Captions: the key image's own, or "<label> — image n of N"; the window as radiologists write it.
    assert "Axial CT — image 1 of 3" in texts(image_slides[0])
    assert "Coronal reformat through the apex" in texts(image_slides[1])
    assert "Axial CT — image 3 of 3" in texts(image_slides[2])
    for slide in image_slides:
        assert "W 400 / L 40" in texts(slide)
        assert case.findings in notes(slide)
    body = texts(diagnosis)
    for text in (case.diagnosis, *case.differential, *case.teaching_points, "Differential diagnosis"):
        assert text in body
    # Slide numbers on every slide after the title.
    for number, slide in enumerate(slides[1:], start=2):
        assert re.search(rf"(^|\n){number}($|\n)", texts(slide)), f"slide {number} shows no number"


def test_each_image_is_as_large_as_fits_with_its_aspect_ratio_kept(
    tmp_path: Path, kit: SimpleNamespace, phi_source: tuple[Source, dict[int, np.ndarray]]
) -> None:
    source, pixels = phi_source
    out = export(tmp_path, kit.make_case(images=4), source)
    image_slides = list(Presentation(str(out)).slides)[2:6]
    for frame, slide in enumerate(image_slides):
        (pic,) = pictures(slide)
        h, w = pixels[frame].shape
        assert pic.width / pic.height == pytest.approx(w / h, rel=0.005)
        # Inside the slide, centred horizontally, and filling the image area in one dimension.
        assert pic.left >= 0 and pic.left + pic.width <= SLIDE_W and pic.top >= 0
        assert abs((pic.left + pic.width / 2) - SLIDE_W / 2) < Emu(20_000)
        assert pic.height > 0.8 * SLIDE_H or pic.width > 0.9 * SLIDE_W
        assert pic.top + pic.height < SLIDE_H - Emu(600_000)  # the caption band stays clear
        # The pixels on the slide are the presenter's pixels.
        with Image.open(io.BytesIO(pic.image.blob)) as im:
            shown = np.asarray(im.convert("L"))
        if frame % 2 == 0:
            np.testing.assert_array_equal(shown, pixels[frame])
        else:
            assert np.abs(shown.astype(int) - pixels[frame].astype(int)).mean() < 3  # JPEG, decoded


def test_no_fake_phi_from_image_metadata_anywhere_in_the_package(
    tmp_path: Path, kit: SimpleNamespace, phi_source: tuple[Source, dict[int, np.ndarray]]
) -> None:
    source, _ = phi_source
    case = kit.make_case(images=4)
    out = export(tmp_path, case, source)

    with zipfile.ZipFile(out) as zf:
        assert zf.testzip() is None
        names = zf.namelist()
        for name in names:
            # Only python-pptx's generic part names (slide3.xml, image2.png...), nothing from the inputs.
            generic = r"(?:[A-Za-z_]+/)*(?:\[Content_Types\]|[A-Za-z]*\d*)\.(?:xml|rels|png|jpg|bin)(?:\.rels)?"
            assert re.fullmatch(generic, name), name
            data = zf.read(name)
            lowered = data.lower()
            for phi in kit.FAKE_PHI:
                assert phi.lower().encode() not in lowered, f"{phi} found in {name}"
                assert phi.lower().encode("utf-16-le") not in lowered, f"{phi} found in {name}"
            if name.endswith(".png"):
                # Compressed text chunks would hide from a grep: there must be none at all.
                assert set(kit.png_chunk_types(data)) <= {b"IHDR", b"IDAT", b"IEND", b"pHYs", b"sRGB", b"gAMA"}
            if name.endswith(".jpg"):
                assert b"Exif" not in data and not data.split(b"\xff\xda")[0].count(b"\xff\xfe")
        media = [n for n in names if n.startswith("ppt/media/")]
        assert len(media) == 4 and all(re.fullmatch(r"ppt/media/image\d+\.(png|jpg)", n) for n in media)
        # Media are stored, not deflated again (the save-time speed-up), and still read back fine.
        assert all(zf.getinfo(n).compress_type == zipfile.ZIP_STORED for n in media)
        assert not any(n.startswith("docProps/thumbnail") for n in names)

    core = Presentation(str(out)).core_properties
    assert core.title == case.title
    assert core.author == "CaseDeck" and core.last_modified_by == "CaseDeck"
    assert core.revision == 1
    assert core.comments == "" and core.keywords == "" and core.subject == ""


def test_the_same_case_gives_the_same_bytes(tmp_path: Path, kit: SimpleNamespace, phi_source) -> None:  # type: ignore[no-untyped-def]
    source, _ = phi_source
    case = kit.make_case(images=2)
    first = export(tmp_path, case, source, "a.pptx").read_bytes()
    second = export(tmp_path, case, source, "b.pptx").read_bytes()
    assert first == second


def test_a_case_without_key_images_says_so_and_keeps_the_findings_in_the_notes(
    tmp_path: Path, kit: SimpleNamespace
) -> None:
    def never_called(key: KeyImage) -> bytes:
        raise AssertionError("no key image should be requested")

    case = kit.make_case(images=0)
    out = export(tmp_path, case, never_called)
    slides = list(Presentation(str(out)).slides)
    assert len(slides) == 4
    assert "No key images selected" in texts(slides[2])
    assert case.findings in notes(slides[2])
    assert not any(pictures(s) for s in slides)


def test_empty_history_and_diagnosis_are_stated_not_left_blank(tmp_path: Path, kit: SimpleNamespace) -> None:
    case = kit.make_case(images=0, history="  \n ", diagnosis="", differential=(), teaching_points=())
    slides = list(Presentation(str(export(tmp_path, case, lambda key: b""))).slides)
    assert "No history given." in texts(slides[1])
    assert "No diagnosis or teaching points given." in texts(slides[-1])


@pytest.mark.parametrize(
    "bad_source",
    [
        pytest.param("raises", id="source-raises"),
        pytest.param("garbage", id="not-an-image"),
        pytest.param("truncated", id="truncated-png"),
        pytest.param("none", id="returns-none"),
    ],
)
def test_an_unreadable_key_image_gives_an_image_unavailable_slide(
    tmp_path: Path, kit: SimpleNamespace, caplog: pytest.LogCaptureFixture, bad_source: str
) -> None:
    good = kit.png_with_phi(kit.scene(300, 200))

    def source(key: KeyImage):  # type: ignore[no-untyped-def]
        if key.frame != 1:
            return good
        if bad_source == "raises":
            raise OSError(f"cannot read /data/{kit.FAKE_PHI[0]}/IM0001")
        return {"garbage": b"\x00garbage", "truncated": good[:200], "none": None}[bad_source]

    with caplog.at_level(logging.DEBUG):
        out = export(tmp_path, kit.make_case(images=3), source)
    slides = list(Presentation(str(out)).slides)
    broken = slides[3]
    assert "Image unavailable" in texts(broken)
    assert not pictures(broken)
    assert "Axial CT — image 2 of 3" in texts(broken)  # still says which image it was
    assert len(pictures(slides[2])) == 1 and len(pictures(slides[4])) == 1
    # Neither the deck nor the log repeats what the source said (it may name the patient).
    assert kit.FAKE_PHI[0] not in caplog.text
    with zipfile.ZipFile(out) as zf:
        assert not any(kit.FAKE_PHI[0].encode() in zf.read(n) for n in zf.namelist())


def test_long_text_shrinks_then_continues_on_further_slides(tmp_path: Path, kit: SimpleNamespace) -> None:
    sentence = "The lesion abuts the brachial plexus and the subclavian artery without clear fat planes. "
    points = tuple(f"Point {n}: " + sentence * 6 for n in range(10))
    case = kit.make_case(images=1, history=sentence * 40, teaching_points=points, findings=sentence * 60)
    out = export(tmp_path, case, lambda key: kit.png_with_phi(kit.scene(200, 200)))
    slides = list(Presentation(str(out)).slides)
    headings = [texts(s).split("\n", 1)[0] for s in slides]
    assert "Clinical history (continued)" in headings
    assert "Diagnosis and teaching points (continued)" in headings
    # Nothing lost: every teaching point's start appears, in order, across the diagnosis slides.
    diagnosis_text = "\n".join(texts(s) for s in slides if s is not slides[0] and "Diagnosis" in texts(s))
    positions = [diagnosis_text.find(f"Point {n}:") for n in range(10)]
    assert all(p >= 0 for p in positions) and positions == sorted(positions)
    # Readable in a conference room (captions >= 14 pt, body >= 18 pt), sizes fixed rather than auto-fitted.
    for slide in slides:
        for shape in slide.shapes:
            if not shape.has_text_frame or not shape.text_frame.text:
                continue
            assert shape.text_frame.auto_size == MSO_AUTO_SIZE.NONE
            for p in shape.text_frame.paragraphs:
                for run in p.runs:
                    assert run.font.size is None or run.font.size >= Pt(14)
    # The long findings are whole in the image slide's notes.
    (image_slide,) = [s for s in slides if pictures(s)]
    assert case.findings.strip() in notes(image_slide)
    body_sizes = {
        run.font.size
        for s in slides[1:]
        for sh in s.shapes
        if sh.has_text_frame and sh.top == Emu(1_600_200)
        for p in sh.text_frame.paragraphs
        for run in p.runs
    }
    assert body_sizes and min(body_sizes) >= Pt(18)


def test_arabic_hebrew_and_cjk_text_are_written_right_to_left_where_needed(
    tmp_path: Path, kit: SimpleNamespace
) -> None:
    case = kit.make_case(
        images=1,
        title="ورم قمي في الرئة اليمنى",
        history="מטופל בן 58 עם כאב בכתף ימין",
        teaching_points=("肺尖部腫瘍は第一肋骨を破壊する", "Emoji survive too 🫁"),
        captions=("صورة مقطعية محورية",),
    )
    out = export(tmp_path, case, lambda key: kit.png_with_phi(kit.scene(200, 200)))
    prs = Presentation(str(out))
    slides = list(prs.slides)
    assert case.title in texts(slides[0])
    assert "肺尖部腫瘍は第一肋骨を破壊する" in texts(slides[-1]) and "🫁" in texts(slides[-1])
    history_paras = [p for s in slides[1].shapes if s.has_text_frame for p in s.text_frame.paragraphs]
    rtl = [p for p in history_paras if p._p.pPr is not None and p._p.pPr.get("rtl") == "1"]
    assert [p.text for p in rtl] == [case.history]


def test_progress_is_reported_per_slide_and_ends_complete(tmp_path: Path, kit: SimpleNamespace, phi_source) -> None:  # type: ignore[no-untyped-def]
    source, _ = phi_source
    calls: list[tuple[int, int, str]] = []
    export(tmp_path, kit.make_case(images=3), source, progress=lambda d, t, m: calls.append((d, t, m)))
    done = [d for d, _, _ in calls]
    assert done == sorted(done) and len(calls) == 6 + 1
    assert calls[-1][0] == calls[-1][1] == 7


def test_cancel_between_slides_leaves_no_file_and_keeps_an_older_deck(
    tmp_path: Path, kit: SimpleNamespace, phi_source: tuple[Source, dict[int, np.ndarray]]
) -> None:
    source, _ = phi_source
    out = tmp_path / "deck.pptx"
    token = CancelToken()

    def progress(done: int, total: int, message: str) -> None:
        if done == 3:
            token.cancel()

    with pytest.raises(Cancelled):
        export_case_pptx(kit.make_case(images=4), source, out, progress=progress, cancel=token)
    assert list(tmp_path.iterdir()) == []

    out.write_bytes(b"the deck from last week")
    token = CancelToken()
    with pytest.raises(Cancelled):
        export_case_pptx(kit.make_case(images=4), source, out, progress=progress, cancel=token)
    assert out.read_bytes() == b"the deck from last week"
    assert list(tmp_path.iterdir()) == [out]


def test_a_new_export_replaces_an_older_deck_whole(tmp_path: Path, kit: SimpleNamespace, phi_source) -> None:  # type: ignore[no-untyped-def]
    source, _ = phi_source
    out = tmp_path / "deck.pptx"
    out.write_bytes(b"old")
    export_case_pptx(kit.make_case(images=1), source, out)
    assert len(Presentation(str(out)).slides) == 4
    assert list(tmp_path.iterdir()) == [out]


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("missing/deck.pptx", "does not exist"),
        ("deck.pdf", ".pptx"),
        ("folder.pptx", "folder"),
    ],
)
def test_a_bad_destination_is_an_export_error_that_names_no_path(
    tmp_path: Path, kit: SimpleNamespace, where: str, message: str
) -> None:
    (tmp_path / "folder.pptx").mkdir()
    patient_dir = tmp_path / "DOE_JOHN"
    patient_dir.mkdir()
    with pytest.raises(ExportError, match=re.escape(message)) as err:
        export_case_pptx(
            kit.make_case(images=0), lambda key: b"", (tmp_path if where == "folder.pptx" else patient_dir) / where
        )
    assert "DOE_JOHN" not in str(err.value)


def test_a_save_failure_is_an_export_error_and_leaves_nothing(tmp_path: Path, kit: SimpleNamespace) -> None:
    target = tmp_path / "deck.pptx"

    # A case whose image source is fine but whose destination is replaced by a directory mid-way:
    # renaming a file onto a directory fails with an OS error.
    def source(key: KeyImage) -> bytes:
        target.mkdir()
        return bytes(kit.png_with_phi(kit.scene(100, 100)))

    with pytest.raises(ExportError, match="could not be saved"):
        export_case_pptx(kit.make_case(images=1), source, target)
    assert [p.name for p in tmp_path.iterdir()] == ["deck.pptx"] and target.is_dir()


def test_only_a_case_can_be_exported(tmp_path: Path, kit: SimpleNamespace) -> None:
    with pytest.raises(ExportError, match="case"):
        export_case_pptx(kit.make_case().to_dict(), lambda key: b"", tmp_path / "deck.pptx")
    assert list(tmp_path.iterdir()) == []
