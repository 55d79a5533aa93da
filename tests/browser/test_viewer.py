"""The stack viewer in a real browser: Debian's Chromium driven by Playwright against
`streamlit run tests/browser/viewer_app.py` (a generated 300-slice 512×512 CT).

Checks what a reader notices: the first image shows, the wheel and keys scroll and
Python learns the slice, dragging changes the window at once and Python re-renders
with it, presets and reset, cine plays, zoom and pan work without errors.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from casefiles.imaging.voi import apply_window
from casefiles.model import Window
from tests.helpers import CHROMIUM_ARGS, ROOT, require_tool
from tests.support.streamlit_server import streamlit_app

pytestmark = pytest.mark.browser

VIEWER = "window.__casedeckViewer.viewers[0]"
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    logs = tmp_path_factory.mktemp("viewer-app")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CASEDECK_DATA": str(logs / "data"), "CASEDECK_SAMPLES": "0"}
    env.pop("CASEDECK_VIEWER_DATA", None)
    with streamlit_app("tests/browser/viewer_app.py", env=env, log_path=logs / "streamlit.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium = require_tool("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, app_url: str) -> Iterator[Any]:
    """A fresh session with the viewer's first image on screen; page errors fail the test."""
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    errors: list[str] = []
    page = browser.new_page(viewport={"width": 1200, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(app_url)
    page.wait_for_function(f"() => window.__casedeckViewer && {VIEWER}.root.dataset.firstImageMs")
    yield page
    page.close()
    assert errors == []


def state(page: Any) -> dict[str, Any]:
    return page.evaluate(f"() => {VIEWER}.state()")


def pixel(page: Any) -> int:
    """The grey level at the canvas centre: the synthetic body (40 HU) in every slice."""
    return int(
        page.evaluate(
            f"""() => {{
                const c = {VIEWER}.canvas;
                return c.getContext('2d').getImageData(c.width >> 1, c.height >> 1, 1, 1).data[0];
            }}"""
        )
    )


def canvas_centre(page: Any) -> tuple[float, float]:
    box = page.locator("canvas.cdsv-canvas").bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def expected_grey(window: Window) -> int:
    return int(apply_window(np.array([[40.0]], np.float32), window)[0, 0])


def test_first_image_then_wheel_and_keys_scroll_and_python_learns_the_slice(page: Any) -> None:
    from playwright.sync_api import expect

    counter = page.locator(".cdsv-counter")
    expect(counter).to_have_text("151/300")
    assert state(page)["shown"] == 150
    assert abs(pixel(page) - expected_grey(Window(center=40, width=400))) <= 2  # the body, mid grey
    expect(page.get_by_text("W 400 L 40")).to_be_visible()

    x, y = canvas_centre(page)
    page.mouse.move(x, y)
    for _ in range(5):
        page.mouse.wheel(0, 100)
    expect(counter).to_have_text("156/300")
    expect(page.get_by_text("state frame=155")).to_be_visible()  # reached Python

    page.keyboard.press("ArrowDown")
    page.keyboard.press("PageDown")
    page.keyboard.press("ArrowUp")
    expect(counter).to_have_text("166/300")
    expect(page.get_by_text("state frame=165")).to_be_visible()
    page.wait_for_function(f"() => {VIEWER}.state().shown === 165")


def test_drag_windows_at_once_and_python_re_renders_with_that_window(page: Any) -> None:
    from playwright.sync_api import expect

    before = pixel(page)
    first_digest = state(page)["digest"]
    x, y = canvas_centre(page)
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 128, y + 64, steps=8)  # wider and higher: W 400→600, L 40→140
    page.wait_for_function(f"() => {VIEWER}.state().window.width === 600")
    preview = pixel(page)
    assert preview < before  # brighter level: the body looks darker at once, before any round trip
    page.mouse.up()

    chosen = Window(center=140, width=600)
    expect(page.get_by_text("state window=140,600")).to_be_visible()  # reached Python
    expect(page.get_by_text("W 600 L 140")).to_be_visible()
    page.wait_for_function(
        f"() => {VIEWER}.state().payloadWindow.width === 600 && {VIEWER}.state().digest !== '{first_digest}'"
    )
    page.wait_for_timeout(100)  # let the re-rendered frame reach the canvas
    assert abs(pixel(page) - expected_grey(chosen)) <= 2  # now the server's exact rendering
    assert abs(preview - expected_grey(chosen)) <= 3  # and the preview was close to it


def test_presets_and_reset_choose_the_window(page: Any) -> None:
    from playwright.sync_api import expect

    page.get_by_role("button", name="lung").click()
    expect(page.get_by_text("state window=-600,1500")).to_be_visible()
    page.wait_for_function(f"() => {VIEWER}.state().payloadWindow.center === -600")
    page.wait_for_timeout(100)
    assert abs(pixel(page) - expected_grey(Window(center=-600, width=1500))) <= 2

    page.get_by_role("button", name="Bone window (from Python)").click()  # a window chosen on the server
    page.wait_for_function(f"() => {VIEWER}.state().payloadWindow.width === 1800")
    expect(page.get_by_text("W 1800 L 400")).to_be_visible()

    page.locator("canvas.cdsv-canvas").click()
    page.keyboard.press("r")
    expect(page.get_by_text("state window=40,400")).to_be_visible()
    page.wait_for_function(f"() => {VIEWER}.state().payloadWindow.width === 400")


def test_cine_plays_and_pauses(page: Any) -> None:
    from playwright.sync_api import expect

    page.wait_for_function(f"() => {VIEWER}.state().decoded >= 60")
    start = state(page)["frame"]
    page.get_by_role("button", name="▶ Play").click()
    page.wait_for_function(f"() => {VIEWER}.state().frame >= {start + 5}")
    assert state(page)["playing"]
    page.get_by_role("button", name="❚❚ Pause").click()
    stopped = state(page)["frame"]
    page.wait_for_timeout(500)
    assert state(page)["frame"] == stopped and not state(page)["playing"]
    expect(page.get_by_text(f"state frame={stopped}")).to_be_visible()


def test_zoom_and_pan_keep_the_image_and_the_slice(page: Any) -> None:
    from playwright.sync_api import expect

    x, y = canvas_centre(page)
    page.mouse.move(x, y)
    page.keyboard.down("Control")
    page.mouse.wheel(0, -300)
    page.keyboard.up("Control")
    zoomed = state(page)["zoom"]
    assert zoomed > 2
    expect(page.locator(".cdsv-zoom")).to_have_text(f"{round(zoomed * 100)}%")

    page.mouse.down(button="right")
    page.mouse.move(x + 60, y + 40, steps=4)
    page.mouse.up(button="right")
    page.keyboard.down("Shift")
    page.mouse.down()
    page.mouse.move(x + 90, y + 40, steps=4)
    page.mouse.up()
    page.keyboard.up("Shift")
    assert state(page)["pan"][0] > 50 and state(page)["window"] == {"center": 40, "width": 400}  # panned, not windowed

    page.keyboard.press("+")
    page.keyboard.press("-")
    page.keyboard.press("-")
    assert state(page)["zoom"] < zoomed
    page.mouse.wheel(0, 100)
    expect(page.locator(".cdsv-counter")).to_have_text("152/300")
    page.wait_for_function(f"() => {VIEWER}.state().shown === 151")

    page.keyboard.press("R")
    assert state(page)["zoom"] == 1 and state(page)["pan"] == [0, 0]
