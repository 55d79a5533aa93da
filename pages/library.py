"""Library: every case at a glance, filtered by text, modality or tag."""

import streamlit as st

from casefiles.services import CaseFilter
from pages.ui import get_services, open_case, user_errors

services = get_services()
st.title("Case library")

modalities, tags = services.library_facets()
col_text, col_mod, col_tag = st.columns([3, 1, 1])
text = col_text.text_input("Search", placeholder="diagnosis, finding, tag…", key="library_search")
modality = col_mod.selectbox("Modality", ["All", *modalities], key="library_modality")
tag = col_tag.selectbox("Tag", ["All", *tags], key="library_tag")

with user_errors("Loading the library"):
    cases = services.list_cases(
        CaseFilter(text=text, modality="" if modality == "All" else modality, tag="" if tag == "All" else tag)
    )
    if not cases:
        st.info("No cases match. Clear the filters, or add a study on the Import page.")
    st.caption(f"{len(cases)} case(s)")
    columns_per_row = 4
    for start in range(0, len(cases), columns_per_row):
        row = st.columns(columns_per_row)
        for column, case in zip(row, cases[start : start + columns_per_row], strict=False):
            with column.container(border=True):
                thumb = services.case_thumbnail(case)
                if thumb:
                    st.image(thumb, width="stretch")
                st.markdown(f"**{case.title}**")
                st.caption(" · ".join(x for x in (case.modality, case.body_part, case.difficulty.value) if x))
                if case.tags:
                    st.caption(" ".join(f"#{t}" for t in case.tags))
                if st.button("Open", key=f"open_{case.id}", width="stretch"):
                    open_case(case.id)
