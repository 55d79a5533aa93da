"""What the share-link and upload-link pages share: a refusal that ends the run, and the link's password.

Both pages open a link for someone without an account (``?share=`` / ``?upload=``). A refused link
forgets what this tab had opened and says why; a link with a password asks for it in a form before
anything is opened.
"""

from __future__ import annotations

from typing import NoReturn

import streamlit as st

from pages.share_panel import share_links


def refused(opened_key: str, message: str) -> NoReturn:
    """Forget the link this tab opened (``opened_key`` in the session), say why it is refused, stop."""
    st.session_state.pop(opened_key, None)
    st.error(message, icon="🔒")
    st.stop()
    raise AssertionError("st.stop() ends the run")  # for the type checker


def password_if_asked(token: str, *, form_key: str, sender: str) -> str | None:
    """The password typed for a link that has one (the run stops until it is sent); None for a link without."""
    if not share_links().needs_password(token):
        return None
    with st.form(form_key):
        st.write(f"This link is protected by a password; the person who {sender} it gave it to you.")
        password = st.text_input("Password", type="password")
        if not st.form_submit_button("Open"):
            st.stop()
    return password
