"""The Share panel the Case and Conference pages show: make a view or upload link, see and withdraw links.

Not a page itself. The domain (casefiles.acting.links) decides who may share; this panel shows its
refusals as messages. A new link's address is shown once, right after it was made: only its hash
is kept, so it cannot be shown again.
"""

from __future__ import annotations

import os

import streamlit as st

from casefiles.accounts.permissions import PermissionDenied
from casefiles.accounts.shares import DEFAULT_EXPIRY_DAYS, EXPIRY_CHOICES, MAX_UPLOAD_BYTES, LinkKind
from casefiles.acting.links import ShareLinks, link_path, link_status
from casefiles.errors import CaseDeckError
from casefiles.notify.messages import public_url_from_env
from pages.session import current_actor, get_department, where
from pages.ui import get_services, user_errors

_MB = 1024**2
DEFAULT_UPLOAD_MB = 2048


def share_links() -> ShareLinks:
    """The link use cases over this app's library and department."""
    return ShareLinks(get_services(), get_department())


def link_url(kind: LinkKind, token: str) -> str:
    """The address to send: ``CASEDECK_PUBLIC_URL`` + the link, or the link relative to this app."""
    try:
        base = public_url_from_env(os.environ) or ""
    except CaseDeckError:
        base = ""
    return base + link_path(kind, token)


def _days(days: int) -> str:
    return "until withdrawn" if days == 0 else f"{days} days"


def share_panel(target_kind: str, target_id: str) -> None:
    """Make and list the share and upload links of one case or conference (``target_kind``: case|conference)."""
    links = share_links()
    actor = current_actor()
    key = f"share_{target_kind}_{target_id}"
    try:
        existing = links.links_for(actor, target_kind, target_id)
    except PermissionDenied as exc:
        st.info(f"Sharing: {exc}")
        return
    except CaseDeckError as exc:
        st.error(f"The links could not be listed: {exc}")
        return

    st.caption(
        "A view link shows this "
        + target_kind
        + " to someone without an account (read-only, only what passed the release check); "
        "an upload link lets an outside hospital send studies, de-identified on arrival."
    )
    kind = st.radio(
        "Kind of link",
        [LinkKind.VIEW, LinkKind.UPLOAD],
        format_func=lambda k: "View link" if k is LinkKind.VIEW else "Upload link",
        horizontal=True,
        key=f"{key}_kind",
    )
    choices = EXPIRY_CHOICES if kind is LinkKind.VIEW else tuple(d for d in EXPIRY_CHOICES if d)
    days = st.selectbox(
        "Expires after", choices, index=choices.index(DEFAULT_EXPIRY_DAYS), format_func=_days, key=f"{key}_days"
    )
    download = False
    upload_mb = 0
    if kind is LinkKind.VIEW:
        download = st.checkbox("Allow downloading the deck", key=f"{key}_download")
    else:
        upload_mb = int(
            st.number_input(
                "Size limit per upload (MB)",
                min_value=1,
                max_value=MAX_UPLOAD_BYTES // _MB,
                value=DEFAULT_UPLOAD_MB,
                step=256,
                key=f"{key}_limit",
            )
        )
    password = st.text_input(
        "Extra password (optional; give it to the recipient separately)", type="password", key=f"{key}_password"
    )
    if st.button("Create link", key=f"{key}_create", type="primary"):
        with user_errors("Creating the link"):
            token, _ = links.create_link(
                actor,
                target_kind,
                target_id,
                kind=kind,
                days=days,
                download=download,
                password=password or None,
                max_upload_bytes=upload_mb * _MB,
                where=where(),
            )
            st.session_state[f"{key}_new"] = link_url(kind, token)
            existing = links.links_for(actor, target_kind, target_id)
    new_url = st.session_state.pop(f"{key}_new", None)
    if new_url:
        st.success("Link made. Copy it now: it is shown only this once (CaseDeck keeps only a fingerprint of it).")
        st.code(new_url, language=None)

    if not existing:
        st.caption("No links yet.")
        return
    st.markdown("**Links**")
    for link in existing:
        status = link_status(link)
        text, action = st.columns([5, 1])
        facts = [
            "view" if link.kind is LinkKind.VIEW else f"upload (up to {link.max_upload_bytes // _MB} MB)",
            status,
            f"made {link.created:%Y-%m-%d}",
            f"expires {link.expires:%Y-%m-%d %H:%M} UTC" if link.expires else "no expiry",
        ]
        if link.download:
            facts.append("download allowed")
        if link.has_password:
            facts.append("password")
        text.text(" · ".join(facts))
        if status == "active" and action.button("Revoke", key=f"{key}_revoke_{link.key[:16]}"):
            with user_errors("Revoking the link"):
                links.revoke_link(actor, link.key, where())
                st.rerun()
