"""The whole allow/deny matrix: every role (and an anonymous visitor) x every action x every situation."""

from __future__ import annotations

import pytest

from casefiles.accounts.permissions import (
    Action,
    Actor,
    Ownership,
    PermissionDenied,
    Role,
    Visibility,
    allowed,
    require,
)
from casefiles.errors import ValidationError

ON_TARGET = (Action.VIEW, Action.EDIT, Action.EXPORT, Action.SHARE, Action.DELETE)
LIBRARY = (
    Action.CREATE,
    Action.PULL_FROM_PACS,
    Action.IMPORT_SERVER_PATH,
    Action.MANAGE_PACS_NODES,
    Action.RUN_RECEIVER,
    Action.MANAGE_USERS,
    Action.READ_AUDIT,
)

#: (who, situation) -> Y/N for view, edit, export, share, delete. Written out by hand: the spec.
TARGET_MATRIX = {
    "admin": {"own": "YYYYY", "private": "YYYYY", "group_in": "YYYYY", "group_out": "YYYYY", "dept": "YYYYY"},
    "coordinator": {"own": "YYYYY", "private": "NNNNN", "group_in": "YYYYY", "group_out": "NNNNN", "dept": "YNYYY"},
    "presenter": {"own": "YYYYN", "private": "NNNNN", "group_in": "YYYNN", "group_out": "NNNNN", "dept": "YNYNN"},
    "learner": {"own": "YNNNN", "private": "NNNNN", "group_in": "YNNNN", "group_out": "NNNNN", "dept": "YNNNN"},
    "anonymous": {"own": "NNNNN", "private": "NNNNN", "group_in": "NNNNN", "group_out": "NNNNN", "dept": "NNNNN"},
}
#: who -> Y/N for create, pull, server-path import, PACS nodes, receiver, users, audit.
LIBRARY_MATRIX = {
    "admin": "YYYYYYY",
    "coordinator": "YYYYYNN",
    "presenter": "YYNNNNN",
    "learner": "NNNNNNN",
    "anonymous": "NNNNNNN",
}


def actor(who: str) -> Actor | None:
    return None if who == "anonymous" else Actor("me", Role(who), frozenset({"gi-board"}))


def target(situation: str) -> Ownership:
    return {
        "own": Ownership("me", Visibility.PRIVATE),
        "private": Ownership("someone", Visibility.PRIVATE, frozenset({"gi-board"})),
        "group_in": Ownership("someone", Visibility.GROUP, frozenset({"gi-board"})),
        "group_out": Ownership("someone", Visibility.GROUP, frozenset({"neuro"})),
        "dept": Ownership("someone", Visibility.DEPARTMENT, frozenset({"neuro"})),
    }[situation]


CELLS = [
    (who, situation, action, row[situation][n] == "Y")
    for who, row in TARGET_MATRIX.items()
    for situation in row
    for n, action in enumerate(ON_TARGET)
] + [
    (who, "library", action, LIBRARY_MATRIX[who][n] == "Y")
    for who in LIBRARY_MATRIX
    for n, action in enumerate(LIBRARY)
]


def test_the_matrix_covers_every_role_action_and_situation() -> None:
    assert {w for w, *_ in CELLS} == {*[r.value for r in Role], "anonymous"}
    assert {a for _, _, a, _ in CELLS} == set(Action)
    assert len(CELLS) == 5 * 5 * 5 + 5 * 7


@pytest.mark.parametrize(("who", "situation", "action", "expected"), CELLS)
def test_every_cell(who: str, situation: str, action: Action, expected: bool) -> None:
    on = None if situation == "library" else target(situation)
    assert allowed(actor(who), action, on) is expected
    if expected:
        require(actor(who), action, on)
    else:
        with pytest.raises(PermissionDenied) as refused:
            require(actor(who), action, on)
        assert str(refused.value).endswith((".", "first."))  # a sentence the user can act on


def test_an_action_on_a_case_needs_the_case() -> None:
    with pytest.raises(ValidationError):
        allowed(Actor("me", Role.ADMIN), Action.EDIT)
