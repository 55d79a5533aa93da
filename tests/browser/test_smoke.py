"""One real-browser pass over the first slice: Debian's Chromium driven by Playwright
against `streamlit run app.py` on 127.0.0.1. Upload a zip -> case -> key image -> PPTX download."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pptx import Presentation

from tests.dicom_factory import FAKE_PHI, ct_slice, zip_bytes
from tests.helpers import CHROMIUM_ARGS, require_tool
from tests.support.streamlit_server import streamlit_app, wait_settled

pytestmark = pytest.mark.browser


@pytest.fixture
def app_url(tmp_path: Path) -> Iterator[str]:
    env = {**os.environ, "CASEDECK_DATA": str(tmp_path / "data"), "CASEDECK_SAMPLES": "0"}
    with streamlit_app("app.py", env=env, log_path=tmp_path / "streamlit.log") as url:
        yield url


def study_zip() -> bytes:
    from pydicom.uid import generate_uid

    study, series = generate_uid(), generate_uid()
    files = {}
    for i in range(3):
        buffer = io.BytesIO()
        ct_slice(study, series, i, size=128).save_as(buffer, enforce_file_format=True)
        files[f"QUIMBY_EUSTACE/IM{i}.dcm"] = buffer.getvalue()
    return zip_bytes(files)


def test_upload_to_pptx_in_a_real_browser(app_url: str, tmp_path: Path) -> None:
    chromium = require_tool("chromium")
    from playwright.sync_api import expect, sync_playwright

    upload = tmp_path / "study.zip"
    upload.write_bytes(study_zip())
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        expect.set_options(timeout=60_000)  # expect() has its own 5 s default; a cold first import is slower
        page.goto(app_url + "/library")
        expect(page.get_by_text("Case library")).to_be_visible()

        page.get_by_role("link", name="Import").click()
        expect(page.get_by_text("Import studies")).to_be_visible()
        page.locator("input[type=file]").first.set_input_files(str(upload))
        expect(page.get_by_text("study.zip")).to_be_visible()
        wait_settled(page)  # the upload's rerun is over: a click during it was once lost (no import ran)
        page.get_by_role("button", name="Import uploaded files").click()
        # the first import of a fresh app loads the de-identifier and the OCR model: slow on a busy machine
        expect(page.get_by_text("Import report")).to_be_visible(timeout=180_000)
        body = page.inner_text("body")
        assert all(phi not in body for phi in FAKE_PHI)

        page.get_by_role("button", name="Open case").click()
        expect(page.get_by_text("Teaching content")).to_be_visible()
        page.get_by_role("button", name="Mark as key image").click()
        expect(page.get_by_text("Key images (1)")).to_be_visible()
        page.screenshot(path=str(tmp_path / "case.png"))

        page.get_by_role("link", name="Export").click()
        page.get_by_role("button", name="Build PowerPoint deck").click()
        with page.expect_download() as download_info:
            page.get_by_role("button", name="Download deck (.pptx)").click()
        deck = tmp_path / "deck.pptx"
        download_info.value.save_as(deck)
        browser.close()

    slides = Presentation(str(deck)).slides
    assert sum(1 for s in slides for shape in s.shapes if shape.shape_type == 13) == 1  # one picture
