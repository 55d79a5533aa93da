"""A learner takes a two-case quiz in Debian's Chromium (issue #17, scope 4).

Before answering, the page's HTML holds neither the diagnosis nor the teaching points (nor the
title or the key image's caption); answering shows whether it was right and the answer, then the
annotations, then the teaching points; the score is shown at the end.

The real app with sign-in on (``CASEDECK_SIGN_IN=1``): the learner signs in on the sign-in page
and opens Quizzes from the navigation.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from casefiles.accounts.local import LocalAccounts
from casefiles.accounts.permissions import Role
from tests.quiz.quizlib import DIAGNOSIS, TEACHING_POINT, make_installation
from tests.support.streamlit_server import checked_chromium, streamlit_app, wait_settled

pytestmark = pytest.mark.browser

TIMEOUT_MS = 60_000
PASSWORD = "resident-reads-42-films"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("quiz")
    services, _, _ = make_installation(root / "data", root / "dicom")
    accounts = LocalAccounts(services.store)
    accounts.create_user("lena", Role.LEARNER, password=PASSWORD)
    env = {**os.environ, "CASEDECK_DATA": str(root / "data"), "CASEDECK_SAMPLES": "0", "CASEDECK_SIGN_IN": "1"}
    with streamlit_app("app.py", env=env, log_path=root / "streamlit.log") as url:
        yield url


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    with checked_chromium(tmp_path, timeout_ms=TIMEOUT_MS) as context:
        yield context


def answer_button(page: Any) -> Any:
    return page.get_by_role("button", name="Answer", exact=True)


def test_a_learner_takes_a_two_case_quiz(app: str, browser: Any) -> None:
    from playwright.sync_api import expect

    page = browser.new_page()
    page.goto(app)
    page.get_by_role("textbox", name="User name").fill("lena")
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Quizzes").click()
    wait_settled(page)
    page.get_by_role("button", name="Start quiz").click()
    expect(page.get_by_text("Case 1 of 2")).to_be_visible()
    expect(page.get_by_text("60-year-old with hepatitis C and a rising AFP.")).to_be_visible()
    wait_settled(page)
    html = page.content().lower()
    for secret in (DIAGNOSIS, TEACHING_POINT, "liver mass", "note the washout", "arterially enhancing"):
        assert secret.lower() not in html, f"{secret!r} is in the page before answering"

    page.get_by_role("textbox", name="Your answer").fill("HCC")
    answer_button(page).click()
    expect(page.get_by_text("Right.", exact=True)).to_be_visible()
    expect(page.get_by_text(DIAGNOSIS, exact=True).first).to_be_visible()
    wait_settled(page)
    assert TEACHING_POINT.lower() not in page.content().lower()
    page.get_by_role("button", name="Show annotations").click()
    expect(page.get_by_text("Note the washout")).to_be_visible()
    wait_settled(page)
    page.get_by_role("button", name="Show teaching points").click()
    expect(page.get_by_text(TEACHING_POINT)).to_be_visible()
    wait_settled(page)

    page.get_by_role("button", name="Next case").click()
    expect(page.get_by_text("Case 2 of 2")).to_be_visible()
    wait_settled(page)
    html = page.content().lower()
    assert "spiculated margins" not in html and "lung nodule" not in html
    page.get_by_text("Adenocarcinoma of the lung", exact=True).click()
    answer_button(page).click()
    expect(page.get_by_text("Right.", exact=True)).to_be_visible()
    expect(page.get_by_text("2 of 2 right (100%), 2 answered").first).to_be_visible()
    expect(page.get_by_text("Your score")).to_be_visible()
