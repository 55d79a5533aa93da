"""Safety: what the release gate holds back across the library, and the re-check with current rules."""

import streamlit as st

from casefiles.jobs import JobState
from pages.session import acting_services, routed
from pages.ui import get_jobs, job_panel, job_running, release_panel

routed()  # app.py's routing decides first (sign-in, refusal, links): see pages.session.routed

services = acting_services()
st.title("Safety")
st.caption(
    "Nothing leaves CaseDeck (deck, handout, show, package, PACS push) unless every image and text in it "
    "has been vouched for: screened and cleaned by the current rules, or looked at by a person."
)

blockers = services.library_blockers()
held_cases = len({b.case_id for b in blockers})
if release_panel(blockers, key="safety_release"):
    st.success("Every case in the library may be exported.")
else:
    st.caption(f"{held_cases} case(s) held back.")

st.subheader("Re-check the library")
st.write(
    "Cleans the text of every stored image and case title again with the current rules and screens the "
    "images again for burned-in text; images that now look like they may show a name wait for review. "
    "Run it after CaseDeck was updated. What people typed (history, findings, captions) is not changed."
)
recheck_job = st.session_state.get("recheck_job")
if st.button("Re-check the library", type="primary", key="safety_recheck", disabled=job_running(recheck_job)):
    st.session_state["recheck_job"] = get_jobs().submit(
        "Re-checking the library", lambda ctx: services.recheck(progress=ctx.progress, cancel=ctx.cancel)
    )
    st.rerun()


@st.fragment(run_every=1.0)
def recheck_progress() -> None:
    job = st.session_state.get("recheck_job")
    if job is None:
        return
    snap = job_panel(job, cancel_key="recheck_cancel")
    if snap is None or not snap.state.finished:
        return
    if snap.state is JobState.FAILED:
        st.error(f"The re-check failed: {snap.error}")
    elif snap.state is JobState.CANCELLED:
        st.warning("The re-check was cancelled; the cases finished before it keep their new state.")
    elif snap.result is not None:
        st.success(snap.result.summary())


recheck_progress()
