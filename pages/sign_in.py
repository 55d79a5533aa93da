"""Sign in: the only page a visitor without a session sees when sign-in is required (issue #16)."""

import logging

import streamlit as st

from casefiles.errors import CaseDeckError
from pages.session import SESSION_ENDED, get_department, routed, start_session, where

routed()  # app.py's routing decides first (sign-in, refusal, links): see pages.session.routed

log = logging.getLogger("casedeck.sign_in")

st.title("CaseDeck")
st.caption("Teaching files and conferences. Sign in with your CaseDeck or hospital account.")

ended = st.session_state.pop(SESSION_ENDED, None)
if ended:
    st.info(ended)

with st.form("sign_in", clear_on_submit=False):
    username = st.text_input("User name", key="sign_in_username", autocomplete="username")
    password = st.text_input("Password", type="password", key="sign_in_password", autocomplete="current-password")
    submitted = st.form_submit_button("Sign in", type="primary")

if submitted:
    try:
        user = get_department().sign_in(username, password, where=where())
    except CaseDeckError as exc:  # wrong password, locked, directory down, no access: said plainly
        st.error(str(exc))
    except Exception as exc:  # never a traceback on screen, never the typed name or password in the log
        log.error("Unexpected %s while signing in", type(exc).__name__)
        st.error("Signing in failed because of an unexpected problem; please try again or ask an administrator.")
    else:
        start_session(user)
        st.session_state.pop("sign_in_password", None)
        st.rerun()
