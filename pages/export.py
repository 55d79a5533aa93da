"""Export: a case as a conference-ready PowerPoint deck."""

import tempfile
from pathlib import Path

import streamlit as st

from casefiles.jobs import JobState
from pages.session import acting_services, routed
from pages.ui import (
    get_jobs,
    job_panel,
    job_running,
    pick_case,
    progress_bar,
    release_panel,
    user_errors,
)

routed()  # app.py's routing decides first (sign-in, refusal, links): see pages.session.routed

services = acting_services()
st.title("Export")
case = pick_case(services, key="export_case")
st.caption(f"{len(case.key_images)} key image(s) · format: PowerPoint (16:9)")
releasable = release_panel(services.release_blockers(case.id), key="export_release")
if not case.key_images:
    st.warning("This case has no key images yet: the deck will have text slides only. Pick them on the Case page.")

if st.button("Build PowerPoint deck", type="primary", key="export_build", disabled=not releasable):
    report_progress, clear = progress_bar("Building slides…")
    with user_errors("Export"), tempfile.TemporaryDirectory() as tmp:
        out = services.export_case_pptx(case.id, Path(tmp) / "case.pptx", progress=report_progress)
        st.session_state["export_bytes"] = (case.id, out.read_bytes(), case)
    clear()

ready = st.session_state.get("export_bytes")
if ready and ready[-1] != case:  # another case, or this one changed since: that deck is not this case's
    del st.session_state["export_bytes"]
elif ready:
    st.success("The deck is ready.")
    st.download_button(
        "Download deck (.pptx)",
        ready[1],
        file_name=f"casedeck-{case.id}.pptx",
        mime="application/vnd.openxmlformats-officedocument.presentationml.presentation",
        key="export_download",
    )

st.divider()
st.subheader("Send to a PACS")
nodes = services.pacs.nodes()
if not nodes:
    st.caption("Add a teaching or “clean” PACS node on the From PACS page to send de-identified cases to it.")
else:
    target = st.selectbox("PACS node", [n.name for n in nodes], key="push_node")
    st.caption("Only the de-identified images stored in CaseDeck are sent, never the originals.")
    push_job = st.session_state.get("push_job")
    if st.button("Send case", key="push_send", disabled=job_running(push_job) or not releasable):
        case_id = case.id
        st.session_state["push_job"] = get_jobs().submit(
            "Sending the case",
            lambda ctx: services.pacs.push_case(case_id, target, progress=ctx.progress, cancel=ctx.cancel),
        )
        st.rerun()

    @st.fragment(run_every=1.0)
    def push_progress() -> None:
        job = st.session_state.get("push_job")
        if job is None:
            return
        snap = job_panel(job, cancel_key="push_cancel")
        if snap is None or not snap.state.finished:
            return
        if snap.state is JobState.FAILED:
            st.error(f"Sending failed: {snap.error}")
        elif snap.state is JobState.CANCELLED:
            st.warning("Sending was cancelled; the images sent before it stay on the PACS.")
        elif snap.result is not None:
            result = snap.result
            if result.failed:
                st.warning(f"{result.sent} image(s) sent; the PACS refused {result.failed}.")
            else:
                st.success(f"{result.sent} image(s) sent to the PACS.")

    push_progress()
