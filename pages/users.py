"""Users (admins): who has an account, add one, disable/enable, reset a password, change role and groups.

The domain (casefiles.acting.admin.UserAdmin) decides who may; anyone else sees why and nothing more.
A one-time password is shown once, right after it was made, and never again.
"""

import re

import streamlit as st

from casefiles.accounts.local import User
from casefiles.accounts.permissions import PermissionDenied, Role
from casefiles.acting.admin import ADDABLE_SOURCES, UserAdmin
from pages.session import current_actor, get_department, routed, where
from pages.ui import get_services, user_errors

routed()  # app.py's routing decides first (sign-in, refusal, links): see pages.session.routed

#: (what was done, one-time password or None) to show once on the next run.
DONE = "users_done"

department = get_department()
admin = UserAdmin(current_actor(), department.accounts, get_services().store, department.audit, where())
try:
    users = admin.users()
except PermissionDenied as exc:
    st.error(str(exc))
    st.stop()


def _row(user: User) -> dict[str, object]:
    return {
        "user name": user.username,
        "name": user.display_name,
        "e-mail": user.email,
        "role": user.role.value,
        "groups": ", ".join(sorted(user.groups)),
        "signs in with": user.source,
        "state": "disabled" if user.disabled else "active",
        "must change password": user.must_change_password,
    }


def _plain(text: str) -> str:
    """A user name inside a Markdown message, shown as typed (no emphasis, no autolink)."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>@~:])", r"\\\1", text)


def _done(message: str, one_time_password: str | None = None) -> None:
    """Redraw the page (the table changed) and say once what happened."""
    st.session_state[DONE] = (message, one_time_password)
    st.rerun()


st.title("Users")
done = st.session_state.pop(DONE, None)
if done is not None:
    st.success(done[0])
    if done[1]:
        st.code(done[1], language=None)
        st.caption(
            "Give it to them; they choose their own at first sign-in. It is shown only now: CaseDeck keeps a hash."
        )

st.dataframe([_row(u) for u in users], hide_index=True, width="stretch")

roles = [r.value for r in Role]
with st.expander("Add a user", expanded=not users), st.form("users_add", clear_on_submit=True):
    username = st.text_input("User name", key="users_add_name", help="letters, digits, . _ @ -; no spaces")
    display_name = st.text_input("Display name", key="users_add_display")
    email = st.text_input("E-mail (for notifications)", key="users_add_email")
    role = st.selectbox("Role", roles, index=roles.index(Role.LEARNER.value), key="users_add_role")
    groups = st.text_input("Groups (comma-separated)", key="users_add_groups", help="e.g. gi, chest")
    source = st.selectbox("Signs in with", ADDABLE_SOURCES, key="users_add_source")
    if st.form_submit_button("Add user", type="primary"):
        with user_errors("Adding the user"):
            added = admin.add(username, role, display_name=display_name, email=email, groups=groups, source=source)
            _done(f"Added {_plain(added.user.username)} ({added.user.role.value}).", added.one_time_password)

if users:
    st.subheader("Change a user")
    names = [u.username for u in users]
    picked = st.selectbox("User", names, key="users_pick")
    user = next(u for u in users if u.username == picked)
    st.text(
        f"{user.username}: {user.role.value}, {'disabled' if user.disabled else 'active'}, signs in with {user.source}"
    )
    left, right = st.columns(2)
    with left:
        if user.disabled:
            if st.button("Enable", key="users_enable"):
                with user_errors("Enabling the user"):
                    _done(f"{_plain(admin.enable(user.username).username)} may sign in again.")
        elif st.button("Disable", key="users_disable", help="their sign-in ends at their next click"):
            with user_errors("Disabling the user"):
                _done(f"{_plain(admin.disable(user.username).username)} is disabled; their sign-in has ended.")
    with right:
        if user.source == "local" and st.button("Reset password", key="users_reset"):
            with user_errors("Resetting the password"):
                _done(f"New one-time password for {_plain(user.username)}:", admin.reset_password(user.username))
    with st.form("users_edit"):
        new_role = st.selectbox("Role", roles, index=roles.index(user.role.value), key=f"users_role_{user.username}")
        new_groups = st.text_input(
            "Groups (comma-separated)", value=", ".join(sorted(user.groups)), key=f"users_groups_{user.username}"
        )
        new_name = st.text_input("Display name", value=user.display_name, key=f"users_display_{user.username}")
        new_email = st.text_input("E-mail", value=user.email, key=f"users_email_{user.username}")
        if user.source == "ldap":
            st.caption("Role and groups of a directory user come from their directory groups at each sign-in.")
        if st.form_submit_button("Save changes"):
            with user_errors("Saving the user"):
                admin.update(user.username, role=new_role, groups=new_groups, display_name=new_name, email=new_email)
                _done(f"Saved {_plain(user.username)}.")
