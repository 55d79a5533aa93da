"""Signing in to a department installation, in Debian's Chromium (issue #16).

One ``streamlit run app.py`` with ``CASEDECK_SIGN_IN=1`` on every address (allowed: sign-in is on)
serves a library holding a department-wide teaching case and a presenter's private case:

(a) a visitor sees only the sign-in page, also when following a link to another page;
(b) five wrong passwords lock the account, and the right one is then refused with the wait;
(c) a learner signs in, sees the teaching case but not the private one (not in the Library, and a
    link straight to it says it is not shared), sees no admin pages, and signs out;
(d) the first admin's one-time password, printed to the terminal, signs in and must be changed.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from casefiles.accounts.local import USER, LocalAccounts
from casefiles.accounts.permissions import Role
from casefiles.config import Settings
from casefiles.services import Services
from casefiles.store.tinydb_store import TinyDBCaseStore
from casefiles.visibility import Sharing, Visibility
from tests.dicom_factory import ct_slice
from tests.support.streamlit_server import checked_chromium, streamlit_app, wait_settled

pytestmark = pytest.mark.browser

TIMEOUT_MS = 60_000
LEARNER_PASSWORD = "resident-reads-42-films"


@pytest.fixture(scope="module")
def installation(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    from pydicom.uid import generate_uid

    root = tmp_path_factory.mktemp("signin")
    services = Services(Settings(data_dir=root / "data", seed_samples=False))
    ids: dict[str, str] = {}
    for name, title, sharing in (
        ("teaching", "Department teaching case", Sharing("", Visibility.DEPARTMENT)),
        ("private", "Pia private draft", Sharing("pia", Visibility.PRIVATE)),
    ):
        folder = root / name
        folder.mkdir()
        study, series = generate_uid(), generate_uid()
        for i in range(2):
            ct_slice(study, series, i, size=32).save_as(folder / f"{i}.dcm", enforce_file_format=True)
        (case_id,) = services.import_dicom([folder], title=title).case_ids
        services.set_case_sharing(case_id, sharing)
        ids[name] = case_id
    accounts = LocalAccounts(services.store)
    accounts.create_user("lena", Role.LEARNER, display_name="Lena", password=LEARNER_PASSWORD)
    accounts.create_user("locky", Role.PRESENTER, password=LEARNER_PASSWORD + "x")
    return root / "data", ids


@pytest.fixture(scope="module")
def app(
    installation: tuple[Path, dict[str, str]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    data_dir, _ = installation
    env = {**os.environ, "CASEDECK_DATA": str(data_dir), "CASEDECK_SAMPLES": "0", "CASEDECK_SIGN_IN": "1"}
    log = tmp_path_factory.mktemp("signin_log") / "streamlit.log"
    with streamlit_app("app.py", env=env, log_path=log, address="0.0.0.0") as url:  # sign-in is on: allowed
        yield url, log


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    with checked_chromium(tmp_path, timeout_ms=TIMEOUT_MS) as context:
        yield context


def sign_in(page: Any, username: str, password: str) -> None:
    page.get_by_role("textbox", name="User name").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    wait_settled(page)


def test_a_visitor_sees_only_the_sign_in_page(app: tuple[str, Path], browser: Any) -> None:
    from playwright.sync_api import expect

    url, _ = app
    page = browser.new_page()
    for path in ("", "/case", "/users", "/audit_log"):
        page.goto(url + path)
        expect(page.get_by_role("button", name="Sign in")).to_be_visible()
        assert page.get_by_text("Case library").count() == 0
        assert page.get_by_role("link", name="Case", exact=True).count() == 0


def failures_reach(data_dir: Path, username: str, count: int) -> None:
    """Wait until the store counts ``count`` failed sign-ins of ``username``."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while True:
        record = TinyDBCaseStore(data_dir / "library").get_record(USER, username)
        if record is not None and int(record.data.get("failures", 0)) >= count:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"the app never counted {count} failed sign-in(s)")
        time.sleep(0.2)


def test_wrong_passwords_lock_the_account(
    app: tuple[str, Path], installation: tuple[Path, dict[str, str]], browser: Any
) -> None:
    from playwright.sync_api import expect

    url, _ = app
    data_dir, _ = installation
    page = browser.new_page()
    page.goto(url)
    for attempt in range(1, 6):
        sign_in(page, "locky", "not-the-password")
        expect(page.get_by_text("That user name and password were not accepted.")).to_be_visible()
        failures_reach(data_dir, "locky", attempt)  # the attempt was made (a click during a rerun is lost)
    sign_in(page, "locky", LEARNER_PASSWORD + "x")  # right, but too late
    expect(page.get_by_text(re.compile("Too many wrong passwords"))).to_be_visible()
    assert page.get_by_text("Case library").count() == 0


def test_a_learner_sees_what_is_shared_with_them_only(
    app: tuple[str, Path], installation: tuple[Path, dict[str, str]], browser: Any
) -> None:
    from playwright.sync_api import expect

    url, _ = app
    _, ids = installation
    page = browser.new_page()
    page.goto(url)
    sign_in(page, "lena", LEARNER_PASSWORD)
    expect(page.get_by_text("Recently added")).to_be_visible()  # the home page
    assert page.get_by_text("Pia private draft").count() == 0
    page.get_by_role("link", name="Library").click()
    expect(page.get_by_text("Case library")).to_be_visible()
    expect(page.get_by_text("Department teaching case").first).to_be_visible()
    assert page.get_by_text("Pia private draft").count() == 0
    assert page.get_by_role("link", name="Users").count() == 0
    assert page.get_by_role("link", name="Audit log").count() == 0
    # a link straight to the private case does not open it
    page.goto(f"{url}/case?case={ids['private']}")
    expect(page.get_by_text("not in the library or not shared with you")).to_be_visible()
    expect(page.get_by_role("heading", name="Department teaching case", exact=True)).to_be_visible()
    assert page.get_by_text("Pia private draft").count() == 0
    # a learner may read but not save
    page.get_by_role("tab", name="Teaching content").click()
    page.get_by_role("button", name="Save case").click()
    expect(page.get_by_text("Learners may view but not edit it")).to_be_visible()
    # signing out ends the session: the next page is the sign-in page
    page.get_by_role("link", name="Account").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    page.goto(url + "/case")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def test_the_first_admin_signs_in_with_the_printed_password_and_must_change_it(
    app: tuple[str, Path], browser: Any
) -> None:
    from playwright.sync_api import expect

    url, log = app
    page = browser.new_page()
    page.goto(url)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    printed = re.search(r"user 'admin' with the one-time password (\S+) ", log.read_text())
    assert printed, "the first admin's password was not printed to the terminal"
    sign_in(page, "admin", printed.group(1))
    # only the Account page, until the password is changed
    expect(page.get_by_role("button", name=re.compile("Change password"))).to_be_visible()
    assert page.get_by_text("Case library").count() == 0
    assert printed.group(1) not in page.content()


def test_the_first_visit_to_a_fresh_server_straight_to_a_page_meets_the_sign_in(
    installation: tuple[Path, dict[str, str]], tmp_path: Path, browser: Any
) -> None:
    """Streamlit runs pages/<name>.py by itself until app.py's navigation has run once (its old
    multipage mode): the very first request of a fresh server, a deep link, must still be routed."""
    from playwright.sync_api import expect

    data_dir, _ = installation
    env = {**os.environ, "CASEDECK_DATA": str(data_dir), "CASEDECK_SAMPLES": "0", "CASEDECK_SIGN_IN": "1"}
    with streamlit_app("app.py", env=env, log_path=tmp_path / "fresh.log") as url:
        page = browser.new_page()
        page.goto(url + "/library")
        expect(page.get_by_role("button", name="Sign in")).to_be_visible()
        assert page.get_by_text("Case library").count() == 0
    assert "Traceback" not in (tmp_path / "fresh.log").read_text()
