"""A case or conference shared by a link (``?share=<token>``), for someone without an account.

app.py runs only this page for such a URL: no navigation, nothing else of the library. What is
shown has passed the release gate at this moment (casefiles.acting.links); every text in it is
shown as plain text, never as markdown or HTML (titles come from DICOM and may carry links).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import NoReturn

import streamlit as st

from casefiles.accounts.shares import LinkRefused, token_key
from casefiles.acting.links import DECK_FORMATS, SharedView
from casefiles.model import AssetKind, Case
from pages.components.stack_viewer import stack_viewer, viewer_window
from pages.link_access import password_if_asked, refused
from pages.session import routed, where
from pages.share_panel import share_links
from pages.ui import get_services, stack_payload, user_errors

routed()  # app.py's routing decides first (sign-in, refusal, links): see pages.session.routed

#: This tab's opened link (kept so that scrolling does not count as another open).
VIEW_KEY = "casedeck_shared_view"
DECK_KEY = "casedeck_shared_deck"


def _refused(message: str) -> NoReturn:
    refused(VIEW_KEY, message)


def _opened(token: str) -> SharedView:
    """The link opened in this tab (re-checked on every rerun), opening it first, with its password if asked."""
    links = share_links()
    view = st.session_state.get(VIEW_KEY)
    if isinstance(view, SharedView) and view.grant.link.key == token_key(token):
        try:
            return links.still_open(view)
        except LinkRefused as exc:
            _refused(str(exc))
    password = password_if_asked(token, form_key="shared_password", sender="shared")
    try:
        view = links.open_shared(token, password, where=where())
    except LinkRefused as exc:
        _refused(str(exc))
    st.session_state[VIEW_KEY] = view
    return view


def _text_section(label: str, value: str) -> None:
    if value.strip():
        st.caption(label)
        st.text(value)


def _show_case(case: Case, number: int) -> None:
    st.text(case.title)
    _text_section("History", case.history)
    _text_section("Findings", case.findings)
    _text_section("Diagnosis", case.diagnosis)
    _text_section("Differential diagnosis", "\n".join(case.differential))
    _text_section("Teaching points", "\n".join(f"• {p}" for p in case.teaching_points))
    services = get_services()
    series = [a for a in case.assets if a.kind is AssetKind.DICOM_SERIES and services.series_showable(a)]
    if not series:
        st.caption("This case has no images to scroll.")
        return
    labels = {a.id: f"{a.label} ({a.frame_count} images)" for a in series}
    asset_id = st.selectbox("Series", list(labels), format_func=labels.__getitem__, key=f"shared_series_{number}")
    asset = case.asset(asset_id)
    key = f"shared_viewer_{number}_{asset.id}"
    with user_errors("Opening the series"):
        window = viewer_window(key) or services.asset_window(asset)
        stack_viewer(stack_payload(case.id, asset, window), key=key, height=560)
        st.caption("Scroll with the mouse wheel or arrow keys · drag to set window/level · R resets")


def _download(view: SharedView, token: str) -> None:
    st.divider()
    fmt = st.selectbox("Download as", list(DECK_FORMATS), format_func=DECK_FORMATS.__getitem__, key="shared_fmt")
    if st.button("Prepare download", key="shared_prepare"):
        with user_errors("Preparing the download"), st.spinner("Building…"), tempfile.TemporaryDirectory() as tmp:
            deck = share_links().shared_deck(view, Path(tmp), fmt, where=where())
            st.session_state[DECK_KEY] = (token_key(token), fmt, deck.read_bytes())
    ready = st.session_state.get(DECK_KEY)
    if ready and ready[0] == token_key(token) and ready[1] == fmt:
        st.download_button(
            f"Download {DECK_FORMATS[fmt]}",
            ready[2],
            file_name=f"casedeck-shared.{fmt}",
            key="shared_download",
        )


def main() -> None:
    token = st.query_params.get("share", "")
    st.header("CaseDeck · shared with you", anchor=False)
    view = _opened(token)
    if not view.ready:
        st.warning(view.message, icon="⏳")
        return
    st.caption("Read-only. De-identified teaching content shared by a CaseDeck user; please do not forward the link.")
    if view.target_kind == "conference":
        st.text(view.title)
        if not view.cases:
            st.info("This conference has no cases yet.")
        else:
            labels = {n: f"Case {n + 1} of {len(view.cases)}: {c.title}" for n, c in enumerate(view.cases)}
            number = st.selectbox("Case", list(labels), format_func=labels.__getitem__, key="shared_case")
            _show_case(view.cases[number], number)
    else:
        _show_case(view.cases[0], 0)
    if view.may_download:
        _download(view, token)


main()
