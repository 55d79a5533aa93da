"""Local accounts and sign-in sessions, kept as records in the library store (issue #16).

* Users are records of kind ``user`` keyed by the lower-case user name; a local password is an
  argon2id hash (``casefiles.accounts.passwords``), upgraded at sign-in when the parameters rise.
* Repeated failures lock the account with back-off (30 s after the 5th failure in a row, doubling
  to one hour); the message for an unknown user and a wrong password is the same.
* Sessions are random 256-bit tokens; only their SHA-256 is stored (kind ``session``), with an
  idle and an absolute expiry. A disabled or removed user's sessions stop at their next request.
* The first start of an installation creates an ``admin`` with a one-time password that must be
  changed at first sign-in; nothing is baked into the code.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from casefiles.accounts import passwords
from casefiles.accounts.lockout import cleared, count_failure, locked_for
from casefiles.accounts.permissions import Actor, Role
from casefiles.errors import CaseDeckError, NotFoundError, ValidationError
from casefiles.store.records import Record

USER = "user"
SESSION = "session"
IDLE_EXPIRY = dt.timedelta(minutes=30)
ABSOLUTE_EXPIRY = dt.timedelta(hours=12)
SEEN_EVERY = dt.timedelta(seconds=30)
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")
REFUSED = "That user name and password were not accepted."


class SignInRefused(CaseDeckError):
    """Unknown user, wrong password or disabled account: one message, so names cannot be probed."""


class AccountLocked(CaseDeckError):
    """Too many wrong passwords in a row; the account opens again after a while."""


class SessionExpired(CaseDeckError):
    """The sign-in has ended (idle, too old, signed out, or the user was disabled)."""


class RecordShelf(Protocol):
    """The part of the store accounts need."""

    def get_record(self, kind: str, key: str) -> Record | None: ...
    def save_record(self, record: Record) -> Record: ...
    def update_record(self, kind: str, key: str, change: Callable[[Record], Record]) -> Record: ...
    def delete_record(self, kind: str, key: str) -> None: ...
    def list_records(self, kind: str) -> list[Record]: ...


@dataclass(frozen=True, slots=True)
class User:
    username: str
    role: Role
    display_name: str = ""
    email: str = ""
    groups: frozenset[str] = frozenset()
    source: str = "local"  # local | ldap | oidc
    disabled: bool = False
    must_change_password: bool = False

    @property
    def actor(self) -> Actor:
        return Actor(self.username, self.role, self.groups)

    @classmethod
    def of(cls, record: Record) -> User:
        data = record.data
        return cls(
            username=record.key,
            role=Role(data["role"]),
            display_name=str(data.get("display_name", "")),
            email=str(data.get("email", "")),
            groups=frozenset(data.get("groups", ())),
            source=str(data.get("source", "local")),
            disabled=bool(data.get("disabled", False)),
            must_change_password=bool(data.get("must_change_password", False)),
        )


def normalised_username(username: str) -> str:
    name = (username or "").strip().lower()
    if not _USERNAME.match(name):
        raise ValidationError("A user name is 1 to 64 letters, digits or . _ @ - (no spaces).")
    return name


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class LocalAccounts:
    """Users, passwords, lockout and sessions over a :class:`RecordShelf`."""

    def __init__(self, records: RecordShelf, clock: Callable[[], dt.datetime] = _now) -> None:
        self._records = records
        self._clock = clock

    # -- users -----------------------------------------------------------------------------------
    def create_user(
        self,
        username: str,
        role: Role,
        *,
        display_name: str = "",
        email: str = "",
        groups: Iterable[str] = (),
        password: str | None = None,
        source: str = "local",
    ) -> tuple[User, str | None]:
        """Add a user; without ``password`` a local user gets a one-time one (returned once)."""
        name = normalised_username(username)
        one_time = None
        data: dict[str, Any] = {
            "role": Role(role).value,
            "display_name": display_name.strip()[:200],
            "email": email.strip()[:200],
            "groups": sorted(set(groups)),
            "source": source,
            "disabled": False,
            "failures": 0,
            "locked_until": None,
            "created": self._clock().isoformat(),
        }
        if source == "local":
            if password is None:
                one_time = passwords.one_time_password()
                data["must_change_password"] = True
            else:
                passwords.check_new_password(password, username=name)
            data["password"] = passwords.hash_password(password or one_time or "")
        saved = self._records.save_record(Record(USER, name, data))
        return User.of(saved), one_time

    def ensure_first_admin(self) -> str | None:
        """On an installation without an admin, create ``admin`` and return its one-time password."""
        if any(User.of(r).role is Role.ADMIN and not User.of(r).disabled for r in self._records.list_records(USER)):
            return None
        _, one_time = self.create_user("admin", Role.ADMIN, display_name="Administrator")
        return one_time

    def user(self, username: str) -> User:
        record = self._records.get_record(USER, normalised_username(username))
        if record is None:
            raise NotFoundError("There is no such user.")
        return User.of(record)

    def users(self) -> list[User]:
        return [User.of(r) for r in self._records.list_records(USER)]

    def set_disabled(self, username: str, disabled: bool = True) -> User:
        changed = self._records.update_record(
            USER, normalised_username(username), lambda r: r.with_data(disabled=disabled)
        )
        return User.of(changed)

    def reset_password(self, username: str) -> str:
        """An admin's reset: a new one-time password (returned once), to be changed at sign-in."""
        one_time = passwords.one_time_password()
        self._records.update_record(
            USER,
            normalised_username(username),
            lambda r: r.with_data(
                password=passwords.hash_password(one_time), must_change_password=True, failures=0, locked_until=None
            ),
        )
        return one_time

    def change_password(self, username: str, old: str, new: str) -> User:
        user = self.sign_in(username, old)
        passwords.check_new_password(new, username=user.username)
        if old == new:
            raise ValidationError("Choose a password different from the old one.")
        changed = self._records.update_record(
            USER,
            user.username,
            lambda r: r.with_data(password=passwords.hash_password(new), must_change_password=False),
        )
        return User.of(changed)

    # -- sign-in ---------------------------------------------------------------------------------
    def sign_in(self, username: str, password: str) -> User:
        """The user, if the password is right and the account open; else SignInRefused / AccountLocked."""
        try:
            name = normalised_username(username)
        except ValidationError:
            passwords.verify(None, password)  # the same work as for a real user
            raise SignInRefused(REFUSED) from None
        record = self._records.get_record(USER, name)
        now = self._clock()
        if record is None or record.data.get("source", "local") != "local":
            passwords.verify(None, password)
            raise SignInRefused(REFUSED)
        wait = locked_for(record, now)
        if wait is not None:
            raise AccountLocked(
                f"Too many wrong passwords: this account opens again in {_minutes(wait)}; "
                "an administrator can reset the password."
            )
        if not password or not passwords.verify(record.data.get("password"), password):
            self._records.update_record(USER, name, lambda r: count_failure(r, now))
            raise SignInRefused(REFUSED)
        user = User.of(record)
        if user.disabled:
            raise SignInRefused(REFUSED)
        stored_hash = str(record.data.get("password"))

        def succeeded(r: Record) -> Record:
            changes: dict[str, Any] = {"last_sign_in": now.isoformat()}
            if passwords.needs_rehash(stored_hash):
                changes["password"] = passwords.hash_password(password)
            return cleared(r, **changes)

        self._records.update_record(USER, name, succeeded)
        return user

    # -- sessions --------------------------------------------------------------------------------
    def open_session(self, user: User) -> str:
        """A new session token for ``user`` (returned once; only its hash is stored)."""
        token = secrets.token_urlsafe(32)
        now = self._clock().isoformat()
        self._records.save_record(
            Record(SESSION, _token_key(token), {"username": user.username, "created": now, "seen": now})
        )
        return token

    def session_user(self, token: str) -> User:
        """The user a session token stands for (and the session is kept alive), or SessionExpired."""
        # looked up by the token's hash: no comparison of the token itself, so no timing to measure
        record = self._records.get_record(SESSION, _token_key(token)) if token else None
        if record is None:
            raise SessionExpired("Please sign in.")
        now = self._clock()
        created = dt.datetime.fromisoformat(record.data["created"])
        seen = dt.datetime.fromisoformat(record.data["seen"])
        if now - seen > IDLE_EXPIRY or now - created > ABSOLUTE_EXPIRY:
            self._forget(record.key)
            raise SessionExpired("Your sign-in has expired; please sign in again.")
        users = self._records.get_record(USER, record.data["username"])
        if users is None or User.of(users).disabled:
            self._forget(record.key)
            raise SessionExpired("This account is no longer active; ask an administrator.")
        if now - seen > SEEN_EVERY:  # a page rerun is not a write: the idle clock needs minutes, not seconds
            self._records.update_record(SESSION, record.key, lambda r: r.with_data(seen=now.isoformat()))
        return User.of(users)

    def close_session(self, token: str) -> None:
        self._forget(_token_key(token))

    def _forget(self, key: str) -> None:
        with contextlib.suppress(NotFoundError):  # already gone: signed out twice, or expired meanwhile
            self._records.delete_record(SESSION, key)


def _token_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _minutes(wait: dt.timedelta) -> str:
    seconds = max(1, int(wait.total_seconds()))
    return f"{seconds} seconds" if seconds < 120 else f"{seconds // 60} minutes"
