"""The conference deck as a coordinator and a presenter meet it: reopen the written file and check it."""

from __future__ import annotations

import dataclasses
import io
import re
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from lxml import etree
from PIL import Image
from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.shapes import MSO_SHAPE_TYPE
from pptx.util import Inches

from casefiles.errors import Cancelled, ExportError
from casefiles.model import CasePlan
from casefiles.progress import CancelToken
from exporters import export_conference_pptx
from tests.exporters.media_double import (
    QUIZ_DIAGNOSIS,
    QUIZ_TITLE,
    SceneMedia,
    conference,
    series_case,
    three_cases,
)

SLIDE_W, SLIDE_H = 12_192_000, 6_858_000
P14 = "{http://schemas.microsoft.com/office/powerpoint/2010/main}"


def texts(slide) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(shape.text_frame.text for shape in slide.shapes if shape.has_text_frame)


def notes(slide) -> str:  # type: ignore[no-untyped-def]
    return slide.notes_slide.notes_text_frame.text if slide.has_notes_slide else ""


def pictures(slide) -> list:  # type: ignore[no-untyped-def,type-arg]
    return [s for s in slide.shapes if s.shape_type == MSO_SHAPE_TYPE.PICTURE]


def movies(slide) -> list:  # type: ignore[no-untyped-def,type-arg]
    return [s for s in slide.shapes if s.shape_type == MSO_SHAPE_TYPE.MEDIA]


@pytest.fixture(scope="module")
def deck(tmp_path_factory: pytest.TempPathFactory, kit: SimpleNamespace, clip_mp4: bytes) -> SimpleNamespace:
    media = SceneMedia(kit, video=clip_mp4)
    bundle = three_cases()
    calls: list[tuple[int, int, str]] = []
    out = export_conference_pptx(
        bundle, media, tmp_path_factory.mktemp("conf") / "board.pptx", progress=lambda *a: calls.append(a)
    )
    prs = Presentation(str(out))
    return SimpleNamespace(out=out, prs=prs, slides=list(prs.slides), media=media, bundle=bundle, calls=calls)


def test_deck_order_title_agenda_one_section_per_case_and_closing(deck: SimpleNamespace) -> None:
    assert (deck.prs.slide_width, deck.prs.slide_height) == (SLIDE_W, SLIDE_H)
    slides = deck.slides
    # title, agenda | quiz: divider, history, 2 images, answer, teaching | grid: divider, history,
    # 2x2 grid, 1 image, findings, teaching | stacks: divider, history, 2 images, clip, findings, teaching | closing
    assert len(slides) == 2 + 6 + 6 + 7 + 1
    title = texts(slides[0])
    for text in ("Tumor board — pancreas", "Tumor board", "Thursday 26 November 2026", "Dr A. Teacher, Dr B. Fellow"):
        assert text in title
    agenda = texts(slides[1])
    assert "Agenda" in agenda
    assert "1. Case 1 — CT · Abdomen" in agenda  # the quiz case is not named
    assert "2. Pancreatic ductal adenocarcinoma encasing the SMA" in agenda and "3. Main-duct IPMN" in agenda
    assert "Case 1 of 3" in texts(slides[2]) and "Case 2 of 3" in texts(slides[8])
    assert "Case 3 of 3" in texts(slides[14]) and "Main-duct IPMN" in texts(slides[14])
    assert "Clinical history" in texts(slides[3]) and "A 61-year-old with weight loss." in notes(slides[3])
    assert "Questions?" in texts(slides[-1]) and "Tumor board — pancreas" in texts(slides[-1])
    # Slide numbers (a real field) on every slide after the title slide.
    for number, slide in enumerate(slides[1:], start=2):
        assert re.search(rf"(^|\n){number}($|\n)", texts(slide)), f"slide {number} shows no number"
        assert slide._element.xpath('.//a:fld[@type="slidenum"]')
    # Progress: once per slide, then once for the save.
    assert [d for d, _, _ in deck.calls] == list(range(1, len(slides) + 2))
    assert deck.calls[-1][0] == deck.calls[-1][1]


def test_five_key_images_go_four_to_a_grid_then_one_full_slide(deck: SimpleNamespace) -> None:
    grid, single = deck.slides[10], deck.slides[11]
    cells = pictures(grid)
    assert len(cells) == 4
    assert len(pictures(single)) == 1 and pictures(single)[0].width > cells[0].width * 1.5
    # A 2x2 grid: two columns, two rows, nothing overlapping, all on the slide.
    centres = {(round((p.left + p.width / 2) / Inches(1)), round((p.top + p.height / 2) / Inches(1))) for p in cells}
    assert len({x for x, _ in centres}) == 2 and len({y for _, y in centres}) == 2 and len(centres) == 4
    for p in cells:
        assert p.left >= 0 and p.left + p.width <= SLIDE_W and p.top >= 0 and p.top + p.height <= SLIDE_H
    for a in range(4):
        for b in range(a + 1, 4):
            pa, pb = cells[a], cells[b]
            apart_x = pa.left + pa.width <= pb.left or pb.left + pb.width <= pa.left
            apart_y = pa.top + pa.height <= pb.top or pb.top + pb.height <= pa.top
            assert apart_x or apart_y
    # Every cell is captioned (label, image n of 5 and window); the notes list them and hold the findings.
    body = texts(grid)
    for n in range(1, 5):
        assert f"image {n} of 5 (W 400 / L 40)" in body
    assert "image 5 of 5" in texts(single)
    assert "Hypoattenuating head mass" in notes(grid) and "5. Axial CT portal venous — image 5 of 5" not in notes(grid)


def test_every_picture_keeps_its_aspect_ratio_and_shows_the_renderers_pixels(deck: SimpleNamespace) -> None:
    media = deck.media
    seen = 0
    for slide in deck.slides:
        for pic in pictures(slide):
            with Image.open(io.BytesIO(pic.image.blob)) as im:
                w, h = im.size
            assert pic.width / pic.height == pytest.approx(w / h, rel=0.005)
            seen += 1
    assert seen == 2 + 5 + 2
    # The pixels are the renderer's: one grid cell decoded equals the scene it was given.
    shown = Image.open(io.BytesIO(pictures(deck.slides[10])[0].image.blob)).convert("L")
    assert shown.size == tuple(reversed(media.pixels[("grid", 0)].shape))


def test_scale_bars_appear_where_the_pixel_spacing_is_known(deck: SimpleNamespace, kit, clip_mp4) -> None:  # type: ignore[no-untyped-def]
    # 0.7 mm/px on a 400 px wide image: 280 mm across, so the longest round bar within a quarter is 50 mm.
    image_slide = deck.slides[4]
    (pic,) = pictures(image_slide)
    bars = [s for s in image_slide.shapes if s.name.startswith("Scale bar")]
    assert [s.text_frame.text for s in bars] == ["50 mm"]
    (bar,) = [s for s in image_slide.shapes if s.shape_type == MSO_SHAPE_TYPE.AUTO_SHAPE and s.height < Inches(0.1)]
    assert bar.width == pytest.approx(pic.width * 50 / 280, rel=0.01)
    # Bottom-left, inside the picture.
    assert pic.left < bar.left < pic.left + pic.width / 4
    assert pic.top + pic.height * 0.75 < bar.top < pic.top + pic.height
    # Each grid cell has its own bar.
    assert len([s for s in deck.slides[10].shapes if s.name.startswith("Scale bar")]) == 4


def test_no_scale_bar_without_a_pixel_spacing(tmp_path: Path, kit: SimpleNamespace) -> None:
    bundle = conference([(series_case("a", title="Liver", images=1), CasePlan(case_id="a"))])
    out = export_conference_pptx(bundle, SceneMedia(kit, video=None, spacing_mm=None), tmp_path / "d.pptx")
    slides = list(Presentation(str(out)).slides)
    assert sum(len(pictures(s)) for s in slides) == 1
    assert not any(s.name.startswith("Scale bar") for slide in slides for s in slide.shapes)


def test_stack_clip_is_an_embedded_mp4_with_a_poster_frame(deck: SimpleNamespace) -> None:
    clip_slide = deck.slides[18]
    (movie,) = movies(clip_slide)
    assert "whole series (30 images)" in texts(clip_slide) and "W 400 / L 40" in texts(clip_slide)
    assert movie.width / movie.height == pytest.approx(320 / 240, rel=0.005)  # the poster's aspect
    with zipfile.ZipFile(deck.out) as zf:
        types = etree.fromstring(zf.read("[Content_Types].xml"))
        mp4_parts = [n for n in zf.namelist() if n.endswith(".mp4")]
        assert len(mp4_parts) == 1
        declared = {el.get("PartName", "").lstrip("/") or el.get("Extension"): el.get("ContentType") for el in types}
        assert declared.get(mp4_parts[0], declared.get("mp4")) == "video/mp4"
        video = zf.read(mp4_parts[0])
        assert video[4:8] == b"ftyp" and b"avc1" in video
    rels = clip_slide.part.rels
    assert any(r.reltype.endswith("/video") for r in rels.values())
    # Only the stacks plan asked for a clip: one clip for its one series.
    assert deck.media.calls.count("stack_video") == 1
    assert sum(len(movies(s)) for s in deck.slides) == 1


def test_a_quiz_case_reveals_its_answer_only_on_the_answer_slide(deck: SimpleNamespace) -> None:
    slides = deck.slides
    answer_index = next(i for i, s in enumerate(slides) if texts(s).startswith("Answer"))
    assert answer_index == 6
    for i, slide in enumerate(slides[:answer_index]):
        seen = texts(slide) + "\n" + notes(slide)
        for secret in (QUIZ_DIAGNOSIS, QUIZ_TITLE, "peripheral calcification"):
            assert secret not in seen, f"slide {i + 1} gives away the answer"
    answer = slides[answer_index]
    assert QUIZ_DIAGNOSIS in texts(answer) and QUIZ_TITLE in texts(answer)
    assert QUIZ_DIAGNOSIS in notes(answer) and "peripheral calcification" in notes(answer)
    # The quiz case is an unnamed section too; the others are named after their cases.
    sections = deck.prs.part._element.findall(f".//{P14}section")
    names = [s.get("name") for s in sections]
    assert names == [
        "Introduction",
        "Case 1",
        "Case 2: Pancreatic ductal adenocarcinoma encasing the SMA",
        "Case 3: Main-duct IPMN",
        "Closing",
    ]
    counts = [len(s.findall(f".//{P14}sldId")) for s in sections]
    assert counts == [2, 6, 6, 7, 1]
    ids = [int(s.get("id")) for s in sections[1].findall(f".//{P14}sldId")]
    assert ids == [slides[i].slide_id for i in range(2, 8)]


def test_non_quiz_cases_show_findings_and_diagnosis_after_the_images(deck: SimpleNamespace) -> None:
    findings = deck.slides[12]
    assert texts(findings).startswith("Findings and diagnosis")
    body = texts(findings)
    assert "Pancreatic ductal adenocarcinoma, unresectable" in body and "Lymphoma" in body
    assert "Teaching points" in texts(deck.slides[13]) and "Look at every slice." in texts(deck.slides[13])


def test_no_fake_phi_anywhere_in_the_package(deck: SimpleNamespace, kit: SimpleNamespace) -> None:
    with zipfile.ZipFile(deck.out) as zf:
        assert zf.testzip() is None
        names = zf.namelist()
        for name in names:
            generic = r"(?:[A-Za-z_]+/)*(?:\[Content_Types\]|[A-Za-z]*\d*)\.(?:xml|rels|png|jpg|mp4|bin)(?:\.rels)?"
            assert re.fullmatch(generic, name), name
            data = zf.read(name).lower()
            for phi in kit.FAKE_PHI:
                assert phi.lower().encode() not in data, f"{phi} found in {name}"
                assert phi.lower().encode("utf-16-le") not in data, f"{phi} found in {name}"
        assert "docProps/custom.xml" not in names and not any("thumbnail" in n for n in names)
    core = deck.prs.core_properties
    assert core.title == "Tumor board — pancreas" and core.author == "CaseDeck" and core.comments == ""


def test_failures_of_the_renderer_become_placeholders_not_crashes(
    tmp_path: Path, kit: SimpleNamespace, clip_mp4: bytes
) -> None:
    media = SceneMedia(
        kit, video=clip_mp4, broken=frozenset({("grid", 2), ("stack", 0)}), broken_clips=frozenset({"stack-s1"})
    )
    out = export_conference_pptx(three_cases(), media, tmp_path / "d.pptx")
    slides = list(Presentation(str(out)).slides)
    assert len(slides) == 22
    assert len(pictures(slides[10])) == 3 and "Image unavailable" in texts(slides[10])
    assert "Image unavailable" in texts(slides[16]) and not pictures(slides[16])
    assert "Clip unavailable" in texts(slides[18]) and not movies(slides[18])
    with zipfile.ZipFile(out) as zf:
        assert not any(n.endswith(".mp4") for n in zf.namelist())
        assert not any(kit.FAKE_PHI[0].encode() in zf.read(n) for n in zf.namelist())


def test_a_clip_that_is_not_an_mp4_is_refused_with_a_placeholder(tmp_path: Path, kit: SimpleNamespace) -> None:
    bundle = conference([(series_case("s", title="Stack", images=1, frames=5), CasePlan(case_id="s", stacks=True))])
    out = export_conference_pptx(bundle, SceneMedia(kit, video=b"\x00\x00\x00\x08junk"), tmp_path / "d.pptx")
    slides = list(Presentation(str(out)).slides)
    assert any("Clip unavailable" in texts(s) for s in slides)
    assert not any(movies(s) for s in slides)


def test_a_case_without_key_images_gets_a_text_slide(tmp_path: Path, kit: SimpleNamespace) -> None:
    empty = series_case("e", title="Normal variant", images=0, findings="Nothing abnormal.")
    bundle = conference([(empty, CasePlan(case_id="e", stacks=True))])
    out = export_conference_pptx(bundle, SceneMedia(kit, video=None), tmp_path / "d.pptx")
    slides = list(Presentation(str(out)).slides)
    assert any("No key images selected" in texts(s) for s in slides)
    assert not any(pictures(s) or movies(s) for s in slides)


def test_unicode_rtl_and_very_long_text_fit_without_losing_anything(tmp_path: Path, kit: SimpleNamespace) -> None:
    sentence = "The mass abuts the superior mesenteric vein over a long segment without a fat plane. "
    arabic = series_case(
        "ar",
        title="كتلة في ذيل البنكرياس " * 12,
        images=1,
        history=sentence * 50,
        teaching_points=tuple(f"Point {n}: " + sentence * 4 for n in range(10)),
    )
    hebrew = series_case("he", title="גידול בלבלב", images=0, diagnosis="肺尖部腫瘍 🫁")
    many = tuple(f"Presenter number {n} with a long affiliation" for n in range(40))
    bundle = conference(
        [(arabic, CasePlan(case_id="ar")), (hebrew, CasePlan(case_id="he"))], title="Grand rounds " * 23
    )
    bundle = dataclasses.replace(bundle, conference=dataclasses.replace(bundle.conference, presenters=many))
    out = export_conference_pptx(bundle, SceneMedia(kit, video=None), tmp_path / "d.pptx")
    slides = list(Presentation(str(out)).slides)
    headings = [texts(s).split("\n", 1)[0] for s in slides]
    assert "Clinical history (continued)" in headings and "Teaching points (continued)" in headings
    all_text = "\n".join(texts(s) for s in slides)
    positions = [all_text.find(f"Point {n}:") for n in range(10)]
    assert all(p >= 0 for p in positions) and positions == sorted(positions)
    assert "…" in texts(slides[0])  # the 300-character title was cut to fit, with an ellipsis
    assert "肺尖部腫瘍 🫁" in all_text and "גידול בלבלב" in all_text
    rtl = [
        p.text
        for s in slides
        for sh in s.shapes
        if sh.has_text_frame
        for p in sh.text_frame.paragraphs
        if p._p.pPr is not None and p._p.pPr.get("rtl") == "1"
    ]
    assert any("גידול בלבלב" in t for t in rtl) and any("كتلة" in t for t in rtl)


def test_cancel_leaves_no_file_and_keeps_an_older_deck(tmp_path: Path, kit: SimpleNamespace) -> None:
    out = tmp_path / "deck.pptx"
    out.write_bytes(b"last week's deck")
    token = CancelToken()

    def progress(done: int, total: int, message: str) -> None:
        if done == 5:
            token.cancel()

    with pytest.raises(Cancelled):
        export_conference_pptx(three_cases(), SceneMedia(kit, video=None), out, progress=progress, cancel=token)
    assert out.read_bytes() == b"last week's deck" and list(tmp_path.iterdir()) == [out]


def test_the_same_conference_gives_the_same_bytes(tmp_path: Path, kit: SimpleNamespace, clip_mp4: bytes) -> None:
    a = export_conference_pptx(three_cases(), SceneMedia(kit, video=clip_mp4), tmp_path / "a.pptx")
    b = export_conference_pptx(three_cases(), SceneMedia(kit, video=clip_mp4), tmp_path / "b.pptx")
    assert a.read_bytes() == b.read_bytes()


# --- institution templates -------------------------------------------------------------------------

TEMPLATE_BG = RGBColor(0xF4, 0xE3, 0xC1)
TEMPLATE_PT = "application/vnd.openxmlformats-officedocument.presentationml.template.main+xml"
PRESENTATION_CT = "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"


def make_template(path: Path, *, width: int = SLIDE_W, height: int = SLIDE_H, slides: int = 2) -> Path:
    """A template made the way an institution would: a master with its own background, plus sample slides."""
    prs = Presentation()
    prs.slide_width, prs.slide_height = width, height
    master_bg = prs.slide_master.background.fill
    master_bg.solid()
    master_bg.fore_color.rgb = TEMPLATE_BG
    for n in range(slides):
        slide = prs.slides.add_slide(prs.slide_layouts[1])
        slide.shapes.title.text = f"Template sample slide {n} by J. Smith"
        slide.notes_slide.notes_text_frame.text = "Template author's notes"
    prs.core_properties.author = "Template Author"
    staging = path.with_suffix(".staging.pptx")
    prs.save(str(staging))
    if path.suffix == ".potx":
        with zipfile.ZipFile(staging) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
            for item in src.infolist():
                data = src.read(item.filename)
                if item.filename == "[Content_Types].xml":
                    data = data.replace(PRESENTATION_CT.encode(), TEMPLATE_PT.encode())
                dst.writestr(item, data)
        staging.unlink()
    else:
        staging.rename(path)
    return path


def test_python_pptx_itself_refuses_the_potx_the_export_accepts(tmp_path: Path) -> None:
    template = make_template(tmp_path / "inst.potx")
    with pytest.raises(ValueError, match="not a PowerPoint file"):
        Presentation(str(template))


def test_a_potx_template_gives_its_masters_and_layouts_without_its_slides(tmp_path: Path, kit: SimpleNamespace) -> None:
    template = make_template(tmp_path / "inst.potx")
    out = export_conference_pptx(three_cases(), SceneMedia(kit, video=None), tmp_path / "d.pptx", template=template)
    prs = Presentation(str(out))  # a plain .pptx now
    slides = list(prs.slides)
    assert len(slides) == 22
    assert not any("Template sample slide" in texts(s) or "Template author" in notes(s) for s in slides)
    master = prs.slide_master
    assert master.background.fill.fore_color.rgb == TEMPLATE_BG
    # Slides sit on the template's layouts (mapped by name) and keep the master's background.
    assert slides[0].slide_layout.name == "Title Slide"
    assert slides[2].slide_layout.name == "Section Header"
    assert slides[3].slide_layout.name == "Title and Content"
    assert slides[4].slide_layout.name == "Blank"
    assert not slides[3]._element.xpath("./p:cSld/p:bg")  # inherited from the master, not overridden
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
        content_types = zf.read("[Content_Types].xml").decode()
        assert "template.main" not in content_types
        assert len([n for n in names if re.fullmatch(r"ppt/slides/slide\d+\.xml", n)]) == 22
        assert not any(b"Template sample slide" in zf.read(n) for n in names)
        assert not any(b"Template Author" in zf.read(n) for n in names)


def test_a_4_3_template_is_used_as_is_with_the_layout_scaled_into_it(tmp_path: Path, kit: SimpleNamespace) -> None:
    width, height = Inches(10), Inches(7.5)
    template = make_template(tmp_path / "old.pptx", width=width, height=height)
    out = export_conference_pptx(three_cases(), SceneMedia(kit, video=None), tmp_path / "d.pptx", template=template)
    prs = Presentation(str(out))
    assert (prs.slide_width, prs.slide_height) == (width, height)
    for slide in prs.slides:
        for shape in slide.shapes:
            assert shape.left >= 0 and shape.top >= 0
            assert shape.left + shape.width <= width + 2 and shape.top + shape.height <= height + 2


@pytest.mark.parametrize(
    ("name", "content"),
    [
        pytest.param("broken.potx", b"PK\x03\x04 not really a zip", id="not-a-zip"),
        pytest.param("empty.pptx", b"", id="empty"),
        pytest.param("notes.potx", "zip-without-presentation", id="zip-without-presentation"),
        pytest.param("template.docx", b"whatever", id="wrong-extension"),
    ],
)
def test_a_broken_template_is_an_export_error_and_writes_nothing(
    tmp_path: Path, kit: SimpleNamespace, name: str, content: bytes | str
) -> None:
    template = tmp_path / name
    if content == "zip-without-presentation":
        with zipfile.ZipFile(template, "w") as zf:
            zf.writestr("[Content_Types].xml", "<Types/>")
    else:
        assert isinstance(content, bytes)
        template.write_bytes(content)
    out = tmp_path / "out" / "deck.pptx"
    out.parent.mkdir()
    with pytest.raises(ExportError, match="template") as err:
        export_conference_pptx(three_cases(), SceneMedia(kit, video=None), out, template=template)
    assert name not in str(err.value)
    assert list(out.parent.iterdir()) == []


def test_a_template_missing_on_disk_is_an_export_error(tmp_path: Path, kit: SimpleNamespace) -> None:
    with pytest.raises(ExportError, match="template could not be opened"):
        export_conference_pptx(
            three_cases(), SceneMedia(kit, video=None), tmp_path / "d.pptx", template=tmp_path / "gone.potx"
        )
    assert list(tmp_path.iterdir()) == []


def test_only_a_bundle_and_a_pptx_destination_are_accepted(tmp_path: Path, kit: SimpleNamespace) -> None:
    with pytest.raises(ExportError, match="conference bundle"):
        export_conference_pptx(three_cases().conference, SceneMedia(kit, video=None), tmp_path / "d.pptx")  # type: ignore[arg-type]
    with pytest.raises(ExportError, match=r"\.pptx"):
        export_conference_pptx(three_cases(), SceneMedia(kit, video=None), tmp_path / "d.pdf")
    with pytest.raises(ExportError, match="media source"):
        export_conference_pptx(three_cases(), object(), tmp_path / "d.pptx")  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


# --- package integrity (what PowerPoint would otherwise "repair") ------------------------------------

RELS_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
CT_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"


def package_problems(path: Path) -> list[str]:
    """Dangling relationships, parts without a content type, orphan slides, duplicate shape ids."""
    problems = []
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        types = etree.fromstring(zf.read("[Content_Types].xml"))
        defaults = {el.get("Extension").lower() for el in types if el.tag == f"{CT_NS}Default"}
        overrides = {el.get("PartName").lstrip("/") for el in types if el.tag == f"{CT_NS}Override"}
        for name in names:
            if name.endswith("/") or name == "[Content_Types].xml":
                continue
            if name not in overrides and name.rsplit(".", 1)[-1].lower() not in defaults:
                problems.append(f"{name} has no content type")
        for name in overrides - names:
            problems.append(f"content type for missing part {name}")
        for rels in (n for n in names if n.endswith(".rels")):
            base = rels.replace("_rels/", "").removesuffix(".rels")
            folder = base.rsplit("/", 1)[0] if "/" in base else ""
            for rel in etree.fromstring(zf.read(rels)):
                if rel.get("TargetMode") == "External":
                    continue
                target = rel.get("Target")
                resolved = target.lstrip("/") if target.startswith("/") else str(Path(folder, target))
                resolved = str(Path(resolved)).replace("\\", "/")
                parts = []
                for piece in resolved.split("/"):
                    if piece == "..":
                        parts.pop()
                    elif piece and piece != ".":
                        parts.append(piece)
                if "/".join(parts) not in names:
                    problems.append(f"{rels} points at missing {target}")
        slides = {n for n in names if re.fullmatch(r"ppt/slides/slide\d+\.xml", n)}
        prs_xml = etree.fromstring(zf.read("ppt/presentation.xml"))
        listed = prs_xml.findall(".//{http://schemas.openxmlformats.org/presentationml/2006/main}sldId")
        if len(listed) != len(slides):
            problems.append(f"{len(slides)} slide parts but {len(listed)} listed")
        for slide in slides:
            ids = [el.get("id") for el in etree.fromstring(zf.read(slide)).iter() if el.tag.endswith("}cNvPr")]
            if len(ids) != len(set(ids)):
                problems.append(f"{slide} has duplicate shape ids")
    return problems


def test_the_package_is_consistent_on_the_built_in_theme(deck: SimpleNamespace) -> None:
    assert package_problems(deck.out) == []


def test_the_package_is_consistent_on_a_template(tmp_path: Path, kit: SimpleNamespace, clip_mp4: bytes) -> None:
    template = make_template(tmp_path / "inst.potx", slides=3)
    out = export_conference_pptx(three_cases(), SceneMedia(kit, video=clip_mp4), tmp_path / "d.pptx", template=template)
    assert package_problems(out) == []
