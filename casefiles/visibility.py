"""Who owns a case or conference and who else may see it (issue #16).

* ``private``: its owner (and admins) only;
* ``group``: also the members of its groups;
* ``department``: every signed-in user.

One rule, :func:`sees`, is asked by the permission check (``accounts.permissions``) and by the
stores when they list a library for someone, so a list never shows what opening would refuse.
A case or conference stored before accounts existed has no owner and is department-wide (it
was visible to everyone then); one made now starts private to whoever made it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from casefiles.errors import ValidationError


class Visibility(enum.StrEnum):
    PRIVATE = "private"
    GROUP = "group"
    DEPARTMENT = "department"

    @property
    def label(self) -> str:
        return {
            "private": "Only me",
            "group": "My groups",
            "department": "Everyone in the department",
        }[self.value]


@dataclass(frozen=True, slots=True)
class Sharing:
    """A case's or conference's owner (a user name; "" for one made before accounts), visibility and groups."""

    owner: str = ""
    visibility: Visibility = Visibility.PRIVATE
    groups: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not isinstance(self.owner, str) or len(self.owner) > 64:
            raise ValidationError("An owner is a user name of at most 64 characters.")
        if not isinstance(self.visibility, Visibility):
            raise ValidationError(f"Visibility must be one of {[v.value for v in Visibility]}.")
        groups = frozenset(g.strip().lower() for g in self.groups if isinstance(g, str) and g.strip())
        if len(groups) > 50 or any(len(g) > 64 for g in groups):
            raise ValidationError("At most 50 groups of up to 64 characters each.")
        object.__setattr__(self, "groups", groups)

    def to_dict(self) -> dict[str, Any]:
        return {"owner": self.owner, "visibility": self.visibility.value, "groups": sorted(self.groups)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Sharing:
        """The stored sharing; none stored (made before accounts) is department-wide without an owner."""
        if not data:
            return LEGACY
        return cls(
            owner=str(data.get("owner", "")),
            visibility=Visibility(data.get("visibility", Visibility.PRIVATE.value)),
            groups=frozenset(data.get("groups", ())),
        )


#: What a case or conference stored before accounts existed is taken to be.
LEGACY = Sharing("", Visibility.DEPARTMENT)


def sees(username: str, groups: Iterable[str], sharing: Sharing, *, sees_all: bool = False) -> bool:
    """Whether this person may see it: ``sees_all`` for admins, else owner, group member or department."""
    if sees_all or sharing.visibility is Visibility.DEPARTMENT:
        return True
    if username and username == sharing.owner:
        return True
    return sharing.visibility is Visibility.GROUP and bool(sharing.groups & frozenset(groups))


@dataclass(frozen=True, slots=True)
class Viewer:
    """Whom a list is for: the store shows only what :func:`sees` lets this person see."""

    username: str
    groups: frozenset[str] = frozenset()
    sees_all: bool = False

    def sees(self, sharing: Sharing) -> bool:
        return sees(self.username, self.groups, sharing, sees_all=self.sees_all)
