"""From PACS: configure a node, test it, find studies by accession and retrieve them (de-identified)."""

import streamlit as st

from casefiles.pacs import PacsNode, echo, find_studies
from pages.ui import get_services, open_case, progress_bar, user_errors

services = get_services()
st.title("From PACS")
st.caption(
    "Studies are retrieved into a quarantine, de-identified on arrival and only then stored; "
    "the quarantine is wiped after each study."
)

nodes = services.pacs_nodes()
with st.expander("PACS nodes", expanded=not nodes), st.form("pacs_node_form"):
    c1, c2, c3, c4 = st.columns([2, 2, 2, 1])
    name = c1.text_input("Name", placeholder="Hospital PACS", key="pacs_name")
    ae = c2.text_input("PACS AE title", placeholder="ORTHANC", key="pacs_ae")
    host = c3.text_input("Host", placeholder="pacs.hospital.local", key="pacs_host")
    port = c4.number_input("Port", min_value=1, max_value=65535, value=104, key="pacs_port")
    d1, d2 = st.columns(2)
    our_ae = d1.text_input("CaseDeck's AE title (register it on the PACS)", value="CASEDECK", key="pacs_our_ae")
    our_port = d2.number_input("CaseDeck's port", min_value=1, max_value=65535, value=11112, key="pacs_our_port")
    if st.form_submit_button("Save node"):
        with user_errors("Saving the node"):
            services.save_pacs_node(
                PacsNode(name.strip(), ae.strip(), host.strip(), int(port), our_ae.strip(), int(our_port))
            )
            st.rerun()

if not nodes:
    st.info("Add the PACS node above (ask the PACS administrator to register CaseDeck's AE title and port).")
    st.stop()

node_name = st.selectbox("PACS", [n.name for n in nodes], key="pacs_node")
if st.button("Test connection", key="pacs_echo"):
    with user_errors("Testing the connection"):
        seconds = echo(services.pacs_node(node_name))
        st.success(f"{node_name} answered in {seconds * 1000:.0f} ms.")

accessions_text = st.text_area("Accession numbers, one per line", key="pacs_accessions")
accessions = [a.strip() for a in accessions_text.splitlines() if a.strip()]
if st.button("Find studies", key="pacs_find", disabled=not accessions):
    with user_errors("Querying the PACS"):
        node = services.pacs_node(node_name)
        rows = []
        for accession in accessions:
            for match in find_studies(node, accession=accession):
                rows.append(
                    {
                        "Accession": match.accession,
                        "Date": match.study_date,
                        "Modality": match.modalities,
                        "Description": match.description,
                        "Images": match.instance_count,
                    }
                )
        # Shown to the registrar who asked; kept only in this session's memory, never stored.
        st.session_state["pacs_matches"] = rows
matches = st.session_state.get("pacs_matches")
if matches is not None:
    if matches:
        st.dataframe(matches, hide_index=True, key="pacs_match_table")
    else:
        st.warning("No study matches these accession numbers on this PACS.")

conference_title = st.text_input("Gather the cases in conference (optional)", key="pacs_conference")
if st.button("Retrieve", type="primary", key="pacs_pull", disabled=not accessions):
    st.button("Cancel retrieval", key="pacs_cancel")  # clicking it reruns the page, which stops the retrieval
    report_progress, clear = progress_bar("Retrieving…")
    with user_errors("Retrieval"):
        report, conference = services.pull_from_pacs(
            node_name, accessions, conference_title=conference_title.strip() or None, progress=report_progress
        )
        st.session_state["pacs_result"] = (report, conference.title if conference else None)
    clear()

result = st.session_state.get("pacs_result")
if result is not None:
    report, conference_name = result
    st.success(
        f"{report.studies_retrieved} study(ies), {report.instances_imported} image(s) imported and de-identified"
        + (f", gathered in “{conference_name}”." if conference_name else ".")
    )
    for problem in report.problems:
        st.warning(f"{problem.item}: {problem.reason}")
    for case_id in report.case_ids:
        with user_errors("Opening the case"):
            case = services.get_case(case_id)
            if st.button(f"Open case: {case.title}", key=f"pacs_open_{case_id}"):
                open_case(case_id)
