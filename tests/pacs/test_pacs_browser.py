"""The registrar's tumor-board batch in a real browser: Debian's Chromium driven by Playwright against
`streamlit run app.py`, retrieving from the real Orthanc in the private network namespace."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

from casefiles.pacs import PacsNode
from tests.dicom_factory import FAKE_ACCESSION, FAKE_PHI
from tests.helpers import CHROMIUM_ARGS, require_tool
from tests.pacs.conftest import LoadedStudy
from tests.support.streamlit_server import streamlit_app

pytestmark = pytest.mark.browser

CONFERENCE = "Tumor board 2026-11-26"


@pytest.fixture
def app_url(tmp_path: Path) -> Iterator[str]:
    """`streamlit run app.py` on 127.0.0.1 with an empty library in tmp_path."""
    env = {**os.environ, "CASEDECK_DATA": str(tmp_path / "data"), "CASEDECK_SAMPLES": "0"}
    env.pop("CASEDECK_RECEIVE_PORT", None)
    with streamlit_app("app.py", env=env, log_path=tmp_path / "streamlit.log") as url:
        yield url


def _settled(page: Page) -> None:
    """Wait until the script run a widget started has finished and replaced the stale elements."""
    from playwright.sync_api import expect

    expect(page.get_by_test_id("stApp")).to_have_attribute("data-test-script-state", "notRunning")
    expect(page.locator("[data-stale=true]")).to_have_count(0)


def _choose(page: Page, label: str, option: str) -> None:
    """Pick ``option`` in the select box ``label``, opening its list again if a rerun closed it."""
    from playwright.sync_api import Error, expect

    box = page.get_by_test_id("stSelectbox").filter(has_text=label)
    choice = page.get_by_role("option", name=option)
    for _ in range(5):
        _settled(page)
        box.get_by_role("button", name="Open").click()
        try:
            expect(choice).to_be_visible(timeout=3_000)
        except AssertionError:
            continue  # the list closed before it showed: a user clicks again
        try:
            choice.click(timeout=3_000)
        except Error:
            continue
        expect(box.get_by_role("combobox")).to_have_value(option)
        return
    raise AssertionError(f"could not choose {option!r} in {label!r}")


def _text(page: Page) -> str:
    """The text of the page and of its embedded frames (the image viewer is a component in an iframe)."""
    return "\n".join(frame.locator("body").inner_text() for frame in page.frames if frame.url != "about:blank")


def _phi(studies: dict[str, LoadedStudy], accessions: set[str]) -> list[str]:
    """Everything identifying in the studies retrieved: the fake CT's details and the samples'."""
    words = set(FAKE_PHI)
    for study in studies.values():
        if study.accession in accessions:
            words.update(p for p in study.patient_name.split("^") if len(p) > 2)
            words.update((study.patient_id, study.accession))
    return sorted(words)


def test_tumor_board_batch_in_a_real_browser(
    app_url: str, node: PacsNode, studies: dict[str, LoadedStudy], tmp_path: Path
) -> None:
    chromium = require_tool("chromium")
    from playwright.sync_api import expect, sync_playwright

    us = next(s for s in studies.values() if s.modality == "US")
    wanted = {FAKE_ACCESSION, us.accession}
    expected = [s for s in studies.values() if s.accession in wanted]
    phi = _phi(studies, wanted)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        expect.set_options(timeout=60_000)
        try:
            page.goto(app_url + "/library")
            expect(page.get_by_text("Case library")).to_be_visible()
            page.get_by_role("link", name="From PACS").click()
            expect(page.get_by_role("heading", name="From PACS")).to_be_visible()

            # The node form (expanded while no node exists).
            form = page.get_by_test_id("stForm")
            for label, value in (
                ("Name", "Local Orthanc"),
                ("PACS AE title", node.ae_title),
                ("Host", node.host),
                ("Port", str(node.port)),
                ("CaseDeck's AE title (register it on the PACS)", node.our_ae_title),
                ("CaseDeck's port", str(node.our_port)),
            ):
                field = form.get_by_label(label, exact=True)
                field.fill(value)
                field.press("Tab")
            form.get_by_role("button", name="Save node").click()
            # Saved: the form folds away and the node is the one to query.
            expect(page.get_by_role("combobox", name="PACS", exact=True)).to_have_value("Local Orthanc")
            expect(page.get_by_text(f"{node.ae_title}@{node.host}:{node.port}")).to_be_attached()

            page.get_by_role("button", name="Test connection").click()
            expect(page.get_by_text("Local Orthanc answered in")).to_be_visible()

            accessions = page.get_by_label("Accession numbers, one per line")
            accessions.fill(f"{FAKE_ACCESSION}\n{us.accession}\nNO-SUCH")
            accessions.press("Tab")
            _settled(page)
            page.get_by_role("button", name="Find studies", disabled=False).click()
            expect(page.get_by_text("Accession 3 of 3: no study on the PACS has this accession number")).to_be_visible()
            results = page.get_by_test_id("stDataFrame")
            expect(results).to_be_visible()
            # The grid draws on a canvas and keeps an accessible copy of its cells inside it (which
            # get_by_role skips as invisible): one row per study found, ticked for retrieval.
            rows = results.locator("tbody [role=row]")
            expect(rows).to_have_count(len(expected))
            accession_cells = results.locator("tbody [role=gridcell][aria-colindex='2']").all_inner_texts()
            assert sorted(accession_cells) == sorted(s.accession for s in expected)
            assert results.locator("tbody [role=gridcell][aria-colindex='1']").all_inner_texts() == ["true"] * len(
                expected
            )

            _choose(page, "Gather the cases in a conference", "New conference…")
            title = page.get_by_label("New conference title")
            title.fill(CONFERENCE)
            title.press("Enter")
            _settled(page)
            retrieve = page.get_by_role("button", name=f"Retrieve {len(expected)} study(ies)")
            expect(retrieve).to_be_enabled()
            retrieve.click()

            # The fragment polls the background job every second until it is done.
            expect(page.get_by_text("imported and de-identified")).to_be_visible(timeout=180_000)
            done = page.get_by_text("imported and de-identified").inner_text()
            assert f"{len(expected)} study(ies)" in done and f"gathered in “{CONFERENCE}”" in done, done
            bars = page.get_by_test_id("stProgress").all_inner_texts()
            for n in range(1, len(expected) + 1):
                assert any(f"Study {n} of {len(expected)}" in bar for bar in bars), bars
            page.screenshot(path=str(tmp_path / "retrieved.png"), full_page=True)

            opens = page.get_by_role("button", name="Open case:")
            expect(opens).to_have_count(len(expected))
            case_titles = [t.removeprefix("Open case: ").strip() for t in opens.all_inner_texts()]
            opens.first.click()
            expect(page.get_by_role("heading", name=case_titles[0])).to_be_visible()
            expect(page.get_by_text("Teaching content")).to_be_visible()
            page.screenshot(path=str(tmp_path / "case.png"), full_page=True)
            assert not [word for word in phi if word in _text(page)]

            page.get_by_role("link", name="Conferences").click()
            expect(page.get_by_role("heading", name="Running order")).to_be_visible()
            # the picker labels a conference "title · date · kind" (a pulled board has no date)
            expect(page.get_by_role("combobox", name="Conference", exact=True)).to_have_value(
                f"{CONFERENCE} · Tumor board"
            )
            for index, case_title in enumerate(case_titles, start=1):
                expect(page.get_by_text(f"{index}. {case_title}")).to_be_visible()
            page.screenshot(path=str(tmp_path / "conference.png"), full_page=True)
            assert not [word for word in phi if word in _text(page)]
        except Exception:
            page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
            raise
        finally:
            browser.close()
