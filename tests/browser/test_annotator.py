"""The annotation editor in Debian's Chromium, driven like a user with the mouse and keyboard,
against tests/browser/annotator_app.py (512×512 gray PNG, 0.5 mm pixel spacing).

Each browser test opens its own page (its own Streamlit session) on one shared server;
the input checks at the end need no browser.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import CHROMIUM_ARGS, require_tool
from tests.support.streamlit_server import streamlit_app

APP = Path(__file__).with_name("annotator_app.py")
SIZE = 512  # the test image is SIZE × SIZE image pixels
Annotations = list[dict[str, Any]]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log_path = tmp_path_factory.mktemp("annotator") / "streamlit.log"
    with streamlit_app(str(APP), env=os.environ, log_path=log_path) as url:
        yield url


@pytest.fixture(scope="module")
def browser(app_url: str) -> Iterator[Any]:
    chromium = require_tool("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, app_url: str, tmp_path: Path) -> Iterator[Any]:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1200, "height": 1100})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_default_timeout(30_000)
    expect.set_options(timeout=30_000)
    page.goto(app_url)
    expect(page.locator("canvas.cd-canvas")).to_be_visible()
    page.wait_for_function("() => window.__casedeckAnnotator && window.__casedeckAnnotator.scale > 0")
    yield page
    page.screenshot(path=str(tmp_path / "annotator.png"))
    page.close()
    assert errors == [], "the editor threw in the browser"


# ---------- helpers: what the user sees and does ----------


class Stage:
    """The displayed image: converts image pixels to screen (CSS) pixels as the user sees them."""

    def __init__(self, page: Any) -> None:
        box = page.locator("canvas.cd-canvas").bounding_box()
        self.page = page
        self.left, self.top = box["x"], box["y"]
        self.scale = box["width"] / SIZE  # the displayed scale, measured, not asked for
        assert box["height"] == pytest.approx(SIZE * self.scale, abs=1)

    def screen(self, x: float, y: float) -> tuple[float, float]:
        return self.left + x * self.scale, self.top + y * self.scale

    def drag(self, start: tuple[float, float], end: tuple[float, float]) -> None:
        """Drag between two points given in image pixels."""
        mouse = self.page.mouse
        mouse.move(*self.screen(*start))
        mouse.down()
        mouse.move(*self.screen(*end), steps=8)
        mouse.up()

    def click(self, x: float, y: float) -> None:
        self.page.mouse.click(*self.screen(x, y))


def tool(page: Any, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).click()


def returned(page: Any) -> Annotations:
    """The list the Python wrapper returned, as the test app prints it."""
    text = page.locator('[data-testid="stCode"] code').inner_text()
    value = json.loads(text)
    assert isinstance(value, list)
    return value


def wait_returned(page: Any, condition: Callable[[Annotations], bool], what: str) -> Annotations:
    deadline = time.monotonic() + 30
    while True:
        try:
            value = returned(page)
            if condition(value):
                return value
        except (ValueError, AssertionError):
            value = None
        if time.monotonic() > deadline:
            raise AssertionError(f"the app never returned {what}; last: {value!r}")
        page.wait_for_timeout(100)


def shown(page: Any) -> Annotations:
    """What the editor holds in the browser (its test hook)."""
    value: Annotations = page.evaluate("() => window.__casedeckAnnotator.annotations")
    return value


def assert_points(actual: list[list[float]], expected: list[tuple[float, float]], tolerance: float = 2.0) -> None:
    assert len(actual) == len(expected)
    for (ax, ay), (ex, ey) in zip(actual, expected, strict=True):
        assert abs(ax - ex) <= tolerance and abs(ay - ey) <= tolerance, (actual, expected)


# ---------- tests ----------


@pytest.mark.browser
def test_dragging_an_arrow_returns_it_in_image_pixels(page: Any) -> None:
    stage = Stage(page)
    assert stage.scale == pytest.approx(page.evaluate("() => window.__casedeckAnnotator.scale"), rel=0.01)
    tool(page, "Arrow")
    # Drag in screen pixels; the expected image pixels come from the displayed scale.
    start = (stage.left + 120, stage.top + 200)
    end = (stage.left + 400, stage.top + 330)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=10)
    page.mouse.up()

    result = wait_returned(page, lambda v: len(v) == 1, "one annotation")
    arrow = result[0]
    assert arrow["kind"] == "arrow"
    assert_points(arrow["points"], [(120 / stage.scale, 200 / stage.scale), (400 / stage.scale, 330 / stage.scale)])
    assert arrow["visible"] is True
    assert arrow["style"]["color"].lower() == "#ffd400"
    assert set(arrow) == {"kind", "id", "points", "style", "visible", "text"}  # what the model accepts
    assert re.fullmatch(r"[0-9a-f]{12}", arrow["id"])
    assert stage.scale != pytest.approx(1.0)  # the check above really converted coordinates


@pytest.mark.browser
def test_ruler_shows_mm_then_moves_and_is_deleted(page: Any) -> None:
    from playwright.sync_api import expect

    stage = Stage(page)
    tool(page, "Ruler")
    stage.drag((100, 100), (200, 100))  # 100 image px at 0.5 mm
    result = wait_returned(page, lambda v: len(v) == 1, "one ruler")
    assert result[0]["kind"] == "ruler"
    assert_points(result[0]["points"], [(100, 100), (200, 100)])
    label = page.locator(".cd-label", has_text="mm")
    expect(label).to_have_text("50.0 mm")

    tool(page, "Select")
    stage.drag((150, 100), (200, 140))  # grab the middle of the line, move it by (50, 40)
    moved = wait_returned(page, lambda v: len(v) == 1 and v[0]["points"][0][0] > 140, "the moved ruler")
    assert_points(moved[0]["points"], [(150, 140), (250, 140)])
    assert moved[0]["id"] == result[0]["id"]
    expect(label).to_have_text("50.0 mm")  # moving does not change the length

    stage.drag((250, 140), (250, 190))  # drag the end handle: now 3-4-5 = 111.8 px = 55.9 mm
    resized = wait_returned(page, lambda v: v[0]["points"][1][1] > 180, "the resized ruler")
    assert_points(resized[0]["points"], [(150, 140), (250, 190)])
    expect(label).to_have_text("55.9 mm")

    page.keyboard.press("Delete")
    wait_returned(page, lambda v: v == [], "an empty list")
    expect(page.locator(".cd-label")).to_have_count(0)
    assert shown(page) == []


@pytest.mark.browser
def test_hide_all_toggles_visibility(page: Any) -> None:
    from playwright.sync_api import expect

    stage = Stage(page)
    tool(page, "Ruler")
    stage.drag((50, 300), (250, 300))
    wait_returned(page, lambda v: len(v) == 1, "one ruler")
    label = page.locator(".cd-label")
    expect(label).to_have_text("100.0 mm")

    page.get_by_role("button", name="Hide all").click()
    hidden = wait_returned(page, lambda v: len(v) == 1 and v[0]["visible"] is False, "a hidden ruler")
    assert hidden[0]["kind"] == "ruler"
    expect(label).to_have_count(0)

    page.get_by_role("button", name="Show all").click()
    wait_returned(page, lambda v: len(v) == 1 and v[0]["visible"] is True, "a visible ruler")
    expect(label).to_have_text("100.0 mm")


@pytest.mark.browser
def test_angle_ellipse_polygon_and_text(page: Any) -> None:
    from playwright.sync_api import expect

    stage = Stage(page)
    tool(page, "Angle")
    stage.click(300, 100)  # arm end
    stage.click(200, 100)  # vertex
    stage.click(200, 200)  # other arm end: a right angle
    angle = wait_returned(page, lambda v: len(v) == 1, "an angle")[0]
    assert angle["kind"] == "angle"
    assert_points(angle["points"], [(300, 100), (200, 100), (200, 200)])
    expect(page.locator(".cd-label", has_text="°")).to_have_text("90.0°")

    tool(page, "Ellipse")
    stage.drag((50, 300), (150, 380))
    ellipse = wait_returned(page, lambda v: len(v) == 2, "an ellipse")[1]
    assert ellipse["kind"] == "ellipse"
    assert_points(ellipse["points"], [(50, 300), (150, 380)])

    tool(page, "Polygon")
    for x, y in [(300, 300), (400, 300), (400, 400)]:
        stage.click(x, y)
    stage.click(301, 301)  # back on the first corner closes it
    polygon = wait_returned(page, lambda v: len(v) == 3, "a polygon")[2]
    assert polygon["kind"] == "polyline"
    assert polygon["closed"] is True
    assert_points(polygon["points"], [(300, 300), (400, 300), (400, 400)])

    tool(page, "Text")
    stage.click(60, 450)
    box = page.get_by_role("textbox", name="Annotation text")
    expect(box).to_be_visible()
    box.fill("subdural")
    box.press("Enter")
    text = wait_returned(page, lambda v: len(v) == 4, "a text label")[3]
    assert text["kind"] == "text"
    assert text["text"] == "subdural"
    assert_points(text["points"], [(60, 450)])
    expect(page.locator(".cd-label", has_text="subdural")).to_be_visible()

    # Everything the editor drew is what casefiles.annotations stores, unchanged by its round trip.
    from casefiles.annotations.model import annotations_from_list, annotations_to_list

    everything = returned(page)
    assert annotations_to_list(annotations_from_list(everything)) == everything


@pytest.mark.browser
def test_an_annotation_outside_the_image_is_clamped(page: Any) -> None:
    stage = Stage(page)
    tool(page, "Arrow")
    stage.drag((400, 400), (SIZE + 60, SIZE + 60))  # released past the corner of the image
    arrow = wait_returned(page, lambda v: len(v) == 1, "one arrow")[0]
    assert_points(arrow["points"], [(400, 400), (SIZE, SIZE)])


@pytest.mark.browser
def test_annotations_survive_a_rerun_and_a_remount(page: Any) -> None:
    from playwright.sync_api import expect

    stage = Stage(page)
    tool(page, "Arrow")
    stage.drag((100, 100), (200, 200))
    wait_returned(page, lambda v: len(v) == 1, "one arrow")
    tool(page, "Ruler")
    stage.drag((100, 300), (300, 300))
    before = wait_returned(page, lambda v: len(v) == 2, "an arrow and a ruler")

    page.get_by_role("button", name="Rerun").click()  # a plain rerun of the script
    page.wait_for_timeout(500)
    expect(page.locator(".cd-label")).to_have_text("100.0 mm")
    assert returned(page) == before
    assert [a["id"] for a in shown(page)] == [a["id"] for a in before]

    page.get_by_text("Show editor").click()  # unticked: the component unmounts...
    expect(page.locator("canvas.cd-canvas")).to_have_count(0)
    page.get_by_text("Show editor").click()  # ...and comes back with the edits
    expect(page.locator(".cd-label")).to_have_text("100.0 mm")
    page.wait_for_function("() => window.__casedeckAnnotator && window.__casedeckAnnotator.annotations.length === 2")
    assert [a["id"] for a in shown(page)] == [a["id"] for a in before]
    assert returned(page) == before


@pytest.mark.browser
def test_a_new_list_from_python_replaces_what_is_shown(page: Any) -> None:
    from playwright.sync_api import expect

    stage = Stage(page)
    tool(page, "Arrow")
    stage.drag((100, 100), (200, 200))
    wait_returned(page, lambda v: len(v) == 1 and v[0]["kind"] == "arrow", "one arrow")

    page.get_by_role("button", name="Load preset").click()  # the caller passes a different list
    result = wait_returned(page, lambda v: len(v) == 1 and v[0]["kind"] == "rectangle", "the preset")
    assert result[0]["id"] == "0123456789abcdef0123456789abcdef"
    page.wait_for_function("() => window.__casedeckAnnotator.annotations.map(a => a.kind).join() === 'rectangle'")

    tool(page, "Select")
    stage.click(400, 430)  # the rectangle's left edge
    expect(page.get_by_role("button", name="Delete selected")).to_be_enabled()
    page.get_by_role("button", name="Delete selected").click()
    wait_returned(page, lambda v: v == [], "an empty list")


@pytest.mark.browser
def test_freehand_outline_and_restyling_the_selection(page: Any) -> None:
    stage = Stage(page)
    tool(page, "Freehand")
    mouse = page.mouse
    mouse.move(*stage.screen(250, 150))
    mouse.down()
    for x, y in [(350, 150), (350, 250), (250, 250), (252, 153)]:  # a square ending at its start
        mouse.move(*stage.screen(x, y), steps=6)
    mouse.up()
    outline = wait_returned(page, lambda v: len(v) == 1, "a freehand outline")[0]
    assert outline["kind"] == "polyline"
    assert outline["closed"] is True
    assert 4 <= len(outline["points"]) <= 8  # simplified, not one point per mouse event
    xs = [p[0] for p in outline["points"]]
    ys = [p[1] for p in outline["points"]]
    assert_points([[min(xs), min(ys)], [max(xs), max(ys)]], [(250, 150), (350, 250)])

    tool(page, "Select")
    stage.click(350, 200)  # on the right-hand side of the outline
    width = page.get_by_role("spinbutton", name="Line width")
    width.fill("6")
    width.press("Enter")
    restyled = wait_returned(page, lambda v: v[0]["style"]["width"] == 6, "the new line width")
    assert restyled[0]["id"] == outline["id"]
    assert restyled[0]["points"] == outline["points"]


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
GOOD: dict[str, Any] = {"image": PNG_SIGNATURE, "width": 8, "height": 8, "spacing": None, "annotations": [], "key": "k"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"image": b""}, "empty"),
        ({"image": b"GIF89a..."}, "PNG or JPEG"),
        ({"width": 0}, "image width"),
        ({"height": 2.5}, "image height"),
        ({"spacing": (0.5, 0.0)}, "Pixel spacing"),
        ({"spacing": (0.5,)}, "Pixel spacing"),
        ({"annotations": [{"kind": "angle", "points": [[0, 0], [1, 1]]}]}, "needs 3 points"),
        ({"annotations": [{"kind": "polyline", "points": [[0, 0]]}]}, "at least 2 points"),
        ({"annotations": [{"kind": "blob", "points": [[0, 0]]}]}, "kind 'blob'"),
        ({"annotations": [{"kind": "arrow", "points": [[0, 0], [1, float("nan")]]}]}, "[x, y] numbers"),
        ({"key": ""}, "key"),
    ],
)
def test_bad_input_is_refused_with_a_reason(change: dict[str, Any], message: str) -> None:
    from casefiles.errors import ValidationError
    from pages.components.annotator import annotator

    with pytest.raises(ValidationError, match=re.escape(message)):
        annotator(**{**GOOD, **change})
