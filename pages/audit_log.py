"""Audit log (admins): is the chain intact, who did what and when, CSV export, "was accession X pulled?".

The domain (casefiles.acting.admin.AuditView) decides who may read it. The log holds no patient
data; a typed accession number is compared as a keyed hash and not kept.
"""

import streamlit as st

from casefiles.accounts.permissions import PermissionDenied
from casefiles.acting.admin import AUDIT_ACTIONS, AuditView, audit_filter, audit_rows
from casefiles.audit import AuditFilter
from pages.session import current_actor, get_department, routed, where
from pages.ui import user_errors

routed()  # app.py's routing decides first (sign-in, refusal, links): see pages.session.routed

ANY = "(any action)"

view = AuditView(current_actor(), get_department().audit, where())
try:
    status = view.chain()
except PermissionDenied as exc:
    st.error(str(exc))
    st.stop()

st.title("Audit log")
if status.intact:
    st.success(status.message)
else:
    st.error(status.message)

st.subheader("Was an accession number pulled?")
with st.form("audit_pulled"):
    accession = st.text_input(
        "Accession number", key="audit_accession", help="compared as a keyed hash; the number is not kept"
    )
    if st.form_submit_button("Look it up"):
        with user_errors("Looking up the accession number"):
            pulls = view.pulls_of(accession)
            if pulls:
                st.warning(f"Pulled {len(pulls)} time(s):")
                st.dataframe(audit_rows(pulls), hide_index=True, width="stretch")
            else:
                st.info("No pull of that accession number is in the audit log.")

st.subheader("Events")
left, middle, right = st.columns(3)
actor = left.text_input("User name", key="audit_actor")
action = middle.selectbox("Action", [ANY, *AUDIT_ACTIONS], key="audit_action")
target = right.text_input("Case, conference or user id", key="audit_target")
first, last = st.columns(2)
since = first.date_input("From (UTC day)", value=None, key="audit_since")
until = last.date_input("To (UTC day, included)", value=None, key="audit_until")

chosen: AuditFilter | None = None
with user_errors("Filtering the audit log"):
    chosen = audit_filter(
        actor=actor,
        action="" if action == ANY else action,
        target_id=target,
        since=since,
        until=until,
    )
if chosen is not None:
    entries = view.events(chosen)
    st.caption(f"{len(entries)} event(s), newest last.")
    st.dataframe(audit_rows(entries), hide_index=True, width="stretch")
    filtered = chosen
    st.download_button(
        "Download CSV",
        data=lambda: view.csv(filtered),  # made on click (and the export audited), not on every redraw
        file_name="casedeck-audit.csv",
        mime="text/csv",
        key="audit_csv",
        on_click="ignore",
        disabled=not entries,
    )
