"""Signing in: a local account, or the hospital directory with its groups mapped to CaseDeck roles.

A user name with a local account signs in locally (so a local admin can always sign in, also
when the directory is down). Any other name is asked of the directory, when one is configured;
the person's directory groups decide their role through the installation's role map (the
highest role any of their groups gives), and their CaseDeck record is created or refreshed
(source ``ldap``, no password kept). A directory user whom an admin disabled in CaseDeck stays
out. Every attempt is audited, without the password and without the typed name when refused
(people type passwords into the name box).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from casefiles.accounts.local import REFUSED, USER, LocalAccounts, SignInRefused, User, normalised_username
from casefiles.accounts.permissions import Role
from casefiles.errors import CaseDeckError, ValidationError
from casefiles.store.records import Record


class Directory(Protocol):
    def authenticate(self, username: str, password: str) -> DirectoryPerson: ...


class DirectoryPerson(Protocol):
    @property
    def username(self) -> str: ...
    @property
    def display_name(self) -> str: ...
    @property
    def email(self) -> str | None: ...
    @property
    def groups(self) -> tuple[str, ...]: ...


class Auditor(Protocol):
    def record(self, actor: str, action: str, *, where: str = "", **details: Any) -> object: ...


@dataclass(frozen=True, slots=True)
class RoleMap:
    """Directory group → CaseDeck role (``CASEDECK_LDAP_ROLES="casedeck-admins=admin,residents=learner"``)."""

    roles: Mapping[str, Role]

    @classmethod
    def parse(cls, text: str) -> RoleMap:
        roles: dict[str, Role] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            group, _, role = part.partition("=")
            try:
                roles[group.strip().lower()] = Role(role.strip().lower())
            except ValueError:
                raise ValidationError(
                    f"CASEDECK_LDAP_ROLES: {part!r} must be group=role with a role of {[r.value for r in Role]}."
                ) from None
        return cls(roles)

    def role_for(self, groups: tuple[str, ...]) -> Role | None:
        found = [self.roles[g.lower()] for g in groups if g.lower() in self.roles]
        return max(found, key=lambda r: r.rank) if found else None


class NoAccess(CaseDeckError):
    """The directory knows the person, but none of their groups is given a role in CaseDeck."""


class SignIn:
    def __init__(
        self,
        accounts: LocalAccounts,
        records: _Records,
        *,
        directory: Directory | None = None,
        role_map: RoleMap | None = None,
        audit: Auditor | None = None,
    ) -> None:
        self._accounts = accounts
        self._records = records
        self._directory = directory
        self._role_map = role_map or RoleMap({})
        self._audit = audit

    def __call__(self, username: str, password: str, *, where: str = "") -> User:
        try:
            user = self._sign_in(username, password)
        except CaseDeckError as exc:
            if self._audit is not None:
                self._audit.record("", "sign_in_refused", where=where, reason=type(exc).__name__)
            raise
        if self._audit is not None:
            self._audit.record(user.username, "sign_in", where=where)
        return user

    def _sign_in(self, username: str, password: str) -> User:
        try:
            name = normalised_username(username)
        except ValidationError:
            raise SignInRefused(REFUSED) from None
        known = self._records.get_record(USER, name)
        if (known is not None and known.data.get("source", "local") == "local") or self._directory is None:
            return self._accounts.sign_in(name, password)
        person = self._directory.authenticate(name, password)  # DirectoryUnavailable / its SignInRefused
        role = self._role_map.role_for(person.groups)
        if role is None:
            raise NoAccess("Your hospital account is not given access to CaseDeck; ask the CaseDeck administrator.")
        if known is not None and User.of(known).disabled:
            raise SignInRefused(REFUSED)
        data = {
            "role": role.value,
            "display_name": person.display_name[:200],
            "email": (person.email or "")[:200],
            "groups": sorted(set(person.groups)),
            "source": "ldap",
            "disabled": False,
        }
        if known is None:
            saved = self._records.save_record(Record(USER, name, data))
        else:
            saved = self._records.update_record(USER, name, lambda r: r.with_data(**data))
        return User.of(saved)


class _Records(Protocol):
    def get_record(self, kind: str, key: str) -> Record | None: ...
    def save_record(self, record: Record) -> Record: ...
    def update_record(self, kind: str, key: str, change: Callable[[Record], Record]) -> Record: ...
