"""Local accounts: first admin, argon2id passwords, lockout with back-off, sessions that expire."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import pytest

from casefiles.accounts.local import (
    AccountLocked,
    LocalAccounts,
    SessionExpired,
    SignInRefused,
)
from casefiles.accounts.permissions import Role
from casefiles.errors import ValidationError
from casefiles.store.tinydb_store import TinyDBCaseStore

PASSWORD = "correct horse battery staple"


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path) -> TinyDBCaseStore:
    return TinyDBCaseStore(tmp_path / "library")


@pytest.fixture
def accounts(store: TinyDBCaseStore, clock: Clock) -> LocalAccounts:
    return LocalAccounts(store, clock)


def test_the_first_start_makes_one_admin_with_a_one_time_password(accounts: LocalAccounts) -> None:
    one_time = accounts.ensure_first_admin()
    assert one_time and len(one_time) >= 20
    assert accounts.ensure_first_admin() is None  # once
    admin = accounts.sign_in("admin", one_time)
    assert admin.role is Role.ADMIN and admin.must_change_password
    changed = accounts.change_password("admin", one_time, PASSWORD)
    assert not changed.must_change_password
    with pytest.raises(SignInRefused):
        accounts.sign_in("admin", one_time)


def test_passwords_are_stored_as_argon2id_only(accounts: LocalAccounts, store: TinyDBCaseStore, tmp_path: Path) -> None:
    accounts.create_user("Ana.Radiologist", Role.PRESENTER, password=PASSWORD)
    text = "".join(p.read_text() for p in (tmp_path / "library").rglob("*.json"))
    assert PASSWORD not in text
    record = store.get_record("user", "ana.radiologist")
    assert record is not None and str(record.data["password"]).startswith("$argon2id$")
    assert accounts.sign_in("ANA.radiologist ", PASSWORD).username == "ana.radiologist"


def test_a_weak_password_is_refused(accounts: LocalAccounts) -> None:
    with pytest.raises(ValidationError, match="at least 12"):
        accounts.create_user("ben", Role.LEARNER, password="short")
    with pytest.raises(ValidationError, match="user name"):
        accounts.create_user("benjamin", Role.LEARNER, password="benjamin-is-my-name")


def test_unknown_user_and_wrong_password_say_the_same(accounts: LocalAccounts) -> None:
    accounts.create_user("ana", Role.PRESENTER, password=PASSWORD)
    with pytest.raises(SignInRefused) as wrong:
        accounts.sign_in("ana", "not the password at all")
    with pytest.raises(SignInRefused) as unknown:
        accounts.sign_in("nobody", PASSWORD)
    with pytest.raises(SignInRefused) as empty:
        accounts.sign_in("ana", "")
    assert str(wrong.value) == str(unknown.value) == str(empty.value)


def test_repeated_failures_lock_with_back_off(accounts: LocalAccounts, clock: Clock) -> None:
    accounts.create_user("ana", Role.PRESENTER, password=PASSWORD)
    for _ in range(5):
        with pytest.raises(SignInRefused):
            accounts.sign_in("ana", "guess guess guess")
    with pytest.raises(AccountLocked, match="30 seconds"):
        accounts.sign_in("ana", PASSWORD)  # even the right password waits
    clock.advance(seconds=31)
    with pytest.raises(SignInRefused):
        accounts.sign_in("ana", "guess guess guess")  # the 6th failure: a minute
    clock.advance(seconds=31)
    with pytest.raises(AccountLocked):
        accounts.sign_in("ana", PASSWORD)
    clock.advance(seconds=30)
    assert accounts.sign_in("ana", PASSWORD).username == "ana"
    for _ in range(4):  # a success starts the count again
        with pytest.raises(SignInRefused):
            accounts.sign_in("ana", "guess guess guess")
    assert accounts.sign_in("ana", PASSWORD).username == "ana"


def test_an_admin_reset_opens_a_locked_account(accounts: LocalAccounts) -> None:
    accounts.create_user("ana", Role.PRESENTER, password=PASSWORD)
    for _ in range(6):
        with pytest.raises((SignInRefused, AccountLocked)):
            accounts.sign_in("ana", "guess guess guess")
    one_time = accounts.reset_password("ana")
    assert accounts.sign_in("ana", one_time).must_change_password


def test_sessions_expire_when_idle_too_old_or_disabled(accounts: LocalAccounts, clock: Clock) -> None:
    user, _ = accounts.create_user("ana", Role.PRESENTER, password=PASSWORD)
    token = accounts.open_session(user)
    assert len(token) >= 40
    assert accounts.session_user(token).username == "ana"
    for _ in range(28):  # active use keeps it alive (11 h 40 min)…
        clock.advance(minutes=25)
        accounts.session_user(token)
    clock.advance(minutes=25)  # …up to the absolute limit of 12 h
    with pytest.raises(SessionExpired):
        accounts.session_user(token)
    idle = accounts.open_session(user)
    clock.advance(minutes=31)
    with pytest.raises(SessionExpired):
        accounts.session_user(idle)
    live = accounts.open_session(user)
    accounts.set_disabled("ana")
    with pytest.raises(SessionExpired, match="no longer active"):
        accounts.session_user(live)
    with pytest.raises(SessionExpired):
        accounts.session_user("made-up-token")
    with pytest.raises(SignInRefused):
        accounts.sign_in("ana", PASSWORD)


def test_session_tokens_are_stored_only_as_hashes(accounts: LocalAccounts, tmp_path: Path) -> None:
    user, _ = accounts.create_user("ana", Role.PRESENTER, password=PASSWORD)
    token = accounts.open_session(user)
    stored = (tmp_path / "library" / "records" / "session.json").read_text()
    assert token not in stored
    assert json.loads(stored)
    accounts.close_session(token)
    with pytest.raises(SessionExpired):
        accounts.session_user(token)


def test_nothing_secret_is_logged(accounts: LocalAccounts, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    user, one_time = accounts.create_user("ana", Role.PRESENTER)
    assert one_time
    token = accounts.open_session(user)
    with pytest.raises(SignInRefused):
        accounts.sign_in("ana", PASSWORD)
    assert not any(secret in caplog.text for secret in (one_time, token, PASSWORD))
