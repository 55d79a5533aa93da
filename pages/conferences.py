"""Conferences: put cases in order, choose what each shows, preview, export or present.

The conference shown is the URL's (``?conference=<id>``) and every widget that edits it has its id
in its key, so a rerun, a picker change, back/forward or a second tab never writes what was typed
or ticked for one conference into another. Edits carry the conference as shown and are refused
(with a way to reload) when another tab changed the same thing meanwhile.
"""

import datetime as dt
import tempfile
from pathlib import Path

import streamlit as st

from casefiles.errors import CaseDeckError, StaleEditError
from casefiles.model import Case, CasePlan, Conference, ConferenceKind
from pages.session import acting_services, routed
from pages.sharing_panel import sharing_panel
from pages.ui import (
    case_labels,
    case_thumbnails,
    pick_conference,
    plain,
    progress_bar,
    release_panel,
    show_conference,
    user_errors,
)

routed()  # app.py's routing decides first (sign-in, refusal, links): see pages.session.routed

#: The edit form's fields: conference attribute -> widget key prefix (the key ends with the conference id).
EDIT_FIELDS = {"title": "conf_edit_title", "kind": "conf_edit_kind", "date": "conf_edit_date"}

services = acting_services()
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


def ckey(conference_id: str, name: str) -> str:
    """A widget or session key bound to one conference."""
    return f"{name}_{conference_id}"


def fill_edit_form(conference: Conference) -> None:
    """Put the conference into the edit form's widgets and remember it as what the form was filled from."""
    for field, prefix in EDIT_FIELDS.items():
        st.session_state[ckey(conference.id, prefix)] = getattr(conference, field)
    st.session_state[ckey(conference.id, "conf_edit_loaded")] = conference


def reload_edit_form(conference_id: str) -> None:
    """Fill the form again from the stored conference (what was typed and not saved is dropped)."""
    st.session_state.pop(ckey(conference_id, "conf_edit_refused"), None)
    fill_edit_form(acting_services().get_conference(conference_id))


def _edited(conference: Conference) -> tuple[object, ...]:
    return tuple(getattr(conference, field) for field in EDIT_FIELDS)


def plan_keys(conference_id: str, case_id: str) -> tuple[str, str, str, str]:
    """Keys of one case's plan widgets (key images, reveal, stacks) and of the plan they show."""
    keys, reveal, stacks, shown = (
        ckey(conference_id, f"{name}_{case_id}")
        for name in ("conf_keys", "conf_reveal", "conf_stacks", "conf_plan_shown")
    )
    return keys, reveal, stacks, shown


def show_plan(conference_id: str, plan: CasePlan, key_count: int) -> None:
    """Set one case's plan widgets to ``plan`` unless they already show it (then what was ticked stays)."""
    keys, reveal, stacks, shown = plan_keys(conference_id, plan.case_id)
    if st.session_state.get(shown) == plan and keys in st.session_state:
        return
    chosen = plan.key_images if plan.key_images is not None else range(key_count)
    st.session_state[keys] = [i for i in chosen if i < key_count]  # a key image unmarked since is not offered
    st.session_state[reveal] = plan.reveal
    st.session_state[stacks] = plan.stacks
    st.session_state[shown] = plan


def plan_changed(conference_id: str, case_id: str, key_count: int, loaded: Conference) -> None:
    """A plan widget changed: save the case's plan, made on the conference as shown (``loaded``)."""
    keys, reveal, stacks, shown = plan_keys(conference_id, case_id)
    picked = list(st.session_state[keys])
    plan = CasePlan(
        case_id,
        key_images=None if picked == list(range(key_count)) else tuple(picked),
        reveal=bool(st.session_state[reveal]),
        stacks=bool(st.session_state[stacks]),
    )
    try:
        acting_services().set_plan(conference_id, plan, loaded=loaded)
    except StaleEditError as exc:  # the widgets go back to the stored plan on this rerun
        st.session_state[ckey(conference_id, "conf_plan_refused")] = str(exc)
    else:
        st.session_state[shown] = plan


with st.expander("New conference", expanded=not services.list_conferences()):
    # The cases are picked outside the form, so their pictures follow the choice as it is made.
    cases = services.case_summaries()
    labels_by_id = case_labels(cases)
    chosen = st.multiselect("Cases", [c.id for c in cases], format_func=labels_by_id.__getitem__, key="conf_new_cases")
    by_id = {c.id: c for c in cases}
    case_thumbnails(services, [by_id[i] for i in chosen], labels_by_id)  # in the order chosen
    with st.form("new_conference"):
        title = st.text_input("Title", placeholder="Tumor board, Thu 26 Nov", key="conf_new_title")
        c1, c2 = st.columns(2)
        kind = c1.selectbox("Kind", list(ConferenceKind), format_func=lambda k: k.label, key="conf_new_kind")
        date = c2.date_input("Date", value=dt.date.today(), key="conf_new_date")
        presenters = st.text_input("Presenter(s), comma separated", key="conf_new_presenters")
        if st.form_submit_button("Create conference", type="primary"):
            if not title.strip():
                st.warning("Give the conference a title.")
            else:
                with user_errors("Creating the conference"):
                    created = services.create_conference(
                        title, kind, date=date, presenters=presenters.split(","), case_ids=chosen
                    )
                    show_conference(created.id)
                    st.rerun()

conferences = services.list_conferences()
if not conferences:
    show_conference(None)
    st.info("No conferences yet: create one above, then add cases from the library.")
    st.stop()

conference = pick_conference(conferences, key="conf_picker")
cid = conference.id
bundle = services.bundle(cid)
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

if ckey(cid, "conf_edit_loaded") not in st.session_state or ckey(cid, EDIT_FIELDS["title"]) not in st.session_state:
    fill_edit_form(conference)  # a form shown afresh is filled from the conference as it is now
loaded: Conference = st.session_state[ckey(cid, "conf_edit_loaded")]

with st.expander("Who can see this conference"):
    sharing_panel(services, conference)

with st.expander("Edit or delete this conference"):
    # One container for the notice, there or not: the form below keeps its place in the page (a form
    # that moves is drawn afresh by the browser, with what was typed in it).
    with st.container():
        refused = st.session_state.get(ckey(cid, "conf_edit_refused"))
        if refused or _edited(conference) != _edited(loaded):
            st.warning(
                refused or "This conference was changed elsewhere (another tab or user) after this form was filled."
            )
            st.button(
                "Reload the conference (drops what you typed here)",
                key=ckey(cid, "conf_edit_reload"),
                on_click=reload_edit_form,
                args=(cid,),
            )
    # The values come from session state (fill_edit_form), so a reload shows the stored ones.
    with st.form(ckey(cid, "conf_edit")):
        new_title = st.text_input("Title", key=ckey(cid, EDIT_FIELDS["title"]))
        e1, e2 = st.columns(2)
        new_kind = e1.selectbox(
            "Kind", list(ConferenceKind), format_func=lambda k: k.label, key=ckey(cid, EDIT_FIELDS["kind"])
        )
        new_date = e2.date_input("Date", key=ckey(cid, EDIT_FIELDS["date"]))
        if st.form_submit_button("Save changes"):
            st.session_state.pop(ckey(cid, "conf_edit_refused"), None)
            try:
                saved = services.update_conference(
                    cid, {"title": new_title, "kind": new_kind, "date": new_date or None}, loaded=loaded
                )
            except StaleEditError as exc:  # what was typed stays in the form; the reload button takes the new
                st.session_state[ckey(cid, "conf_edit_refused")] = str(exc)
                st.rerun()
            else:
                del saved  # the next run fills the form afresh from the stored conference
                st.session_state.pop(ckey(cid, "conf_edit_loaded"), None)
                st.session_state["conf_edit_done"] = "Conference saved."
                st.rerun()
    asking = st.session_state.get("conf_delete_pending") == conference.id
    if not asking and st.button("Delete conference", key=f"conf_delete_{conference.id}"):
        st.session_state["conf_delete_pending"] = conference.id
        st.rerun()
    if asking:
        st.warning(
            f"Delete the conference “{plain(conference.title)}” ({len(conference.items)} case(s))? "
            "Its cases stay in the library. This cannot be undone."
        )
        sure, keep = st.columns(2)
        if sure.button("Delete for good", type="primary", key=f"conf_delete_confirm_{conference.id}"):
            st.session_state.pop("conf_delete_pending", None)
            with user_errors("Deleting the conference"):
                try:
                    gone = services.delete_conference(conference.id)
                except CaseDeckError as exc:  # e.g. its deck is being made: the message names titles
                    st.error(f"Deleting the conference failed: {plain(str(exc))}")
                else:
                    show_conference(None)
                    st.session_state["conf_edit_done"] = (
                        f"Deleted the conference “{plain(gone.title)}”; its cases stay in the library."
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

others = [c for c in services.case_summaries() if c.id not in conference.case_ids]
other_labels = case_labels(others)
add_col, button_col = st.columns([4, 1])
to_add = add_col.multiselect(
    "Add cases", [c.id for c in others], format_func=other_labels.__getitem__, key=ckey(cid, "conf_add")
)
others_by_id = {c.id: c for c in others}
case_thumbnails(services, [others_by_id[i] for i in to_add], other_labels)
if button_col.button("Add", key=ckey(cid, "conf_add_button"), disabled=not to_add):
    with user_errors("Adding cases"):
        services.add_cases(cid, to_add)
        st.rerun()


def key_image_label(case: Case, index: int) -> str:
    key = case.key_images[index]
    return key.caption or f"{case.asset(key.asset_id).label} · image {key.frame + 1}"


st.subheader("Running order")
refused_plan = st.session_state.pop(ckey(cid, "conf_plan_refused"), None)
if refused_plan:
    st.error(f"Changing what a case shows failed: {refused_plan}")
for index, (case, plan) in enumerate(bundle.entries()):
    with st.container(border=True):
        head, up, down, remove = st.columns([8, 1, 1, 1])
        head.markdown(
            f"**{index + 1}. {plain(case.title)}**  \n{plain(case.modality)} · {len(case.key_images)} key image(s)"
        )
        if up.button("↑", key=ckey(cid, f"conf_up_{case.id}"), disabled=index == 0, help="Move earlier"):
            with user_errors("Moving the case"):
                services.move_case(cid, case.id, index - 1)
                st.rerun()
        last = index == len(bundle.cases) - 1
        if down.button("↓", key=ckey(cid, f"conf_down_{case.id}"), disabled=last, help="Move later"):
            with user_errors("Moving the case"):
                services.move_case(cid, case.id, index + 1)
                st.rerun()
        if remove.button("✕", key=ckey(cid, f"conf_remove_{case.id}"), help="Remove from this conference"):
            with user_errors("Removing the case"):
                services.remove_case(cid, case.id)
                st.rerun()
        p1, p2, p3 = st.columns([4, 1, 1])
        count = len(case.key_images)
        show_plan(cid, plan, count)
        keys_key, reveal_key, stacks_key, _shown = plan_keys(cid, case.id)
        changed = {"on_change": plan_changed, "args": (cid, case.id, count, conference)}
        p1.multiselect(
            "Key images to show",
            list(range(count)),
            format_func=lambda i, case=case: key_image_label(case, i),
            key=keys_key,
            **changed,
        )
        p2.checkbox("Quiz reveal", key=reveal_key, **changed)
        p3.checkbox("Stack clips", key=stacks_key, **changed)

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
