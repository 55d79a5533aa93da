"""From PACS: set up a node, find studies (accessions or patient + dates), tick them, retrieve de-identified."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from casefiles.accounts.permissions import Action, require
from casefiles.jobs import JobState
from casefiles.pacs import PacsNode
from casefiles.pacs.retrieval import StudyRequest
from casefiles.pacs_service import retrieval_job
from casefiles.services import CaseFilter
from pages.duplicate_panel import duplicate_warnings, merged_cases
from pages.session import acting_services, routed
from pages.ui import (
    app_receiver,
    conference_labels,
    get_jobs,
    job_panel,
    job_running,
    open_case,
    plain,
    start_app_receiver,
    stop_app_receiver,
    user_errors,
)

routed()  # app.py's routing decides first (sign-in, refusal, links): see pages.session.routed

FOUND = "pacs_found"  # StudyMatch list: PHI, this session's memory only
SERIES_CHOICE = "pacs_series_choice"  # study uid -> chosen series uids
JOB = "pacs_job"

services = acting_services()
pacs = services.pacs
st.title("From PACS")
st.caption(
    "Studies are retrieved into a quarantine, de-identified on arrival and only then stored; "
    "the quarantine is wiped after each study, also when a retrieval fails or is cancelled."
)
if not services.may(Action.PULL_FROM_PACS):
    st.info("Pulling studies from the PACS is for presenters, coordinators and admins.")
    st.stop()


# --- receive -----------------------------------------------------------------------------
def receive_section() -> None:
    """Start/stop the app's DICOM receiver and list the inbox; needs no PACS node."""
    st.divider()
    st.subheader("Receive from workstations (IHE Teaching File Export)")
    st.caption(
        "Radiologists send a study — with a Key Object Selection titled “For Teaching” or “For Conference” — "
        "from their PACS workstation to CaseDeck's AE title. Each study is de-identified on arrival and becomes a "
        "draft case tagged “inbox”; “For Conference” cases land in the “Conference inbox” conference."
    )
    receiver = app_receiver()
    if receiver is None:
        r1, r2, r3 = st.columns([2, 1, 1])
        receive_ae = r1.text_input("Our AE title", value="CASEDECK", key="receive_ae")
        receive_port = r2.number_input("Port", min_value=1, max_value=65535, value=11112, key="receive_port")
        where = st.radio(
            "Listen on",
            ["This computer only", "The hospital network (every address)"],
            horizontal=True,
            key="receive_where",
        )
        senders = st.text_input(
            "Accept only these senders' AE titles (comma separated; empty: any sender)",
            key="receive_allowed",
            help="Workstations and PACS that may send to CaseDeck. Strongly advised when listening on the network.",
        )
        if r3.button("Start receiving", key="receive_start"):
            with user_errors("Starting the receiver"):
                allowed = frozenset(t.strip() for t in senders.split(",") if t.strip()) or None
                host = "127.0.0.1" if where == "This computer only" else "0.0.0.0"  # noqa: S104 - asked for
                start_app_receiver(services.pacs, receive_ae.strip(), int(receive_port), host=host, allowed=allowed)
                st.rerun()
    else:

        @st.fragment(run_every=2.0)
        def receiver_status() -> None:
            status = receiver.status()
            st.success(
                f"Receiving on port {status.port}: {status.studies_filed} study(ies) filed, "
                f"{status.studies_waiting} arriving ({status.instances_waiting} image(s))."
            )
            if status.problems:
                st.warning(f"{status.problems} problem(s); the last: {status.last_problem}")

        receiver_status()
        if st.button("Stop receiving", key="receive_stop"):
            with user_errors("Stopping the receiver"):
                require(services.actor, Action.RUN_RECEIVER)
                stop_app_receiver()
                st.rerun()
    inbox = services.case_summaries(CaseFilter(tag="inbox", limit=20))
    if inbox:
        st.write(f"**Inbox** — {services.count_cases(CaseFilter(tag='inbox'))} draft case(s):")
        for case in inbox[:20]:
            if st.button(f"Open: {plain(case.title)}", key=f"inbox_open_{case.id}"):
                open_case(case.id)


# --- nodes -------------------------------------------------------------------------------
nodes = pacs.nodes()
with st.expander("PACS nodes", expanded=not nodes):
    with st.form("pacs_node_form"):
        c1, c2, c3, c4 = st.columns([2, 2, 2, 1])
        name = c1.text_input("Name", placeholder="Hospital PACS", key="pacs_name")
        ae = c2.text_input("PACS AE title", placeholder="ORTHANC", key="pacs_ae")
        host = c3.text_input("Host", placeholder="pacs.hospital.local", key="pacs_host")
        port = c4.number_input("Port", min_value=1, max_value=65535, value=104, key="pacs_port")
        d1, d2, d3 = st.columns([2, 1, 2])
        our_ae = d1.text_input("CaseDeck's AE title (register it on the PACS)", value="CASEDECK", key="pacs_our_ae")
        our_port = d2.number_input("CaseDeck's port", min_value=1, max_value=65535, value=11112, key="pacs_our_port")
        retrieve = d3.radio(
            "Retrieve with",
            ["get", "move"],
            format_func={"get": "C-GET (no setup on the PACS)", "move": "C-MOVE (PACS sends to our port)"}.get,
            horizontal=True,
            key="pacs_retrieve",
        )
        protocol = st.radio(
            "Protocol",
            ["dimse", "dicomweb"],
            format_func={"dimse": "DICOM (DIMSE)", "dicomweb": "DICOMweb (QIDO/WADO/STOW)"}.get,
            horizontal=True,
            key="pacs_protocol",
        )
        e1, e2, e3, e4 = st.columns([3, 1, 2, 2])
        base_url = e1.text_input(
            "DICOMweb base URL", placeholder="https://pacs.hospital.local/dicom-web", key="pacs_base_url"
        )
        auth = e2.selectbox("Sign-in", ["none", "basic", "bearer"], key="pacs_auth")
        username = e3.text_input("User name", key="pacs_user")
        secret = e4.text_input("Password or token", type="password", key="pacs_secret")
        f1, f2 = st.columns([1, 3])
        tls = f1.checkbox("DICOM over TLS", key="pacs_tls")
        ca_file = f2.text_input("CA certificate file (optional)", key="pacs_ca")
        if st.form_submit_button("Save node"):
            with user_errors("Saving the node"):
                common = {
                    "our_ae_title": our_ae.strip(),
                    "our_port": int(our_port),
                    "retrieve": retrieve,
                    "auth": auth,
                    "username": username.strip(),
                    "secret": secret,
                    "tls": tls,
                    "ca_file": ca_file.strip(),
                }
                if protocol == "dicomweb":
                    node = PacsNode.dicomweb(name.strip(), base_url, **common)
                else:
                    node = PacsNode(name.strip(), ae.strip(), host.strip(), int(port), **common)
                pacs.save_node(node)
                st.rerun()
    for node in nodes:
        left, right = st.columns([5, 1])
        where = node.base_url if node.protocol == "dicomweb" else f"{node.ae_title}@{node.host}:{node.port}"
        left.write(f"**{node.name}** — {where} · we are {node.our_ae_title}:{node.our_port}")
        if right.button("Remove", key=f"pacs_remove_{node.name}"):
            with user_errors("Removing the node"):
                pacs.delete_node(node.name)
                st.rerun()

if not nodes:
    st.info(
        "Add the PACS node above. Ask the PACS administrator to register CaseDeck's AE title, "
        "this computer's address and CaseDeck's port."
    )
    receive_section()
    st.stop()

node_name = st.selectbox("PACS", [n.name for n in nodes], key="pacs_node")
if st.button("Test connection", key="pacs_echo"):
    with user_errors("Testing the connection"):
        seconds = pacs.echo(node_name)
        st.success(f"{node_name} answered in {seconds * 1000:.0f} ms.")

# --- find --------------------------------------------------------------------------------
by_accession, by_patient = st.tabs(["Accession numbers", "Patient and dates"])
with by_accession:
    accessions_text = st.text_area("Accession numbers, one per line", key="pacs_accessions")
    accessions = [a.strip() for a in accessions_text.splitlines() if a.strip()]
    if st.button("Find studies", key="pacs_find", disabled=not accessions):
        with user_errors("Querying the PACS"):
            search = pacs.find_accessions(node_name, accessions)
            st.session_state[FOUND] = list(search.matches)
            st.session_state["pacs_find_problems"] = list(search.problems)
            st.session_state[SERIES_CHOICE] = {}
with by_patient:
    p1, p2, p3 = st.columns(3)
    patient_id = p1.text_input("Patient ID (MRN)", key="pacs_patient_id")
    patient_name = p2.text_input("Name (* and ? allowed)", placeholder="DOE^J*", key="pacs_patient_name")
    modality = p3.text_input("Modality", placeholder="CT", key="pacs_modality")
    q1, q2 = st.columns(2)
    date_from = q1.date_input("From", value=None, key="pacs_date_from")
    date_to = q2.date_input("To", value=None, key="pacs_date_to")
    if st.button("Search", key="pacs_search", disabled=not (patient_id or patient_name)):
        with user_errors("Querying the PACS"):
            st.session_state[FOUND] = pacs.find(
                node_name,
                patient_id=patient_id.strip(),
                patient_name=patient_name.strip(),
                date_from=date_from,
                date_to=date_to,
                modality=modality.strip().upper(),
            )
            st.session_state["pacs_find_problems"] = []
            st.session_state[SERIES_CHOICE] = {}

for problem in st.session_state.get("pacs_find_problems", []):
    st.warning(f"{problem.item.capitalize()}: {problem.reason}.")
found = st.session_state.get(FOUND)
chosen_requests: list[StudyRequest] = []
if found is not None and not found:
    st.warning("No study on this PACS matches.")
if found:
    # Shown to the registrar who asked; kept only in this session's memory, never stored.
    table = pd.DataFrame(
        [
            {
                "Retrieve": True,
                "Accession": m.accession,
                "Patient": m.patient_name,
                "Date": m.study_date,
                "Modality": "/".join(m.modalities),
                "Description": m.description,
                "Series": m.series_count,
                "Images": m.instance_count,
            }
            for m in found
        ]
    )
    edited = st.data_editor(
        table,
        hide_index=True,
        disabled=[c for c in table.columns if c != "Retrieve"],
        column_config={"Retrieve": st.column_config.CheckboxColumn("Retrieve", default=True)},
        key="pacs_results",
    )
    ticked = [m for m, keep in zip(found, edited["Retrieve"], strict=True) if keep]
    series_choice: dict[str, list[str]] = st.session_state.setdefault(SERIES_CHOICE, {})
    with st.expander("Choose series of a study (optional: all series are retrieved otherwise)"):
        labels = {m.study_uid: f"{m.accession} · {m.study_date} · {m.description}" for m in found}
        study_uid = st.selectbox("Study", list(labels), format_func=labels.get, key="pacs_series_study")
        if st.button("List its series", key="pacs_list_series"):
            with user_errors("Listing the series"):
                st.session_state["pacs_series_list"] = (study_uid, pacs.series(node_name, study_uid))
        listed = st.session_state.get("pacs_series_list")
        if listed and listed[0] == study_uid:
            options = {
                s.series_uid: f"{s.modality} #{s.series_number} {s.description} ({s.instance_count} images)"
                for s in listed[1]
            }
            picked = st.multiselect(
                "Series to retrieve",
                list(options),
                default=series_choice.get(study_uid, list(options)),
                format_func=options.get,
                key=f"pacs_series_pick_{study_uid}",
            )
            series_choice[study_uid] = picked if len(picked) < len(options) else []
    for match in ticked:
        chosen_requests.append(
            StudyRequest(
                match.study_uid,
                tuple(series_choice.get(match.study_uid, [])),
                expected_instances=None if series_choice.get(match.study_uid) else match.instance_count,
            )
        )

# --- retrieve ----------------------------------------------------------------------------
NEW = "New conference…"
NONE = "(do not gather in a conference)"
gather_labels = {NONE: NONE, NEW: NEW, **conference_labels(services.list_conferences())}
choice = st.selectbox(
    "Gather the cases in a conference",
    list(gather_labels),
    format_func=gather_labels.__getitem__,  # title · date · kind; equal ones told apart by a short id
    key="pacs_conference_choice",
)
conference_title = ""
gather_into: str | None = None
if choice == NEW:
    conference_title = st.text_input(
        "New conference title", placeholder="Tumor board 2026-11-26", key="pacs_conference"
    )
elif choice != NONE:
    gather_into = choice  # a conference's id

jobs = get_jobs()
busy = job_running(st.session_state.get(JOB))
if st.button(
    f"Retrieve {len(chosen_requests)} study(ies)" if chosen_requests else "Retrieve",
    type="primary",
    key="pacs_pull",
    disabled=not chosen_requests or busy,
):
    with user_errors("Starting the retrieval"):
        st.session_state[JOB] = jobs.submit(
            f"Retrieving {len(chosen_requests)} study(ies)",
            retrieval_job(
                pacs,
                node_name,
                chosen_requests,
                conference_title=conference_title.strip() or None,
                conference_id=gather_into,
            ),
        )
        st.rerun()


@st.fragment(run_every=1.0)
def retrieval_progress() -> None:
    job = st.session_state.get(JOB)
    if job is None:
        return
    snap = job_panel(job, cancel_key="pacs_cancel")
    if snap is None or not snap.state.finished:
        return
    if snap.state is JobState.CANCELLED:
        st.warning("The retrieval was cancelled; the quarantine was wiped. Studies finished before it were kept.")
    elif snap.state is JobState.FAILED:
        st.error(f"The retrieval failed: {snap.error}")
    if snap.result is not None:
        report, conference = snap.result
        st.success(
            f"{report.studies_retrieved} study(ies), {report.instances_imported} image(s) imported and de-identified"
            + (f", gathered in “{conference.title}”." if conference else ".")
        )
        for problem in report.problems:
            st.warning(f"{problem.item.capitalize()}: {problem.reason}")
        duplicate_warnings(services, report.duplicates, key="pacs_duplicate")
        merged = merged_cases()
        for case_id in dict.fromkeys(merged.get(c, c) for c in report.case_ids):
            with user_errors("Opening the case"):
                case = services.get_case(case_id)
                if st.button(f"Open case: {plain(case.title)}", key=f"pacs_open_{case_id}"):
                    open_case(case_id)


retrieval_progress()

receive_section()
