"""Users, the audit log and one's own account as use cases: who may, what is audited, what is refused."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from casefiles.accounts.local import LocalAccounts, SignInRefused, User
from casefiles.accounts.permissions import Actor, PermissionDenied, Role
from casefiles.acting.admin import (
    AuditView,
    LastAdmin,
    MyAccount,
    NotLocalAccount,
    UserAdmin,
    audit_filter,
    audit_rows,
    parse_groups,
    unread_first,
)
from casefiles.audit import Audit
from casefiles.department import LOCAL_OPERATOR
from casefiles.errors import NotFoundError, ValidationError
from casefiles.notify.inbox import new_in_app
from casefiles.notify.messages import CaseShared, ConferenceReady, Recipient
from casefiles.notify.shelf import NotificationShelf
from casefiles.store.records import Record
from casefiles.store.tinydb_store import TinyDBCaseStore
from tests.accounts.test_local_accounts import Clock

SECRET = bytes(range(32))
PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a different long sentence"
WHERE = "10.0.0.7"

ADMIN = Actor("root", Role.ADMIN)
OTHERS: dict[str, Actor | None] = {
    "coordinator": Actor("cora", Role.COORDINATOR),
    "presenter": Actor("ana", Role.PRESENTER),
    "learner": Actor("lee", Role.LEARNER),
    "anonymous": None,
}


class Parts:
    def __init__(self, tmp_path: Path) -> None:
        self.path = tmp_path / "library"
        self.store = TinyDBCaseStore(self.path)
        self.clock = Clock()
        self.accounts = LocalAccounts(self.store, self.clock)
        self.audit = Audit(self.store, SECRET, self.clock)
        self.shelf = NotificationShelf(self.store)
        self.accounts.create_user("root", Role.ADMIN, password=PASSWORD)
        self.accounts.create_user("tom", Role.PRESENTER, password=PASSWORD)  # whom the admins change
        for actor in OTHERS.values():
            if actor is not None:
                self.accounts.create_user(actor.username, actor.role, password=PASSWORD, groups=["gi"])

    def admin(self, actor: Actor | None) -> UserAdmin:
        return UserAdmin(actor, self.accounts, self.store, self.audit, WHERE)

    def view(self, actor: Actor | None) -> AuditView:
        return AuditView(actor, self.audit, WHERE)

    def mine(self, actor: Actor | None) -> MyAccount:
        return MyAccount(actor, self.accounts, self.shelf, self.audit, WHERE)

    def stored(self) -> str:
        return "".join(p.read_text() for p in self.path.rglob("*") if p.is_file())


@pytest.fixture
def parts(tmp_path: Path) -> Parts:
    return Parts(tmp_path)


USER_ADMIN: dict[str, Callable[[UserAdmin], Any]] = {
    "list": lambda a: a.users(),
    "add": lambda a: a.add("newbie", "learner", display_name="New Person", groups="gi, chest"),
    "disable": lambda a: a.disable("tom"),
    "enable": lambda a: a.enable("tom"),
    "reset": lambda a: a.reset_password("tom"),
    "update": lambda a: a.update("tom", role="coordinator", groups=["gi", "neuro"]),
}
AUDIT_VIEW: dict[str, Callable[[AuditView], Any]] = {
    "events": lambda v: v.events(),
    "csv": lambda v: v.csv(),
    "pulled": lambda v: v.pulls_of("ACC1"),
    "chain": lambda v: v.chain(),
}


@pytest.mark.parametrize("name", USER_ADMIN)
def test_user_admin_is_for_admins(parts: Parts, name: str) -> None:
    USER_ADMIN[name](parts.admin(ADMIN))  # allowed
    for who, actor in OTHERS.items():
        before = (parts.accounts.users(), len(parts.audit.events()))
        with pytest.raises(PermissionDenied) as refused:
            USER_ADMIN[name](parts.admin(actor))
        assert str(refused.value) == (
            "Sign in first." if actor is None else "Only admins may manage users; ask one of them."
        ), who
        assert (parts.accounts.users(), len(parts.audit.events())) == before, who  # nothing changed


@pytest.mark.parametrize("name", AUDIT_VIEW)
def test_the_audit_log_is_for_admins(parts: Parts, name: str) -> None:
    AUDIT_VIEW[name](parts.view(ADMIN))
    for who, actor in OTHERS.items():
        before = len(parts.audit.events())
        with pytest.raises(PermissionDenied, match="Sign in first" if actor is None else "Only admins"):
            AUDIT_VIEW[name](parts.view(actor))
        assert len(parts.audit.events()) == before, who


MY_ACCOUNT: dict[str, Callable[[MyAccount, Parts], Any]] = {
    "profile": lambda m, p: m.profile(),
    "change password": lambda m, p: m.change_password(PASSWORD, NEW_PASSWORD, NEW_PASSWORD),
    "notifications": lambda m, p: m.notification_list(),
    "unread count": lambda m, p: m.unread_count(),
    "mark read": lambda m, p: m.mark_read(p.shelf.of(m.actor.username)[0].id if m.actor else "someone's"),
    "mark all read": lambda m, p: m.mark_all_read(),
}


def test_the_full_matrix(parts: Parts) -> None:
    """Every use case of this module as every kind of person: admins (and the local operator) manage
    users and read the audit log; everyone signed in has their own account; an anonymous visitor nothing."""
    people: dict[str, Actor | None] = {"admin": ADMIN, "local operator": LOCAL_OPERATOR, **OTHERS}
    for actor in people.values():
        if actor is not None:
            parts.shelf.keep(new_in_app(CaseShared(Recipient(actor.username, "Some One"), "Ben Jones", "c1")))
    outcomes: dict[tuple[str, str], str] = {}
    for who, actor in people.items():
        for name, call in USER_ADMIN.items():
            outcomes[(f"users: {name}", who)] = _outcome(call, parts.admin(actor))
            if parts.store.get_record("user", "newbie") is not None:  # each cell starts from the same accounts
                parts.store.delete_record("user", "newbie")
            parts.accounts.set_disabled("tom", False)
        for name, view in AUDIT_VIEW.items():
            outcomes[(f"audit: {name}", who)] = _outcome(view, parts.view(actor))
        for name, mine in MY_ACCOUNT.items():
            outcomes[(f"account: {name}", who)] = _outcome(lambda m, f=mine: f(m, parts), parts.mine(actor))
    assert len(outcomes) == (len(USER_ADMIN) + len(AUDIT_VIEW) + len(MY_ACCOUNT)) * len(people)
    for (use_case, who), outcome in outcomes.items():
        if who == "anonymous":
            expected = "denied"
        elif use_case.startswith("account:"):
            no_password = who == "local operator" and use_case == "account: change password"
            expected = "NotLocalAccount" if no_password else "allowed"
        else:
            expected = "allowed" if who in ("admin", "local operator") else "denied"
        assert outcome == expected, (use_case, who)


def _outcome(call: Callable[[Any], Any], use_case: Any) -> str:
    try:
        call(use_case)
    except PermissionDenied:
        return "denied"
    except Exception as exc:  # the cell names what else happened
        return type(exc).__name__
    return "allowed"


def test_the_local_operator_manages_users(parts: Parts) -> None:
    added = parts.admin(LOCAL_OPERATOR).add("ben", Role.PRESENTER)
    assert added.one_time_password and parts.accounts.sign_in("ben", added.one_time_password).must_change_password
    assert parts.audit.events()[-1].data["actor"] == "local"


def test_every_change_is_audited_without_a_password(parts: Parts) -> None:
    admin = parts.admin(ADMIN)
    added = admin.add("Newbie", "presenter", display_name="New Person", email="new@example.org", groups="gi")
    assert added.user.username == "newbie" and added.user.groups == frozenset({"gi"})
    reset = admin.reset_password("newbie")
    admin.disable("newbie")
    admin.enable("newbie")
    admin.update("newbie", role=Role.COORDINATOR, groups="gi, chest")
    parts.mine(Actor("ana", Role.PRESENTER)).change_password(PASSWORD, NEW_PASSWORD, NEW_PASSWORD)
    events = [e.data for e in parts.audit.events()]
    assert [e["action"] for e in events] == [
        "user.create",
        "user.reset",
        "user.disable",
        "user.enable",
        "user.update",
        "user.password",
    ]
    assert all(e["where"] == WHERE and e["target_kind"] == "user" for e in events)
    assert [e["actor"] for e in events] == ["root"] * 5 + ["ana"]
    assert [e["target_id"] for e in events] == ["newbie"] * 5 + ["ana"]
    assert events[0]["role"] == "presenter" and events[4]["role"] == "coordinator"
    stored = parts.stored()
    for secret in (added.one_time_password, reset, PASSWORD, NEW_PASSWORD):
        assert secret and secret not in stored
    assert parts.accounts.user("newbie").role is Role.COORDINATOR
    assert parts.accounts.user("newbie").groups == frozenset({"gi", "chest"})


def test_the_last_active_admin_stays(parts: Parts) -> None:
    admin = parts.admin(ADMIN)
    for attempt in (lambda: admin.disable("root"), lambda: admin.update("root", role="learner")):
        with pytest.raises(LastAdmin, match="root is the last active admin"):
            attempt()
    assert parts.accounts.user("root").role is Role.ADMIN and not parts.accounts.user("root").disabled
    assert parts.audit.events() == []
    with pytest.raises(LastAdmin):  # the local operator is no account: it does not count either
        parts.admin(LOCAL_OPERATOR).disable("root")
    admin.update("cora", role="admin")
    admin.disable("cora")  # two admins, one disabled: root is still the last active one
    with pytest.raises(LastAdmin):
        admin.update("root", role="presenter")
    admin.enable("cora")
    admin.update("root", role="presenter")  # now cora remains
    assert parts.accounts.user("root").role is Role.PRESENTER
    parts.admin(Actor("cora", Role.ADMIN)).update("root", groups="gi")  # an unchanged role needs no check


def test_two_admins_demoting_each_other_at_once_leave_one(parts: Parts) -> None:
    """Both checks pass (two admins), both writes land: the later one sees no admin left and undoes itself."""
    parts.accounts.create_user("ada", Role.ADMIN, password=PASSWORD)

    class Meanwhile:  # the other admin's request lands between this one's check and its write
        def update_record(self, kind: str, key: str, change: Callable[[Record], Record]) -> Record:
            parts.store.update_record("user", "ada", lambda r: r.with_data(role="presenter"))
            return parts.store.update_record(kind, key, change)

    with pytest.raises(LastAdmin):
        UserAdmin(ADMIN, parts.accounts, Meanwhile(), parts.audit, WHERE).update("root", role="learner")
    assert parts.accounts.user("root").role is Role.ADMIN

    class DisablingMeanwhile(LocalAccounts):
        def set_disabled(self, username: str, disabled: bool = True) -> User:
            if disabled:
                parts.store.update_record("user", "ada", lambda r: r.with_data(role="admin", disabled=True))
            return super().set_disabled(username, disabled)

    with pytest.raises(LastAdmin):
        UserAdmin(ADMIN, DisablingMeanwhile(parts.store), parts.store, parts.audit, WHERE).disable("root")
    assert not parts.accounts.user("root").disabled
    assert parts.audit.events() == []


def test_bad_input_is_refused_with_nothing_changed(parts: Parts) -> None:
    admin = parts.admin(ADMIN)
    before = parts.accounts.users()
    cases: list[tuple[Callable[[], Any], type[Exception], str]] = [
        (lambda: admin.add("ana", "learner"), ValidationError, "already a user named ana"),
        (lambda: admin.add("x y", "learner"), ValidationError, "no spaces"),
        (lambda: admin.add("zed", "superuser"), ValidationError, "admin, coordinator, presenter, learner"),
        (lambda: admin.add("zed", "learner", groups="gi, ch\nest"), ValidationError, "without commas or line breaks"),
        (lambda: admin.add("zed", "learner", email="not an address"), ValidationError, "e-mail"),
        (lambda: admin.add("zed", "learner", source="ldap"), ValidationError, "first sign-in"),
        (lambda: admin.disable("ghost"), NotFoundError, "no such user"),
        (lambda: admin.reset_password("ghost"), NotFoundError, "no such user"),
        (lambda: admin.update("ana", role="boss"), ValidationError, "A role is one of"),
    ]
    for attempt, error, message in cases:
        with pytest.raises(error, match=message):
            attempt()
    assert parts.accounts.users() == before and parts.audit.events() == []


def test_a_directory_user_is_managed_in_the_directory(parts: Parts) -> None:
    parts.accounts.create_user("dora", Role.PRESENTER, source="ldap", groups=["radiology"])
    admin = parts.admin(ADMIN)
    with pytest.raises(NotLocalAccount, match="hospital directory: their password is reset there"):
        admin.reset_password("dora")
    with pytest.raises(NotLocalAccount, match="CASEDECK_LDAP_ROLES"):
        admin.update("dora", role="admin")
    assert admin.disable("dora").disabled  # but an admin can keep them out
    assert admin.update("dora", display_name="Dora D").display_name == "Dora D"
    with pytest.raises(NotLocalAccount, match="change your password there"):
        parts.mine(Actor("dora", Role.PRESENTER)).change_password("x", NEW_PASSWORD, NEW_PASSWORD)


def test_csv_export_is_formula_safe_and_audited(parts: Parts) -> None:
    parts.audit.record('=HYPERLINK("http://evil")', "sign_in_refused", where="+1-2")
    parts.audit.record("ana", "case.view", target_kind="case", target_id="@c1")
    view = parts.view(ADMIN)
    rows = list(csv.reader(io.StringIO(view.csv(audit_filter()))))
    assert rows[0][:4] == ["seq", "at", "actor", "action"]
    assert rows[1][2].startswith("'=") and rows[1][6].startswith("'+") and rows[2][5].startswith("'@")
    exported = parts.audit.events()[-1].data
    assert (exported["action"], exported["actor"], exported["count"], exported["where"]) == (
        "audit.export",
        "root",
        2,
        WHERE,
    )


def test_was_an_accession_pulled(parts: Parts) -> None:
    parts.audit.record("ana", "pacs.pull", target_kind="case", target_id="c1", accessions=["ACC123"], count=1)
    view = parts.view(ADMIN)
    assert [e.data["target_id"] for e in view.pulls_of(" acc123 ")] == ["c1"]
    assert view.pulls_of("ACC999") == []
    with pytest.raises(ValidationError, match="Type the accession"):
        view.pulls_of("  ")
    assert "ACC123" not in parts.stored()
    row = audit_rows(view.events())[0]
    assert row["actor"] == "ana" and "accession_hashes=" in row["details"] and "ACC123" not in row["details"]


def test_filters_and_the_chain_status(parts: Parts) -> None:
    parts.audit.record("ana", "case.view", target_kind="case", target_id="c1")
    parts.clock.advance(days=1)
    parts.audit.record("ben", "case.export", target_kind="case", target_id="c2", format="pptx")
    view = parts.view(ADMIN)
    day = parts.clock.now.date()
    assert [e.data["actor"] for e in view.events(audit_filter(since=day, until=day))] == ["ben"]
    assert [e.data["actor"] for e in view.events(audit_filter(until=day - dt.timedelta(days=1)))] == ["ana"]
    assert [e.data["actor"] for e in view.events(audit_filter(actor=" ana ", action="case.view"))] == ["ana"]
    assert [e.data["actor"] for e in view.events(audit_filter(target_id="c2"))] == ["ben"]
    with pytest.raises(ValidationError, match="swap them"):
        audit_filter(since=day, until=day - dt.timedelta(days=1))
    with pytest.raises(ValidationError, match="from the list"):
        audit_filter(action="case.rename")
    status = view.chain()
    assert status.intact and status.message == "The audit log is intact (2 entries)."
    log = parts.path / "audit.log"
    lines = log.read_text().splitlines()
    doc = json.loads(lines[0])
    doc["data"]["actor"] = "mallory"
    log.write_text("\n".join([json.dumps(doc), *lines[1:]]) + "\n")
    broken = view.chain()
    assert not broken.intact and "entry 1 does not follow" in broken.message


def test_changing_ones_own_password(parts: Parts) -> None:
    one_time = parts.accounts.reset_password("lee")
    lee = Actor("lee", Role.LEARNER)
    mine = parts.mine(lee)
    assert mine.profile().must_change_password and mine.profile().can_change_password
    with pytest.raises(ValidationError, match="differ"):
        mine.change_password(one_time, NEW_PASSWORD, NEW_PASSWORD + "!")
    with pytest.raises(SignInRefused, match="current password is not right"):
        mine.change_password("wrong guess", NEW_PASSWORD, NEW_PASSWORD)
    with pytest.raises(ValidationError, match="at least 12"):
        mine.change_password(one_time, "short", "short")
    profile = mine.change_password(one_time, NEW_PASSWORD, NEW_PASSWORD)
    assert not profile.must_change_password
    assert parts.accounts.sign_in("lee", NEW_PASSWORD).username == "lee"
    actions = [(e.data["action"], e.data.get("reason")) for e in parts.audit.events()]
    assert actions == [("user.password_refused", "wrong_password"), ("user.password", None)]
    stored = parts.stored()
    assert one_time not in stored and NEW_PASSWORD not in stored and "wrong guess" not in stored


def test_the_local_operator_and_anonymous_have_no_password(parts: Parts) -> None:
    operator = parts.mine(LOCAL_OPERATOR)
    profile = operator.profile()
    assert (profile.username, profile.role, profile.has_account) == ("local", Role.ADMIN, False)
    with pytest.raises(NotLocalAccount, match="Sign-in is off"):
        operator.change_password("a", NEW_PASSWORD, NEW_PASSWORD)
    anonymous = parts.mine(None)
    for attempt in (
        anonymous.profile,
        anonymous.notification_list,
        anonymous.mark_all_read,
        lambda: anonymous.mark_read("x"),
        lambda: anonymous.change_password(PASSWORD, NEW_PASSWORD, NEW_PASSWORD),
    ):
        with pytest.raises(PermissionDenied, match="Sign in first"):
            attempt()


def test_my_notifications(parts: Parts) -> None:
    t0 = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)
    ana, lee = Recipient("ana", "Ana R"), Recipient("lee", "Lee K")
    old = parts.shelf.keep(new_in_app(CaseShared(ana, "Ben Jones", "c1"), now=t0))
    new = parts.shelf.keep(new_in_app(ConferenceReady(ana, "Ben Jones", "k1", None), now=t0 + dt.timedelta(hours=1)))
    later = parts.shelf.keep(new_in_app(CaseShared(ana, "Ben Jones", "c2"), now=t0 + dt.timedelta(hours=2)))
    others = parts.shelf.keep(new_in_app(CaseShared(lee, "Ben Jones", "c3"), now=t0))
    mine = parts.mine(Actor("ana", Role.PRESENTER))
    mine.mark_read(later.id)
    assert [i.id for i in mine.notification_list()] == [new.id, old.id, later.id]  # unread first, newest first
    assert mine.unread_count() == 2
    with pytest.raises(NotFoundError, match="not in your list"):
        mine.mark_read(others.id)  # another's notification is not mine to touch
    assert not parts.shelf.of("lee")[0].read
    assert mine.mark_all_read() == 2 and mine.unread_count() == 0
    assert parts.mine(Actor("lee", Role.LEARNER)).unread_count() == 1
    assert unread_first([]) == []


def test_groups_are_parsed() -> None:
    assert parse_groups(" gi, chest ,,gi ") == frozenset({"gi", "chest"})
    assert parse_groups(["neuro ", ""]) == frozenset({"neuro"})
    with pytest.raises(ValidationError):
        parse_groups("x" * 65)
