"""Import: upload files or a zip, or name a folder / CD on the server; everything is de-identified."""

import tempfile
from pathlib import Path

import streamlit as st

from casefiles.accounts.permissions import Action
from casefiles.ingest import ImportReport, Upload
from pages.duplicate_panel import duplicate_warnings, merged_cases
from pages.session import acting_services, routed
from pages.ui import LAST_IMPORT, open_case, plain, progress_bar, user_errors

routed()  # app.py's routing decides first (sign-in, refusal, links): see pages.session.routed

services = acting_services()
st.title("Import studies")
st.caption(
    "Every image is de-identified (DICOM PS3.15 Annex E, teaching-file profile) before it is stored. "
    "Identifiable originals are never kept."
)
if not services.may(Action.CREATE):
    st.info("Importing studies is for presenters, coordinators and admins; learners open shared cases.")
    st.stop()

upload_tab, folder_tab, package_tab = st.tabs(
    ["Upload files or a zip", "Folder or CD on this computer", "CaseDeck teaching-file package"]
)
with upload_tab:
    uploaded = st.file_uploader("DICOM files or a zip of a study", accept_multiple_files=True, key="import_uploads")
    upload_clicked = st.button("Import uploaded files", type="primary", key="import_upload_button")
with folder_tab:
    folder = st.text_input(
        "Folder, zip or DICOMDIR path", placeholder="/media/cdrom or /home/me/study.zip", key="import_folder"
    )
    folder_clicked = st.button("Import from folder", type="primary", key="import_folder_button")
with package_tab:
    package = st.file_uploader("A package exported by CaseDeck (.zip)", type=["zip"], key="import_package")
    if st.button("Import package", type="primary", key="import_package_button", disabled=package is None):
        report_progress, clear = progress_bar("Reading the package…")
        with user_errors("Package import"), tempfile.TemporaryDirectory(dir=services.settings.quarantine_dir) as tmp:
            path = Path(tmp) / "package.zip"
            path.write_bytes(package.getvalue())
            result = services.import_package(path, progress=report_progress)
            st.success(f"{len(result.case_ids)} case(s) imported, in a new conference.")
            for problem in result.problems:
                st.warning(f"{problem.item}: {problem.reason}")
        clear()
title = st.text_input("Case title (optional)", key="import_title")

sources: list[Path | Upload] = []
if upload_clicked:
    if not uploaded:
        st.warning("Choose one or more files first (or drop a zip of the study).")
    sources = [Upload(name=f.name, data=f.getvalue()) for f in uploaded or []]
if folder_clicked:
    if not folder.strip():
        st.warning("Type the path of a folder, zip or DICOMDIR first.")
    else:
        path = Path(folder.strip()).expanduser()
        if not path.exists():
            st.error("That path does not exist on this computer. Check the spelling, or that the CD is mounted.")
        else:
            sources = [path]

if sources:
    st.button("Cancel import", key="import_cancel")  # clicking it reruns the page, which stops the import
    report_progress, clear = progress_bar("Reading files…")
    with user_errors("Import"):
        report = services.import_dicom(sources, title=title.strip() or None, progress=report_progress)
        st.session_state[LAST_IMPORT] = report
    clear()

last: ImportReport | None = st.session_state.get(LAST_IMPORT)
if last is not None:
    st.subheader("Import report")
    cols = st.columns(4)
    cols[0].metric("Files read", last.files_seen)
    cols[1].metric("Images imported", last.instances_imported)
    cols[2].metric("Duplicates skipped", last.duplicates_skipped)
    cols[3].metric("Problems", len(last.problems))
    deid = last.deid
    st.caption(
        f"De-identification: {deid.removed} removed, {deid.emptied} emptied, {deid.replaced} replaced, "
        f"{deid.cleaned} cleaned, {deid.uids_remapped} UIDs remapped, {deid.dates_shifted} dates shifted, "
        f"{deid.private_removed} private elements removed."
    )
    if last.burned_in_flagged:
        st.warning(
            f"{last.burned_in_flagged} image(s) may have text burned into the pixels (e.g. ultrasound banners). "
            "Check them before presenting."
        )
    if last.problems:
        st.dataframe(
            [{"Item": p.item, "Problem": p.reason} for p in last.problems],
            hide_index=True,
            key="import_problems",
        )
    if last.duplicates:
        st.subheader("Already in the library")
        duplicate_warnings(services, last.duplicates, key="import_duplicate")
    merged = merged_cases()
    for case_id in dict.fromkeys(merged.get(c, c) for c in last.case_ids):
        with user_errors("Opening the case"):
            case = services.get_case(case_id)
            if st.button(f"Open case: {plain(case.title)}", key=f"import_open_{case_id}"):
                open_case(case_id)
