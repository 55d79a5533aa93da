"""Issue #6 on the real app, in Debian's Chromium: a case's video clip plays, and a box drawn on a photo is
blacked out in the stored file.

The data directory is seeded before `streamlit run app.py` starts: a 2-slice CT (to make the case), then a
photo and a 3-second H.264 clip added with Services.import_media, exactly as the upload does.
"""

from __future__ import annotations

import io
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from casefiles.config import Settings
from casefiles.imaging.cine import ffmpeg_exe
from casefiles.model import Asset, AssetKind, Case
from casefiles.services import Services
from casefiles.store.tinydb_store import TinyDBCaseStore
from tests.dicom_factory import write_ct_study
from tests.support.browser import case_page
from tests.support.streamlit_server import streamlit_app

pytestmark = pytest.mark.browser

TITLE = "Mixed media case"
CLIP_SECONDS = 3.0
PHOTO_SIZE = (400, 300)
TIMEOUT_MS = 60_000


def _services(data_dir: Path) -> Services:
    """A fresh view of the library on disk (the app process writes the file)."""
    return Services(Settings(data_dir=data_dir, seed_samples=False), store=TinyDBCaseStore(data_dir / "library"))


@pytest.fixture
def seeded(tmp_path: Path) -> tuple[Path, Case]:
    source = tmp_path / "incoming"
    source.mkdir()
    photo = source / "photo.png"
    grey = np.full((PHOTO_SIZE[1], PHOTO_SIZE[0], 3), 200, np.uint8)
    Image.fromarray(grey).save(photo)
    clip = source / "clip.mp4"
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", f"testsrc=size=320x240:rate=25:duration={CLIP_SECONDS}",
         "-c:v", "libx264", "-pix_fmt", "yuv420p", str(clip)],
        check=True, timeout=120,
    )  # fmt: skip
    data_dir = tmp_path / "data"
    services = Services(Settings(data_dir=data_dir, seed_samples=False))
    case_id = services.import_dicom(write_ct_study(tmp_path / "ct", slices=2), title=TITLE).case_ids[0]
    report = services.import_media(case_id, [photo, clip])
    assert len(report.asset_ids) == 2, report.problems
    return data_dir, services.get_case(case_id)


@pytest.fixture
def app_url(seeded: tuple[Path, Case], tmp_path: Path) -> Iterator[str]:
    data_dir, _ = seeded
    env = {**os.environ, "CASEDECK_DATA": str(data_dir), "CASEDECK_SAMPLES": "0"}
    with streamlit_app("app.py", env=env, log_path=tmp_path / "streamlit.log") as url:
        yield url


def wait_stored(data_dir: Path, case_id: str, condition: Callable[[Case], bool], what: str) -> Case:
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while True:
        case = _services(data_dir).get_case(case_id)
        if condition(case):
            return case
        if time.monotonic() > deadline:
            raise AssertionError(f"the app never stored {what}")
        time.sleep(0.2)


def only(case: Case, kind: AssetKind) -> Asset:
    (asset,) = [a for a in case.assets if a.kind is kind]
    return asset


def test_video_plays_and_a_box_is_blacked_out_for_good(seeded: tuple[Path, Case], app_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    data_dir, case = seeded
    photo = only(case, AssetKind.IMAGE)
    with case_page(app_url, TITLE, screenshot=tmp_path / "case_media.png", timeout_ms=TIMEOUT_MS) as (page, errors):
        # The clip: the browser loads it (readyState >= HAVE_METADATA) and knows its length.
        video = page.locator("video").first
        video.scroll_into_view_if_needed()
        page.wait_for_function("() => { const v = document.querySelector('video'); return v && v.readyState >= 1; }")
        duration = float(video.evaluate("v => v.duration"))
        assert duration == pytest.approx(CLIP_SECONDS, abs=0.2)
        video.evaluate("v => { v.muted = true; return v.play(); }")
        page.wait_for_function("() => document.querySelector('video').currentTime > 0.2")

        # Black out the top-left quarter of the photo by drawing a box on it.
        page.get_by_text("Black out names or labels", exact=True).click()
        stage = page.locator("canvas.cd-canvas")
        expect(stage).to_be_visible()
        page.wait_for_function("() => window.__casedeckAnnotator && window.__casedeckAnnotator.scale > 0")
        stage.scroll_into_view_if_needed()
        area = stage.bounding_box()
        scale = area["width"] / PHOTO_SIZE[0]
        page.mouse.move(area["x"] + 2, area["y"] + 2)
        page.mouse.down()
        page.mouse.move(area["x"] + 200 * scale, area["y"] + 150 * scale, steps=10)
        page.mouse.up()
        button = page.get_by_role("button", name="Black out 1 box(es) for good")
        expect(button).to_be_enabled()
        button.click()
        stored = wait_stored(data_dir, case.id, lambda c: c.asset(photo.id).blob != photo.blob, "the blacked-out photo")
        pixels = np.asarray(Image.open(io.BytesIO(_services(data_dir).blobs.get(stored.asset(photo.id).blob))))
        assert pixels.shape[:2] == (PHOTO_SIZE[1], PHOTO_SIZE[0])
        assert pixels[10:140, 10:190].max() == 0, "the box is black in the stored file"
        assert pixels[200:, 250:].min() >= 190, "the rest of the photo is untouched"
        assert errors == [], "the page threw in the browser"
