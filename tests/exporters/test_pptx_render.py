"""What the audience sees: decks rendered by LibreOffice, checked as pixels.

Two renders in all (about 2-4 s each): a regular case and one with very long text.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE

from casefiles.model import KeyImage
from exporters import export_case_pptx
from tests.helpers import require_tool
from tests.support.office import is_blank, render_deck_to_pngs

pytestmark = pytest.mark.soffice


@pytest.fixture(autouse=True)
def _libreoffice() -> None:
    require_tool("soffice")  # skips on a bare machine, fails in CI where scripts/test installs it
    require_tool("pdftoppm")


SLIDE_W_IN, SLIDE_H_IN = 13.333, 7.5
EMU_PER_IN = 914_400


def grey(png: Path) -> np.ndarray:
    with Image.open(png) as im:
        return np.asarray(im.convert("L"), dtype=np.float64)


def region(page: np.ndarray, left_in: float, top_in: float, right_in: float, bottom_in: float) -> np.ndarray:
    """Pixels of ``page`` inside a rectangle given in slide inches."""
    h, w = page.shape
    return page[
        round(top_in / SLIDE_H_IN * h) : round(bottom_in / SLIDE_H_IN * h),
        round(left_in / SLIDE_W_IN * w) : round(right_in / SLIDE_W_IN * w),
    ]


@pytest.fixture(scope="module")
def regular(tmp_path_factory: pytest.TempPathFactory, kit: SimpleNamespace) -> SimpleNamespace:
    def source(key: KeyImage) -> bytes:
        if key.frame == 2:
            raise OSError("PACS unreachable")
        # Frame 0 landscape, frame 1 portrait; both have a bright disc in the middle.
        return bytes(kit.png_with_phi(kit.scene(800, 500) if key.frame == 0 else kit.scene(450, 900)))

    case = kit.make_case(
        images=3,
        teaching_points=("Check the lung apices on every chest radiograph.", "ورم قمي — שלום"),
    )
    tmp = tmp_path_factory.mktemp("regular")
    deck = export_case_pptx(case, source, tmp / "regular.pptx")
    return SimpleNamespace(deck=deck, pages=render_deck_to_pngs(deck, tmp / "png"), prs=Presentation(str(deck)))


@pytest.fixture(scope="module")
def wordy(tmp_path_factory: pytest.TempPathFactory, kit: SimpleNamespace) -> SimpleNamespace:
    sentence = "Marked widening of the superior mediastinum with loss of the aortopulmonary window. "
    case = kit.make_case(
        images=0,
        history=(sentence * 12 + "\n") * 4,
        diagnosis=sentence * 3,
        differential=tuple(f"Alternative {n}: " + sentence * 2 for n in range(6)),
        teaching_points=tuple(f"Point {n}: " + sentence * 5 for n in range(8)),
    )
    tmp = tmp_path_factory.mktemp("wordy")
    deck = export_case_pptx(case, lambda key: b"", tmp / "wordy.pptx")
    return SimpleNamespace(deck=deck, pages=render_deck_to_pngs(deck, tmp / "png"), prs=Presentation(str(deck)))


def test_every_slide_renders_to_a_page_that_is_not_blank(regular: SimpleNamespace) -> None:
    assert len(regular.pages) == len(regular.prs.slides) == 6
    for page in regular.pages:
        assert page.is_file()
        assert not is_blank(page)


def test_image_slides_show_the_image_where_the_picture_is_and_black_around_it(regular: SimpleNamespace) -> None:
    for index in (2, 3):  # landscape, portrait
        slide = regular.prs.slides[index]
        (pic,) = [s for s in slide.shapes if s.shape_type == MSO_SHAPE_TYPE.PICTURE]
        left, top = pic.left / EMU_PER_IN, pic.top / EMU_PER_IN
        right, bottom = left + pic.width / EMU_PER_IN, top + pic.height / EMU_PER_IN
        page = grey(regular.pages[index])
        cx, cy = (left + right) / 2, (top + bottom) / 2
        # The bright disc in the middle of the image is bright on the page.
        assert region(page, cx - 0.3, cy - 0.3, cx + 0.3, cy + 0.3).mean() > 200
        # The picture area has image texture; the slide outside it (above the caption) is black.
        assert region(page, left, top, right, bottom).std() > 20
        if left > 0.5:  # letterboxed at the sides
            assert region(page, 0.05, 0.5, left - 0.1, 6.0).max() < 16
            assert region(page, right + 0.1, 0.5, SLIDE_W_IN - 0.05, 6.0).max() < 16


def test_an_unavailable_image_renders_as_a_panel_not_an_empty_slide(regular: SimpleNamespace) -> None:
    page = grey(regular.pages[4])
    panel = region(page, 3.0, 2.0, 10.0, 5.0)
    assert panel.std() > 5  # the "Image unavailable" text on the panel


def test_long_text_stays_inside_its_box_on_every_continuation_slide(wordy: SimpleNamespace) -> None:
    assert len(wordy.pages) == len(wordy.prs.slides) > 4
    for number, png in enumerate(wordy.pages[1:], start=2):
        page = grey(png)
        # Below the body box (ends at 6.75 in), left of the slide number: nothing but background.
        assert region(page, 0.05, 6.85, 11.8, SLIDE_H_IN - 0.05).std() < 2.0, f"text overflows on slide {number}"
        # Right of the body box (ends at 12.53 in): nothing either.
        assert region(page, 12.6, 1.5, SLIDE_W_IN - 0.05, 6.7).std() < 2.0, f"text overflows on slide {number}"
        # And the body is really used: text is drawn in the box.
        assert region(page, 0.8, 1.75, 12.53, 6.75).std() > 5
