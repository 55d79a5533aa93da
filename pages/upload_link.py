"""An upload link (``?upload=<token>``): an outside hospital sends studies for one case or conference.

app.py runs only this page for such a URL, without an account. The files are checked against the
link's size limit before anything is written, de-identified on arrival like every import, and
the link's owner is told (casefiles.acting.links). Texts are shown as plain text.
"""

from __future__ import annotations

from typing import NoReturn

import streamlit as st

from casefiles.accounts.shares import LinkRefused, token_key
from casefiles.acting.links import UploadRefused, UploadTarget
from casefiles.ingest import Upload
from pages.link_access import password_if_asked, refused
from pages.session import routed, where
from pages.share_panel import share_links
from pages.ui import progress_bar, user_errors

routed()  # app.py's routing decides first (sign-in, refusal, links): see pages.session.routed

TARGET_KEY = "casedeck_upload_target"
PASSWORD_KEY = "casedeck_upload_password"  # noqa: S105 (a session-state key, not a secret)
OUTCOME_KEY = "casedeck_upload_outcome"
ROUND_KEY = "casedeck_upload_round"


def _size(n: int) -> str:
    return f"{n / 1024**3:.1f} GB" if n >= 1024**3 else f"{n / 1024**2:.0f} MB"


def _refused(message: str) -> NoReturn:
    refused(TARGET_KEY, message)


def _opened(token: str) -> UploadTarget:
    """The upload link opened in this tab (once; every upload opens it again), with its password if asked."""
    links = share_links()
    target = st.session_state.get(TARGET_KEY)
    if isinstance(target, UploadTarget) and target.grant.link.key == token_key(token):
        return target
    password = password_if_asked(token, form_key="upload_password", sender="sent")
    try:
        target = links.open_upload(token, password, where=where())
    except LinkRefused as exc:
        _refused(str(exc))
    st.session_state[TARGET_KEY] = target
    st.session_state[PASSWORD_KEY] = password
    return target


def main() -> None:
    token = st.query_params.get("upload", "")
    st.header("CaseDeck · send studies", anchor=False)
    target = _opened(token)
    st.text(f"For: {target.name}")
    expiry = f" · this link works until {target.expires:%Y-%m-%d %H:%M} UTC" if target.expires else ""
    st.caption(f"Up to {_size(target.max_bytes)} per upload{expiry}.")
    st.caption(
        "Send DICOM files or a zip of a study (for example a CD's contents). Every image is de-identified "
        "the moment it arrives; patient names and identifiers are not kept."
    )
    # A new uploader after each upload: the files sent are not offered to be sent again.
    round_ = st.session_state.setdefault(ROUND_KEY, 0)
    files = st.file_uploader("DICOM files or a zip", accept_multiple_files=True, key=f"upload_files_{round_}")
    if st.button("Send files", type="primary", key="upload_send", disabled=not files):
        uploads = [Upload(f.name, f.getvalue()) for f in files or ()]
        report, clear = progress_bar("Receiving…")
        st.session_state.pop(OUTCOME_KEY, None)
        with user_errors("The upload"):
            try:
                st.session_state[OUTCOME_KEY] = share_links().receive_upload(
                    token, uploads, password=st.session_state.get(PASSWORD_KEY), where=where(), progress=report
                )
                st.session_state[ROUND_KEY] = round_ + 1
            except LinkRefused as exc:  # withdrawn or expired since the page opened
                clear()
                _refused(str(exc))
            except UploadRefused as exc:
                st.error(str(exc))
        clear()
        if OUTCOME_KEY in st.session_state:
            st.rerun()  # the outcome under a fresh, empty uploader
    outcome = st.session_state.get(OUTCOME_KEY)
    if outcome is None:
        return
    if outcome.images:
        st.success(
            f"{outcome.images} image(s) received and de-identified. Thank you: the person who sent the link was told."
        )
    else:
        st.warning("No images could be imported from these files; nothing was added.")
    if outcome.new_case_ids and target.grant.link.target_kind == "case":
        st.caption(f"{len(outcome.new_case_ids)} study(ies) of another exam were kept as separate cases.")
    for problem in outcome.problems[:20]:
        st.text(f"• {problem}")


main()
