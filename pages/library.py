"""Library: ranked search as you type (typos, British spellings, synonyms), filters with counts, delete."""

import streamlit as st

from casefiles.accounts.permissions import Action
from casefiles.errors import CaseDeckError, NotFoundError
from casefiles.search import SearchQuery
from pages.session import acting_services, routed
from pages.ui import SELECTED_CASE, case_labels, open_case, plain, short_id, user_errors

routed()  # app.py's routing decides first (sign-in, refusal, links): see pages.session.routed

#: The case whose deletion waits for confirmation, and the message of the last deletion.
DELETE_PENDING = "library_delete_pending"
DELETE_DONE = "library_delete_done"
#: Cases per page: a library of thousands lists as fast as one of four.
PAGE_SIZE = 48
ALL = "All"
#: Filter pickers: SearchQuery field, label, session key.
PICKERS = (
    ("modality", "Modality", "library_modality"),
    ("body_region", "Body region", "library_region"),
    ("category", "Category", "library_category"),
    ("difficulty", "Difficulty", "library_difficulty"),
    ("author", "Author", "library_author"),
)
#: What the last page was searched for: a new search starts again at page 1.
LAST_SEARCH = "library_last_search"

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
                f"Delete {deletion.summary(plain)}? Its files go too, unless another case uses them. "
                "This cannot be undone."
            )
            sure, keep = st.columns(2)
            if sure.button("Delete for good", type="primary", key=f"library_delete_confirm_{pending}"):
                st.session_state.pop(DELETE_PENDING, None)
                with user_errors("Deleting the case"):
                    try:
                        gone = services.delete_case(pending)
                    except CaseDeckError as exc:  # e.g. an export of it is being made: its message names titles
                        st.error(f"Deleting the case failed: {plain(str(exc))}")
                    else:
                        conferences = (
                            f" It was taken out of {', '.join(f'“{plain(t)}”' for t in gone.conferences)}."
                            if gone.conferences
                            else ""
                        )
                        st.session_state[DELETE_DONE] = f"Deleted “{plain(gone.title)}”.{conferences}"
                        if st.session_state.get(SELECTED_CASE) == pending:
                            st.session_state[SELECTED_CASE] = None
                        st.rerun()
            if keep.button("Keep it", key=f"library_delete_cancel_{pending}"):
                st.session_state.pop(DELETE_PENDING, None)
                st.rerun()

# Searches while typing (after a short pause); the best match comes first, then the newest.
text = st.text_input(
    "Search",
    placeholder="diagnosis, finding, tag… (typos and British spellings are fine)",
    key="library_search",
    type="search",
    live=True,
)
chosen = {field: st.session_state.get(key, ALL) for field, _, key in PICKERS}
filters = {field: ("" if value in (ALL, None) else str(value)) for field, value in chosen.items()}
signature = (text, *filters.values())
if st.session_state.get(LAST_SEARCH) != signature:
    st.session_state[LAST_SEARCH] = signature
    st.session_state["library_page"] = 1

with user_errors("Searching the library"):
    page = int(st.session_state.get("library_page", 1) or 1)
    results = services.search(
        SearchQuery(text=text or "", offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE, **filters)  # type: ignore[arg-type]
    )
    if results.total and not results.hits and page > 1:  # the library shrank under a later page
        st.session_state["library_page"] = 1
        st.rerun()

    # Each picker counts what choosing a value would find (the other filters and the words applied).
    columns = st.columns(len(PICKERS))
    for column, (field, label, key) in zip(columns, PICKERS, strict=True):
        counts: dict[str, int] = {f.value: f.count for f in results.facets.get(field, ())}
        current = filters[field]
        options = [ALL, *counts]
        if current and current not in counts:  # keep a choice that now finds nothing
            options.append(current)

        def shown(value: str, counts: dict[str, int] = counts) -> str:
            return value if value == ALL else f"{value} ({counts.get(value, 0)})"

        column.selectbox(label, options, key=key, format_func=shown)

    for note in results.notes:
        st.info(note)
    total = results.total
    pages = max(1, -(-total // PAGE_SIZE))
    if pages > 1:
        st.number_input(f"Page (of {pages})", 1, pages, key="library_page")
    if not results.hits:
        st.info("No cases match. Clear the filters, or add a study on the Import page.")
    ranked = " — best match first" if results.hits and any(h.score for h in results.hits) else ""
    st.caption(f"{total} case(s){ranked}")
    columns_per_row = 4
    hits = list(results.hits)
    # Cards name title · modality · date like every case picker; cards alike end with a short id.
    labels = case_labels([hit.summary for hit in hits])
    for start in range(0, len(hits), columns_per_row):
        row = st.columns(columns_per_row)
        for column, hit in zip(row, hits[start : start + columns_per_row], strict=False):
            case = hit.summary
            with column.container(border=True):
                thumb = services.summary_thumbnail(case)
                if thumb:
                    st.image(thumb, width="stretch")
                st.markdown(f"**{plain(case.title)}**")
                told = (case.modality, case.created.date().isoformat(), case.body_part, case.difficulty)
                st.caption(plain(" · ".join(x for x in (*told, short_id(labels[case.id])) if x)))
                if case.tags:
                    st.caption(" ".join(f"#{plain(t)}" for t in case.tags))
                open_col, delete_col = st.columns(2)
                if open_col.button("Open", key=f"open_{case.id}", width="stretch"):
                    open_case(case.id)
                may_delete = services.may(Action.DELETE, case.sharing)  # the domain refuses it anyway
                if may_delete and delete_col.button("Delete case", key=f"delete_{case.id}", width="stretch"):
                    st.session_state[DELETE_PENDING] = case.id
                    st.rerun()
