"""The conference deck as the audience sees it: rendered by LibreOffice and checked as pixels.

Three renders (a few seconds each): the three-case conference on the built-in
theme, a conference of very long, Unicode and right-to-left text, and the
three cases on an institution's .potx template.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE

from casefiles.model import CasePlan
from exporters import export_conference_pptx
from tests.exporters.media_double import SceneMedia, conference, series_case, three_cases
from tests.exporters.test_pptx_conference import TEMPLATE_BG, make_template
from tests.helpers import require_tool
from tests.support.office import is_blank, render_deck_to_pngs

pytestmark = pytest.mark.soffice


@pytest.fixture(autouse=True)
def _libreoffice() -> None:
    require_tool("soffice")
    require_tool("pdftoppm")


def rgb(png: Path) -> np.ndarray:
    with Image.open(png) as im:
        return np.asarray(im.convert("RGB"), dtype=np.int16)


def render(tmp: Path, deck: Path) -> SimpleNamespace:
    prs = Presentation(str(deck))
    return SimpleNamespace(deck=deck, prs=prs, pages=render_deck_to_pngs(deck, tmp / "png", dpi=40))


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory, kit: SimpleNamespace, clip_mp4: bytes) -> SimpleNamespace:
    tmp = tmp_path_factory.mktemp("board")
    deck = export_conference_pptx(three_cases(), SceneMedia(kit, video=clip_mp4), tmp / "board.pptx")
    return render(tmp, deck)


@pytest.fixture(scope="module")
def wordy(tmp_path_factory: pytest.TempPathFactory, kit: SimpleNamespace) -> SimpleNamespace:
    sentence = "Marked dilatation of the common bile duct with an abrupt cut-off at the ampulla. "
    long_case = series_case(
        "long",
        title="Obstructive jaundice " * 14,
        images=5,
        history=(sentence * 10 + "\n") * 4,
        diagnosis=sentence * 3,
        findings=sentence * 8,
        teaching_points=tuple(f"Point {n}: " + sentence * 4 for n in range(8)),
    )
    rtl = series_case("rtl", title="ورم في رأس البنكرياس — גידול בלבלב", images=0, history="מטופל בן 58 " * 30)
    bundle = conference(
        [(long_case, CasePlan(case_id="long")), (rtl, CasePlan(case_id="rtl", reveal=True))],
        title="Grand rounds: pancreatic lesions " * 9,
    )
    many = tuple(f"Dr Presenter {n}, Department of Radiology" for n in range(30))
    bundle = dataclasses.replace(bundle, conference=dataclasses.replace(bundle.conference, presenters=many))
    tmp = tmp_path_factory.mktemp("wordy")
    return render(tmp, export_conference_pptx(bundle, SceneMedia(kit, video=None), tmp / "wordy.pptx"))


def shape_mask(prs, slide, shape_px: tuple[int, int], pad: int = 2) -> np.ndarray:  # type: ignore[no-untyped-def]
    """True where some shape of ``slide`` lies (its rectangle, padded by ``pad`` pixels)."""
    h, w = shape_px
    mask = np.zeros((h, w), dtype=bool)
    sx, sy = w / prs.slide_width, h / prs.slide_height
    for shape in slide.shapes:
        left = max(int(shape.left * sx) - pad, 0)
        top = max(int(shape.top * sy) - pad, 0)
        right = min(int((shape.left + shape.width) * sx) + pad + 1, w)
        bottom = min(int((shape.top + shape.height) * sy) + pad + 1, h)
        mask[top:bottom, left:right] = True
    return mask


def assert_nothing_outside_the_shapes(deck: SimpleNamespace) -> None:
    """Every drawn pixel lies inside some shape's box: text that overflowed its frame would not."""
    for number, (slide, png) in enumerate(zip(deck.prs.slides, deck.pages, strict=True), start=1):
        page = rgb(png)[1:-1, 1:-1]  # pdftoppm may leave a white edge column
        outside = page[~shape_mask(deck.prs, slide, rgb(png).shape[:2])[1:-1, 1:-1]]
        background = np.median(outside, axis=0)
        stray = np.abs(outside - background).max(axis=1) > 40
        assert stray.mean() < 0.0005, f"slide {number}: {stray.sum()} pixels drawn outside every shape"


def test_every_slide_renders_to_a_page_that_is_not_blank(board: SimpleNamespace) -> None:
    assert len(board.pages) == len(board.prs.slides) == 22
    for number, page in enumerate(board.pages, start=1):
        assert not is_blank(page), f"slide {number} is blank"


def test_no_text_overflows_its_box_on_the_regular_deck(board: SimpleNamespace) -> None:
    assert_nothing_outside_the_shapes(board)


def test_no_text_overflows_with_very_long_unicode_and_rtl_text(wordy: SimpleNamespace) -> None:
    assert len(wordy.pages) == len(wordy.prs.slides) > 12
    for number, page in enumerate(wordy.pages, start=1):
        assert not is_blank(page), f"slide {number} is blank"
    assert_nothing_outside_the_shapes(wordy)


def test_rendered_images_keep_their_aspect_ratio(board: SimpleNamespace) -> None:
    """The round 'lesion' in the middle of each scene is still round on the page (single slides and grid cells)."""
    checked = 0
    for slide, png in zip(board.prs.slides, board.pages, strict=True):
        page = rgb(png).mean(axis=2)
        h, w = page.shape
        for pic in (s for s in slide.shapes if s.shape_type == MSO_SHAPE_TYPE.PICTURE):
            cx = (pic.left + pic.width / 2) / board.prs.slide_width * w
            cy = (pic.top + pic.height / 2) / board.prs.slide_height * h
            r = min(pic.width / board.prs.slide_width * w, pic.height / board.prs.slide_height * h) * 0.3
            window = page[int(cy - r) : int(cy + r), int(cx - r) : int(cx + r)]
            ys, xs = np.nonzero(window > 200)
            assert len(xs) > 20
            width, height = xs.max() - xs.min() + 1, ys.max() - ys.min() + 1
            assert width / height == pytest.approx(1.0, abs=0.15)
            checked += 1
    assert checked == 9


def test_a_potx_template_gives_the_deck_its_master_background(tmp_path: Path, kit: SimpleNamespace) -> None:
    template = make_template(tmp_path / "institution.potx")
    deck = export_conference_pptx(three_cases(), SceneMedia(kit, video=None), tmp_path / "t.pptx", template=template)
    rendered = render(tmp_path, deck)
    expected = np.array([TEMPLATE_BG[0], TEMPLATE_BG[1], TEMPLATE_BG[2]])
    for index in (0, 1, 3, 4):  # title, agenda, history, an image slide
        page = rgb(rendered.pages[index])
        corner = page[2:12, 2:12].reshape(-1, 3)
        assert np.abs(corner - expected).max() <= 6, f"slide {index + 1} does not show the template's background"
        assert not is_blank(rendered.pages[index])
    # Text follows the template's theme colours: dark text on the light background, readable.
    body = rgb(rendered.pages[3]).mean(axis=2)
    assert body.min() < 80
