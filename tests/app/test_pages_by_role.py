"""Pages offer each person what their role allows (the domain refuses the rest whatever a page shows)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from casefiles.accounts.local import LocalAccounts
from casefiles.accounts.permissions import Role
from casefiles.config import Settings
from casefiles.services import Services
from casefiles.visibility import Sharing, Visibility
from pages.session import SESSION_TOKEN
from tests.helpers import ROOT
from tests.store.conftest import make_case


@pytest.fixture
def tokens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[Role, str]:
    data = tmp_path / "data"
    services = Services(Settings(data_dir=data, seed_samples=False))
    case = replace(make_case("teach", title="Shared teaching case", series=1, images=2), key_images=())
    services.store.save_case(replace(case, sharing=Sharing("", Visibility.DEPARTMENT)))
    monkeypatch.setenv("CASEDECK_DATA", str(data))
    monkeypatch.setenv("CASEDECK_SAMPLES", "0")
    monkeypatch.setenv("CASEDECK_SIGN_IN", "1")
    accounts = LocalAccounts(services.store)
    made = {}
    for role in (Role.LEARNER, Role.COORDINATOR):
        user, _ = accounts.create_user(role.value, role, password="a long test sentence here")
        made[role] = accounts.open_session(user)
    return made


def page_as(token: str, page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state[SESSION_TOKEN] = token
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def test_a_learner_is_told_import_and_pacs_are_not_for_them(tokens: dict[Role, str]) -> None:
    for page, said in (("pages/import_studies.py", "Importing studies is for"), ("pages/pacs.py", "Pulling studies")):
        at = page_as(tokens[Role.LEARNER], page)
        assert any(said in i.value for i in at.info), page
        assert not at.button, f"{page} offers buttons to a learner"


def test_delete_is_offered_to_whom_may_delete(tokens: dict[Role, str]) -> None:
    learner = page_as(tokens[Role.LEARNER], "pages/library.py")
    assert any(m.value == "**Shared teaching case**" for m in learner.markdown)
    assert [b for b in learner.button if b.label == "Delete case"] == []
    coordinator = page_as(tokens[Role.COORDINATOR], "pages/library.py")
    assert [b.label for b in coordinator.button if b.label == "Delete case"] == ["Delete case"]
