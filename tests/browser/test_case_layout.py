"""Issue #14, finding 4 / scope 2, on the real app in Debian's Chromium: the Case page reads like a PACS.

At 1440×900 and at 1920×1080, on a case with an image held for burned-in review (whose review panel used to
push the viewer ~1,700 px down) and on one without: the stack viewer's top is in the upper half of the first
screen and most of it is visible without scrolling, and clicking a series in the rail switches the viewer.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from casefiles.config import Settings
from casefiles.model import Asset, AssetKind
from casefiles.services import Services
from pages.ui import case_key
from tests.dicom_factory import ct_slice
from tests.helpers import CHROMIUM_ARGS, require_tool
from tests.support.held_case import held_case
from tests.support.streamlit_server import streamlit_app, wait_settled

pytestmark = pytest.mark.browser

TIMEOUT_MS = 60_000
VIEWPORTS = [(1440, 900), (1920, 1080)]
#: Some viewer on the page holds a series of n frames and has drawn one of them.
SHOWS = """(n) => (window.__casedeckViewer?.viewers || [])
    .some((v) => v.state().frames === n && typeof v.state().shown === "number")"""


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """Two cases: "plain", two CT series of 3 and 5 slices; "held", a CT series and a capture held for review."""
    from pydicom.uid import generate_uid

    root = tmp_path_factory.mktemp("layout")
    services = Services(Settings(data_dir=root / "data", seed_samples=False))
    source = root / "plain"
    source.mkdir()
    study = generate_uid()
    for number, slices in ((1, 3), (2, 5)):
        series = generate_uid()
        for i in range(slices):
            ds = ct_slice(study, series, i, size=128, series_number=number)
            ds.save_as(source / f"s{number}_{i}.dcm", enforce_file_format=True)
    (plain,) = services.import_dicom([source], title="Layout plain case").case_ids
    held_root = root / "held"
    held_root.mkdir()
    held = held_case(services, held_root)
    services.update_case(held, {"title": "Layout held case"})
    assert services.images_for_review(services.get_case(held)), "the held case shows its review panel"
    return root / "data", {"plain": plain, "held": held}


@pytest.fixture(scope="module")
def app_url(library: tuple[Path, dict[str, str]], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir, _ = library
    env = {**os.environ, "CASEDECK_DATA": str(data_dir), "CASEDECK_SAMPLES": "0"}
    log = tmp_path_factory.mktemp("layout_log") / "streamlit.log"
    with streamlit_app("app.py", env=env, log_path=log) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium = require_tool("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def _series(data_dir: Path, case_id: str) -> list[Asset]:
    services = Services(Settings(data_dir=data_dir, seed_samples=False))
    return [a for a in services.get_case(case_id).assets if a.kind is AssetKind.DICOM_SERIES]


@pytest.mark.parametrize("which", ["plain", "held"])
@pytest.mark.parametrize(("width", "height"), VIEWPORTS, ids=[f"{w}x{h}" for w, h in VIEWPORTS])
def test_the_viewer_is_on_the_first_screen_and_the_rail_switches_series(
    library: tuple[Path, dict[str, str]],
    app_url: str,
    browser: Any,
    which: str,
    width: int,
    height: int,
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    data_dir, cases = library
    case_id = cases[which]
    first, second = _series(data_dir, case_id)[:2]
    assert first.frame_count != second.frame_count, "the switch must be visible in the viewer"
    page = browser.new_page(viewport={"width": width, "height": height})
    page.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{app_url}/case?case={case_id}")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        page.wait_for_function(SHOWS, arg=first.frame_count)
        wait_settled(page)
        if which == "held":
            expect(page.get_by_text("Burned-in review (1 left)")).to_be_visible()

        page.evaluate("() => window.scrollTo(0, 0)")
        box = page.locator(".cdsv-root").first.bounding_box()
        assert box is not None
        assert box["y"] < height * 0.5, f"the viewer starts at y={box['y']:.0f} in a {width}×{height} window"
        on_screen = min(box["y"] + box["height"], height) - box["y"]
        assert on_screen >= 0.6 * box["height"], f"only {on_screen:.0f} of {box['height']:.0f} px of it are visible"

        rail = page.locator(f".st-key-{case_key(case_id, f'rail_{second.id}')} button")
        expect(rail).to_be_visible()
        rail.click()
        page.wait_for_function(SHOWS, arg=second.frame_count)
        wait_settled(page)
        # The tools under the viewer follow it: the key-image button names the series shown.
        expect(page.locator(f"[class*='st-key-key_toggle_{second.id}_']")).to_be_attached()
        assert errors == [], "the page threw in the browser"
    except BaseException:
        page.screenshot(path=str(tmp_path / f"layout_{which}_{width}x{height}.png"), full_page=True)
        raise
    finally:
        page.close()


def test_a_link_straight_to_a_case_on_a_fresh_server_opens_that_case_with_the_app_s_navigation(
    library: tuple[Path, dict[str, str]], browser: Any, tmp_path: Path
) -> None:
    """The very first request of a fresh server is a link to /case?case=<id> (a bookmark, a colleague's
    link): the page shows that case, with app.py's navigation, not Streamlit's own list of the files in
    pages/ (which offered "share link", "upload link", "sign in"...)."""
    from playwright.sync_api import expect

    data_dir, cases = library
    env = {**os.environ, "CASEDECK_DATA": str(data_dir), "CASEDECK_SAMPLES": "0"}
    with streamlit_app("app.py", env=env, log_path=tmp_path / "fresh.log") as url:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.set_default_timeout(TIMEOUT_MS)
        expect.set_options(timeout=TIMEOUT_MS)
        try:
            page.goto(f"{url}/case?case={cases['held']}")
            expect(page.get_by_role("heading", name="Layout held case", level=1)).to_be_visible()
            wait_settled(page)
            nav = page.locator('[data-testid="stSidebarNav"]')
            expect(nav.get_by_role("link", name="Library", exact=True)).to_be_visible()
            expect(nav.get_by_role("link", name="Conferences", exact=True)).to_be_visible()
            # Each link reads "<icon name>\n\n<title>": the titles are app.py's, none is a file's name.
            names = [n.strip().split("\n")[-1].lower() for n in nav.get_by_role("link").all_inner_texts()]
            assert {"library", "import", "case", "conferences", "export"} <= set(names), names
            assert not {"share link", "upload link", "sign in", "import studies"} & set(names), names
            assert f"case={cases['held']}" in page.url
        except BaseException:
            page.screenshot(path=str(tmp_path / "fresh_link.png"), full_page=True)
            raise
        finally:
            page.close()
    assert "Traceback" not in (tmp_path / "fresh.log").read_text()
