"""Who can see a case or conference: its owner, visibility and groups (issue #16). Not a page itself."""

from __future__ import annotations

import streamlit as st

from casefiles.accounts.permissions import Action
from casefiles.acting.guard import ActingServices
from casefiles.model import Case, Conference
from casefiles.visibility import Visibility
from pages.session import landing
from pages.share_panel import share_panel
from pages.ui import user_errors


def sharing_panel(services: ActingServices, target: Case | Conference) -> None:
    """Show who sees ``target``; its owner (and coordinators in its groups, and admins) may change it."""
    kind = "case" if isinstance(target, Case) else "conference"
    sharing = target.sharing
    owner = sharing.owner or "nobody (made before sign-in, or by the server)"
    groups = ", ".join(sorted(sharing.groups)) or "none"
    st.text(f"Owner: {owner}\nVisible to: {sharing.visibility.label}\nGroups: {groups}")
    featurable = isinstance(target, Case) and landing().may_feature(sharing)
    if featurable and st.button("Make it the case of the week", key=f"feature_{target.id}"):
        with user_errors("Choosing the case of the week"):
            landing().feature(target.id)
            st.toast("It greets everyone on the Home page now.")
    if not services.may(Action.SHARE, sharing):
        st.caption("Only its owner, a coordinator of its groups or an admin may change who sees it.")
        return
    _department_form(services, target, kind)
    st.divider()
    st.caption("Links for people outside CaseDeck: a read-only view, or an upload for a CD's studies.")
    share_panel(kind, target.id)


def _department_form(services: ActingServices, target: Case | Conference, kind: str) -> None:
    sharing = target.sharing
    key = f"sharing_{kind}_{target.id}_{target.version}"
    with st.form(key):
        visibility = st.radio(
            "Who may see it",
            list(Visibility),
            index=list(Visibility).index(sharing.visibility),
            format_func=lambda v: v.label,
            horizontal=True,
        )
        typed = st.text_input(
            "Groups (comma separated; for “My groups”)",
            value=", ".join(sorted(sharing.groups)),
            help="Members of these groups see it; presenters and coordinators among them may edit it.",
        )
        cases_too = (
            st.checkbox("Share its cases the same way", value=True, help="Those of its cases you may share.")
            if kind == "conference"
            else False
        )
        if st.form_submit_button("Save who may see it"):
            chosen = [g.strip() for g in typed.split(",") if g.strip()]
            with user_errors("Changing who may see it"):
                if isinstance(target, Case):
                    services.set_case_sharing(target.id, visibility, chosen)
                else:
                    services.set_conference_sharing(target.id, visibility, chosen, cases_too=cases_too)
                st.rerun()
