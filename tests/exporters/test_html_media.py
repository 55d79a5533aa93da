"""Video clips and a case's own PowerPoint slides in the offline HTML show (the file; the browser test follows).

A clip goes into the page as an MP4 data: URI the page's policy lets the
browser play, up to a budget per show; a PowerPoint's chosen slides show as
the pictures made of them at import, or as one line saying where they are.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from casefiles.model import CasePlan
from exporters import html_show
from exporters._video_clean import clean_mp4
from exporters.html_show import export_conference_html
from tests.exporters.html_media import bundle_of
from tests.exporters.mixed_media import (
    CLIP_CAPTION,
    CLIP_SECONDS,
    DECK_LABEL,
    PREVIEW_COLOURS,
    MixedMedia,
    make_clip,
    mixed_case,
)
from tests.helpers import CHROMIUM_ARGS, require_tool

_SECTION = re.compile(r'<section class="slide[^"]*" data-kind="(\w+)">(.*?)</section>', re.S)
_VIDEO_SRC = re.compile(r'<video [^>]*src="data:video/mp4;base64,([A-Za-z0-9+/=]+)"')


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return make_clip(require_tool("ffmpeg"), tmp_path_factory.mktemp("clip") / "clip.mp4")


def show(tmp_path: Path, source: MixedMedia, **case: Any) -> tuple[Path, str]:
    mixed = mixed_case(**case)
    path = export_conference_html(bundle_of((mixed, CasePlan(mixed.id))), source, tmp_path / "show.html")
    return path, path.read_text(encoding="utf-8")


def visible(body: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def test_the_clip_is_inside_the_page_and_the_policy_lets_it_play(tmp_path: Path, clip: bytes) -> None:
    _, document = show(tmp_path, MixedMedia(clip))

    (encoded,) = _VIDEO_SRC.findall(document)
    assert base64.b64decode(encoded) == clean_mp4(clip)
    assert 'preload="metadata"' in document and "controls" in document and 'poster="data:image/png' in document
    assert "media-src data:" in document
    kinds = [kind for kind, _ in _SECTION.findall(document)]
    assert kinds.count("video") == 1
    assert CLIP_CAPTION in document
    assert "Referral letter" not in document  # the PDF in the case is not shown


def test_a_clip_over_the_budget_shows_its_poster_and_says_where_it_plays(
    tmp_path: Path, clip: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(html_show, "CLIP_BUDGET_BYTES", len(clip) - 1)
    _, document = show(tmp_path, MixedMedia(clip))

    assert "<video" not in document and "data:video" not in document
    (body,) = [body for kind, body in _SECTION.findall(document) if kind == "video"]
    assert "Clip too large for the offline show; it plays in the PowerPoint" in visible(body)
    assert "data:image/png;base64," in body  # the poster frame


def test_a_clip_that_cannot_be_read_shows_its_poster(tmp_path: Path, clip: bytes) -> None:
    _, document = show(tmp_path, MixedMedia(clip, failing_video=True))

    (body,) = [body for kind, body in _SECTION.findall(document) if kind == "video"]
    assert "<video" not in body and "could not be added to the show" in visible(body)


def test_chosen_slides_show_as_their_pictures(tmp_path: Path, clip: bytes) -> None:
    _, document = show(tmp_path, MixedMedia(clip))

    alts = re.findall(r'<img [^>]*alt="(Slide \d+ of [^"]+)"', document)
    assert alts == [f"Slide 1 of {DECK_LABEL}", f"Slide 3 of {DECK_LABEL}"]


def test_without_slide_pictures_one_slide_says_where_the_slides_are(tmp_path: Path, clip: bytes) -> None:
    _, document = show(tmp_path, MixedMedia(clip, previews=[]), chosen=(0, 2))

    texts = [visible(body) for _, body in _SECTION.findall(document)]
    assert any(f"{DECK_LABEL}: 2 slides — shown in the PowerPoint export." in t for t in texts)
    assert "Slide 1 of" not in document


def test_without_pictures_or_a_choice_the_slides_are_counted_from_the_deck(tmp_path: Path, clip: bytes) -> None:
    _, document = show(tmp_path, MixedMedia(clip, previews=[]), chosen=())

    assert f"{DECK_LABEL}: 3 slides — shown in the PowerPoint export." in visible(document)


# -- in Chromium --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium = require_tool("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, tmp_path: Path, clip: bytes) -> Iterator[Any]:
    path, _ = show(tmp_path, MixedMedia(clip))
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    blocked: list[str] = []
    errors: list[str] = []
    context.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith(("file:", "data:"))
            else (blocked.append(route.request.url), route.abort())
        ),
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    page.goto(path.as_uri())
    page.wait_for_function("() => window.casedeck !== undefined")
    yield page
    assert blocked == [] and errors == []
    context.close()


def slide_of(page: Any, selector: str) -> int:
    """The 1-based number of the first slide holding ``selector``."""
    script = "(sel) => Array.from(document.querySelectorAll('.slide')).findIndex((s) => s.querySelector(sel)) + 1"
    return int(page.evaluate(script, selector))


@pytest.mark.browser
def test_chromium_plays_the_clip_from_the_file(page: Any, tmp_path: Path) -> None:
    page.evaluate(f"casedeck.go({slide_of(page, 'video')})")
    page.wait_for_function("() => document.querySelector('.slide.current video').readyState >= 1")
    duration = page.evaluate("document.querySelector('.slide.current video').duration")
    assert abs(duration - CLIP_SECONDS) <= 0.2
    box = page.locator(".slide.current video").bounding_box()
    assert box["width"] > 300 and box["height"] > 200
    page.keyboard.press("p")  # P plays the clip on the current slide
    page.wait_for_function("() => document.querySelector('.slide.current video').currentTime > 0.2")
    page.screenshot(path=str(tmp_path / "clip.png"))


@pytest.mark.browser
def test_keys_still_move_slides_past_the_clip_unless_it_has_the_focus(page: Any) -> None:
    number = slide_of(page, "video")
    page.evaluate(f"casedeck.go({number - 1})")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("casedeck.slide()") == number
    page.keyboard.press("Space")
    assert page.evaluate("casedeck.slide()") == number + 1
    page.keyboard.press("ArrowLeft")
    assert page.evaluate("casedeck.slide()") == number

    page.locator(".slide.current video").focus()  # the presenter clicked into the clip
    page.keyboard.press("ArrowRight")  # seeks the clip, stays on the slide
    assert page.evaluate("casedeck.slide()") == number
    page.keyboard.press("PageDown")  # a clicker's "next" still moves on, and the clip stops
    assert page.evaluate("casedeck.slide()") == number + 1
    assert page.evaluate("document.querySelectorAll('.slide video')[0].paused")
    page.keyboard.press("ArrowLeft")
    page.locator(".slide.current video").focus()
    page.keyboard.press("Escape")  # gives the keys back to the show
    page.keyboard.press("ArrowRight")
    assert page.evaluate("casedeck.slide()") == number + 1


@pytest.mark.browser
def test_carried_slides_show_their_pictures(page: Any, tmp_path: Path) -> None:
    first = slide_of(page, "img[alt^='Slide 1 of']")
    for offset, colour in ((0, PREVIEW_COLOURS[0]), (1, PREVIEW_COLOURS[2])):
        page.evaluate(f"casedeck.go({first + offset})")
        page.wait_for_function("() => document.querySelector('.slide.current img').complete")
        img = page.locator(".slide.current img")
        assert img.is_visible()
        box = img.bounding_box()
        assert box["width"] > 400
        shot = page.screenshot(
            clip={"x": box["x"] + box["width"] / 2, "y": box["y"] + box["height"] / 2, "width": 4, "height": 4}
        )
        pixel = Image.open(BytesIO(shot)).convert("RGB").getpixel((1, 1))
        assert all(abs(a - b) < 30 for a, b in zip(pixel, colour, strict=True)), pixel
    page.screenshot(path=str(tmp_path / "carried.png"))
