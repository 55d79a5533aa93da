"""Issue #5 on the real app: the Case page's stack viewer and annotation editor in Debian's Chromium.

The data directory is seeded before `streamlit run app.py` starts (a generated 40-slice 256×256 CT,
imported with Services.import_dicom), then a user scrolls the series with the wheel, drags the
window, marks the slice as key image, draws an arrow and a ruler on it, and the test reads the
stored case back from the data directory: the key image holds both annotations in image pixels
and the window chosen by the drag.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from casefiles.annotations.model import Arrow, Ruler
from casefiles.config import Settings
from casefiles.model import AssetKind, Case, KeyImage, Window
from casefiles.services import Services
from casefiles.store.tinydb_store import TinyDBCaseStore
from pages.ui import case_key
from tests.dicom_factory import ct_slice
from tests.support.browser import case_page
from tests.support.streamlit_server import streamlit_app

pytestmark = pytest.mark.browser

SLICES = 40
SIZE = 256  # image columns and rows
TITLE = "Viewer and annotation case"
VIEWER = "window.__casedeckViewer.viewers[0]"
TIMEOUT_MS = 60_000


def fresh_case(data_dir: Path, case_id: str) -> Case:
    """The case as stored on disk now (a new store object: the app process wrote the file)."""
    services = Services(
        Settings(data_dir=data_dir, seed_samples=False), store=TinyDBCaseStore(data_dir / "casedeck.json")
    )
    return services.get_case(case_id)


@pytest.fixture
def seeded(tmp_path: Path) -> tuple[Path, Case]:
    """A data directory holding one case: a 40-slice 256×256 CT series (0.7 mm pixels, from ct_slice)."""
    from pydicom.uid import generate_uid

    source = tmp_path / "incoming"
    source.mkdir()
    study, series = generate_uid(), generate_uid()
    for i in range(SLICES):
        ct_slice(study, series, i, size=SIZE).save_as(source / f"im{i:03d}.dcm", enforce_file_format=True)
    data_dir = tmp_path / "data"
    services = Services(Settings(data_dir=data_dir, seed_samples=False))
    report = services.import_dicom([source], title=TITLE)
    assert report.instances_imported == SLICES and len(report.case_ids) == 1
    case = services.get_case(report.case_ids[0])
    assert [a.frame_count for a in case.assets if a.kind is AssetKind.DICOM_SERIES] == [SLICES]
    return data_dir, case


@pytest.fixture
def app_url(seeded: tuple[Path, Case], tmp_path: Path) -> Iterator[str]:
    data_dir, _ = seeded
    env = {**os.environ, "CASEDECK_DATA": str(data_dir), "CASEDECK_SAMPLES": "0"}
    with streamlit_app("app.py", env=env, log_path=tmp_path / "streamlit.log") as url:
        yield url


def viewer_state(page: Any) -> dict[str, Any]:
    state: dict[str, Any] = page.evaluate(f"() => {VIEWER}.state()")
    return state


def wait_stored(data_dir: Path, case_id: str, condition: Callable[[Case], bool], what: str) -> Case:
    """Poll the case file the app writes until ``condition`` holds (the toast may come and go unseen)."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while True:
        case = fresh_case(data_dir, case_id)
        if condition(case):
            return case
        if time.monotonic() > deadline:
            raise AssertionError(f"the app never stored {what}; key images: {case.key_images!r}")
        time.sleep(0.2)


def only_key(case: Case) -> KeyImage:
    assert len(case.key_images) == 1, case.key_images
    return case.key_images[0]


def kinds(case: Case) -> list[str]:
    return sorted(type(a).__name__ for k in case.key_images for a in k.annotations)


def test_scroll_window_mark_and_annotate_on_the_case_page(
    seeded: tuple[Path, Case], app_url: str, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    data_dir, case = seeded
    asset = next(a for a in case.assets if a.kind is AssetKind.DICOM_SERIES)
    screenshot = tmp_path / "case_viewer_annotate.png"
    with case_page(app_url, TITLE, screenshot=screenshot, timeout_ms=TIMEOUT_MS) as (page, errors):
        page.wait_for_function(f"() => window.__casedeckViewer && {VIEWER} && {VIEWER}.root.dataset.firstImageMs")
        start = viewer_state(page)
        assert start["frames"] == SLICES
        default = start["payloadWindow"]
        assert default == {"center": 40, "width": 400}  # the CT's own VOI

        # Wheel over the viewer: five notches, five slices further, and Python learns the slice
        # (the key-image button is keyed by the frame the page knows).
        canvas = page.locator("canvas.cdsv-canvas")
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(x, y)
        for _ in range(5):
            page.mouse.wheel(0, 100)
        frame = start["frame"] + 5
        expect(page.locator(".cdsv-counter")).to_have_text(f"{frame + 1}/{SLICES}")
        page.wait_for_function(f"() => {VIEWER}.state().shown === {frame}")
        expect(page.locator(f".st-key-{case_key(case.id, f'key_toggle_{asset.id}_{frame}')}")).to_be_attached()

        # Left-drag: right widens, down raises the level (400/256 units per px): W 400→500, L 40→90.
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x + 64, y + 32, steps=8)
        page.mouse.up()
        chosen = Window(center=90, width=500)
        page.wait_for_function(f"() => {VIEWER}.root.dataset.committedWindow === '90,500'")
        # The page reran with it: the server rendered a new payload at the dragged window.
        page.wait_for_function(
            f"() => {{ const w = {VIEWER}.state().payloadWindow; return w && w.center === 90 && w.width === 500; }}"
        )
        expect(page.get_by_text("W 500 L 90")).to_be_visible()
        assert viewer_state(page)["frame"] == frame  # the rerun kept the slice

        # Mark the slice as key image.
        page.get_by_role("button", name="Mark as key image").click()
        expect(page.get_by_text("Key images (1)")).to_be_visible()
        marked = only_key(wait_stored(data_dir, case.id, lambda c: len(c.key_images) == 1, "the key image"))
        assert (marked.asset_id, marked.frame) == (asset.id, frame)
        assert marked.window == chosen

        # Annotate it: an arrow, then a ruler, dragged with the editor's tools.
        expect(page.get_by_text("Annotate a key image")).to_be_visible()
        stage = page.locator("canvas.cd-canvas")
        stage.scroll_into_view_if_needed()
        page.wait_for_function("() => window.__casedeckAnnotator && window.__casedeckAnnotator.scale > 0")
        area = stage.bounding_box()
        scale = area["width"] / SIZE  # the displayed scale, measured
        assert area["height"] == pytest.approx(SIZE * scale, abs=1)
        assert scale == pytest.approx(page.evaluate("() => window.__casedeckAnnotator.scale"), rel=0.01)

        def drag(start_css: tuple[float, float], end_css: tuple[float, float]) -> None:
            # Measured again right before the drag: clicking a tool may scroll the page to the toolbar.
            here = stage.bounding_box()
            assert here["width"] == pytest.approx(area["width"], abs=0.5)
            page.mouse.move(here["x"] + start_css[0], here["y"] + start_css[1])
            page.mouse.down()
            page.mouse.move(here["x"] + end_css[0], here["y"] + end_css[1], steps=10)
            page.mouse.up()

        # Where to drag, in css px from the image's top-left corner (fractions of the shown size).
        side = area["width"]
        arrow_css = ((0.25 * side, 0.35 * side), (0.7 * side, 0.6 * side))
        ruler_css = ((0.2 * side, 0.85 * side), (0.8 * side, 0.85 * side))
        page.get_by_role("button", name="Arrow", exact=True).click()
        drag(*arrow_css)
        wait_stored(data_dir, case.id, lambda c: kinds(c) == ["Arrow"], "the arrow")
        page.get_by_role("button", name="Ruler", exact=True).click()
        drag(*ruler_css)
        stored = wait_stored(data_dir, case.id, lambda c: kinds(c) == ["Arrow", "Ruler"], "the arrow and ruler")

        key = only_key(stored)
        assert (key.asset_id, key.frame) == (asset.id, frame)
        assert key.window == chosen  # the window after the drag, not the default
        assert key.window != Window(center=default["center"], width=default["width"])
        arrow = next(a for a in key.annotations if isinstance(a, Arrow))
        ruler = next(a for a in key.annotations if isinstance(a, Ruler))
        for shape, css in ((arrow, arrow_css), (ruler, ruler_css)):
            points = [(shape.start.x, shape.start.y), (shape.end.x, shape.end.y)]
            expected = [(cx / scale, cy / scale) for cx, cy in css]
            for (ax, ay), (ex, ey) in zip(points, expected, strict=True):
                assert abs(ax - ex) <= 2 and abs(ay - ey) <= 2, (type(shape).__name__, points, expected)
        assert scale != pytest.approx(1.0)  # the check above really converted screen to image pixels
        assert errors == [], "the page threw in the browser"
