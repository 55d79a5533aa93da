"""Library: every case at a glance, filtered by text, modality or tag; delete a case after a confirmation."""

from dataclasses import replace

import streamlit as st

from casefiles.accounts.permissions import Action
from casefiles.errors import NotFoundError
from casefiles.services import CaseFilter
from pages.session import acting_services
from pages.ui import SELECTED_CASE, open_case, plain, routed, user_errors

routed()  # app.py's routing decides first (sign-in, refusal, links): see pages.ui.routed

#: The case whose deletion waits for confirmation, and the message of the last deletion.
DELETE_PENDING = "library_delete_pending"
DELETE_DONE = "library_delete_done"
#: Cases per page: a library of thousands lists as fast as one of four.
PAGE_SIZE = 48

services = acting_services()
st.title("Case library")

done = st.session_state.pop(DELETE_DONE, None)
if done:
    st.success(done)
pending = st.session_state.get(DELETE_PENDING)
if pending:
    try:
        deletion = services.case_deletion(pending)
    except NotFoundError:
        st.session_state.pop(DELETE_PENDING, None)
        st.info("That case was already deleted.")
    else:
        with st.container(border=True):
            st.warning(
                f"Delete {deletion.summary()}? Its files go too, unless another case uses them. This cannot be undone."
            )
            sure, keep = st.columns(2)
            if sure.button("Delete for good", type="primary", key=f"library_delete_confirm_{pending}"):
                st.session_state.pop(DELETE_PENDING, None)
                with user_errors("Deleting the case"):
                    gone = services.delete_case(pending)
                    conferences = (
                        f" It was taken out of {', '.join(f'“{t}”' for t in gone.conferences)}."
                        if gone.conferences
                        else ""
                    )
                    st.session_state[DELETE_DONE] = f"Deleted “{gone.title}”.{conferences}"
                    if st.session_state.get(SELECTED_CASE) == pending:
                        st.session_state[SELECTED_CASE] = None
                    st.rerun()
            if keep.button("Keep it", key=f"library_delete_cancel_{pending}"):
                st.session_state.pop(DELETE_PENDING, None)
                st.rerun()

modalities, tags = services.library_facets()
col_text, col_mod, col_tag = st.columns([3, 1, 1])
text = col_text.text_input("Search", placeholder="diagnosis, finding, tag…", key="library_search")
modality = col_mod.selectbox("Modality", ["All", *modalities], key="library_modality")
tag = col_tag.selectbox("Tag", ["All", *tags], key="library_tag")

with user_errors("Loading the library"):
    query = CaseFilter(text=text, modality="" if modality == "All" else modality, tag="" if tag == "All" else tag)
    total = services.count_cases(query)
    pages = max(1, -(-total // PAGE_SIZE))
    page = 1
    if pages > 1:
        page = int(st.number_input(f"Page (of {pages})", 1, pages, 1, key="library_page"))
    cases = services.case_summaries(replace(query, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE))
    if not cases:
        st.info("No cases match. Clear the filters, or add a study on the Import page.")
    st.caption(f"{total} case(s)")
    columns_per_row = 4
    for start in range(0, len(cases), columns_per_row):
        row = st.columns(columns_per_row)
        for column, case in zip(row, cases[start : start + columns_per_row], strict=False):
            with column.container(border=True):
                thumb = services.summary_thumbnail(case)
                if thumb:
                    st.image(thumb, width="stretch")
                st.markdown(f"**{plain(case.title)}**")
                st.caption(" · ".join(x for x in (case.modality, case.body_part, case.difficulty) if x))
                if case.tags:
                    st.caption(" ".join(f"#{plain(t)}" for t in case.tags))
                open_col, delete_col = st.columns(2)
                if open_col.button("Open", key=f"open_{case.id}", width="stretch"):
                    open_case(case.id)
                may_delete = services.may(Action.DELETE, case.sharing)  # the domain refuses it anyway
                if may_delete and delete_col.button("Delete case", key=f"delete_{case.id}", width="stretch"):
                    st.session_state[DELETE_PENDING] = case.id
                    st.rerun()
