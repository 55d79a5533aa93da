"""Importing a referring team's PowerPoint: checked, scrubbed, shown and carried into CaseDeck's deck."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE
from pptx.util import Inches

from casefiles.errors import ExportError, ImportFailure, ValidationError
from casefiles.media import slides
from casefiles.media.slides import DeckInfo, copy_slides, inspect_deck, scrub_deck, slide_thumbnails
from tests.helpers import require_tool
from tests.media.slides.decks import (
    BODY,
    LINK,
    LINKED_PICTURE,
    NAME,
    NOTES,
    TITLES,
    add_active_x,
    all_members,
    as_macro_deck,
    build_deck,
    dangling_references,
    micrograph_jpeg,
)
from tests.support.office import is_blank, render_deck_to_pngs


def _write(folder: Path, data: bytes, name: str = f"{NAME}.pptx") -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def _new_widescreen_deck() -> Presentation:
    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(13.333), Inches(7.5)
    return prs


def _texts(slide) -> list[str]:
    return [shape.text_frame.text for shape in slide.shapes if shape.has_text_frame and shape.text_frame.text]


def _reopen(prs: Presentation) -> Presentation:
    buf = io.BytesIO()
    prs.save(buf)
    return Presentation(io.BytesIO(buf.getvalue()))


# --- inspect ----------------------------------------------------------------------------------


def test_inspect_counts_slides_titles_and_outside_links(deck_path: Path) -> None:
    info = inspect_deck(deck_path)
    # The web link on slide 3 and the linked picture on slide 5.
    assert info == DeckInfo(slide_count=5, titles=tuple(TITLES), has_macros=False, external_links=2)


def test_inspect_after_scrub_finds_no_outside_links(deck_path: Path, quarantine: Path) -> None:
    scrubbed = _write(quarantine, scrub_deck(deck_path), "scrubbed.pptx")
    info = inspect_deck(scrubbed)
    assert info.external_links == 0
    assert info.titles == tuple(TITLES)


def test_deck_info_rejects_inconsistent_values() -> None:
    with pytest.raises(ValidationError, match="one title per slide"):
        DeckInfo(slide_count=2, titles=("a",), has_macros=False, external_links=0)
    with pytest.raises(ValidationError, match="external_links"):
        DeckInfo(slide_count=0, titles=(), has_macros=False, external_links=-1)


# --- refusals ---------------------------------------------------------------------------------


def test_macro_deck_is_refused_by_every_entry_point(quarantine: Path, workdir: Path, deck_bytes: bytes) -> None:
    macro = as_macro_deck(deck_bytes)
    path = _write(quarantine, macro, f"{NAME}.pptm")
    for call in (
        lambda: inspect_deck(path),
        lambda: scrub_deck(path),
        lambda: slide_thumbnails(macro, workdir=workdir),
        lambda: copy_slides(macro, [0], _new_widescreen_deck()),
    ):
        with pytest.raises(ImportFailure, match=r"contains macros; save it as \.pptx without macros") as exc:
            call()
        assert NAME not in str(exc.value)


def test_vba_project_under_a_pptx_content_type_is_refused(quarantine: Path, deck_bytes: bytes) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(deck_bytes)) as src, zipfile.ZipFile(buf, "w") as out:
        for info in src.infolist():
            out.writestr(info, src.read(info))
        out.writestr("ppt/vbaProject.bin", b"\0" * 64)
    with pytest.raises(ImportFailure, match="macros"):
        inspect_deck(_write(quarantine, buf.getvalue()))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "not a PowerPoint presentation"),
        (b"", "not a PowerPoint presentation"),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100 + "EncryptionInfo".encode("utf-16-le"),
            "password-protected",
        ),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "97–2003"),
    ],
    ids=["pdf", "empty", "encrypted", "legacy-ppt"],
)
def test_files_that_are_not_pptx_get_an_actionable_message(quarantine: Path, data: bytes, message: str) -> None:
    with pytest.raises(ImportFailure, match=message) as exc:
        inspect_deck(_write(quarantine, data))
    assert NAME not in str(exc.value)


def test_truncated_and_foreign_zips_are_refused(quarantine: Path, deck_bytes: bytes) -> None:
    with pytest.raises(ImportFailure, match="damaged"):
        inspect_deck(_write(quarantine, deck_bytes[: len(deck_bytes) // 2]))
    docx_like = io.BytesIO()
    with zipfile.ZipFile(docx_like, "w") as zf:
        zf.writestr(
            "[Content_Types].xml",
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.wordprocessingml.document.main+xml"/></Types>',
        )
        zf.writestr(
            "_rels/.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/officeDocument" Target="word/document.xml"/></Relationships>',
        )
        zf.writestr("word/document.xml", "<w:document/>")
    with pytest.raises(ImportFailure, match="not a PowerPoint presentation"):
        inspect_deck(_write(quarantine, docx_like.getvalue(), "letter.docx"))


def test_zip_bomb_is_refused_without_unpacking_it(
    quarantine: Path, deck_bytes: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Limits lowered so the test stays small: 40 MB of zeros deflate to ~40 kB (ratio ~1000).
    monkeypatch.setattr(slides, "_RATIO_GRACE_BYTES", 1024**2)
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(deck_bytes)) as src, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            out.writestr(info, src.read(info))
        out.writestr("ppt/media/image99.png", b"\0" * (40 * 1024**2))
    with pytest.raises(ImportFailure, match="expands to more than"):
        inspect_deck(_write(quarantine, buf.getvalue()))


def test_slideshow_file_is_read_as_a_presentation(quarantine: Path, deck_bytes: bytes) -> None:
    members = all_members(deck_bytes)
    members["[Content_Types].xml"] = members["[Content_Types].xml"].replace(
        b"presentationml.presentation.main+xml", b"presentationml.slideshow.main+xml"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    assert inspect_deck(_write(quarantine, buf.getvalue(), "show.ppsx")).slide_count == 5


def test_missing_file_and_wrong_arguments_are_validation_errors(quarantine: Path, deck_path: Path) -> None:
    with pytest.raises(ValidationError, match="missing"):
        inspect_deck(quarantine / "gone.pptx")
    with pytest.raises(ValidationError):
        inspect_deck(str(deck_path))  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        scrub_deck(deck_path, keep_notes="yes")  # type: ignore[arg-type]


# --- scrub ------------------------------------------------------------------------------------


def test_scrub_removes_every_trace_of_the_name(deck_path: Path, empty_tmpdir: Path) -> None:
    scrubbed = scrub_deck(deck_path)
    members = all_members(scrubbed)
    leaks = [name for name, data in members.items() if NAME.encode() in data or b"DOE" in data]
    assert leaks == []
    # The chart's embedded workbook is a zip of its own: look inside it too.
    for name, data in members.items():
        if name.startswith("ppt/embeddings/"):
            inner = all_members(data)
            assert [n for n, d in inner.items() if NAME.encode() in d] == []
    assert not [n for n in members if "comment" in n.lower() or n.startswith(("docProps/custom", "customXml"))]
    assert "ppt/authors.xml" not in members
    assert LINKED_PICTURE.encode() not in b"".join(members.values())
    assert dangling_references(scrubbed) == []
    assert list(empty_tmpdir.iterdir()) == []


def test_scrubbed_deck_opens_with_blank_properties_and_no_notes(deck_path: Path) -> None:
    prs = Presentation(io.BytesIO(scrub_deck(deck_path)))
    core = prs.core_properties
    assert (core.author, core.last_modified_by, core.title, core.subject, core.keywords, core.comments) == (
        "",
        "",
        "",
        "",
        "",
        "",
    )
    assert core.created is None and core.modified is None
    assert [slide.shapes.title.text for slide in prs.slides] == TITLES
    assert not any(slide.has_notes_slide for slide in prs.slides)
    # The text of the link stays; only the link to the outside is gone.
    run = prs.slides[2].placeholders[1].text_frame.paragraphs[1].runs[0]
    assert run.text == "Open in the viewer"
    assert run.hyperlink.address is None
    assert LINK.encode() not in b"".join(all_members(scrub_deck(deck_path)).values())


def test_scrub_keeps_notes_when_asked(deck_path: Path) -> None:
    prs = Presentation(io.BytesIO(scrub_deck(deck_path, keep_notes=True)))
    notes = [s.notes_slide.notes_text_frame.text if s.has_notes_slide else None for s in prs.slides]
    assert notes == [None, NOTES, None, NOTES, None]


def test_scrub_strips_picture_metadata_without_touching_pixels(deck_path: Path) -> None:
    prs = Presentation(io.BytesIO(scrub_deck(deck_path)))
    picture = next(shape for shape in prs.slides[3].shapes if shape.shape_type == MSO_SHAPE_TYPE.PICTURE)
    with Image.open(io.BytesIO(picture.image.blob)) as stored, Image.open(io.BytesIO(micrograph_jpeg())) as original:
        assert dict(stored.getexif()) == {}
        assert stored.tobytes() == original.tobytes()


def test_png_text_chunks_are_dropped(quarantine: Path) -> None:
    image = Image.new("RGB", (64, 48), (10, 200, 30))
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", NAME)
    info.add_itxt("Comment", f"scan of {NAME}")
    png = io.BytesIO()
    image.save(png, "PNG", pnginfo=info)
    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[6])
    slide.shapes.add_picture(io.BytesIO(png.getvalue()), 0, 0)
    buf = io.BytesIO()
    prs.save(buf)
    scrubbed = scrub_deck(_write(quarantine, buf.getvalue()))
    assert [n for n, d in all_members(scrubbed).items() if NAME.encode() in d] == []
    stored = Presentation(io.BytesIO(scrubbed)).slides[0].shapes[0].image.blob
    with Image.open(io.BytesIO(stored)) as im:
        assert im.text == {}
        assert im.tobytes() == image.tobytes()


# --- copy -------------------------------------------------------------------------------------


def test_copy_three_of_five_into_a_widescreen_deck(deck_path: Path, empty_tmpdir: Path, tmp_path: Path) -> None:
    source = scrub_deck(deck_path, keep_notes=True)
    target = _new_widescreen_deck()
    assert copy_slides(source, [1, 2, 3], target) == []
    assert list(empty_tmpdir.iterdir()) == []

    out = tmp_path / "out" / "deck.pptx"
    out.parent.mkdir()
    target.save(str(out))
    assert dangling_references(out.read_bytes()) == []
    prs = Presentation(str(out))
    assert len(prs.slides) == 3
    assert [slide.shapes.title.text for slide in prs.slides] == TITLES[1:4]
    assert _texts(prs.slides[0]) == ["History", BODY[1]]
    assert _texts(prs.slides[1]) == ["Imaging findings", f"{BODY[2]}\nOpen in the viewer"]
    assert _texts(prs.slides[2]) == ["Histology", "H&E x20"]
    # Still editable text, a real chart and a real picture (not a screenshot of the slide).
    kinds = {shape.shape_type for slide in prs.slides for shape in slide.shapes}
    assert {MSO_SHAPE_TYPE.CHART, MSO_SHAPE_TYPE.PICTURE, MSO_SHAPE_TYPE.TEXT_BOX} <= kinds
    assert [s.notes_slide.notes_text_frame.text if s.has_notes_slide else None for s in prs.slides] == [
        NOTES,
        None,
        NOTES,
    ]
    # 4:3 content is centred in 16:9 (the titles were centred in 4:3), and nothing hangs off the slide.
    for slide in prs.slides:
        title = slide.shapes.title
        assert title.left + title.width / 2 == pytest.approx(prs.slide_width / 2, abs=Inches(0.01))
        for shape in slide.shapes:
            assert shape.left >= 0 and shape.left + shape.width <= prs.slide_width
            assert shape.top >= 0 and shape.top + shape.height <= prs.slide_height

    require_tool("soffice")
    pages = render_deck_to_pngs(out, tmp_path / "png", dpi=40)
    assert len(pages) == 3
    assert not any(is_blank(page) for page in pages)


def test_content_is_scaled_down_into_a_smaller_slide(deck_path: Path) -> None:
    # LibreOffice's 16:9 (11.02 × 6.20 in) is shorter than the 4:3 source: content shrinks, fonts too.
    target = Presentation()
    target.slide_width, target.slide_height = Inches(11.02), Inches(6.2)
    copy_slides(scrub_deck(deck_path), [3], target)
    slide = _reopen(target).slides[0]
    box = next(shape for shape in slide.shapes if shape.shape_type == MSO_SHAPE_TYPE.TEXT_BOX)
    factor = 6.2 / 7.5
    assert box.text_frame.paragraphs[0].runs[0].font.size.pt == pytest.approx(20 * factor, abs=0.5)
    for shape in slide.shapes:
        assert shape.top + shape.height <= target.slide_height


def test_pictures_are_shared_when_a_slide_is_copied_twice(deck_path: Path) -> None:
    source = scrub_deck(deck_path)
    target = _new_widescreen_deck()
    copy_slides(source, [3, 3], target)
    copy_slides(source, [3], target)
    saved = io.BytesIO()
    target.save(saved)
    media = [n for n in all_members(saved.getvalue()) if n.startswith("ppt/media/")]
    assert len(media) == 1
    assert len(Presentation(io.BytesIO(saved.getvalue())).slides) == 3


def test_copy_appends_after_existing_slides_and_survives_a_second_source(deck_path: Path) -> None:
    target = _new_widescreen_deck()
    own = target.slides.add_slide(target.slide_layouts[5])
    own.shapes.title.text = "Case 1"
    own.shapes.add_picture(io.BytesIO(micrograph_jpeg(with_exif=False)), 0, Inches(2), Inches(3))
    copy_slides(scrub_deck(deck_path), [0, 4], target)
    copy_slides(build_deck(notes=False, comment=False, widescreen=True), [2], target)
    saved = io.BytesIO()
    target.save(saved)
    assert dangling_references(saved.getvalue()) == []
    prs = Presentation(io.BytesIO(saved.getvalue()))
    assert [slide.shapes.title.text for slide in prs.slides] == ["Case 1", TITLES[0], TITLES[4], TITLES[2]]
    assert _texts(prs.slides[1]) == [TITLES[0], "Multidisciplinary meeting"]
    names = [str(slide.part.partname) for slide in prs.slides]
    assert len(set(names)) == 4


def test_slide_with_active_x_falls_back_to_a_picture(deck_bytes: bytes, workdir: Path, empty_tmpdir: Path) -> None:
    require_tool("soffice")
    source = add_active_x(deck_bytes, 2)
    target = _new_widescreen_deck()
    assert copy_slides(source, [1, 2], target, workdir=workdir) == [1 + 1]
    assert list(empty_tmpdir.iterdir()) == []
    assert list(workdir.iterdir()) == []
    prs = _reopen(target)
    native, picture = prs.slides
    assert native.shapes.title.text == TITLES[1]
    assert [shape.shape_type for shape in picture.shapes] == [MSO_SHAPE_TYPE.PICTURE]
    with Image.open(io.BytesIO(picture.shapes[0].image.blob)) as im:
        assert max(im.size) == slides._FALLBACK_SIDE
        assert float(np.asarray(im.convert("L")).std()) > 5


def test_picture_fallback_without_a_workdir_is_an_export_error(deck_bytes: bytes) -> None:
    target = _new_widescreen_deck()
    with pytest.raises(ExportError, match="Slide 3 of the imported presentation cannot be carried"):
        copy_slides(add_active_x(deck_bytes, 2), [2], target)
    assert len(target.slides) == 0


def test_copy_rejects_slide_numbers_that_do_not_exist(deck_bytes: bytes) -> None:
    target = _new_widescreen_deck()
    with pytest.raises(ValidationError, match="Slide 6 does not exist: the imported presentation has 5 slides"):
        copy_slides(deck_bytes, [0, 5], target)
    with pytest.raises(ValidationError):
        copy_slides(deck_bytes, [-1], target)
    with pytest.raises(ValidationError):
        copy_slides(deck_bytes, [True], target)  # type: ignore[list-item]
    with pytest.raises(ValidationError):
        copy_slides(deck_bytes, [0], object())  # type: ignore[arg-type]
    assert len(target.slides) == 0


# --- thumbnails -------------------------------------------------------------------------------


def test_thumbnails_one_png_per_slide_inside_the_workdir(deck_path: Path, workdir: Path, empty_tmpdir: Path) -> None:
    require_tool("soffice")
    thumbs = slide_thumbnails(scrub_deck(deck_path), workdir=workdir, side=200)
    assert thumbs is not None and len(thumbs) == 5
    for png in thumbs:
        with Image.open(io.BytesIO(png)) as im:
            assert im.format == "PNG"
            assert max(im.size) == 200
            assert im.size[0] > im.size[1]  # landscape slides
            pixels = np.asarray(im.convert("L"))
            assert float(pixels.std()) > 5  # something is drawn on every slide
    assert list(workdir.iterdir()) == []
    assert list(empty_tmpdir.iterdir()) == []


def test_thumbnails_are_none_without_libreoffice(
    deck_bytes: bytes, workdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    monkeypatch.setenv("PATH", str(empty_bin))
    assert slide_thumbnails(deck_bytes, workdir=workdir) is None


def test_thumbnail_arguments_are_validated(deck_bytes: bytes, workdir: Path) -> None:
    with pytest.raises(ValidationError):
        slide_thumbnails(deck_bytes, workdir=workdir, side=5)
    with pytest.raises(ValidationError):
        slide_thumbnails(deck_bytes, workdir=workdir / "missing")
