"""Issue #14, scope 1, on the real app in Debian's Chromium: edits never land in the wrong conference.

One `streamlit run app.py` serves a data directory with a few conferences that share one case; each
test uses its own conferences and reads what the app stored back from the data directory:

(a) two tabs on two conferences rename them and tick a case's quiz reveal at once: each conference
    keeps its own tab's title and plan, and a reload of each tab shows the same conference again;
(b) a conference picked in the picker goes into the URL; back and forward bring its form back;
(c) a save made on a conference another tab renamed meanwhile is refused with the message, the other
    tab's title is kept, and after a reload the save goes through.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from casefiles.config import Settings
from casefiles.model import Conference
from casefiles.services import STALE_CONFERENCE_MESSAGE, Services
from tests.dicom_factory import write_ct_study
from tests.support.streamlit_server import checked_chromium, streamlit_app, wait_settled

pytestmark = pytest.mark.browser

TIMEOUT_MS = 60_000
#: The conferences the tests work on, each holding the one shared case.
CONFERENCES = ("Board A", "Board B", "Back and forth C", "Back and forth D", "Stale save E")


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, dict[str, Conference]]:
    root = tmp_path_factory.mktemp("conference_identity")
    services = Services(Settings(data_dir=root / "data", seed_samples=False))
    (case_id,) = services.import_dicom(write_ct_study(root / "ct", slices=2), title="Shared case").case_ids
    conferences = {
        title: services.create_conference(title, date=dt.date(2025, 3, 10 + n), case_ids=[case_id])
        for n, title in enumerate(CONFERENCES)
    }
    return root / "data", case_id, conferences


@pytest.fixture(scope="module")
def app_url(
    library: tuple[Path, str, dict[str, Conference]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    data_dir = library[0]
    env = {**os.environ, "CASEDECK_DATA": str(data_dir), "CASEDECK_SAMPLES": "0"}
    log = tmp_path_factory.mktemp("conference_identity_log") / "streamlit.log"
    with streamlit_app("app.py", env=env, log_path=log) as url:
        yield url


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    """A Chromium context; each tab is its own Streamlit session. Screenshots of every tab are left in tmp_path."""
    with checked_chromium(tmp_path, timeout_ms=TIMEOUT_MS) as context:
        yield context


def stored(data_dir: Path, conference_id: str) -> Conference:
    """The conference as the app wrote it (a new store, opened as the app opens it, reads it afresh)."""
    return Services(Settings(data_dir=data_dir, seed_samples=False)).get_conference(conference_id)


def wait_stored(data_dir: Path, conference_id: str, condition: Callable[[Conference], bool], what: str) -> Conference:
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while True:
        conference = stored(data_dir, conference_id)
        if condition(conference):
            return conference
        if time.monotonic() > deadline:
            raise AssertionError(f"the app never stored {what}: {conference.title!r}, {conference.items!r}")
        time.sleep(0.2)


def title_field(page: Any, conference_id: str) -> Any:
    """The edit form's Title field of that conference (its key names it)."""
    return page.locator(f".st-key-conf_edit_title_{conference_id} input")


def open_form(page: Any, conference_id: str) -> None:
    """Open the "Edit or delete this conference" expander if it is closed (it starts closed)."""
    if not title_field(page, conference_id).is_visible():
        page.get_by_text("Edit or delete this conference").click()


def shows(page: Any, conference: Conference) -> None:
    """Wait until the page shows ``conference`` (URL and picker), with its edit form open."""
    from playwright.sync_api import expect

    expect(page).to_have_url(re.compile(f"conference={conference.id}"))
    picker = page.locator(".st-key-conf_picker").get_by_role("combobox")
    expect(picker).to_have_value(re.compile("^" + re.escape(conference.title) + " · "))
    wait_settled(page)
    open_form(page, conference.id)


def open_conference(page: Any, url: str, conference: Conference) -> None:
    from playwright.sync_api import expect

    page.goto(f"{url}/conferences?conference={conference.id}")
    expect(page.get_by_role("heading", name="Conferences")).to_be_visible()
    wait_settled(page)
    open_form(page, conference.id)
    expect(title_field(page, conference.id)).to_have_value(conference.title)


def test_two_tabs_on_two_conferences_each_keep_their_own_title_and_plan(
    library: tuple[Path, str, dict[str, Conference]], app_url: str, browser: Any
) -> None:
    from playwright.sync_api import expect

    data_dir, case_id, conferences = library
    a, b = conferences["Board A"], conferences["Board B"]
    tab_a, tab_b = browser.new_page(), browser.new_page()
    open_conference(tab_a, app_url, a)
    open_conference(tab_b, app_url, b)

    title_field(tab_a, a.id).fill("Board A, typed in tab A")
    title_field(tab_b, b.id).fill("Board B, typed in tab B")
    tab_a.get_by_role("button", name="Save changes").click()
    tab_b.get_by_role("button", name="Save changes").click()
    for tab in (tab_a, tab_b):
        expect(tab.get_by_text("Conference saved.")).to_be_visible()
        wait_settled(tab)
    tab_a.locator(f".st-key-conf_reveal_{case_id}_{a.id} label").click()
    wait_stored(data_dir, a.id, lambda c: c.plan(case_id).reveal, "A's quiz reveal")
    wait_settled(tab_a)

    after_a = wait_stored(data_dir, a.id, lambda c: c.title == "Board A, typed in tab A", "A's title")
    after_b = wait_stored(data_dir, b.id, lambda c: c.title == "Board B, typed in tab B", "B's title")
    assert after_a.plan(case_id).reveal and not after_b.plan(case_id).reveal, "A's tick went into B"
    # A reload of each tab shows the same conference again, with its own title.
    for tab, conference, title in ((tab_a, a, after_a.title), (tab_b, b, after_b.title)):
        tab.reload()
        shows(tab, replace(conference, title=title))
        expect(title_field(tab, conference.id)).to_have_value(title)


def test_the_picker_writes_the_url_and_back_and_forward_bring_the_form_back(
    library: tuple[Path, str, dict[str, Conference]], app_url: str, browser: Any
) -> None:
    from playwright.sync_api import expect

    _data_dir, _case_id, conferences = library
    c, d = conferences["Back and forth C"], conferences["Back and forth D"]
    page = browser.new_page()
    open_conference(page, app_url, c)
    page.locator(".st-key-conf_picker").get_by_role("combobox").click()
    page.get_by_role("option", name=re.compile("^" + re.escape(d.title) + " · ")).click()
    shows(page, d)
    expect(title_field(page, d.id)).to_have_value(d.title)

    page.go_back()
    shows(page, c)
    expect(title_field(page, c.id)).to_have_value(c.title)
    page.go_forward()
    shows(page, d)
    expect(title_field(page, d.id)).to_have_value(d.title)


def test_a_save_on_a_conference_another_tab_renamed_is_refused_and_nothing_is_lost(
    library: tuple[Path, str, dict[str, Conference]], app_url: str, browser: Any
) -> None:
    from playwright.sync_api import expect

    data_dir, _case_id, conferences = library
    e = conferences["Stale save E"]
    mine, other = browser.new_page(), browser.new_page()
    for tab in (mine, other):
        open_conference(tab, app_url, e)

    title_field(other, e.id).fill("Renamed in the other tab")
    other.get_by_role("button", name="Save changes").click()
    wait_stored(data_dir, e.id, lambda c: c.title == "Renamed in the other tab", "the other tab's title")

    title_field(mine, e.id).fill("Renamed on the old copy")
    mine.get_by_role("button", name="Save changes").click()
    expect(mine.get_by_text(STALE_CONFERENCE_MESSAGE)).to_be_visible()
    wait_settled(mine)
    assert stored(data_dir, e.id).title == "Renamed in the other tab", "nothing was saved"
    expect(title_field(mine, e.id)).to_have_value("Renamed on the old copy")  # what I typed stays

    mine.get_by_role("button", name=re.compile("^Reload the conference")).click()
    expect(title_field(mine, e.id)).to_have_value("Renamed in the other tab")
    title_field(mine, e.id).fill("Renamed after the reload")
    mine.get_by_role("button", name="Save changes").click()
    wait_stored(data_dir, e.id, lambda c: c.title == "Renamed after the reload", "the title after the reload")
