"""Issues #5 and #14 on the real app: the Case page's stack viewer and its Annotate mode in Debian's Chromium.

The data directory is seeded before `streamlit run app.py` starts (a generated 40-slice 256×256 CT,
imported with Services.import_dicom), then a user scrolls the series with the wheel, drags the
window, marks the slice as key image, draws an arrow and a ruler on it in the viewer's Annotate
mode, and the test reads the stored case back from the data directory: the key image holds both
annotations in image pixels and the window chosen by the drag. A second test draws on a slice that
is not a key image yet (it becomes one), reads it back with the CLI, scrolls away and back (the
arrow is shown again) and checks the page has no second copy of the image to annotate on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from casefiles.annotations.model import Arrow, Ruler
from casefiles.config import Settings
from casefiles.model import AssetKind, Case, KeyImage, Window
from casefiles.services import Services
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
    """The case as stored on disk now (new services opening the store as the app does: the app process wrote it)."""
    return Services(Settings(data_dir=data_dir, seed_samples=False)).get_case(case_id)


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

        # Annotate it in the viewer itself: Annotate on, then an arrow and a ruler dragged on the slice.
        page.get_by_role("button", name="Annotate").click()
        page.wait_for_function(f"() => {VIEWER}.state().annotating === true")
        view = image_view(page)
        scale = view["scale"]

        def drag(start_image: tuple[float, float], end_image: tuple[float, float]) -> None:
            page.mouse.move(*to_screen(view, start_image))
            page.mouse.down()
            page.mouse.move(*to_screen(view, end_image), steps=10)
            page.mouse.up()

        # Where to drag, in image pixels (fractions of the image's side).
        arrow_at = ((0.25 * SIZE, 0.35 * SIZE), (0.7 * SIZE, 0.6 * SIZE))
        ruler_at = ((0.2 * SIZE, 0.85 * SIZE), (0.8 * SIZE, 0.85 * SIZE))
        page.get_by_role("button", name="Arrow", exact=True).click()
        drag(*arrow_at)
        wait_stored(data_dir, case.id, lambda c: kinds(c) == ["Arrow"], "the arrow")
        page.get_by_role("button", name="Ruler", exact=True).click()
        drag(*ruler_at)
        stored = wait_stored(data_dir, case.id, lambda c: kinds(c) == ["Arrow", "Ruler"], "the arrow and ruler")

        key = only_key(stored)
        assert (key.asset_id, key.frame) == (asset.id, frame)
        assert key.window == chosen  # the window after the drag, not the default
        assert key.window != Window(center=default["center"], width=default["width"])
        arrow = next(a for a in key.annotations if isinstance(a, Arrow))
        ruler = next(a for a in key.annotations if isinstance(a, Ruler))
        for shape, expected in ((arrow, arrow_at), (ruler, ruler_at)):
            points = [(shape.start.x, shape.start.y), (shape.end.x, shape.end.y)]
            for (ax, ay), (ex, ey) in zip(points, expected, strict=True):
                assert abs(ax - ex) <= 1 and abs(ay - ey) <= 1, (type(shape).__name__, points, expected)
        assert scale != pytest.approx(1.0, abs=0.05)  # screen and image pixels really differ
        assert errors == [], "the page threw in the browser"


def image_view(page: Any) -> dict[str, float]:
    """Where the viewer shows the image, measured on the page (zoom 1, no pan: fitted and centred).

    Returns the image's top-left corner in page css px and css px per image pixel; checked against
    what the viewer itself reports for its overlay.
    """
    box = page.locator("canvas.cdsv-overlay").bounding_box()
    assert box is not None
    scale = min(box["width"] / SIZE, box["height"] / SIZE)
    left = box["x"] + (box["width"] - SIZE * scale) / 2
    top = box["y"] + (box["height"] - SIZE * scale) / 2
    reported = viewer_state(page)["imageView"]
    assert reported["scaleX"] == pytest.approx(scale, rel=0.01)
    assert box["x"] + reported["x"] == pytest.approx(left, abs=1)
    assert box["y"] + reported["y"] == pytest.approx(top, abs=1)
    return {"left": left, "top": top, "scale": scale, "box_x": box["x"], "box_y": box["y"]}


def to_screen(view: dict[str, float], point: tuple[float, float]) -> tuple[float, float]:
    return view["left"] + point[0] * view["scale"], view["top"] + point[1] * view["scale"]


def yellow_near(page: Any, view: dict[str, float], point: tuple[float, float]) -> bool:
    """Whether the viewer's overlay shows annotation yellow (#ffd400) within 3 css px of ``point``."""
    x, y = to_screen(view, point)
    found: bool = page.evaluate(
        """([x, y]) => {
            const c = window.__casedeckViewer.viewers[0].overlay;
            const r = window.devicePixelRatio || 1;
            const d = c.getContext("2d").getImageData(Math.round(x * r) - 3 * r, Math.round(y * r) - 3 * r,
                                                      6 * r + 1, 6 * r + 1).data;
            for (let i = 0; i < d.length; i += 4) {
                if (d[i + 3] > 128 && d[i] > 180 && d[i + 1] > 150 && d[i + 2] < 100) return true;
            }
            return false;
        }""",
        [x - view["box_x"], y - view["box_y"]],
    )
    return found


def cli(data_dir: Path, *args: str) -> str:
    env = {**os.environ, "CASEDECK_DATA": str(data_dir), "CASEDECK_SAMPLES": "0"}
    done = subprocess.run(
        [sys.executable, "-m", "casefiles", *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_an_arrow_drawn_in_the_viewer_is_saved_on_that_slice_and_stays_there(
    seeded: tuple[Path, Case], app_url: str, tmp_path: Path
) -> None:
    """Issue #14: draw in the viewer itself (Annotate mode) on a slice that is not a key image yet."""
    from playwright.sync_api import expect

    data_dir, case = seeded
    asset = next(a for a in case.assets if a.kind is AssetKind.DICOM_SERIES)
    screenshot = tmp_path / "case_viewer_draw.png"
    with case_page(app_url, TITLE, screenshot=screenshot, timeout_ms=TIMEOUT_MS) as (page, errors):
        page.wait_for_function(f"() => window.__casedeckViewer && {VIEWER} && {VIEWER}.root.dataset.firstImageMs")
        canvas = page.locator("canvas.cdsv-canvas")
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.move(*centre)
        for _ in range(3):
            page.mouse.wheel(0, 100)
        frame = viewer_state(page)["frame"]
        assert frame == case.asset(asset.id).frame_count // 2 + 3
        page.wait_for_function(f"() => {VIEWER}.state().shown === {frame}")

        # Annotate on (the viewer's own button), then an arrow dragged on the slice shown.
        expect(page.get_by_role("button", name="Annotate")).to_be_visible()
        page.get_by_role("button", name="Annotate").click()
        page.wait_for_function(f"() => {VIEWER}.state().annotating === true")
        expect(page.get_by_role("button", name="Arrow", exact=True)).to_have_attribute("aria-pressed", "true")
        view = image_view(page)
        tail, head = (0.3 * SIZE, 0.3 * SIZE), (0.6 * SIZE, 0.55 * SIZE)
        page.mouse.move(*to_screen(view, tail))
        page.mouse.down()
        page.mouse.move(*to_screen(view, head), steps=10)
        page.mouse.up()

        # Saved: the slice became a key image holding the arrow, in image pixels (the CLI reads the store).
        stored = wait_stored(data_dir, case.id, lambda c: kinds(c) == ["Arrow"], "the arrow")
        key = only_key(stored)
        assert (key.asset_id, key.frame) == (asset.id, frame)
        assert key.window == Window(center=40, width=400)  # the window it was drawn at
        shown = cli(data_dir, "case", "show", case.id)
        assert "1 key image(s):" in shown and f"frame {frame + 1}" in shown, shown
        listed = cli(data_dir, "annotations", case.id).strip().splitlines()
        assert len(listed) == 1 and listed[0].split("\t")[2] == f"{frame + 1}/{SLICES}", listed
        (arrow,) = json.loads(listed[0].split("\t")[3])
        assert arrow["kind"] == "arrow"
        for (ax, ay), (ex, ey) in zip(arrow["points"], (tail, head), strict=True):
            assert abs(ax - ex) <= 1 and abs(ay - ey) <= 1, (arrow["points"], tail, head)
        assert view["scale"] != pytest.approx(1.0, abs=0.05)  # screen and image pixels really differ

        # The page reran with it (the key-image strip counts it) and the viewer still shows it.
        expect(page.get_by_text("Key images (1)")).to_be_visible()
        middle = ((tail[0] + head[0]) / 2, (tail[1] + head[1]) / 2)
        page.wait_for_function(f"() => {VIEWER}.state().annotations.length === 1")
        assert yellow_near(page, view, middle)

        # Another slice: no arrow there; back: the arrow again.
        page.mouse.move(*to_screen(view, (0.9 * SIZE, 0.1 * SIZE)))
        for _ in range(4):
            page.mouse.wheel(0, 100)
        page.wait_for_function(f"() => {VIEWER}.state().shown === {frame + 4}")
        assert viewer_state(page)["annotations"] == []
        assert not yellow_near(page, view, middle)
        for _ in range(4):
            page.mouse.wheel(0, -100)
        page.wait_for_function(f"() => {VIEWER}.state().shown === {frame}")
        page.wait_for_function(f"() => {VIEWER}.state().annotations.length === 1")
        assert viewer_state(page)["annotations"][0]["kind"] == "arrow"
        assert yellow_near(page, view, middle)

        # No second copy of the image to annotate on the page.
        expect(page.get_by_text("Annotate a key image")).to_have_count(0)
        assert page.locator("canvas.cd-canvas").count() == 0
        assert page.evaluate("() => window.__casedeckAnnotator === undefined")
        assert page.locator("canvas.cdsv-canvas").count() == 1
        assert errors == [], "the page threw in the browser"
