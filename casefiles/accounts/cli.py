"""The command-line face of accounts, links and the audit log: ``user``, ``share`` and ``audit``.

``python -m casefiles user add|list|disable|enable|reset``, ``share create|list|revoke`` and
``audit export|check|pulled``. One-time passwords and link tokens are printed once, on stdout,
and never logged.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from casefiles.accounts.local import LocalAccounts
from casefiles.accounts.permissions import Role
from casefiles.accounts.shares import DEFAULT_EXPIRY_DAYS, EXPIRY_CHOICES, LinkKind, Links
from casefiles.audit import Audit, AuditFilter, to_csv
from casefiles.config import Settings
from casefiles.deid.keys import load_or_create_secret
from casefiles.errors import CaseDeckError
from casefiles.store.opening import open_store


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser], settings: Callable[..., Settings]) -> None:
    """Register ``user``, ``share`` and ``audit`` on the main parser."""
    p = sub.add_parser("user", help="local and directory users: add, list, disable, enable, reset a password")
    users = p.add_subparsers(dest="user_command", required=True)
    q = users.add_parser("add", help="add a user; prints a one-time password for a local account")
    q.add_argument("username")
    q.add_argument("--role", choices=[r.value for r in Role], required=True)
    q.add_argument("--name", default="", help="display name")
    q.add_argument("--email", default="")
    q.add_argument("--group", action="append", default=[], help="CaseDeck group (repeat)")
    users.add_parser("list", help="list users (no passwords)")
    for name in ("disable", "enable", "reset"):
        q = users.add_parser(name, help=f"{name} a user" if name != "reset" else "new one-time password")
        q.add_argument("username")
    p.set_defaults(func=lambda args: _user(args, settings(args)))

    add_share_parser(sub, settings)

    p = sub.add_parser("audit", help="the audit log: export as CSV, check the chain, find a pulled accession")
    audits = p.add_subparsers(dest="audit_command", required=True)
    q = audits.add_parser("export", help="CSV of the (filtered) audit log")
    q.add_argument("--actor", default="")
    q.add_argument("--action", default="")
    q.add_argument("--target", default="")
    q.add_argument("--out", help="file to write (default: stdout)")
    audits.add_parser("check", help="say whether any entry was changed, removed or reordered")
    q = audits.add_parser("pulled", help="was this accession number pulled from a PACS? (typed, never stored)")
    q.add_argument("accession")
    p.set_defaults(func=lambda args: _audit(args, settings(args)))


def add_share_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], settings: Callable[..., Settings]
) -> None:
    """Register ``share`` (also from ``casefiles.acting.cli``, whose ``user`` and ``audit`` use the use cases)."""
    p = sub.add_parser("share", help="share and upload links: create, list, revoke")
    shares = p.add_subparsers(dest="share_command", required=True)
    q = shares.add_parser("create", help="create a link; prints its token once")
    q.add_argument("--case")
    q.add_argument("--conference")
    q.add_argument("--owner", required=True, help="the user the link is made for (its owner)")
    q.add_argument("--days", type=int, choices=EXPIRY_CHOICES, default=DEFAULT_EXPIRY_DAYS, help="0: until revoked")
    q.add_argument("--download", action="store_true", help="allow downloading the deck")
    q.add_argument("--upload-gb", type=float, help="make an upload link with this size limit")
    q = shares.add_parser("list", help="links of a case or conference")
    q.add_argument("--case")
    q.add_argument("--conference")
    q = shares.add_parser("revoke", help="withdraw a link (by the id `share list` shows)")
    q.add_argument("link_id")
    p.set_defaults(func=lambda args: _share(args, settings(args)))


def _user(args: argparse.Namespace, settings: Settings) -> int:
    accounts = LocalAccounts(open_store(settings))
    if args.user_command == "add":
        user, one_time = accounts.create_user(
            args.username, Role(args.role), display_name=args.name, email=args.email, groups=args.group
        )
        print(f"{user.username}\t{user.role.value}")
        if one_time:
            print(f"one-time password (shown once; changed at first sign-in): {one_time}")
    elif args.user_command == "list":
        for user in accounts.users():
            state = "disabled" if user.disabled else "active"
            print(f"{user.username}\t{user.role.value}\t{user.source}\t{state}\t{','.join(sorted(user.groups))}")
    elif args.user_command in ("disable", "enable"):
        user = accounts.set_disabled(args.username, args.user_command == "disable")
        print(f"{user.username}\t{'disabled' if user.disabled else 'active'}")
    else:
        print(f"one-time password (shown once; changed at first sign-in): {accounts.reset_password(args.username)}")
    return 0


def _target(args: argparse.Namespace) -> tuple[str, str]:
    if bool(args.case) == bool(args.conference):
        raise CaseDeckError("Name one case (--case ID) or one conference (--conference ID).")
    return ("case", args.case) if args.case else ("conference", args.conference)


def _share(args: argparse.Namespace, settings: Settings) -> int:
    store = open_store(settings)
    links = Links(store)
    if args.share_command == "create":
        kind, target = _target(args)
        exists = store.exists(target) if kind == "case" else any(k.id == target for k in store.list_conferences())
        if not exists:
            raise CaseDeckError(f"There is no {kind} {target!r}.")
        upload = args.upload_gb is not None
        token, link = links.create(
            owner=args.owner,
            target_kind=kind,
            target_id=target,
            kind=LinkKind.UPLOAD if upload else LinkKind.VIEW,
            days=args.days,
            download=args.download,
            max_upload_bytes=int((args.upload_gb or 0) * 1024**3),
        )
        expires = link.expires.isoformat() if link.expires else "until revoked"
        print(f"{link.key[:16]}\t{link.kind.value}\t{kind} {target}\texpires {expires}")
        print(f"token (shown once; the link is the app's address + ?share=TOKEN): {token}")
    elif args.share_command == "list":
        kind, target = _target(args)
        for link in links.links_of(kind, target):
            state = "revoked" if link.revoked else "active"
            expires = link.expires.isoformat() if link.expires else "until revoked"
            print(f"{link.key[:16]}\t{link.kind.value}\t{state}\texpires {expires}\tdownload={link.download}")
    else:
        matches = [r.key for r in store.list_records("share") if r.key.startswith(args.link_id)]
        if len(matches) != 1:
            raise CaseDeckError("Give the link id as `share list` prints it (one link must match).")
        links.revoke(matches[0])
        print(f"{matches[0][:16]}\trevoked")
    return 0


def _audit(args: argparse.Namespace, settings: Settings) -> int:
    audit = Audit(open_store(settings), load_or_create_secret(settings.secret_path))
    if args.audit_command == "export":
        text = to_csv(audit.events(AuditFilter(actor=args.actor, action=args.action, target_id=args.target)))
        if args.out:
            Path(args.out).write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
    elif args.audit_command == "check":
        broken = audit.first_broken()
        if broken is not None:
            print(f"The audit log was changed: entry {broken + 1} does not follow from the one before it.")
            return 1
        print("The audit log is intact.")
    else:
        pulls = audit.pulls_of(args.accession)
        for entry in pulls:
            print(f"{entry.data['at']}\t{entry.data['actor']}\t{entry.data.get('target_id', '')}")
        if not pulls:
            print("No pull of that accession number is in the audit log.")
    return 0
