"""Who may do what: one pure decision that every use case asks with the acting user (issue #16).

Roles rank admin > coordinator (registrar, education coordinator) > presenter (radiologist) >
learner (resident, viewer). A case or conference has an owner and a visibility:

* ``private``: its owner (and admins) only;
* ``group``: also members of its groups — they may view it, and presenters and coordinators among
  them may edit it;
* ``department``: every signed-in user may view it; editing stays with the owner and the groups.

Library-wide powers are by role alone: importing from a server path, PACS nodes, the DICOM
receiver and deleting are admin/coordinator; users and the audit log are admin. An anonymous
visitor may do nothing here: a share link grants its own narrow, token-scoped view elsewhere.
The page hides what a user may not do, but the domain refuses it whatever the page shows.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from casefiles.errors import CaseDeckError, ValidationError
from casefiles.visibility import Sharing, Visibility, sees


class Role(enum.StrEnum):
    ADMIN = "admin"
    COORDINATOR = "coordinator"
    PRESENTER = "presenter"
    LEARNER = "learner"

    @property
    def rank(self) -> int:
        return {"admin": 3, "coordinator": 2, "presenter": 1, "learner": 0}[self.value]


class Action(enum.StrEnum):
    # on one case or conference
    VIEW = "view"
    EDIT = "edit"
    EXPORT = "export"
    SHARE = "share"
    DELETE = "delete"
    # library-wide
    CREATE = "create"
    PULL_FROM_PACS = "pull_from_pacs"
    IMPORT_SERVER_PATH = "import_server_path"
    MANAGE_PACS_NODES = "manage_pacs_nodes"
    RUN_RECEIVER = "run_receiver"
    MANAGE_USERS = "manage_users"
    READ_AUDIT = "read_audit"

    @property
    def needs_target(self) -> bool:
        return self in _ON_A_TARGET


_ON_A_TARGET = frozenset({Action.VIEW, Action.EDIT, Action.EXPORT, Action.SHARE, Action.DELETE})

#: The lowest role that may take each library-wide action.
_LIBRARY_ACTIONS = {
    Action.CREATE: Role.PRESENTER,
    Action.PULL_FROM_PACS: Role.PRESENTER,
    Action.IMPORT_SERVER_PATH: Role.COORDINATOR,
    Action.MANAGE_PACS_NODES: Role.COORDINATOR,
    Action.RUN_RECEIVER: Role.COORDINATOR,
    Action.MANAGE_USERS: Role.ADMIN,
    Action.READ_AUDIT: Role.ADMIN,
}


@dataclass(frozen=True, slots=True)
class Actor:
    """The signed-in person a use case acts for."""

    username: str
    role: Role
    groups: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not isinstance(self.role, Role):
            raise ValidationError(f"A role must be one of {[r.value for r in Role]}.")
        object.__setattr__(self, "groups", frozenset(self.groups))


#: A case's or conference's owner, visibility and groups (one definition, in casefiles.visibility).
Ownership = Sharing


class PermissionDenied(CaseDeckError):
    """The signed-in user may not do this; nothing was changed."""


def allowed(actor: Actor | None, action: Action, target: Ownership | None = None) -> bool:
    """The decision, without saying why (see :func:`require`)."""
    return _reason(actor, action, target) is None


def require(actor: Actor | None, action: Action, target: Ownership | None = None) -> None:
    """Raise :class:`PermissionDenied` with a message the user can act on, unless allowed."""
    reason = _reason(actor, action, target)
    if reason is not None:
        raise PermissionDenied(reason)


def _reason(actor: Actor | None, action: Action, target: Ownership | None) -> str | None:
    if actor is None:
        return "Sign in first."
    if not action.needs_target:
        least = _LIBRARY_ACTIONS[action]
        if actor.role.rank < least.rank:
            return f"Only {_who(least)} may {_words(action)}; ask one of them."
        return None
    if target is None:
        raise ValidationError(f"Deciding whether someone may {_words(action)} needs the case or conference.")
    if actor.role is Role.ADMIN:
        return None
    owner = bool(target.owner) and actor.username == target.owner
    in_group = bool(actor.groups & target.groups) and target.visibility is not Visibility.PRIVATE
    if not sees(actor.username, actor.groups, target):
        return "This case or conference is not shared with you; ask its owner."
    if action is Action.VIEW:
        return None
    if action is Action.DELETE:
        if actor.role is Role.COORDINATOR:
            return None
        return "Only coordinators and admins may delete; ask one of them."
    if actor.role is Role.LEARNER:
        return f"Learners may view but not {_words(action)}; ask the case's owner."
    if action is Action.EXPORT:
        return None
    if action is Action.SHARE:
        return None if owner or actor.role is Role.COORDINATOR else "Only its owner may share it; ask them."
    # EDIT
    if owner or in_group:
        return None
    return "You may view this but not edit it; ask its owner to add your group."


def _who(least: Role) -> str:
    return {
        Role.ADMIN: "admins",
        Role.COORDINATOR: "coordinators and admins",
        Role.PRESENTER: "presenters, coordinators and admins",
        Role.LEARNER: "signed-in users",
    }[least]


def _words(action: Action) -> str:
    return {
        Action.VIEW: "view it",
        Action.EDIT: "edit it",
        Action.EXPORT: "export or present it",
        Action.SHARE: "share it",
        Action.DELETE: "delete it",
        Action.CREATE: "add cases",
        Action.PULL_FROM_PACS: "pull studies from the PACS",
        Action.IMPORT_SERVER_PATH: "import from a folder on the server",
        Action.MANAGE_PACS_NODES: "set up PACS nodes",
        Action.RUN_RECEIVER: "start or stop the DICOM receiver",
        Action.MANAGE_USERS: "manage users",
        Action.READ_AUDIT: "read the audit log",
    }[action]
