"""The Share panel through Streamlit's AppTest: make a link, see its address once, list it, revoke it;
someone who may not share sees why instead of the form."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from casefiles.accounts.local import LocalAccounts
from casefiles.accounts.permissions import Role
from casefiles.accounts.shares import Links
from casefiles.config import Settings
from casefiles.services import Services
from casefiles.visibility import Sharing, Visibility
from pages.session import SESSION_TOKEN
from tests.dicom_factory import write_ct_study


def _panel(target_kind: str, target_id: str) -> None:
    from pages.share_panel import share_panel

    share_panel(target_kind, target_id)


@pytest.fixture
def case_id(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    data = tmp_path / "data"
    monkeypatch.setenv("CASEDECK_DATA", str(data))
    monkeypatch.setenv("CASEDECK_SAMPLES", "0")
    for name in ("CASEDECK_DATABASE_URL", "CASEDECK_SIGN_IN", "CASEDECK_LDAP_URL", "CASEDECK_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
    services = Services(Settings(data_dir=data, seed_samples=False))
    (made,) = services.import_dicom(write_ct_study(tmp_path / "ct", slices=2)).case_ids
    case = services.store.get_case(made)
    services.store.save_case(dataclasses.replace(case, sharing=Sharing("ana", Visibility.DEPARTMENT)))
    return made


def _run(case_id: str, **state: Any) -> AppTest:
    at = AppTest.from_function(_panel, args=("case", case_id), default_timeout=120)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def test_a_link_is_made_shown_once_listed_and_revoked(case_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASEDECK_PUBLIC_URL", "https://casedeck.example.org")
    at = _run(case_id)  # the local operator (no sign-in configured) may share
    at.checkbox(key=f"share_case_{case_id}_download").check()
    at.button(key=f"share_case_{case_id}_create").click().run()
    assert not at.exception, at.exception
    (shown,) = [c.value for c in at.code]
    assert shown.startswith("https://casedeck.example.org/?share=")
    token = shown.split("=", 1)[1]
    listed = " ".join(t.value for t in at.text)
    assert "active" in listed and "download allowed" in listed and token not in listed
    at.run()
    assert at.code == []  # shown once: only its fingerprint is kept

    revoke = [b for b in at.button if b.label == "Revoke"]
    assert len(revoke) == 1
    revoke[0].click().run()
    assert not at.exception, at.exception
    assert "revoked" in " ".join(t.value for t in at.text)
    assert [b for b in at.button if b.label == "Revoke"] == []


def test_someone_who_may_not_share_is_told_why(case_id: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CASEDECK_SIGN_IN", "1")
    store = Services(Settings(data_dir=tmp_path / "data", seed_samples=False)).store
    accounts = LocalAccounts(store)
    learner, _ = accounts.create_user("lea", Role.LEARNER, password="residents read every case")
    at = _run(case_id, **{SESSION_TOKEN: accounts.open_session(learner)})
    assert any("Learners may view but not share it" in i.value for i in at.info)
    assert at.button == [] and Links(store).links_of("case", case_id) == []
