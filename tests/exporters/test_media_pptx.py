"""Video clips and a case's own PowerPoint slides in the PowerPoint exports (single case and conference).

python-pptx reads every deck back (a movie shape holding the clip, carried
slides whose text is still text), and LibreOffice renders the single-case
deck so the carried slides are seen, not just present in the XML.
"""

from __future__ import annotations

import io
import subprocess
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pytest
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE
from pptx.opc.constants import RELATIONSHIP_TYPE as RT

from casefiles.model import CasePlan
from exporters._video_clean import clean_mp4
from exporters.pptx_conference import export_conference_pptx
from exporters.pptx_deck import export_case_pptx
from tests.exporters.html_media import bundle_of, pancoast_case
from tests.exporters.media_double import SceneMedia
from tests.exporters.mixed_media import (
    CLIP_CAPTION,
    DECK_LABEL,
    SLIDE_TITLES,
    MixedMedia,
    key_png,
    make_clip,
    make_deck,
    mixed_case,
)
from tests.helpers import require_tool
from tests.media.slides.decks import add_active_x, as_macro_deck


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return make_clip(require_tool("ffmpeg"), tmp_path_factory.mktemp("clip") / "clip.mp4")


def caption(slide: Any) -> str:
    """The caption band of a picture slide (its text without the slide number)."""
    return slide_text(slide).rsplit(" ", 1)[0]


def slide_text(slide: Any) -> str:
    return " ".join(shape.text_frame.text for shape in slide.shapes if shape.has_text_frame)


def notes(slide: Any) -> str:
    return str(slide.notes_slide.notes_text_frame.text) if slide.has_notes_slide else ""


def movies(slide: Any) -> list[Any]:
    return [shape for shape in slide.shapes if shape.shape_type == MSO_SHAPE_TYPE.MEDIA]


def pictures(slide: Any) -> list[Any]:
    return [shape for shape in slide.shapes if shape.shape_type == MSO_SHAPE_TYPE.PICTURE]


def media_blobs(slide: Any) -> list[bytes]:
    return [rel.target_part.blob for rel in slide.part.rels.values() if rel.reltype == RT.MEDIA]


def single_case_deck(tmp_path: Path, clip: bytes, **media: Any) -> tuple[Path, MixedMedia]:
    source = MixedMedia(clip, **media)
    case = mixed_case()
    out = export_case_pptx(case, lambda key: key_png(key.frame), tmp_path / "case.pptx", media=source)
    return out, source


def test_single_case_deck_plays_the_clip_and_carries_the_chosen_slides_as_editable_text(
    tmp_path: Path, clip: bytes
) -> None:
    out, source = single_case_deck(tmp_path, clip)
    slides = list(Presentation(str(out)).slides)
    texts = [slide_text(s) for s in slides]

    # title, history, two key images, the clip, carried slides 1 and 3, then the diagnosis
    assert len(slides) == 8
    clip_slide = slides[4]
    (movie,) = movies(clip_slide)
    assert media_blobs(clip_slide) == [clean_mp4(clip)]  # the stored clip itself, metadata blanked
    assert CLIP_CAPTION in texts[4]
    assert movie.width > 0 and movie.height > 0
    carried = slides[5:7]
    assert [s.shapes.title.text for s in carried] == [SLIDE_TITLES[0], SLIDE_TITLES[2]]
    assert all(not pictures(s) for s in carried)  # native shapes, not pictures of the slides
    assert "Point 3 of the referring team" in texts[6]
    assert SLIDE_TITLES[1] not in " ".join(texts)  # the slide left out stays out
    assert "Bleeding posterior duodenal ulcer" in texts[7]
    # The PDF letter is not exported: nothing asked for its file.
    assert "asset_file:document" not in source.calls and "asset_file:slide_deck" in source.calls


def test_without_media_the_single_case_deck_keeps_to_key_images(tmp_path: Path, clip: bytes) -> None:
    case = mixed_case()
    out = export_case_pptx(case, lambda key: key_png(key.frame), tmp_path / "case.pptx")
    slides = list(Presentation(str(out)).slides)
    text = " ".join(slide_text(s) for s in slides)

    assert len(slides) == 5  # title, history, two key images, diagnosis
    assert not any(movies(s) for s in slides)
    assert SLIDE_TITLES[0] not in text and CLIP_CAPTION not in text


def test_libreoffice_shows_the_carried_slides_text_and_the_clip_poster(tmp_path: Path, clip: bytes) -> None:
    soffice = require_tool("soffice")
    require_tool("pdftotext")
    out, _ = single_case_deck(tmp_path, clip)
    with tempfile.TemporaryDirectory(prefix="casedeck-lo-") as tmp:
        subprocess.run(
            [
                soffice,
                "--headless",
                "--norestore",
                f"-env:UserInstallation={(Path(tmp) / 'p').as_uri()}",
                *("--convert-to", "pdf", "--outdir", str(tmp_path), str(out)),
            ],
            check=True,
            capture_output=True,
            timeout=180,
        )
    pdf = tmp_path / "case.pdf"
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    pages = [" ".join(page.split()) for page in text.split("\f")]

    assert SLIDE_TITLES[0] in pages[5] and SLIDE_TITLES[2] in pages[6]
    assert "Point 1 of the referring team" in pages[5]
    images = subprocess.run(["pdfimages", "-list", str(pdf)], check=True, capture_output=True, text=True).stdout
    clip_page_images = [line for line in images.splitlines()[2:] if line.split()[0] == "5"]
    assert clip_page_images, "the clip's poster frame is drawn on its slide"


def conference_deck(tmp_path: Path, source: Any, *, chosen: tuple[int, ...] = (0, 2)) -> list[Any]:
    case = mixed_case(chosen=chosen)
    out = export_conference_pptx(bundle_of((case, CasePlan(case.id))), source, tmp_path / "conf.pptx")
    return list(Presentation(str(out)).slides)


def carried_part(slides: list[Any]) -> list[Any]:
    """The slides between the clip and the findings slide (what was carried for the case's PowerPoint)."""
    start = next(n for n, s in enumerate(slides) if movies(s)) + 1
    end = next(n for n, s in enumerate(slides) if "Findings and diagnosis" in slide_text(s))
    return slides[start:end]


def test_a_deck_that_cannot_be_read_falls_back_to_its_slide_pictures(tmp_path: Path, clip: bytes) -> None:
    slides = carried_part(conference_deck(tmp_path, MixedMedia(clip, deck=b"PK\x03\x04 not a deck")))

    assert [caption(s) for s in slides] == [f"Slide 1 of {DECK_LABEL}", f"Slide 3 of {DECK_LABEL}"]
    assert all(len(pictures(s)) == 1 for s in slides)
    assert all("could not be carried as editable content" in notes(s) for s in slides)


def test_a_deck_without_file_or_pictures_says_its_slides_are_unavailable(tmp_path: Path, clip: bytes) -> None:
    slides = carried_part(conference_deck(tmp_path, MixedMedia(clip, deck=None, previews=[])))

    assert len(slides) == 2 and all("Slide unavailable" in slide_text(s) for s in slides)
    assert f"Slide 3 of {DECK_LABEL}" in slide_text(slides[1])


def test_a_deck_the_slide_copier_refuses_falls_back_slide_by_slide(tmp_path: Path, clip: bytes) -> None:
    # python-pptx opens it, but copy_slides refuses a deck carrying macros: every chosen slide needs its picture.
    slides = carried_part(conference_deck(tmp_path, MixedMedia(clip, deck=as_macro_deck(make_deck()))))

    assert [caption(s) for s in slides] == [f"Slide 1 of {DECK_LABEL}", f"Slide 3 of {DECK_LABEL}"]


def test_without_libreoffice_only_the_slide_that_cannot_be_carried_becomes_its_picture(
    tmp_path: Path, clip: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    tools = tmp_path / "bin"
    tools.mkdir()
    monkeypatch.setenv("PATH", str(tools))  # no soffice: the ActiveX slide cannot be rendered at export time
    deck = add_active_x(make_deck(), 1)
    slides = carried_part(conference_deck(tmp_path, MixedMedia(clip, deck=deck), chosen=(0, 1, 2)))

    assert len(slides) == 3
    assert slides[0].shapes.title.text == SLIDE_TITLES[0] and not pictures(slides[0])
    assert caption(slides[1]) == f"Slide 2 of {DECK_LABEL}" and len(pictures(slides[1])) == 1
    assert slides[2].shapes.title.text == SLIDE_TITLES[2] and not pictures(slides[2])


def test_pictures_after_carried_slides_keep_their_own_image_parts(tmp_path: Path, clip: bytes, kit: Any) -> None:
    from pptx.util import Inches

    prs = Presentation(io.BytesIO(make_deck()))
    for slide in prs.slides:  # carried slides with pictures of their own
        slide.shapes.add_picture(io.BytesIO(key_png(9 + slide.slide_id)), Inches(1), Inches(1), Inches(2))
    buf = io.BytesIO()
    prs.save(buf)
    mixed, later = mixed_case(), pancoast_case()
    bundle = bundle_of((mixed, CasePlan(mixed.id)), (later, CasePlan(later.id)))
    source = _Both(MixedMedia(clip, deck=buf.getvalue()), SceneMedia(kit, video=None))
    out = export_conference_pptx(bundle, source, tmp_path / "conf.pptx")

    names = zipfile.ZipFile(out).namelist()
    assert len(names) == len(set(names)), "two parts share a name in the package"
    deck = Presentation(str(out))
    later_pictures = [p for s in deck.slides if "Apical" in notes(s) or "Pancoast" in notes(s) for p in pictures(s)]
    assert later_pictures and all(p.image.size[0] >= 400 for p in later_pictures)


class _Both:
    """The mixed case's media for the mixed case, the scene double for the other."""

    def __init__(self, mixed: MixedMedia, other: SceneMedia) -> None:
        self.mixed, self.other = mixed, other

    def __getattr__(self, name: str) -> Any:
        def call(case: Any, *args: Any, **kw: Any) -> Any:
            source = self.mixed if case.id.startswith("case-mixed") else self.other
            return getattr(source, name)(case, *args, **kw)

        return call
