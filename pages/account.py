"""Account: who I am, my role and groups, my password (required after a one-time one), signing out."""

import streamlit as st

from casefiles.accounts.permissions import PermissionDenied
from casefiles.acting.admin import MyAccount
from casefiles.department import sign_in_required
from pages.session import current_actor, end_session, get_department, routed, where
from pages.ui import user_errors

routed()  # app.py's routing decides first (sign-in, refusal, links): see pages.session.routed

#: Said once after the password was changed (the form is redrawn empty).
CHANGED = "account_password_changed"

department = get_department()
mine = MyAccount(current_actor(), department.accounts, department.notifications, department.audit, where())
try:
    me = mine.profile()
except PermissionDenied as exc:
    st.error(str(exc))
    st.stop()

st.title("Account")
if st.session_state.pop(CHANGED, False):
    st.success("Your password was changed.")
st.text(f"User name: {me.username}")
if me.display_name:
    st.text(f"Name: {me.display_name}")
if me.email:
    st.text(f"E-mail: {me.email}")
st.text(f"Role: {me.role.value}")
st.text(f"Groups: {', '.join(sorted(me.groups)) or '(none)'}")

if not me.has_account:
    st.info("Sign-in is off: CaseDeck serves this computer only, and you act as its local admin.")
elif me.source != "local":
    where_from = "the hospital directory" if me.source == "ldap" else "the hospital's sign-in provider"
    st.caption(f"You sign in with {where_from}; your password is changed there.")
else:
    st.subheader("Change your password")
    if me.must_change_password:
        st.warning("You signed in with a one-time password: choose your own now.")
    with st.form("account_password", clear_on_submit=True):
        current = st.text_input("Current password", type="password", key="account_current")
        new = st.text_input("New password (at least 12 characters)", type="password", key="account_new")
        repeated = st.text_input("New password again", type="password", key="account_repeat")
        if st.form_submit_button("Change password", type="primary"):
            with user_errors("Changing the password"):
                mine.change_password(current, new, repeated)
                st.session_state[CHANGED] = True
                st.rerun()

if me.has_account and sign_in_required() and st.button("Sign out", key="account_sign_out"):
    end_session()
    st.rerun()
