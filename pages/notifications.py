"""Notifications: what was shared with me, uploads that arrived, conferences I present (unread first).

The texts come from the notification kinds and pass the PHI guard; they are shown as plain text.
"""

from urllib.parse import parse_qsl, urlsplit

import streamlit as st

from casefiles.accounts.permissions import PermissionDenied
from casefiles.acting.admin import MyAccount
from pages.session import current_actor, get_department, routed, where
from pages.ui import user_errors

routed()  # app.py's routing decides first (sign-in, refusal, links): see pages.session.routed

#: App-relative notification links (``/case?case=…``) → the page that shows them.
LINK_PAGES = {"/case": "pages/case.py", "/conferences": "pages/conferences.py"}


def link_target(link: str) -> tuple[str, dict[str, str]] | None:
    """The page and query parameters of an in-app link, or None for one this app does not route."""
    parts = urlsplit(link)
    page = LINK_PAGES.get(parts.path)
    if page is None or parts.scheme or parts.netloc:
        return None
    return page, dict(parse_qsl(parts.query))


department = get_department()
mine = MyAccount(current_actor(), department.accounts, department.notifications, department.audit, where())
try:
    items = mine.notification_list()
except PermissionDenied as exc:
    st.error(str(exc))
    st.stop()

st.title("Notifications")
unread = sum(1 for i in items if not i.read)
if not items:
    st.info("Nothing yet: you are told here when a case is shared with you, an upload arrives or a conference changes.")
    st.stop()

st.caption(f"{unread} unread of {len(items)}.")
if unread and st.button("Mark all read", key="notifications_all_read"):
    with user_errors("Marking the notifications read"):
        mine.mark_all_read()
        st.rerun()

for item in items:
    with st.container(border=True):
        st.text(("● " if not item.read else "") + item.text)
        st.caption(item.created.strftime("%Y-%m-%d %H:%M UTC"))
        buttons = st.columns([1, 1, 4])
        target = link_target(item.link)
        if target is not None:
            with buttons[0]:
                st.page_link(target[0], label="Open", query_params=target[1])
        if not item.read and buttons[1].button("Mark read", key=f"notification_read_{item.id}"):
            with user_errors("Marking the notification read"):
                mine.mark_read(item.id)
                st.rerun()
