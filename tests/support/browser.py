"""Debian's Chromium on the app's Case page, for the browser tests of the real app."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.helpers import CHROMIUM_ARGS, require_tool


@contextmanager
def case_page(
    app_url: str, title: str, *, screenshot: Path, timeout_ms: int = 60_000
) -> Iterator[tuple[Any, list[str]]]:
    """The Case page showing the case called ``title``, and the list of errors the page throws.

    Every wait (and ``expect``) gives up after ``timeout_ms``; on a failure the whole page is
    saved to ``screenshot`` for the log.
    """
    chromium = require_tool("chromium")
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.set_default_timeout(timeout_ms)
        expect.set_options(timeout=timeout_ms)
        try:
            page.goto(app_url + "/library")
            expect(page.get_by_text("Case library")).to_be_visible()  # app.py's navigation is in place
            page.get_by_role("link", name="Case", exact=True).click()
            expect(page.get_by_role("heading", name=title)).to_be_visible()
            yield page, errors
        except BaseException:
            page.screenshot(path=str(screenshot), full_page=True)
            raise
        finally:
            browser.close()
