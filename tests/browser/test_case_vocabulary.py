"""Issue #17 on the real app in Chromium: the case editor's vocabulary pickers take what is typed.

A body part and a diagnosis category are picked from the vocabulary by typing a few letters; a
category and a tag that nobody has used before are typed in and kept. What the app stored is read
back from the data directory.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from casefiles.config import Settings
from casefiles.model import Case
from casefiles.services import Services
from casefiles.store.tinydb_store import TinyDBCaseStore
from pages.ui import case_key
from tests.dicom_factory import ct_slice
from tests.support.streamlit_server import checked_chromium, streamlit_app, wait_settled

pytestmark = pytest.mark.browser

TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Case]:
    from pydicom.uid import generate_uid

    root = tmp_path_factory.mktemp("vocabulary")
    services = Services(Settings(data_dir=root / "data", seed_samples=False))
    source = root / "in"
    source.mkdir()
    study, series = generate_uid(), generate_uid()
    for i in range(3):
        ct_slice(study, series, i, size=64).save_as(source / f"{i}.dcm", enforce_file_format=True)
    (case_id,) = services.import_dicom([source], title="Vocabulary case").case_ids
    return root / "data", services.update_case(case_id, {"tags": ["tumour board"]})


@pytest.fixture(scope="module")
def app_url(library: tuple[Path, Case], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir, _ = library
    env = {**os.environ, "CASEDECK_DATA": str(data_dir), "CASEDECK_SAMPLES": "0"}
    log = tmp_path_factory.mktemp("vocabulary_log") / "streamlit.log"
    with streamlit_app("app.py", env=env, log_path=log) as url:
        yield url


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    with checked_chromium(tmp_path, timeout_ms=TIMEOUT_MS) as context:
        yield context


def wait_stored(data_dir: Path, case_id: str, condition: Callable[[Case], bool], what: str) -> Case:
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while True:
        store = TinyDBCaseStore(data_dir / "library")
        case = Services(Settings(data_dir=data_dir, seed_samples=False), store=store).get_case(case_id)
        if condition(case):
            return case
        if time.monotonic() > deadline:
            raise AssertionError(f"the app never stored {what}: {case.category!r}, {case.body_part!r}, {case.tags}")
        time.sleep(0.2)


def type_into(page: Any, case_id: str, widget: str, text: str) -> None:
    """Type ``text`` into a picker of the form and press Enter (picks the option, or adds the new value)."""
    box = page.locator(f".st-key-{case_key(case_id, widget)}").get_by_role("combobox")
    box.click()
    box.fill(text)
    page.keyboard.press("Enter")


def test_typed_values_are_picked_or_added_and_saved(library: tuple[Path, Case], app_url: str, browser: Any) -> None:
    from playwright.sync_api import expect

    data_dir, case = library
    page = browser.new_page()
    page.goto(f"{app_url}/case?case={case.id}")
    expect(page.get_by_role("heading", name=case.title, exact=True)).to_be_visible()
    wait_settled(page)

    type_into(page, case.id, "case_body_part", "Liver")
    type_into(page, case.id, "case_category", "Hepatocellular carcinoma")
    type_into(page, case.id, "case_tags", "never used before")
    page.keyboard.press("Escape")
    page.locator("[data-testid='stElementContainer'][data-stale='false']").get_by_role(
        "button", name="Save case"
    ).click()
    saved = wait_stored(data_dir, case.id, lambda c: c.category != "", "the category")
    assert (saved.body_part, saved.category) == ("Liver", "Hepatocellular carcinoma")
    assert saved.tags == ("tumour board", "never used before")

    wait_settled(page)
    type_into(page, case.id, "case_category", "A category of our own")
    page.keyboard.press("Escape")
    page.locator("[data-testid='stElementContainer'][data-stale='false']").get_by_role(
        "button", name="Save case"
    ).click()
    saved = wait_stored(data_dir, case.id, lambda c: c.category == "A category of our own", "the new category")
    assert saved.body_part == "Liver" and saved.tags == ("tumour board", "never used before")
