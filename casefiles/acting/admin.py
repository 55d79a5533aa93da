"""Users, the audit log and one's own account, as the acting person (issue #16, scope 1, 5, 6, 7).

* :class:`UserAdmin`: list, add, disable/enable, reset a password, change role and groups. Admins
  only (``Action.MANAGE_USERS``); every change is audited with the acting user name and where
  it came from, never with a password. The last active admin can be neither disabled nor
  demoted: someone must always be able to manage users.
* :class:`AuditView`: filter, export as CSV, "was accession X pulled?", and the chain check.
  Admins only (``Action.READ_AUDIT``); an export is itself audited.
* :class:`MyAccount`: who am I, change my own password (local accounts only: a directory
  password is changed at the hospital), and my in-app notifications.

The page and the CLI call the same classes: the permission is asked here, not by hiding buttons.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from casefiles.accounts.local import USER, AccountLocked, LocalAccounts, SignInRefused, User, normalised_username
from casefiles.accounts.permissions import Action, Actor, PermissionDenied, Role, require
from casefiles.audit import ACTIONS, Audit, AuditFilter, to_csv
from casefiles.errors import CaseDeckError, NotFoundError, ValidationError
from casefiles.notify.inbox import InAppNotification
from casefiles.notify.messages import check_email
from casefiles.notify.shelf import NotificationShelf
from casefiles.store.records import AuditEntry, Record

#: Sources an admin may add an account for; directory (LDAP) users appear at their first sign-in.
ADDABLE_SOURCES = ("local", "oidc")
#: The actions an admin can filter the audit log by.
AUDIT_ACTIONS = tuple(sorted(ACTIONS))
_GROUP = re.compile(r"^[^\x00-\x1f\x7f,]{1,64}$")


class LastAdmin(CaseDeckError):
    """Disabling or demoting this admin would leave nobody able to manage users."""


class NotLocalAccount(CaseDeckError):
    """The account's password lives elsewhere (the hospital directory or the OpenID provider)."""


class UserRecords(Protocol):
    """The part of the store a role or group change needs (LocalAccounts has no update yet)."""

    def update_record(self, kind: str, key: str, change: Callable[[Record], Record]) -> Record: ...


# -- pure helpers ----------------------------------------------------------------------------------
def parse_role(value: str | Role) -> Role:
    try:
        return Role(str(value).strip().lower())
    except ValueError:
        raise ValidationError(f"A role is one of {', '.join(r.value for r in Role)}.") from None


def parse_groups(value: str | Iterable[str]) -> frozenset[str]:
    """Groups typed as ``gi, chest`` (or given as a list): trimmed, empty ones dropped, each checked."""
    parts = value.split(",") if isinstance(value, str) else list(value)
    groups = frozenset(p.strip() for p in parts if p and p.strip())
    bad = [g for g in groups if not _GROUP.match(g)]
    if bad:
        raise ValidationError("A group name is 1 to 64 characters, without commas or line breaks.")
    return groups


def active_admins(users: Iterable[User]) -> list[str]:
    return sorted(u.username for u in users if u.role is Role.ADMIN and not u.disabled)


def is_last_active_admin(users: Iterable[User], username: str) -> bool:
    """Whether ``username`` is the only admin whose account is open."""
    return active_admins(users) == [username]


def _signed_in(actor: Actor | None) -> Actor:
    if actor is None:
        raise PermissionDenied("Sign in first.")
    return actor


@dataclass(frozen=True, slots=True)
class AddedUser:
    """A new account; ``one_time_password`` is shown once (local accounts) and never kept in clear."""

    user: User
    one_time_password: str | None


# -- users -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class UserAdmin:
    """What an admin does to accounts; every method asks ``Action.MANAGE_USERS`` first."""

    actor: Actor | None
    accounts: LocalAccounts
    records: UserRecords
    audit: Audit
    where: str = ""

    def _allowed(self) -> Actor:
        require(self.actor, Action.MANAGE_USERS)
        assert self.actor is not None  # require refused None
        return self.actor

    def _record(self, action: str, username: str, **details: Any) -> None:
        self.audit.record(
            self._allowed().username, action, target_kind="user", target_id=username, where=self.where, **details
        )

    def users(self) -> list[User]:
        """Every account, by user name (a User holds no password hash)."""
        self._allowed()
        return sorted(self.accounts.users(), key=lambda u: u.username)

    def add(
        self,
        username: str,
        role: str | Role,
        *,
        display_name: str = "",
        email: str = "",
        groups: str | Iterable[str] = (),
        source: str = "local",
    ) -> AddedUser:
        self._allowed()
        name = normalised_username(username)
        chosen_role = parse_role(role)
        chosen_groups = parse_groups(groups)
        if source not in ADDABLE_SOURCES:
            raise ValidationError(
                "Directory (LDAP) users are added at their first sign-in, with the role their groups give; "
                f"an admin adds {' or '.join(ADDABLE_SOURCES)} accounts."
            )
        if email.strip():
            check_email(email.strip())
        if any(u.username == name for u in self.accounts.users()):
            raise ValidationError(f"There is already a user named {name}; choose another name.")
        user, one_time = self.accounts.create_user(
            name, chosen_role, display_name=display_name, email=email, groups=chosen_groups, source=source
        )
        self._record("user.create", user.username, role=user.role.value)
        return AddedUser(user, one_time)

    def disable(self, username: str) -> User:
        self._allowed()
        user = self.accounts.user(username)
        if not user.disabled and is_last_active_admin(self.accounts.users(), user.username):
            raise LastAdmin(_last_admin(user.username))
        changed = self.accounts.set_disabled(user.username, True)
        if user.role is Role.ADMIN and not active_admins(self.accounts.users()):
            self.accounts.set_disabled(user.username, False)  # another admin was disabled meanwhile: undo
            raise LastAdmin(_last_admin(user.username))
        self._record("user.disable", changed.username)
        return changed

    def enable(self, username: str) -> User:
        self._allowed()
        user = self.accounts.user(username)
        changed = self.accounts.set_disabled(user.username, False)
        self._record("user.enable", changed.username)
        return changed

    def reset_password(self, username: str) -> str:
        """A new one-time password for a local account (returned once; audited without it)."""
        self._allowed()
        user = self.accounts.user(username)
        if user.source != "local":
            raise NotLocalAccount(_elsewhere(user, "their password is reset there, not in CaseDeck"))
        one_time = self.accounts.reset_password(user.username)
        self._record("user.reset", user.username)
        return one_time

    def update(
        self,
        username: str,
        *,
        role: str | Role | None = None,
        groups: str | Iterable[str] | None = None,
        display_name: str | None = None,
        email: str | None = None,
    ) -> User:
        """Change what is given; a directory user's role and groups come from the directory instead."""
        self._allowed()
        user = self.accounts.user(username)
        changes: dict[str, Any] = {}
        if role is not None:
            new_role = parse_role(role)
            if new_role is not user.role:
                changes["role"] = new_role.value
        if groups is not None:
            new_groups = parse_groups(groups)
            if new_groups != user.groups:
                changes["groups"] = sorted(new_groups)
        if user.source == "ldap" and changes:
            raise NotLocalAccount(
                _elsewhere(
                    user, "their role and groups come from their directory groups at each sign-in (CASEDECK_LDAP_ROLES)"
                )
            )
        if display_name is not None and display_name.strip()[:200] != user.display_name:
            changes["display_name"] = display_name.strip()[:200]
        if email is not None and email.strip() != user.email:
            if email.strip():
                check_email(email.strip())
            changes["email"] = email.strip()[:200]
        if not changes:
            return user
        if "role" in changes and user.role is Role.ADMIN and is_last_active_admin(self.accounts.users(), user.username):
            raise LastAdmin(_last_admin(user.username))
        saved = self.records.update_record(USER, user.username, lambda r: r.with_data(**changes))
        if "role" in changes and user.role is Role.ADMIN and not active_admins(self.accounts.users()):
            # another admin was demoted or disabled at the same moment: undo, so one stays
            self.records.update_record(USER, user.username, lambda r: r.with_data(role=Role.ADMIN.value))
            raise LastAdmin(_last_admin(user.username))
        changed = User.of(saved)
        self._record("user.update", changed.username, role=changed.role.value)
        return changed


def _last_admin(username: str) -> str:
    return f"{username} is the last active admin: make another user an admin first, so someone can still manage users."


def _elsewhere(user: User, what: str) -> str:
    where = {"ldap": "the hospital directory", "oidc": "the hospital's sign-in provider"}.get(user.source, user.source)
    return f"{user.username} signs in with {where}: {what}."


# -- the audit log -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ChainStatus:
    """Whether the hash chain holds, and where it breaks if not."""

    entries: int
    first_broken: int | None

    @property
    def intact(self) -> bool:
        return self.first_broken is None

    @property
    def message(self) -> str:
        if self.first_broken is None:
            return f"The audit log is intact ({self.entries} entries)."
        return (
            f"The audit log was changed: entry {self.first_broken + 1} does not follow from the one before it. "
            "Keep a copy of the data directory and investigate before anything else."
        )


def audit_filter(
    *,
    actor: str = "",
    action: str = "",
    target_id: str = "",
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> AuditFilter:
    """The filter an admin typed: dates are whole UTC days, both ends included."""
    action = action.strip()
    if action and action not in ACTIONS:
        raise ValidationError("Choose an action from the list (or none, for every action).")
    if since is not None and until is not None and since > until:
        raise ValidationError("The first day comes after the last day; swap them.")
    return AuditFilter(
        actor=actor.strip(),
        action=action,
        target_id=target_id.strip(),
        since=_midnight(since) if since is not None else None,
        until=_midnight(until + dt.timedelta(days=1)) if until is not None else None,
    )


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def audit_rows(entries: Sequence[AuditEntry]) -> list[dict[str, Any]]:
    """One plain row per event for a table (details as ``key=value``; hashes shortened)."""
    shown = ("at", "actor", "action", "target_kind", "target_id", "where")
    rows = []
    for entry in entries:
        data: Mapping[str, Any] = entry.data
        details = {k: v for k, v in data.items() if k not in shown}
        rows.append({"seq": entry.seq, **{k: str(data.get(k, "")) for k in shown}, "details": _details(details)})
    return rows


def _details(details: Mapping[str, Any]) -> str:
    def value(v: Any) -> str:
        return ",".join(str(x)[:12] for x in v) if isinstance(v, list) else str(v)

    return "; ".join(f"{k}={value(v)}" for k, v in sorted(details.items()))


@dataclass(frozen=True)
class AuditView:
    """What an admin reads of the audit log; every method asks ``Action.READ_AUDIT`` first."""

    actor: Actor | None
    audit: Audit
    where: str = ""

    def _allowed(self) -> Actor:
        require(self.actor, Action.READ_AUDIT)
        assert self.actor is not None
        return self.actor

    def events(self, where: AuditFilter | None = None) -> list[AuditEntry]:
        self._allowed()
        return self.audit.events(where)

    def csv(self, where: AuditFilter | None = None) -> str:
        """The (filtered) log as CSV with formula-like cells defused; the export is audited."""
        actor = self._allowed()
        entries = self.audit.events(where)
        text = to_csv(entries)
        self.audit.record(actor.username, "audit.export", where=self.where, format="csv", count=len(entries))
        return text

    def pulls_of(self, accession: str) -> list[AuditEntry]:
        """PACS pulls of this accession number; the typed number is compared as a keyed hash, never kept."""
        self._allowed()
        if not accession or not accession.strip():
            raise ValidationError("Type the accession number to look for.")
        return self.audit.pulls_of(accession)

    def chain(self) -> ChainStatus:
        self._allowed()
        return ChainStatus(entries=len(self.audit.events()), first_broken=self.audit.first_broken())


# -- one's own account -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Profile:
    """Who is signed in. ``has_account`` is False for the local operator (sign-in off)."""

    username: str
    role: Role
    groups: frozenset[str]
    display_name: str = ""
    email: str = ""
    source: str = "local"
    must_change_password: bool = False
    has_account: bool = True

    @property
    def can_change_password(self) -> bool:
        return self.has_account and self.source == "local"


def unread_first(items: Iterable[InAppNotification]) -> list[InAppNotification]:
    """Unread before read, newest first within each."""
    newest = sorted(items, key=lambda i: (i.created, i.id), reverse=True)
    return sorted(newest, key=lambda i: i.read)


@dataclass(frozen=True)
class MyAccount:
    """The signed-in person's own account and notifications (anyone signed in; nobody else's)."""

    actor: Actor | None
    accounts: LocalAccounts
    notifications: NotificationShelf
    audit: Audit
    where: str = ""

    def profile(self) -> Profile:
        actor = _signed_in(self.actor)
        try:
            user = self.accounts.user(actor.username)
        except (NotFoundError, ValidationError):  # the local operator: sign-in is off on this computer
            return Profile(actor.username, actor.role, actor.groups, source="", has_account=False)
        return Profile(
            username=user.username,
            role=user.role,
            groups=user.groups,
            display_name=user.display_name,
            email=user.email,
            source=user.source,
            must_change_password=user.must_change_password,
        )

    def change_password(self, current: str, new: str, repeated: str) -> Profile:
        """Change one's own local password; the current one must be given (and is rate-limited like sign-in)."""
        me = self.profile()
        if not me.has_account:
            raise NotLocalAccount("Sign-in is off on this computer: the local operator has no password to change.")
        if me.source != "local":
            where = "the hospital directory" if me.source == "ldap" else "the hospital's sign-in provider"
            raise NotLocalAccount(f"You sign in with {where}: change your password there, not in CaseDeck.")
        if new != repeated:
            raise ValidationError("The two new passwords differ; type the same new password twice.")
        try:
            self.accounts.change_password(me.username, current, new)
        except SignInRefused:
            self._record("user.password_refused", me.username, reason="wrong_password")
            raise SignInRefused("The current password is not right; nothing was changed.") from None
        except AccountLocked:
            self._record("user.password_refused", me.username, reason="locked")
            raise
        self._record("user.password", me.username)
        return self.profile()

    def _record(self, action: str, username: str, **details: Any) -> None:
        self.audit.record(username, action, target_kind="user", target_id=username, where=self.where, **details)

    def notification_list(self, *, unread_only: bool = False) -> list[InAppNotification]:
        actor = _signed_in(self.actor)
        return unread_first(self.notifications.of(actor.username, unread_only=unread_only))

    def unread_count(self) -> int:
        return len(self.notification_list(unread_only=True))

    def mark_read(self, item_id: str) -> InAppNotification:
        """Mark one of *my* notifications read (another's id is refused as unknown)."""
        actor = _signed_in(self.actor)
        if item_id not in {i.id for i in self.notifications.of(actor.username)}:
            raise NotFoundError("That notification is not in your list (it may have been removed).")
        return self.notifications.mark_read(item_id)

    def mark_all_read(self) -> int:
        """Mark all my unread notifications read; how many there were."""
        actor = _signed_in(self.actor)
        unread = self.notifications.of(actor.username, unread_only=True)
        for item in unread:
            self.notifications.mark_read(item.id)
        return len(unread)
