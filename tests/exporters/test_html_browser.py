"""The offline HTML presentation in a real browser: Debian's Chromium, file://, network blocked.

A presenter presses keys, scrolls a stack with the mouse wheel and plays it as
cine; nothing may try to reach the network, and no text may spill out of its box.
Screenshots are saved under tmp_path for a person to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from casefiles.model import CasePlan
from exporters.html_show import export_conference_html
from tests.exporters.html_media import (
    MARKER,
    QUIZ_DIAGNOSIS,
    SCRIPT_TEXT,
    ArrayMedia,
    bundle_of,
    marker_level,
    text_only_case,
    two_case_bundle,
)
from tests.helpers import CHROMIUM_ARGS, require_tool

pytestmark = pytest.mark.browser


# Every text box and caption: does its content fit inside it?
OVERFLOWS = """() => {
  const slide = document.querySelector('.slide.current');
  const bad = [];
  slide.querySelectorAll('.fit').forEach((box) => {
    const tall = box.firstElementChild.offsetHeight > box.clientHeight - 24;
    if (tall || box.classList.contains('scroll')) bad.push(box.className);
  });
  slide.querySelectorAll('.caption, .heading, .window').forEach((el) => {
    if (el.scrollHeight > el.clientHeight + 1 || el.scrollWidth > el.clientWidth + 1) bad.push(el.className);
  });
  return bad;
}"""

MARKER_PIXEL = f"""() => {{
  const canvas = document.querySelector('.slide.current .stack canvas');
  return canvas.getContext('2d').getImageData({MARKER // 2}, {MARKER // 2}, 1, 1).data[0];
}}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium = require_tool("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Session:
    """A page opened on a presentation with the network blocked; records what it tried and what broke."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.blocked: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.context = browser.new_context(viewport={"width": 1280, "height": 720})
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.page.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("dialog", self._dialog)
        self.page.goto(path.as_uri())
        self.page.wait_for_function("() => window.casedeck !== undefined")

    def _route(self, route: Any) -> None:
        url = route.request.url
        if url.startswith(("file:", "data:")):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def counter(self) -> str:
        return str(self.page.inner_text("#counter"))

    def text(self) -> str:
        return str(self.page.inner_text(".slide.current"))

    def eval(self, script: str) -> Any:
        return self.page.evaluate(script)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def show(browser: Any, tmp_path: Path) -> Iterator[Session]:
    path = export_conference_html(two_case_bundle(), ArrayMedia(), tmp_path / "tumor-board.html")
    session = Session(browser, path)
    yield session
    assert session.blocked == [], "the presentation tried to reach the network"
    assert session.errors == []
    assert session.dialogs == []
    session.close()


def test_keys_move_between_slides_and_the_counter_follows(show: Session, tmp_path: Path) -> None:
    total = show.eval("casedeck.count()")
    assert total == 15 and show.counter() == f"1 / {total}"
    show.page.screenshot(path=str(tmp_path / "title.png"))
    show.page.keyboard.press("ArrowRight")
    assert show.counter() == f"2 / {total}" and "Agenda" in show.text()
    show.page.keyboard.press("ArrowLeft")
    assert show.counter() == f"1 / {total}"
    show.page.keyboard.press("Space")
    show.page.keyboard.press("PageDown")
    assert show.eval("casedeck.slide()") == 3
    show.page.keyboard.press("PageUp")
    assert show.counter() == f"2 / {total}"
    show.page.keyboard.press("End")
    assert show.counter() == f"{total} / {total}" and "Questions?" in show.text()
    show.page.keyboard.press("ArrowRight")  # past the end: stays
    assert show.counter() == f"{total} / {total}"
    show.page.keyboard.press("Home")
    assert show.counter() == f"1 / {total}"
    show.page.keyboard.press("ArrowLeft")  # before the start: stays
    assert show.counter() == f"1 / {total}"


def test_walking_the_deck_shows_history_as_text_reveals_late_and_nothing_overflows(
    show: Session, tmp_path: Path
) -> None:
    total = show.eval("casedeck.count()")
    texts = []
    for number in range(1, total + 1):
        assert show.eval("casedeck.slide()") == number
        texts.append(show.text())
        assert show.eval(OVERFLOWS) == [], f"text overflows on slide {number}"
        show.page.screenshot(path=str(tmp_path / f"slide-{number:02d}.png"))
        show.page.keyboard.press("ArrowRight" if number % 2 else "Space")
        if show.eval("document.querySelector('.slide.current .stack') !== null"):
            show.page.mouse.move(5, 5)  # not over the stack, so → still changes slides
    assert SCRIPT_TEXT in texts[3]  # the case's hostile history is shown as text, not run
    reveal = next(i for i, text in enumerate(texts) if QUIZ_DIAGNOSIS in text)
    assert reveal == 12 and "Answer" in texts[reveal]
    assert all("Wedge-shaped splenic defect" not in text for text in texts[:reveal])
    assert "Wedge-shaped splenic defect" in texts[reveal]


def test_wheel_and_arrows_scroll_the_stack_and_the_image_changes(show: Session, tmp_path: Path) -> None:
    page = show.page
    show.eval("casedeck.go(7)")
    assert show.eval("casedeck.stacks()") == ["1"]
    assert show.eval("casedeck.stackCount('1')") == 40
    start = show.eval("casedeck.stackIndex('1')")
    assert start == 3  # opens at the first key image's slice
    page.wait_for_function("() => casedeck.stackDrawn('1') === 3")
    assert abs(show.eval(MARKER_PIXEL) - marker_level(3)) <= 3
    page.screenshot(path=str(tmp_path / "stack.png"))

    box = page.locator(".slide.current .stack canvas").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    for _ in range(5):
        page.mouse.wheel(0, 100)
    page.wait_for_function("() => casedeck.stackDrawn('1') === 8")
    assert show.eval("casedeck.stackIndex('1')") == 8
    assert abs(show.eval(MARKER_PIXEL) - marker_level(8)) <= 3
    assert "Slice 9 / 40" in show.text()
    assert show.eval("casedeck.slide()") == 7  # the wheel scrolled the stack, not the page or the deck
    assert show.eval("window.scrollY") == 0

    page.mouse.wheel(0, -100)
    page.wait_for_function("() => casedeck.stackDrawn('1') === 7")
    assert abs(show.eval(MARKER_PIXEL) - marker_level(7)) <= 3

    # Over the stack, ↑ and ↓ scroll it.
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    page.wait_for_function("() => casedeck.stackDrawn('1') === 8")
    assert show.eval("casedeck.slide()") == 7
    # Scrolling stops at the ends of the series.
    for _ in range(3):
        page.mouse.wheel(0, -1000)
    assert show.eval("casedeck.stackIndex('1')") == 5
    show.eval("casedeck.stackShow('1', 0)")
    page.mouse.wheel(0, -100)
    assert show.eval("casedeck.stackIndex('1')") == 0

    # Away from the stack, ↓ still scrolls the slide's stack and → changes slides.
    page.mouse.move(5, 5)
    page.keyboard.press("ArrowDown")
    assert show.eval("casedeck.stackIndex('1')") == 1
    page.keyboard.press("ArrowRight")
    assert show.eval("casedeck.slide()") == 8


def test_over_a_stack_left_right_and_page_keys_change_slides_and_up_down_scroll_it(show: Session) -> None:
    """Issue #14: the show's hint says ← → move slides, so they do so wherever the pointer is."""
    page = show.page
    show.eval("casedeck.go(7)")
    page.wait_for_function("() => casedeck.stackDrawn('1') === 3")
    box = page.locator(".slide.current .stack canvas").bounding_box()
    centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.move(*centre)

    page.keyboard.press("ArrowDown")
    page.wait_for_function("() => casedeck.stackDrawn('1') === 4")
    assert show.eval("casedeck.slide()") == 7

    page.keyboard.press("ArrowRight")
    assert show.eval("casedeck.slide()") == 8
    assert show.eval("casedeck.stackIndex('1')") == 4  # → left the stack alone
    page.keyboard.press("ArrowLeft")
    assert show.eval("casedeck.slide()") == 7

    page.mouse.move(centre[0] + 3, centre[1] + 3)  # the pointer is over the stack again
    page.keyboard.press("ArrowUp")
    page.wait_for_function("() => casedeck.stackDrawn('1') === 3")
    page.mouse.wheel(0, 100)
    page.wait_for_function("() => casedeck.stackDrawn('1') === 4")
    for key, slide in (("PageDown", 8), ("PageUp", 7), ("Space", 8), ("Shift+Space", 7)):
        page.keyboard.press(key)
        assert show.eval("casedeck.slide()") == slide, key
        page.mouse.move(centre[0], centre[1] + (slide % 2))
    assert show.eval("casedeck.stackIndex('1')") == 4


def test_cine_plays_and_pauses_and_the_slider_scrubs(show: Session) -> None:
    page = show.page
    show.eval("casedeck.go(7)")
    page.click(".slide.current .cine")
    assert page.get_attribute(".slide.current .cine", "aria-pressed") == "true"
    page.wait_for_function("() => casedeck.stackIndex('1') >= 6")  # it advances on its own
    assert page.inner_text(".slide.current .cine") == "Pause"
    page.click(".slide.current .cine")
    assert page.inner_text(".slide.current .cine") == "Play"
    assert page.get_attribute(".slide.current .cine", "aria-pressed") == "false"
    paused_at = show.eval("casedeck.stackIndex('1')")
    page.wait_for_timeout(400)
    assert show.eval("casedeck.stackIndex('1')") == paused_at

    page.locator(".slide.current .slider").fill("30")
    page.wait_for_function("() => casedeck.stackDrawn('1') === 30")
    assert abs(show.eval(MARKER_PIXEL) - marker_level(30)) <= 3

    page.keyboard.press("p")
    assert page.get_attribute(".slide.current .cine", "aria-pressed") == "true"
    page.keyboard.press("ArrowRight")  # the pointer is on the button, not the stack: leave the slide
    assert show.eval("casedeck.slide()") == 8  # ...which stops the cine
    left_at = show.eval("casedeck.stackIndex('1')")
    page.wait_for_timeout(400)
    assert show.eval("casedeck.stackIndex('1')") == left_at


def test_slide_in_the_address_survives_a_reload(show: Session) -> None:
    show.page.keyboard.press("End")
    assert show.page.url.endswith("#15")
    show.page.reload()
    show.page.wait_for_function("() => window.casedeck !== undefined")
    assert show.counter() == "15 / 15"


def test_long_rtl_and_unicode_text_stays_inside_its_boxes(browser: Any, tmp_path: Path) -> None:
    long_line = "Progressive dyspnoea over eighteen months with weight loss, night sweats and haemoptysis. " * 5
    history = "\n".join(
        [long_line] * 6
        + ["مريض يبلغ من العمر ٥٨ عامًا يعاني من ألم في الكتف الأيمن منذ ثلاثة أشهر", "肺尖部腫瘤 🫁 Ünïcödé"]
    )
    case = text_only_case(
        title="ΜΆΖΑ " + "WWWW MMMM " * 28,
        history=history,
        teaching_points=tuple(f"Teaching point {i}: " + "always compare with prior imaging " * 4 for i in range(12)),
    )
    path = export_conference_html(bundle_of((case, CasePlan(case.id))), ArrayMedia(), tmp_path / "long.html")
    session = Session(browser, path)
    try:
        total = session.eval("casedeck.count()")
        directions = []
        for number in range(1, total + 1):
            session.eval(f"casedeck.go({number})")
            assert session.eval(OVERFLOWS) == [], f"text overflows on slide {number}"
            directions += session.eval(
                "() => Array.from(document.querySelectorAll('.slide.current p'))"
                ".filter((p) => /[\\u0600-\\u06ff]/.test(p.textContent)).map((p) => getComputedStyle(p).direction)"
            )
            session.page.screenshot(path=str(tmp_path / f"long-{number:02d}.png"))
        assert directions == ["rtl"]
        assert total >= 8  # history and teaching points continued over several slides
        assert session.errors == [] and session.blocked == []
    finally:
        session.close()
