"""An app started on every address without sign-in shows only why it refuses, in a real browser."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import CHROMIUM_ARGS, require_tool
from tests.support.streamlit_server import streamlit_app

pytestmark = pytest.mark.browser


def test_an_app_on_the_network_without_sign_in_refuses(tmp_path: Path) -> None:
    chromium = require_tool("chromium")
    from playwright.sync_api import expect, sync_playwright

    env = {**os.environ, "CASEDECK_DATA": str(tmp_path / "data"), "CASEDECK_SAMPLES": "0"}
    with (
        streamlit_app("app.py", env=env, log_path=tmp_path / "streamlit.log", address="0.0.0.0") as url,
        sync_playwright() as pw,
    ):
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page()
        for path in ("", "/case", "/conferences"):  # a direct link to a page is refused too
            page.goto(url + path)
            expect(page.get_by_text("no sign-in is configured")).to_be_visible(timeout=60_000)
            assert page.get_by_text("Case library").count() == 0
            assert page.get_by_role("link", name="Case", exact=True).count() == 0
        browser.close()
    assert not (tmp_path / "data" / "library").exists()  # nothing was opened
