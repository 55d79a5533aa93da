"""The warning after an import that brought studies already in the library (issue #17). Not a page itself.

Used by the Import page and the From PACS page: for each study the report
names, which case already holds it, how many images were there already and
how many are new, with "Open the existing case" and, when the images went
into a case of their own, "Merge into it" (``merge_cases(existing, new)``:
EDIT on the existing case, DELETE on the new one). A case the person may not
open is not named. The cases merged away are remembered for the session, so
the pages stop offering to open them.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from casefiles.accounts.permissions import Action
from casefiles.acting.guard import ActingServices
from casefiles.errors import CaseDeckError
from casefiles.ingest import DuplicateStudy
from casefiles.model import Case
from pages.ui import open_case, plain, user_errors

#: Session key: {case merged away -> the case it was merged into}.
MERGED = "duplicate_merged_cases"


def merged_cases() -> dict[str, str]:
    """The cases merged away from this session's duplicate warnings, and where they went."""
    merged: dict[str, str] = st.session_state.setdefault(MERGED, {})
    return merged


def _now(case_id: str) -> str:
    """Where a case is now: the case it was merged into, if it was."""
    merged = merged_cases()
    seen: set[str] = set()
    while case_id in merged and case_id not in seen:
        seen.add(case_id)
        case_id = merged[case_id]
    return case_id


def _opened(services: ActingServices, case_id: str) -> Case | None:
    """The case if this person may see it (else None: it is not named)."""
    if not case_id:
        return None
    try:
        case: Case = services.get_case(case_id)
    except CaseDeckError:  # gone, or not theirs to see
        return None
    return case


def duplicate_warnings(services: ActingServices, duplicates: Sequence[DuplicateStudy], *, key: str) -> None:
    """One warning per study already in the library, with its buttons; ``key`` keeps widget keys apart."""
    count = len(duplicates)
    for number, duplicate in enumerate(duplicates, start=1):
        study = "The study" if count == 1 else f"Study {number} of {count}"
        with st.container(border=True):
            _one(services, duplicate, study, key=f"{key}_{number}")


def _counts(duplicate: DuplicateStudy) -> str:
    parts = []
    if duplicate.instances_already:
        parts.append(f"{duplicate.instances_already} image(s) of it were there already and were skipped")
    if duplicate.instances_new:
        parts.append(f"{duplicate.instances_new} image(s) are new")
    return ("; ".join(parts) + ".") if parts else ""


def _one(services: ActingServices, duplicate: DuplicateStudy, study: str, *, key: str) -> None:
    landed = _now(duplicate.case_id) if duplicate.case_id else ""
    existing_ids = list(dict.fromkeys(_now(c) for c in duplicate.existing_case_ids))
    shown = [(i, c) for i in existing_ids if (c := _opened(services, i)) is not None]
    if not shown:
        st.warning(
            f"{study} is already in the library, in a case you cannot open. {_counts(duplicate)} "
            "Ask a coordinator if you need it."
        )
        return
    here = _opened(services, landed) if landed else None
    for existing_id, existing in shown:
        name = f"“{plain(existing.title)}”"
        if existing_id == landed:
            st.warning(f"{study} is already in the library, in {name}. {_counts(duplicate)}")
        elif landed in existing_ids:
            st.warning(f"{study} is also in {name}, another case of the library.")
        elif here is not None:
            st.warning(
                f"{study} is already in the library, in {name}; this import put it in a separate case, "
                f"“{plain(here.title)}”. {_counts(duplicate)} Merge it into the existing case to keep one case."
            )
        else:
            st.warning(f"{study} is already in the library, in {name}. {_counts(duplicate)}")
        cols = st.columns(2)
        if cols[0].button("Open the existing case", key=f"{key}_open_{existing_id}"):
            open_case(existing_id)
        if here is None or existing_id == landed:
            continue
        may_merge = services.may(Action.EDIT, existing.sharing) and services.may(Action.DELETE, here.sharing)
        if not may_merge:
            cols[1].caption("Merging needs the right to edit the existing case and to delete the new one.")
            continue
        if cols[1].button("Merge into it", key=f"{key}_merge_{existing_id}"):
            with user_errors("Merging the cases"):
                services.merge_cases(existing_id, here.id)
                merged_cases()[here.id] = existing_id
                st.success(f"Merged: the images and notes of “{plain(here.title)}” are now in {name}.")
                here = None
