"""The command-line face of share and upload links: ``share create|list|revoke``.

Link tokens are printed once, on stdout, and never logged. ``user`` and ``audit`` live in
``casefiles.acting.cli`` (they go through the audited use cases).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from casefiles.accounts.shares import DEFAULT_EXPIRY_DAYS, EXPIRY_CHOICES, LinkKind, Links
from casefiles.config import Settings
from casefiles.errors import CaseDeckError
from casefiles.store.opening import open_store


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
