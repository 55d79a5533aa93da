"""Users, Audit log, Notifications and Account pages through Streamlit's AppTest.

Without ``CASEDECK_SIGN_IN`` the person at the computer is the local admin; with it, a session
token from ``LocalAccounts.open_session`` put into the tab's session state signs someone in.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from casefiles.accounts.local import LocalAccounts, SessionExpired
from casefiles.accounts.permissions import Role
from casefiles.audit import Audit
from casefiles.config import Settings
from casefiles.deid.keys import load_or_create_secret
from casefiles.notify.inbox import new_in_app
from casefiles.notify.messages import CaseShared, Recipient
from casefiles.notify.shelf import NotificationShelf
from casefiles.store.tinydb_store import TinyDBCaseStore
from pages.session import SESSION_TOKEN
from tests.helpers import ROOT

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a different long sentence"


@pytest.fixture
def library(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> TinyDBCaseStore:
    monkeypatch.setenv("CASEDECK_DATA", str(data_dir))
    monkeypatch.setenv("CASEDECK_SAMPLES", "0")
    for name in ("CASEDECK_DATABASE_URL", "CASEDECK_SIGN_IN", "CASEDECK_LDAP_URL"):
        monkeypatch.delenv(name, raising=False)
    return TinyDBCaseStore(data_dir / "library")


def app(page: str, token: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    if token is not None:
        at.session_state[SESSION_TOKEN] = token
    at.run()
    assert not at.exception, at.exception
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def signed_in(
    monkeypatch: pytest.MonkeyPatch, library: TinyDBCaseStore, username: str, role: Role, *, one_time: bool = False
) -> tuple[str, str]:
    """Sign-in on; a user with an open session: (token, password); a one-time password must be changed."""
    monkeypatch.setenv("CASEDECK_SIGN_IN", "1")
    accounts = LocalAccounts(library)
    user, made = accounts.create_user(
        username, role, display_name="Lee <b>K</b>", groups=["gi"], password=None if one_time else PASSWORD
    )
    return accounts.open_session(user), made or PASSWORD


def page_alone(page: str, token: str) -> AppTest:
    """One page run by itself (as if reached by its address), not through app.py's navigation."""
    at = AppTest.from_file(str(ROOT / page), default_timeout=120)
    at.session_state[SESSION_TOKEN] = token
    at.run()
    assert not at.exception, at.exception
    return at


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def texts(at: AppTest) -> list[str]:
    return [t.value for t in at.text]


@pytest.mark.parametrize(
    ("page", "message"),
    [
        ("pages/users.py", "Only admins may manage users; ask one of them."),
        ("pages/audit_log.py", "Only admins may read the audit log; ask one of them."),
    ],
)
def test_a_learner_sees_only_the_refusal(monkeypatch, library, page: str, message: str) -> None:
    token, _ = signed_in(monkeypatch, library, "lee", Role.LEARNER)
    at = page_alone(page, token)  # app.py does not list it for a learner; opened anyway, the domain refuses
    assert [e.value for e in at.error] == [message]
    assert not at.title and not at.dataframe and not at.text_input and not at.button and not at.code


def test_the_admin_adds_a_user_and_sees_the_one_time_password_once(library, data_dir: Path) -> None:
    at = app("pages/users.py")
    assert at.title[0].value == "Users"
    at.text_input(key="users_add_name").input("Ben")
    at.text_input(key="users_add_display").input("Ben =HYPERLINK() <script>")
    at.selectbox(key="users_add_role").set_value("presenter")
    at.text_input(key="users_add_groups").input("gi, chest")
    button(at, "Add user").click().run()
    assert not at.exception, at.exception
    assert at.success[0].value == "Added ben (presenter)."
    one_time = at.code[0].value
    assert LocalAccounts(library).sign_in("ben", one_time).must_change_password
    table = at.dataframe[0].value.set_index("user name")
    assert "ben" in table.index
    assert table.loc["ben", "name"] == "Ben =HYPERLINK() <script>" and table.loc["ben", "groups"] == "chest, gi"
    assert not any("password" in str(c) and c != "must change password" for c in table.columns)
    at.run()
    assert not at.code and not at.success  # shown once
    audit = [e.data for e in Audit(library, load_or_create_secret(Settings(data_dir=data_dir).secret_path)).events()]
    assert [(e["actor"], e["action"], e["target_id"]) for e in audit] == [("local", "user.create", "ben")]


def test_the_admin_disables_enables_resets_and_edits(library) -> None:
    accounts = LocalAccounts(library)
    accounts.create_user("admin", Role.ADMIN, password=PASSWORD)
    accounts.create_user("ana", Role.PRESENTER, password=PASSWORD)
    at = app("pages/users.py")
    at.selectbox(key="users_pick").set_value("ana").run()
    button(at, "Disable").click().run()
    assert at.success[0].value == "ana is disabled; their sign-in has ended." and accounts.user("ana").disabled
    button(at, "Enable").click().run()
    assert not accounts.user("ana").disabled
    button(at, "Reset password").click().run()
    assert accounts.sign_in("ana", at.code[0].value).must_change_password
    at.selectbox(key="users_role_ana").set_value("coordinator")
    at.text_input(key="users_groups_ana").input("neuro")
    button(at, "Save changes").click().run()
    assert not at.exception, at.exception
    assert accounts.user("ana").role is Role.COORDINATOR and accounts.user("ana").groups == frozenset({"neuro"})
    at.selectbox(key="users_pick").set_value("admin").run()
    button(at, "Disable").click().run()
    assert "admin is the last active admin" in at.error[0].value
    assert not accounts.user("admin").disabled


def test_the_audit_log_page_filters_finds_pulls_and_shows_the_chain(library, data_dir: Path) -> None:
    audit = Audit(library, load_or_create_secret(Settings(data_dir=data_dir).secret_path))
    audit.record("ana", "pacs.pull", target_kind="case", target_id="c1", accessions=["ACC42"], count=1)
    audit.record("=evil()", "case.view", target_kind="case", target_id="c1")
    at = app("pages/audit_log.py")
    assert at.title[0].value == "Audit log"
    assert at.success[0].value == "The audit log is intact (2 entries)."
    assert list(at.dataframe[0].value["actor"]) == ["ana", "=evil()"]
    at.selectbox(key="audit_action").set_value("case.view").run()
    assert list(at.dataframe[0].value["action"]) == ["case.view"]
    assert at.get("download_button")
    at.text_input(key="audit_accession").input("acc42")
    button(at, "Look it up").click().run()
    assert not at.exception, at.exception
    assert at.warning[0].value == "Pulled 1 time(s):"
    at.text_input(key="audit_accession").input("ACC43")
    button(at, "Look it up").click().run()
    assert at.info[0].value == "No pull of that accession number is in the audit log."
    today = dt.datetime.now(dt.UTC).date()
    at.selectbox(key="audit_action").set_value("(any action)")
    at.date_input(key="audit_since").set_value(today + dt.timedelta(days=1))
    at.date_input(key="audit_until").set_value(today).run()
    assert "swap them" in at.error[0].value


def test_notifications_are_listed_unread_first_as_plain_text_and_marked_read(monkeypatch, library) -> None:
    token, _ = signed_in(monkeypatch, library, "lee", Role.LEARNER)
    shelf = NotificationShelf(library)
    lee, ana = Recipient("lee", "Lee K"), Recipient("ana", "Ana R")
    t0 = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)
    old = shelf.keep(new_in_app(CaseShared(lee, "Ana Rossi", "c1"), now=t0))
    new = shelf.keep(new_in_app(CaseShared(lee, "Ben Jones", "c2"), now=t0 + dt.timedelta(hours=1)))
    shelf.keep(new_in_app(CaseShared(ana, "Ben Jones", "c9"), now=t0))
    at = app("pages/notifications.py", token)
    assert at.title[0].value == "Notifications"
    assert texts(at) == ["● " + new.text, "● " + old.text]
    assert len(at.get("page_link")) == 2  # each opens its case
    button_keys = [b.key for b in at.button if b.key and b.key.startswith("notification_read_")]
    assert button_keys == [f"notification_read_{new.id}", f"notification_read_{old.id}"]
    at.button(key=f"notification_read_{old.id}").click().run()
    assert not at.exception, at.exception
    assert [i.read for i in shelf.of("lee")] == [False, True]
    button(at, "Mark all read").click().run()
    assert all(i.read for i in shelf.of("lee")) and not shelf.of("ana")[0].read
    assert texts(at) == [new.text, old.text]


def test_the_account_page_asks_for_a_new_password_and_signs_out(monkeypatch, library) -> None:
    token, one_time = signed_in(monkeypatch, library, "lee", Role.LEARNER, one_time=True)
    at = app("pages/account.py", token)
    assert "User name: lee" in texts(at) and "Name: Lee <b>K</b>" in texts(at)  # plain text, never HTML
    assert "Role: learner" in texts(at) and "Groups: gi" in texts(at)
    assert "choose your own now" in at.warning[0].value
    at.text_input(key="account_current").input("not it at all")
    at.text_input(key="account_new").input(NEW_PASSWORD)
    at.text_input(key="account_repeat").input(NEW_PASSWORD)
    button(at, "Change password").click().run()
    assert "current password is not right" in at.error[0].value
    at.text_input(key="account_current").input(one_time)
    at.text_input(key="account_new").input(NEW_PASSWORD)
    at.text_input(key="account_repeat").input(NEW_PASSWORD)
    button(at, "Change password").click().run()
    assert not at.exception, at.exception
    assert at.success[0].value == "Your password was changed." and not at.warning
    accounts = LocalAccounts(library)
    assert not accounts.sign_in("lee", NEW_PASSWORD).must_change_password
    button(at, "Sign out").click().run()
    assert not at.exception, at.exception
    assert SESSION_TOKEN not in at.session_state
    with pytest.raises(SessionExpired):
        accounts.session_user(token)


def test_the_local_operator_has_no_password_to_change(library) -> None:
    at = app("pages/account.py")
    assert "User name: local" in texts(at) and "Role: admin" in texts(at)
    assert "Sign-in is off" in at.info[0].value
    assert not at.text_input and not any(b.label == "Sign out" for b in at.button)
    at = app("pages/notifications.py")
    assert "Nothing yet" in at.info[0].value
