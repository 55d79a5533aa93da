"""Export: a case as a conference-ready PowerPoint deck."""

import tempfile
from pathlib import Path

import streamlit as st

from pages.ui import get_services, pick_case, progress_bar, user_errors

services = get_services()
st.title("Export")
case = pick_case(services, key="export_case")
st.caption(f"{len(case.key_images)} key image(s) · format: PowerPoint (16:9)")
if services.images_for_review(case):
    st.warning(
        "Some images of this case have not been reviewed for burned-in patient details yet. "
        "Review them on the Case page before presenting."
    )
if not case.key_images:
    st.warning("This case has no key images yet: the deck will have text slides only. Pick them on the Case page.")

if st.button("Build PowerPoint deck", type="primary", key="export_build"):
    report_progress, clear = progress_bar("Building slides…")
    with user_errors("Export"), tempfile.TemporaryDirectory() as tmp:
        out = services.export_case_pptx(case.id, Path(tmp) / "case.pptx", progress=report_progress)
        st.session_state["export_bytes"] = (case.id, out.read_bytes())
    clear()

ready = st.session_state.get("export_bytes")
if ready and ready[0] == case.id:
    st.success("The deck is ready.")
    st.download_button(
        "Download deck (.pptx)",
        ready[1],
        file_name=f"casedeck-{case.id}.pptx",
        mime="application/vnd.openxmlformats-officedocument.presentationml.presentation",
        key="export_download",
    )
