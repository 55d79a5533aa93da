"""The converted clip plays in Debian's Chromium (driven by Playwright), as it will on the Case page."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import pytest

from casefiles.media.video import transcode
from tests.helpers import CHROMIUM_ARGS, require_tool
from tests.media.video.clips import run_ffmpeg

pytestmark = pytest.mark.browser

STATE = """async () => {
    const v = document.getElementById('v');
    if (v.readyState < 2) await new Promise((done, fail) => { v.onloadeddata = done; v.onerror = fail; });
    await v.play();  // muted, so autoplay rules allow it; rejects if the codec is refused
    v.pause();
    await new Promise(done => { v.onseeked = done; v.currentTime = v.duration / 2; });
    return {ready: v.readyState, duration: v.duration, width: v.videoWidth, height: v.videoHeight,
            error: v.error && v.error.code, canPlay: v.canPlayType('video/mp4; codecs="avc1.64001f, mp4a.40.2"')};
}"""


def play_in_chromium(mp4: bytes) -> dict:
    chromium = require_tool("chromium")
    from playwright.sync_api import sync_playwright

    url = "data:video/mp4;base64," + base64.b64encode(mp4).decode("ascii")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(30_000)
            page.set_content(f'<!doctype html><video id="v" src="{url}" muted playsinline preload="auto"></video>')
            return page.evaluate(STATE)
        finally:
            browser.close()


def test_a_trimmed_phone_clip_with_sound_plays_upright(
    tmp_path: Path, place: Callable[..., Path], workdir: Path
) -> None:
    landscape = tmp_path / "landscape.mp4"
    run_ffmpeg(
        "-f", "lavfi", "-i", "testsrc=size=320x240:rate=30:duration=3", "-f", "lavfi", "-i", "sine=duration=3",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(landscape),
    )  # fmt: skip
    phone = tmp_path / "phone.mov"
    run_ffmpeg("-display_rotation", "90", "-i", str(landscape), "-c", "copy", "-metadata", "title=DOE^JOHN", str(phone))
    state = play_in_chromium(transcode(place(phone, "IMG_0001.MOV"), workdir=workdir, start_s=0.5, end_s=2.5))
    assert state["canPlay"] == "probably"  # this Chromium decodes H.264 High + AAC at all
    assert state["error"] is None
    assert state["ready"] >= 2
    assert state["duration"] == pytest.approx(2.0, abs=0.1)
    assert (state["width"], state["height"]) == (240, 320)


def test_a_muted_webm_and_an_avi_play(source: Callable[..., Path], place: Callable[..., Path], workdir: Path) -> None:
    for container, mute in (("webm", True), ("avi", False)):
        state = play_in_chromium(transcode(place(source(container)), workdir=workdir, mute=mute))
        assert state["error"] is None, container
        assert state["ready"] >= 2, container
        assert state["duration"] == pytest.approx(3.0, abs=0.1), container
        assert (state["width"], state["height"]) == (320, 240), container
