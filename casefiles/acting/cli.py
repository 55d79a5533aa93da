"""The command line's ``user`` and ``audit`` commands, through the same use cases as the pages.

The person at the terminal acts as the local operator (``casefiles.department.LOCAL_OPERATOR``):
whoever can run commands on the server already holds the data directory. Every change is
audited as ``local`` from ``cli``. One-time passwords are printed once, on stdout, never logged.
``share`` is registered from ``casefiles.accounts.cli`` so the three come as one set.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path

from casefiles.accounts.cli import add_share_parser
from casefiles.accounts.local import LocalAccounts
from casefiles.accounts.permissions import Role
from casefiles.acting.admin import ADDABLE_SOURCES, AUDIT_ACTIONS, AuditView, UserAdmin, audit_filter
from casefiles.audit import Audit
from casefiles.config import Settings
from casefiles.deid.keys import load_or_create_secret
from casefiles.department import LOCAL_OPERATOR
from casefiles.errors import CaseDeckError
from casefiles.store.opening import open_store

WHERE = "cli"
ONE_TIME = "one-time password (shown once; changed at first sign-in): "


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser], settings: Callable[..., Settings]) -> None:
    """Register ``user``, ``share`` and ``audit`` on the main parser."""
    p = sub.add_parser("user", help="users: add, list, disable, enable, reset a password, change role or groups")
    users = p.add_subparsers(dest="user_command", required=True)
    q = users.add_parser("add", help="add a user; prints a one-time password for a local account")
    q.add_argument("username")
    q.add_argument("--role", choices=[r.value for r in Role], required=True)
    q.add_argument("--name", default="", help="display name")
    q.add_argument("--email", default="")
    q.add_argument("--group", action="append", default=[], help="CaseDeck group (repeat)")
    q.add_argument("--source", choices=ADDABLE_SOURCES, default="local", help="how they sign in (default: local)")
    users.add_parser("list", help="list users (no passwords)")
    users.add_parser("first-admin", help="on an installation without an admin, make 'admin' and print its password")
    for name in ("disable", "enable", "reset"):
        q = users.add_parser(name, help=f"{name} a user" if name != "reset" else "new one-time password")
        q.add_argument("username")
    q = users.add_parser("update", help="change a user's role, groups, name or e-mail")
    q.add_argument("username")
    q.add_argument("--role", choices=[r.value for r in Role])
    q.add_argument("--group", action="append", help="CaseDeck group (repeat; replaces the user's groups)")
    q.add_argument("--no-groups", action="store_true", help="remove the user from every group")
    q.add_argument("--name", help="display name")
    q.add_argument("--email")
    p.set_defaults(func=lambda args: _user(args, settings(args)))

    add_share_parser(sub, settings)

    p = sub.add_parser("audit", help="the audit log: export as CSV, check the chain, find a pulled accession")
    audits = p.add_subparsers(dest="audit_command", required=True)
    q = audits.add_parser("export", help="CSV of the (filtered) audit log")
    q.add_argument("--actor", default="")
    q.add_argument("--action", default="", choices=["", *AUDIT_ACTIONS], metavar="ACTION")
    q.add_argument("--target", default="")
    q.add_argument("--since", help="first UTC day, YYYY-MM-DD")
    q.add_argument("--until", help="last UTC day (included), YYYY-MM-DD")
    q.add_argument("--out", help="file to write (default: stdout)")
    audits.add_parser("check", help="say whether any entry was changed, removed or reordered")
    q = audits.add_parser("pulled", help="was this accession number pulled from a PACS? (typed, never stored)")
    q.add_argument("accession")
    p.set_defaults(func=lambda args: _audit(args, settings(args)))


def _user(args: argparse.Namespace, settings: Settings) -> int:
    store = open_store(settings)
    admin = UserAdmin(
        LOCAL_OPERATOR, LocalAccounts(store), store, Audit(store, load_or_create_secret(settings.secret_path)), WHERE
    )
    command = args.user_command
    if command == "first-admin":
        one_time = LocalAccounts(store).ensure_first_admin()
        if one_time is None:
            print("An admin account exists already.")
        else:
            print(f"The first sign-in is user 'admin' with the one-time password {one_time} (changed at that sign-in).")
        return 0
    if command == "add":
        added = admin.add(
            args.username, args.role, display_name=args.name, email=args.email, groups=args.group, source=args.source
        )
        print(f"{added.user.username}\t{added.user.role.value}")
        if added.one_time_password:
            print(ONE_TIME + added.one_time_password)
    elif command == "list":
        for user in admin.users():
            state = "disabled" if user.disabled else "active"
            print(f"{user.username}\t{user.role.value}\t{user.source}\t{state}\t{','.join(sorted(user.groups))}")
    elif command in ("disable", "enable"):
        user = admin.disable(args.username) if command == "disable" else admin.enable(args.username)
        print(f"{user.username}\t{'disabled' if user.disabled else 'active'}")
    elif command == "reset":
        print(ONE_TIME + admin.reset_password(args.username))
    else:
        if args.no_groups and args.group:
            raise CaseDeckError("Give --group or --no-groups, not both.")
        groups = () if args.no_groups else args.group
        user = admin.update(args.username, role=args.role, groups=groups, display_name=args.name, email=args.email)
        print(f"{user.username}\t{user.role.value}\t{','.join(sorted(user.groups))}")
    return 0


def _day(text: str | None, flag: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CaseDeckError(f"{flag} takes a day as YYYY-MM-DD.") from None


def _audit(args: argparse.Namespace, settings: Settings) -> int:
    view = AuditView(LOCAL_OPERATOR, Audit(open_store(settings), load_or_create_secret(settings.secret_path)), WHERE)
    if args.audit_command == "export":
        chosen = audit_filter(
            actor=args.actor,
            action=args.action,
            target_id=args.target,
            since=_day(args.since, "--since"),
            until=_day(args.until, "--until"),
        )
        text = view.csv(chosen)
        if args.out:
            Path(args.out).write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
    elif args.audit_command == "check":
        status = view.chain()
        print(status.message)
        return 0 if status.intact else 1
    else:
        pulls = view.pulls_of(args.accession)
        for entry in pulls:
            print(f"{entry.data['at']}\t{entry.data['actor']}\t{entry.data.get('target_id', '')}")
        if not pulls:
            print("No pull of that accession number is in the audit log.")
    return 0
