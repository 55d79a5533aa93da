"""Conferences: put cases in order, choose what each shows, preview, export or present."""

import datetime as dt
import tempfile
from pathlib import Path

import streamlit as st

from casefiles.model import CasePlan, ConferenceKind
from pages.ui import get_services, progress_bar, release_panel, user_errors

services = get_services()
st.title("Conferences")
done = st.session_state.pop("conf_edit_done", None)
if done:
    st.success(done)

FORMATS = {
    "pptx": ("PowerPoint deck (.pptx)", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    "pdf": ("PDF handout (.pdf)", "application/pdf"),
    "html": ("Offline slide show (.html)", "text/html"),
    "package": ("Teaching-file package (.zip)", "application/zip"),
}

with st.expander("New conference", expanded=not services.list_conferences()), st.form("new_conference"):
    title = st.text_input("Title", placeholder="Tumor board, Thu 26 Nov", key="conf_new_title")
    c1, c2 = st.columns(2)
    kind = c1.selectbox("Kind", list(ConferenceKind), format_func=lambda k: k.label, key="conf_new_kind")
    date = c2.date_input("Date", value=dt.date.today(), key="conf_new_date")
    presenters = st.text_input("Presenter(s), comma separated", key="conf_new_presenters")
    cases = services.list_cases()
    chosen = st.multiselect(
        "Cases", [c.id for c in cases], format_func=lambda i: services.get_case(i).title, key="conf_new_cases"
    )
    if st.form_submit_button("Create conference", type="primary"):
        if not title.strip():
            st.warning("Give the conference a title.")
        else:
            with user_errors("Creating the conference"):
                created = services.create_conference(
                    title, kind, date=date, presenters=presenters.split(","), case_ids=chosen
                )
                st.session_state["conference_id"] = created.id
                st.rerun()

conferences = services.list_conferences()
if not conferences:
    st.info("No conferences yet: create one above, then add cases from the library.")
    st.stop()

ids = [c.id for c in conferences]
current = st.session_state.get("conference_id")
conference_id = st.selectbox(
    "Conference",
    ids,
    index=ids.index(current) if current in ids else 0,
    format_func=lambda i: next(c.title for c in conferences if c.id == i),
    key="conf_picker",
)
st.session_state["conference_id"] = conference_id
conference = services.get_conference(conference_id)
bundle = services.bundle(conference_id)
st.caption(
    " · ".join(
        x
        for x in (
            conference.kind.label,
            conference.date.strftime("%a %d %b %Y") if conference.date else "",
            ", ".join(conference.presenters),
            f"{len(conference.items)} case(s)",
        )
        if x
    )
)

with st.expander("Edit or delete this conference"):
    # Keys carry the conference id: the form always shows the conference it edits.
    with st.form(f"conf_edit_{conference.id}"):
        new_title = st.text_input("Title", conference.title, key=f"conf_edit_title_{conference.id}")
        e1, e2 = st.columns(2)
        kinds = list(ConferenceKind)
        new_kind = e1.selectbox(
            "Kind",
            kinds,
            index=kinds.index(conference.kind),
            format_func=lambda k: k.label,
            key=f"conf_edit_kind_{conference.id}",
        )
        new_date = e2.date_input("Date", conference.date, key=f"conf_edit_date_{conference.id}")
        if st.form_submit_button("Save changes"):
            with user_errors("Saving the conference"):
                services.update_conference(
                    conference.id, {"title": new_title, "kind": new_kind, "date": new_date or None}
                )
                st.session_state["conf_edit_done"] = "Conference saved."
                st.rerun()
    asking = st.session_state.get("conf_delete_pending") == conference.id
    if not asking and st.button("Delete conference", key=f"conf_delete_{conference.id}"):
        st.session_state["conf_delete_pending"] = conference.id
        st.rerun()
    if asking:
        st.warning(
            f"Delete the conference “{conference.title}” ({len(conference.items)} case(s))? "
            "Its cases stay in the library. This cannot be undone."
        )
        sure, keep = st.columns(2)
        if sure.button("Delete for good", type="primary", key=f"conf_delete_confirm_{conference.id}"):
            st.session_state.pop("conf_delete_pending", None)
            with user_errors("Deleting the conference"):
                gone = services.delete_conference(conference.id)
                st.session_state.pop("conference_id", None)
                st.session_state["conf_edit_done"] = (
                    f"Deleted the conference “{gone.title}”; its cases stay in the library."
                )
                st.rerun()
        if keep.button("Keep it", key=f"conf_delete_cancel_{conference.id}"):
            st.session_state.pop("conf_delete_pending", None)
            st.rerun()

releasable = release_panel(services.release_blockers(conference.id), key="conf_release")
if st.button(
    "Present",
    key="conf_present",
    help="Show the conference as a slide show in this window",
    disabled=not releasable,
):
    report_progress, clear = progress_bar("Preparing the show…")
    with user_errors("Preparing the show"), tempfile.TemporaryDirectory() as tmp:
        show = services.export(
            conference.id, "html", Path(tmp) / "show.html", way_out="presentation", progress=report_progress
        )
        st.session_state["conf_show"] = (conference.id, show.read_text(encoding="utf-8"))
    clear()
show_state = st.session_state.get("conf_show")
if show_state and show_state[0] == conference.id:
    st.caption("Click the show, then use ← → to move and the mouse wheel to scroll stacks; F for full screen.")
    st.iframe(show_state[1], height=720) if hasattr(st, "iframe") else st.components.v1.html(show_state[1], height=720)

others = [c for c in services.list_cases() if c.id not in conference.case_ids]
add_col, button_col = st.columns([4, 1])
to_add = add_col.multiselect(
    "Add cases", [c.id for c in others], format_func=lambda i: services.get_case(i).title, key="conf_add"
)
if button_col.button("Add", key="conf_add_button", disabled=not to_add):
    with user_errors("Adding cases"):
        services.add_cases(conference.id, to_add)
        st.rerun()

st.subheader("Running order")
for index, (case, plan) in enumerate(bundle.entries()):
    with st.container(border=True):
        head, up, down, remove = st.columns([8, 1, 1, 1])
        head.markdown(f"**{index + 1}. {case.title}**  \n{case.modality} · {len(case.key_images)} key image(s)")
        if up.button("↑", key=f"conf_up_{case.id}", disabled=index == 0, help="Move earlier"):
            services.move_case(conference.id, case.id, index - 1)
            st.rerun()
        if down.button("↓", key=f"conf_down_{case.id}", disabled=index == len(bundle.cases) - 1, help="Move later"):
            services.move_case(conference.id, case.id, index + 1)
            st.rerun()
        if remove.button("✕", key=f"conf_remove_{case.id}", help="Remove from this conference"):
            services.remove_case(conference.id, case.id)
            st.rerun()
        p1, p2, p3 = st.columns([4, 1, 1])
        labels = [k.caption or f"{case.asset(k.asset_id).label} · image {k.frame + 1}" for k in case.key_images]
        picked = p1.multiselect(
            "Key images to show",
            list(range(len(labels))),
            default=list(plan.key_images) if plan.key_images is not None else list(range(len(labels))),
            format_func=lambda i, labels=labels: labels[i],
            key=f"conf_keys_{case.id}",
        )
        reveal = p2.checkbox("Quiz reveal", plan.reveal, key=f"conf_reveal_{case.id}")
        stacks = p3.checkbox("Stack clips", plan.stacks, key=f"conf_stacks_{case.id}")
        new_plan = CasePlan(
            case.id,
            key_images=None if picked == list(range(len(labels))) else tuple(picked),
            reveal=reveal,
            stacks=stacks,
        )
        if new_plan != plan:
            services.set_plan(conference.id, new_plan)
            st.rerun()

with st.expander("Slide preview"):
    outline = [f"Title: {conference.title}", "Agenda"]
    for index, (case, plan) in enumerate(bundle.entries()):
        shown = plan.chosen(case)
        outline.append(f"Case {index + 1}: {'(title hidden until the reveal)' if plan.reveal else case.title}")
        outline.append("  · Clinical history")
        outline.append(f"  · {len(shown)} image slide(s)" + (" + stack clips" if plan.stacks else ""))
        outline.append("  · Answer: diagnosis and findings" if plan.reveal else "  · Findings and diagnosis")
        outline.append("  · Teaching points")
    outline.append("Questions?")
    st.code("\n".join(outline), language=None)

st.subheader("Export")
fmt = st.radio("Format", list(FORMATS), format_func=lambda f: FORMATS[f][0], horizontal=True, key="conf_format")
template = None
if fmt == "pptx":
    template = st.file_uploader(
        "Institution template (.potx or .pptx, optional)", type=["potx", "pptx"], key="conf_template"
    )
# What an export is made from (by value: timestamps are only to the second): its download is offered
# only while the format, the template, the conference and its cases are still these.
made_for = (fmt, template.file_id if template is not None else None, conference, bundle.cases)
if st.button("Export", type="primary", key="conf_export", disabled=not releasable):
    st.button("Cancel export", key="conf_export_cancel")  # clicking it reruns the page, which stops the export
    report_progress, clear = progress_bar("Preparing slides…")
    with user_errors("Export"), tempfile.TemporaryDirectory() as tmp:
        template_path = None
        if template is not None:
            template_path = Path(tmp) / f"template.{template.name.rsplit('.', 1)[-1].lower()}"
            template_path.write_bytes(template.getvalue())
        suffix = {"pptx": "pptx", "pdf": "pdf", "html": "html", "package": "zip"}[fmt]
        out = services.export(
            conference.id, fmt, Path(tmp) / f"conference.{suffix}", template=template_path, progress=report_progress
        )
        st.session_state["conf_export_result"] = (conference.id, fmt, suffix, out.read_bytes(), made_for)
    clear()

result = st.session_state.get("conf_export_result")
if result and result[-1] != made_for:  # another format, template or conference, or it changed since
    del st.session_state["conf_export_result"]
elif result:
    _, done_fmt, suffix, data, _ = result
    st.success(f"{FORMATS[done_fmt][0]} is ready.")
    st.download_button(
        f"Download {FORMATS[done_fmt][0]}",
        data,
        file_name=f"casedeck-conference-{conference.id}.{suffix}",
        mime=FORMATS[done_fmt][1],
        key="conf_download",
    )
