"""The Home page greets each person with the case of the week, their drafts, conferences ahead and what is new."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from casefiles.accounts.local import LocalAccounts
from casefiles.accounts.permissions import Actor, PermissionDenied, Role
from casefiles.acting.guard import ActingServices
from casefiles.acting.landing import Landing
from casefiles.config import Settings
from casefiles.errors import ValidationError
from casefiles.services import Services
from casefiles.visibility import Sharing, Visibility
from pages.session import SESSION_TOKEN
from tests.helpers import ROOT
from tests.store.conftest import make_case

TODAY = dt.datetime.now(dt.UTC).date()


@pytest.fixture
def library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Services, dict[str, str]]:
    data = tmp_path / "data"
    services = Services(Settings(data_dir=data, seed_samples=False))
    for n, (case_id, title, sharing) in enumerate(
        (
            ("teach", "Pneumothorax teaching case", Sharing("", Visibility.DEPARTMENT)),
            ("draft", "Pia draft", Sharing("pia", Visibility.PRIVATE)),
            ("other", "Someone else's draft", Sharing("olivia", Visibility.PRIVATE)),
        )
    ):
        case = replace(make_case(case_id, title=title, series=1, images=2, created_minutes=n), key_images=())
        services.store.save_case(replace(case, sharing=sharing))
    board = services.create_conference("Thursday board", date=TODAY + dt.timedelta(days=3), case_ids=["teach"])
    services.set_conference_sharing(board.id, Sharing("pia", Visibility.DEPARTMENT))
    old = services.create_conference("Last month's board", date=TODAY - dt.timedelta(days=30))
    services.set_conference_sharing(old.id, Sharing("pia", Visibility.DEPARTMENT))
    monkeypatch.setenv("CASEDECK_DATA", str(data))
    monkeypatch.setenv("CASEDECK_SAMPLES", "0")
    monkeypatch.setenv("CASEDECK_SIGN_IN", "1")
    accounts = LocalAccounts(services.store)
    tokens = {}
    for name, role in (("pia", Role.PRESENTER), ("lena", Role.LEARNER)):
        user, _ = accounts.create_user(name, role, password="a long test sentence here")
        tokens[name] = accounts.open_session(user)
    return services, tokens


def home_as(token: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state[SESSION_TOKEN] = token
    at.run()
    assert not at.exception, at.exception
    return at


def shown(at: AppTest) -> str:
    return "\n".join([m.value for m in at.markdown] + [b.label for b in at.button] + [s.value for s in at.subheader])


def test_a_presenter_sees_their_drafts_and_the_conferences_ahead(library: tuple[Services, dict[str, str]]) -> None:
    _, tokens = library
    page = shown(home_as(tokens["pia"]))
    assert "My drafts" in page and "Pia draft" in page
    assert "Someone else" not in page
    assert "Thursday board" in page and "Last month" not in page
    assert "Case of the week" not in page  # none chosen yet


def test_the_case_of_the_week_greets_everyone_and_must_be_department_wide(
    library: tuple[Services, dict[str, str]],
) -> None:
    services, tokens = library
    pia = Landing(ActingServices(services, Actor("pia", Role.PRESENTER)), services.store)
    with pytest.raises(ValidationError, match="share this case with the whole department first"):
        pia.feature("draft")
    learner = Landing(ActingServices(services, Actor("lena", Role.LEARNER)), services.store)
    with pytest.raises(PermissionDenied):
        learner.feature("teach")
    pia.feature("teach")
    page = shown(home_as(tokens["lena"]))
    assert "Case of the week" in page and "Pneumothorax teaching case" in page
    assert "My drafts" not in page and "Pia draft" not in page
