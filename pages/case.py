"""Case: edit the teaching content, scroll the series, set window/level, pick and annotate key images.

Scrolling, windowing, marking a key image and drawing on it all happen in the one stack viewer:
its Annotate mode draws on the slice shown, and the drawing is saved on that slice's key image
(the slice is marked as one first if it is not yet).
"""

import math
from functools import partial

import streamlit as st

from casefiles.annotations.model import annotations_from_list, annotations_to_list
from casefiles.errors import CaseDeckError
from casefiles.ingest import Upload
from casefiles.jobs import JobState
from casefiles.media.pdf import parse_pages
from casefiles.model import AssetKind, Case, Difficulty, KeyImage, Region, Review, Window
from casefiles.services import EDITABLE_FIELDS
from casefiles.usecases.vocabulary_terms import VocabularyTerms
from pages.components.annotator import annotator
from pages.components.stack_viewer import (
    Drawing,
    ViewerOverlay,
    ViewerState,
    set_viewer_window,
    stack_viewer,
    viewer_window,
)
from pages.session import acting_services, routed
from pages.sharing_panel import sharing_panel
from pages.ui import (
    case_key,
    case_labels,
    case_thumbnails,
    get_jobs,
    get_services,
    job_panel,
    job_running,
    pick_case,
    plain,
    stack_payload,
    user_errors,
)

routed()  # app.py's routing decides first (sign-in, refusal, links): see pages.session.routed

#: The teaching-content form's widgets (each key also names the case: see ``ck``).
FORM_WIDGETS = (
    "case_title",
    "case_history",
    "case_findings",
    "case_diagnosis",
    "case_category",
    "case_ddx",
    "case_teaching",
    "case_tags",
    "case_modality",
    "case_body_part",
    "case_difficulty",
    "case_author",
)


def _black_out_editor(asset_id: str, frame: int, *, key: str) -> None:
    """Draw boxes on an image and black them out in the stored file (photos, PDF pages, DICOM frames)."""
    with user_errors("Opening the image"):
        probe = KeyImage(asset_id=asset_id, frame=frame)
        shown, full_width, full_height = services.annotation_canvas(case, probe)
        st.caption(
            "Drag a box over each name, date or label, then press the button. The stored image is changed "
            "for good: every deck and export made from now on shows black there."
        )
        boxes = annotator(
            shown,
            width=full_width,
            height=full_height,
            spacing=None,
            annotations=[],
            key=key,
            tools=("rectangle",),
            fill=True,
        )
        regions = [_region(box["points"], full_width, full_height) for box in boxes if box.get("kind") == "rectangle"]
        regions = [r for r in regions if r is not None]
        if st.button(
            f"Black out {len(regions)} box(es) for good",
            key=f"{key}_apply",
            type="primary",
            disabled=not regions,
        ):
            services.black_out(case.id, asset_id, regions, frame=frame, loaded=on_screen)
            st.session_state.pop(f"_casedeck_annotator:{key}", None)
            st.toast("Blacked out.")
            st.rerun()


def _region(points: list[list[float]], width: int, height: int) -> Region | None:
    """A drawn rectangle as whole image pixels, grown outwards and kept inside the image."""
    (x0, y0), (x1, y1) = points[0], points[1]
    left, top = max(0, math.floor(min(x0, x1))), max(0, math.floor(min(y0, y1)))
    right, bottom = min(width, math.ceil(max(x0, x1))), min(height, math.ceil(max(y0, y1)))
    if right <= left or bottom <= top:
        return None
    return Region(left, top, right - left, bottom - top)


def _picture_grid(pictures: list[bytes], labels: list[str], *, key: str, chosen: set[int]) -> list[int]:
    """Pictures four to a row, each with a tick box; returns the ticked indexes in order."""
    ticked: list[int] = []
    columns = st.columns(4)
    for index, (picture, label) in enumerate(zip(pictures, labels, strict=True)):
        column = columns[index % 4]
        column.image(picture, width="stretch")
        if column.checkbox(label, value=index in chosen, key=f"{key}_{index}"):
            ticked.append(index)
    return ticked


def _form_values(filled: Case) -> tuple[object, ...]:
    return tuple(getattr(filled, name) for name in sorted(EDITABLE_FIELDS))


def _fill_form(filled: Case) -> None:
    """Put the case's teaching content into the form's widgets and remember it as what the form was filled from."""
    values = (
        filled.title,
        filled.history,
        filled.findings,
        filled.diagnosis,
        filled.category,
        "\n".join(filled.differential),
        "\n".join(filled.teaching_points),
        list(filled.tags),
        filled.modality,
        filled.body_part,
        filled.difficulty,
        filled.author,
    )
    for name, value in zip(FORM_WIDGETS, values, strict=True):
        st.session_state[case_key(filled.id, name)] = value
    st.session_state[case_key(filled.id, "form_loaded")] = filled


def _choices(known: list[str], current: object) -> list[str]:
    """A picker's options: "" (not set), then what is known and what the form holds now (typed before)."""
    held = [current] if isinstance(current, str) else [str(v) for v in current] if isinstance(current, list) else []
    return ["", *sorted((set(known) | set(held)) - {""}, key=lambda v: (v.casefold(), v))]


def save_drawing(
    case_id: str, asset_id: str, frame: int, drawn: list[dict[str, object]], window: Window | None, *, loaded: Case
) -> Case:
    """Save what was drawn on a frame as its key image's annotations: the one way the page saves a drawing.

    A frame that is not a key image yet is marked first (with ``window``, the window it was drawn at).
    ``loaded`` is the case as the page showed it when the drawing was made: if the stored case moved
    on in that key image meanwhile, nothing is saved (StaleEditError). An unchanged list saves nothing.
    """
    parsed = annotations_from_list(drawn)  # refuse a bad list before anything is marked
    key = next((k for k in loaded.key_images if k.asset_id == asset_id and k.frame == frame), None)
    if annotations_to_list(key.annotations if key else ()) == annotations_to_list(parsed):
        return loaded
    if key is None:
        loaded = acting_services().toggle_key_image(case_id, asset_id, frame, window, loaded=loaded)
    return acting_services().annotate_key_image(case_id, asset_id, frame, drawn, loaded=loaded)


def _keep_drawing(case_id: str, asset_id: str, window: Window | None, drawing: Drawing) -> None:
    """The viewer's callback (before the rerun): the page saves the drawing first thing on that run."""
    st.session_state[case_key(case_id, "drawing")] = (asset_id, window, drawing)


def _reload_form(case_id: str) -> None:
    """Fill the form again from the stored case (what was typed and not saved is dropped)."""
    _fill_form(acting_services().get_case(case_id))


# Wide, also when the page is opened from a link straight to it (?case=<id>): the viewer needs the width.
st.set_page_config(layout="wide")
services = acting_services()
# The case is the URL's (?case=<id>); every key below names it, so nothing typed, drawn or picked for
# one case is ever shown on, or saved into, another (a picker change, back/forward, a second tab).
case = pick_case(services, key="case_picker")


def ck(name: str) -> str:
    return case_key(case.id, name)


# Edits carry the case they were made on: key images and annotations the page as last shown (a click
# acts on what was on screen), the form the case it was filled from. A save made on an outdated copy
# is refused (StaleEditError) instead of overwriting what another tab saved meanwhile.
on_screen: Case = st.session_state.get(ck("shown"), case)
st.session_state[ck("shown")] = case
if ck("form_loaded") not in st.session_state or ck(FORM_WIDGETS[0]) not in st.session_state:
    _fill_form(case)  # a form shown afresh is filled from the case as it is now
loaded: Case = st.session_state[ck("form_loaded")]

# A drawing made in the viewer's Annotate mode (kept by its callback): saved before anything is shown,
# so the viewer, the key-image strip and the buttons all show the case with it.
drawing_kept = st.session_state.pop(ck("drawing"), None)
if drawing_kept is not None:
    drawn_asset, drawn_window, drawing = drawing_kept
    with user_errors("Saving the drawing"):
        case = save_drawing(case.id, drawn_asset, drawing.frame, drawing.annotations, drawn_window, loaded=on_screen)
        st.session_state[ck("shown")] = on_screen = case  # the next edit is made on this version
        st.toast("Annotations saved.")

st.title(plain(case.title))
merged_note = st.session_state.pop(ck("merge_done"), None)
if merged_note:
    st.success(merged_note)

pending = services.images_for_review(case)
clips_pending = services.media_for_review(case)
if clips_pending:
    st.warning(
        f"{len(clips_pending)} clip(s) may show patient details burned into the picture: check "
        + ", ".join(a.label for a in clips_pending)
        + " below."
    )


def _open_series(case_id: str, asset_id: str) -> None:
    """A click on a series in the rail: the viewer shows it on this rerun."""
    st.session_state[case_key(case_id, "viewer_series")] = asset_id


# A reading layout: the viewer first (with the series rail on its left and the key images under it),
# the teaching content and the burned-in review in tabs on the right, so neither pushes the image down.
viewer_col, side_col = st.columns([7, 3])

# Other cases holding images of this case's (de-identified) study: offered for merging into this one.
studies = {a.study_uid for a in case.assets if a.study_uid}
same_study = [s for s in services.case_summaries() if s.id != case.id and studies & set(s.study_uids)]

with side_col:
    side_tabs = st.tabs(
        ([f"Burned-in review ({len(pending)} left)"] if pending else [])
        + ["Teaching content", "Sharing"]
        + ([f"Same study ({len(same_study)})"] if same_study else [])
    )
    sharing_tab = side_tabs[-2] if same_study else side_tabs[-1]
    with sharing_tab:
        sharing_panel(services, case)

if same_study:
    with side_tabs[-1]:
        st.caption(
            "These cases hold images of the same study (imported twice, or in parts). Merging one into this "
            "case moves its series, images and key images here (a series both hold is kept once), fills this "
            "case's empty text from it, puts this case in its conferences, and deletes it."
        )
        merge_labels = case_labels(same_study)
        merging = st.session_state.get(ck("merge_pending"))
        for other in same_study:
            with st.container(border=True):
                case_thumbnails(services, [other], merge_labels)
                if merging != other.id:
                    if st.button("Merge it into this case", key=ck(f"merge_{other.id}")):
                        st.session_state[ck("merge_pending")] = other.id
                        st.rerun()
                    continue
                st.warning(
                    f"Merge “{plain(other.title)}” into “{plain(case.title)}”? “{plain(other.title)}” is deleted "
                    "afterwards. This cannot be undone."
                )
                sure, keep = st.columns(2)
                if sure.button("Merge for good", type="primary", key=ck(f"merge_confirm_{other.id}")):
                    st.session_state.pop(ck("merge_pending"), None)
                    with user_errors("Merging the cases"):
                        try:
                            services.merge_cases(case.id, other.id)
                        except CaseDeckError as exc:  # e.g. an export of it runs: the message names titles
                            st.error(f"Merging the cases failed: {plain(str(exc))}")
                        else:
                            st.session_state[ck("merge_done")] = f"Merged “{plain(other.title)}” into this case."
                            st.rerun()
                if keep.button("Keep both", key=ck(f"merge_cancel_{other.id}")):
                    st.session_state.pop(ck("merge_pending"), None)
                    st.rerun()

if pending:
    with side_tabs[0]:
        st.warning(
            f"{len(pending)} image(s) may show patient details burned into the pixels, and CaseDeck could not "
            "vouch that the text it found is all gone. Check each image: the boxes (orange, numbered) will be "
            "blanked in every frame. Until you confirm, the image cannot be exported and the library shows it "
            "blank."
        )
        # Guarded as one: a held image whose stored file went missing is a message, not a traceback.
        with (
            st.expander(f"Review burned-in text ({len(pending)} left)", expanded=True),
            user_errors("Showing the image for review"),
        ):
            review_asset, review_frame, review_instance = pending[0]
            held = bool(review_instance.review_original)
            sop = review_instance.sop_instance_uid
            st.caption(
                f"{plain(review_asset.label)} · image {review_frame + 1} · {len(review_instance.redacted)} box(es)"
                + (" · the original as it came in" if held else " · as stored, blanked regions outlined")
            )
            st.image(services.review_image_png(review_asset, review_frame, review_instance), width="stretch")
            if held and review_instance.redacted:
                kept = [
                    region
                    for number, region in enumerate(review_instance.redacted, start=1)
                    if st.checkbox(
                        f"Box {number}: x {region.x}, y {region.y}, {region.width} × {region.height} px — blank it",
                        value=True,
                        key=ck(f"review_keep_{sop}_{number}"),
                    )
                ]
                if len(kept) < len(review_instance.redacted) and st.button(
                    "Remove the unticked boxes (they cover no identifying text)", key=ck("review_remove")
                ):
                    with user_errors("Removing boxes"):
                        services.set_review_boxes(case.id, review_asset.id, sop, kept, loaded=on_screen)
                        st.rerun()
            ds = services.dataset(review_instance.blob)
            st.caption(
                f"Image size: {ds.Columns} × {ds.Rows} pixels (x to the right, y down, from the top-left corner)"
            )
            r1, r2 = st.columns(2)
            x = r1.number_input("x", min_value=0, max_value=int(ds.Columns) - 1, value=0, key=ck("redact_x"))
            y = r2.number_input("y", min_value=0, max_value=int(ds.Rows) - 1, value=0, key=ck("redact_y"))
            r3, r4 = st.columns(2)
            w = r3.number_input(
                "width", min_value=1, max_value=int(ds.Columns), value=int(ds.Columns), key=ck("redact_w")
            )
            h = r4.number_input("height", min_value=1, max_value=int(ds.Rows), value=40, key=ck("redact_h"))
            add_label = "Add this box" if held else "Blank this region in every frame"
            if st.button(add_label, key=ck("redact_apply")):
                with user_errors("Blanking the region"):
                    services.blank_region(
                        case.id, review_asset.id, sop, Region(int(x), int(y), int(w), int(h)), loaded=on_screen
                    )
                    st.rerun()
            confirm_label = "Blank the boxes: no identifying text left" if held else "No identifying text left: confirm"
            if st.button(confirm_label, type="primary", key=ck("review_confirm")):
                with user_errors("Confirming the review"):
                    services.confirm_reviewed(case.id, review_asset.id, sop, loaded=on_screen)
                    st.rerun()

form_tab = side_tabs[-3] if same_study else side_tabs[-2]
if _form_values(case) != _form_values(loaded):
    with form_tab:
        st.warning("This case was changed elsewhere (another tab or user) after this form was filled.")
        st.button(
            "Reload the case (drops what you typed here)",
            key=ck("form_reload"),
            on_click=_reload_form,
            args=(case.id,),
        )

with form_tab, st.form(f"case_form_{case.id}"):
    # The values come from session state (filled by _fill_form), so a reload shows the stored text.
    title = st.text_input("Title", key=ck("case_title"))
    history = st.text_area("Clinical history", key=ck("case_history"))
    findings = st.text_area("Findings", key=ck("case_findings"))
    diagnosis = st.text_input("Diagnosis", key=ck("case_diagnosis"))
    # Pickers over the installation's vocabulary (casefiles.vocabulary) that also take a new value.
    vocabulary = VocabularyTerms(services.actor, get_services().store).vocabulary()
    category = st.selectbox(
        "Diagnosis category",
        _choices(vocabulary.labels("category"), st.session_state.get(ck("case_category"))),
        format_func=lambda v: v or "Not set",
        accept_new_options=True,
        help="Pick a category of the vocabulary, or type a new one.",
        key=ck("case_category"),
    )
    differential = st.text_area("Differential (one per line)", key=ck("case_ddx"))
    teaching = st.text_area("Teaching points (one per line)", key=ck("case_teaching"))
    tags = st.multiselect(
        "Tags",
        _choices(services.library_facets()[1], st.session_state.get(ck("case_tags")))[1:],
        accept_new_options=True,
        help="Pick tags used in the library, or type a new one.",
        key=ck("case_tags"),
    )
    c1, c2 = st.columns(2)
    modality = c1.text_input("Modality", key=ck("case_modality"))
    body_part = c2.selectbox(
        "Body part",
        _choices(vocabulary.labels("body_region"), st.session_state.get(ck("case_body_part"))),
        format_func=lambda v: v or "Not set",
        accept_new_options=True,
        help="Pick a body region of the vocabulary, or type a new one.",
        key=ck("case_body_part"),
    )
    difficulty = st.selectbox(
        "Difficulty",
        list(Difficulty),
        format_func=lambda d: d.value.capitalize() or "Not set",
        key=ck("case_difficulty"),
    )
    author = st.text_input("Author", key=ck("case_author"))
    if st.form_submit_button("Save case", type="primary"):
        with user_errors("Saving the case"):
            case = services.update_case(
                case.id,
                {
                    "title": title.strip() or loaded.title,
                    "history": history,
                    "findings": findings,
                    "diagnosis": diagnosis,
                    "category": category or "",
                    "differential": differential,
                    "teaching_points": teaching,
                    "tags": tags,
                    "modality": modality,
                    "body_part": body_part or "",
                    "difficulty": difficulty,
                    "author": author,
                },
                loaded=loaded,
            )
            st.session_state[ck("form_loaded")] = case
            st.success("Saved.")

with viewer_col:
    # Only series the viewer can open (not, e.g., an RT Plan stored by an import made before
    # non-image objects were left out): such a series is neither offered nor thumbnailed.
    dicom = [a for a in case.assets if a.kind is AssetKind.DICOM_SERIES]
    series = [a for a in dicom if services.series_showable(a)]
    shown_ids = {a.id for a in series}
    # A series left out because its stored files are gone (lost or deleted outside CaseDeck) is said so.
    missing = [a for a in dicom if a.id not in shown_ids and not all(services.blob_exists(i.blob) for i in a.instances)]
    unshowable = len(dicom) - len(series) - len(missing)
    # Everything the case holds, in its order: series next to photos, clips, PDFs and slides.
    strip = [a for a in case.assets if a.thumbnail and (a.kind is not AssetKind.DICOM_SERIES or a.id in shown_ids)]
    strip = strip[:12]  # read only the thumbnails shown, on every rerun
    rail_col, stage_col = st.columns([1, 4])
    view: ViewerState | None = None  # stays None when the series cannot be opened
    with rail_col:
        if series:
            # Series descriptions come from the study: shown as text (radio and button labels are Markdown).
            labels = {a.id: plain(f"{a.label} ({a.frame_count} img)") for a in series}
            asset_id = st.radio(
                "Series", [a.id for a in series], format_func=lambda i: labels[i], key=ck("viewer_series")
            )
        # The rail: one thumbnail under the other (never overlapping); a series opens with its button.
        for item in strip:
            thumb = services.thumbnail(item)
            if thumb is None:
                continue
            st.image(thumb, width="stretch")
            if item.kind is AssetKind.DICOM_SERIES:
                st.button(
                    labels[item.id],
                    key=ck(f"rail_{item.id}"),
                    type="primary" if item.id == asset_id else "secondary",
                    on_click=_open_series,
                    args=(case.id, item.id),
                    width="stretch",
                )
            else:
                st.caption(plain(item.label))
    with stage_col:
        if missing:
            st.error(
                f"{len(missing)} series of this case cannot be shown: their stored files are missing from the "
                "library (lost or deleted outside CaseDeck). The teaching content can still be edited; import the "
                "study again, or delete the case on the Library page."
            )
        if unshowable:
            st.caption(
                f"{unshowable} series hold no image the viewer can show (no pixel data); they are left out here."
            )
        if not dicom:
            st.info("This case has no DICOM series; add studies on the Import page, or photos and documents below.")
        if series:
            asset = case.asset(asset_id)
            viewer_key = ck(f"viewer_{asset.id}")
            with user_errors("Opening the series"):
                window = viewer_window(viewer_key) or services.asset_window(asset)
                payload = stack_payload(case.id, asset, window)
                first = services.dataset(asset.instances[0].blob)
                # The key images' annotations on this series, shown over their slices and edited there.
                overlay = ViewerOverlay(
                    image_size=(int(first.Columns), int(first.Rows)),
                    annotations={
                        k.frame: annotations_to_list(k.annotations)
                        for k in case.key_images
                        if k.asset_id == asset.id and k.annotations
                    },
                )
                drawn_at = None if payload.color else window  # the window a drawn-on slice is marked with
                view = stack_viewer(
                    payload,
                    key=viewer_key,
                    height=620,
                    overlay=overlay,
                    on_draw=partial(_keep_drawing, case.id, asset.id, drawn_at),
                )
            st.caption(
                "Scroll with the mouse wheel or arrow keys · drag to set window/level · right-drag to pan · "
                "ctrl+wheel to zoom · R resets · ▶ plays a cine loop · ✎ Annotate draws arrows, rulers, shapes "
                "and text on the slice shown (it becomes a key image)"
            )
        if series and view is None:
            st.info("This series could not be opened, so it cannot be windowed, marked or blacked out here.")
        elif series and view is not None:
            frame, window = view.frame, view.window
            tool_key, tool_blackout, tool_window = st.columns([2, 3, 3])
            is_key = any(k.asset_id == asset.id and k.frame == frame for k in case.key_images)
            label = "★ Remove from key images" if is_key else "☆ Mark as key image"
            if tool_key.button(
                label, key=ck(f"key_toggle_{asset.id}_{frame}"), type="secondary" if is_key else "primary"
            ):
                with user_errors("Updating key images"):
                    case = services.toggle_key_image(case.id, asset.id, frame, window, loaded=on_screen)
                    st.session_state[ck("shown")] = case
                    st.rerun()
            blacking_out = tool_blackout.toggle(
                "Black out names or labels on this image", key=ck(f"blackout_on_{asset.id}")
            )
            with tool_window.expander("Type an exact window"):
                base = window or Window(center=128, width=256)
                # The inputs follow the viewer: after a drag or a preset they show that window, not the old one.
                if st.session_state.get(ck(f"wl_shown_{asset.id}")) != base:
                    st.session_state[ck(f"wl_shown_{asset.id}")] = base
                    st.session_state[ck(f"wl_c_{asset.id}")] = float(base.center)
                    st.session_state[ck(f"wl_w_{asset.id}")] = float(base.width)
                center = st.number_input("Level (centre)", step=10.0, key=ck(f"wl_c_{asset.id}"))
                width = st.number_input("Window (width)", min_value=1.0, step=10.0, key=ck(f"wl_w_{asset.id}"))
                if st.button("Apply", key=ck(f"wl_apply_{asset.id}")):
                    set_viewer_window(viewer_key, Window(center=center, width=width))
                    st.rerun()
            if blacking_out:
                _black_out_editor(asset.id, frame, key=ck(f"blackout_{asset.id}_{frame}"))
            shown_key = next((k for k in case.key_images if k.asset_id == asset.id and k.frame == frame), None)
            if shown_key is not None and shown_key.annotations:
                with st.expander("As it will appear in the deck"), user_errors("Rendering the key image"):
                    st.image(services.render_key_image(case, shown_key), width="stretch")

        st.subheader(f"Key images ({len(case.key_images)})")
        if not case.key_images:
            st.caption("None yet: scroll to a slice and press “Mark as key image”.")
        key_cols = st.columns(6)
        for index, key in enumerate(case.key_images):
            col = key_cols[index % 6]
            with user_errors("Showing a key image"):
                key_asset = case.asset(key.asset_id)
                col.image(
                    services.key_image_preview(case, key),
                    caption=f"{key_asset.label} · {key.frame + 1}/{key_asset.frame_count}",
                )
            if col.button("Remove", key=ck(f"key_remove_{index}_{key.asset_id}_{key.frame}")):
                with user_errors("Removing the key image"):
                    kept = [k for k in case.key_images if k != key]
                    st.session_state[ck("shown")] = services.set_key_images(case.id, kept, loaded=on_screen)
                    st.rerun()
st.divider()
st.subheader("Photos, pathology, video, PDFs and slides")
st.caption(
    "Files are checked by their content and scrubbed on the way in: camera and GPS data, authors, comments, "
    "speaker notes and creation times are removed. Names of files are never shown or stored."
)
uploads = st.file_uploader(
    "Add files",
    accept_multiple_files=True,
    type=None,
    key=f"media_upload_{case.id}_{st.session_state.get('media_upload_round', 0)}",
)
st.checkbox(
    "Keep the speaker notes of PowerPoint decks (your own notes; they can name patients)", key=ck("media_keep_notes")
)
MEDIA_JOB = "media_job"
adding = job_running(st.session_state.get(MEDIA_JOB))
if uploads and st.button("Add to case", type="primary", key=ck("media_add"), disabled=adding):
    files = [Upload(f.name, f.getvalue()) for f in uploads]
    case_id, keep_notes = case.id, bool(st.session_state.get(ck("media_keep_notes")))
    st.session_state["media_upload_round"] = st.session_state.get("media_upload_round", 0) + 1  # empties the box
    st.session_state[MEDIA_JOB] = get_jobs().submit(
        "Adding the files",
        lambda ctx: services.import_media(
            case_id, files, progress=ctx.progress, cancel=ctx.cancel, keep_notes=keep_notes
        ),
    )
    st.rerun()


@st.fragment(run_every=1.0)
def media_progress() -> None:
    """Scrubbing a clip takes a while: progress and Cancel, then the page shows what was added."""
    job = st.session_state.get(MEDIA_JOB)
    if job is None:
        return
    snap = job_panel(job, cancel_key="media_cancel")
    if snap is None or not snap.state.finished:
        return
    st.session_state.pop(MEDIA_JOB)
    get_jobs().forget(job)
    st.session_state["media_outcome"] = snap
    st.rerun(scope="app")


media_progress()
outcome = st.session_state.pop("media_outcome", None)
if outcome is not None:
    if outcome.state is JobState.CANCELLED:
        st.warning("Adding was cancelled; the files finished before it were added.")
    elif outcome.state is JobState.FAILED:
        st.error(f"Adding the files failed: {outcome.error}")
    elif outcome.result is not None:
        st.success(f"{len(outcome.result.asset_ids)} file(s) added.")
        for problem in outcome.result.problems:
            st.warning(f"{problem.item.capitalize()}: {problem.reason}")


media = [a for a in case.assets if a.kind is not AssetKind.DICOM_SERIES]
for asset in media:
    with st.container(border=True):
        left, middle, right = st.columns([1, 3, 1])
        with user_errors("Showing the item"):
            if asset.kind is AssetKind.VIDEO and asset.blob:
                left.video(services.blob_bytes(asset.blob), format="video/mp4")
            elif asset.thumbnail and services.blob_exists(asset.thumbnail):
                left.image(services.blob_bytes(asset.thumbnail), width="stretch")
        middle.markdown(f"**{plain(asset.label)}** · {asset.kind.value.replace('_', ' ')}")
        caption = middle.text_input("Caption", asset.caption, key=ck(f"media_caption_{asset.id}"))
        if caption != asset.caption:
            with user_errors("Saving the caption"):
                services.set_asset_caption(case.id, asset.id, caption, loaded=on_screen)
        if asset.kind is AssetKind.IMAGE:
            is_key = any(k.asset_id == asset.id for k in case.key_images)
            if middle.button(
                "★ Remove from key images" if is_key else "☆ Mark as key image", key=ck(f"media_key_{asset.id}")
            ):
                with user_errors("Updating key images"):
                    marked = services.toggle_key_image(case.id, asset.id, 0, None, loaded=on_screen)
                    st.session_state[ck("shown")] = marked
                    st.rerun()
            if middle.toggle("Black out names or labels", key=ck(f"blackout_on_{asset.id}")):
                with middle:
                    _black_out_editor(asset.id, 0, key=ck(f"blackout_{asset.id}"))
            # A photo is not in the viewer: it is drawn on here, saved the same way as a drawing in the viewer.
            if middle.toggle(
                "Annotate (arrows, rulers, shapes, text; it becomes a key image)", key=ck(f"annotate_on_{asset.id}")
            ):
                photo_key = next((k for k in case.key_images if k.asset_id == asset.id and k.frame == 0), None)
                stored = annotations_to_list(photo_key.annotations) if photo_key else []
                with middle, user_errors("Opening the annotation editor"):
                    picture, full_width, full_height = services.annotation_canvas(case, KeyImage(asset.id, 0))
                    drawn = annotator(
                        picture,
                        width=full_width,
                        height=full_height,
                        spacing=None,
                        annotations=stored,
                        key=f"annotator_{case.id}_{asset.id}_0",
                    )
                if drawn != stored:
                    with middle, user_errors("Saving the annotations"):
                        case = save_drawing(case.id, asset.id, 0, drawn, None, loaded=on_screen)
                        st.session_state[ck("shown")] = on_screen = case
                        st.toast("Annotations saved.")
        if asset.kind is AssetKind.DOCUMENT:
            middle.caption(
                "The PDF itself stays in CaseDeck (its text may name the patient); the pages you add as images "
                "go into decks and exports, and you can black out anything on them."
            )
            with middle.expander("Choose pages to add as images"), user_errors("Reading the PDF"):
                pages = services.previews(asset)
                ticked = _picture_grid(
                    pages, [f"Page {n + 1}" for n in range(len(pages))], key=ck(f"media_page_{asset.id}"), chosen=set()
                )
                pages_text = st.text_input(
                    "Or type page numbers (e.g. 1, 3-4)", key=ck(f"media_pages_{asset.id}"), placeholder="1"
                )
                wanted = sorted({*ticked, *(parse_pages(pages_text) if pages_text else [])})
                if st.button(
                    f"Add {len(wanted)} page(s) as images", key=ck(f"media_pages_add_{asset.id}"), disabled=not wanted
                ):
                    services.add_pdf_pages(case.id, asset.id, wanted, loaded=on_screen)
                    st.rerun()
        if asset.kind is AssetKind.VIDEO:
            if asset.review is Review.NEEDS_REVIEW:
                middle.warning(
                    "This clip came from a DICOM video, whose frames are not searched for burned-in text. Watch it, "
                    "black out any name or date shown, then confirm."
                )
                if middle.button("No identifying text left: confirm", key=ck(f"media_confirm_{asset.id}")):
                    with user_errors("Confirming the review"):
                        services.confirm_media_reviewed(case.id, asset.id, loaded=on_screen)
                        st.rerun()
            if middle.toggle("Black out names or labels in every frame", key=ck(f"blackout_on_{asset.id}")):
                with middle:
                    _black_out_editor(asset.id, 0, key=ck(f"blackout_{asset.id}"))
            with middle.expander("Trim, mute, poster frame"), user_errors("Editing the clip"):
                info = services.video_info(case, asset.id)
                t1, t2, t3 = st.columns(3)
                start = t1.number_input("Start (s)", 0.0, info.duration_s, 0.0, 0.5, key=ck(f"video_start_{asset.id}"))
                end = t2.number_input(
                    "End (s)", 0.0, info.duration_s, info.duration_s, 0.5, key=ck(f"video_end_{asset.id}")
                )
                poster = t3.number_input(
                    "Poster at (s)", 0.0, info.duration_s, 0.0, 0.5, key=ck(f"video_poster_{asset.id}")
                )
                mute = st.checkbox("Remove the sound", value=not info.has_audio, key=ck(f"video_mute_{asset.id}"))
                if st.button("Apply to the clip", key=ck(f"video_apply_{asset.id}")):
                    services.edit_video(
                        case.id,
                        asset.id,
                        start_s=start or None,
                        end_s=end if end < info.duration_s else None,
                        mute=mute,
                        poster_s=max(0.0, poster - start) if poster else None,
                        loaded=on_screen,
                    )
                    st.rerun()
        if asset.kind is AssetKind.SLIDE_DECK:
            with user_errors("Reading the slides"):
                titles = services.slide_titles(case, asset.id)
                pictures = services.previews(asset)
                if len(pictures) == len(titles):
                    with middle.expander(
                        f"Slides for the deck: {len(asset.chosen) or 'all'} of {len(titles)} (none ticked: all)"
                    ):
                        picked = _picture_grid(
                            pictures,
                            [f"{n + 1}. {t or 'Untitled'}" for n, t in enumerate(titles)],
                            key=ck(f"media_slide_{asset.id}"),
                            chosen=set(asset.chosen),
                        )
                else:
                    middle.caption("Slide pictures need LibreOffice on the machine that added the deck.")
                    picked = middle.multiselect(
                        "Slides for the deck (none chosen: all)",
                        list(range(len(titles))),
                        default=[n for n in asset.chosen if n < len(titles)],
                        format_func=lambda n, t=titles: f"{n + 1}. {t[n] or 'Untitled'}",
                        key=ck(f"media_slides_{asset.id}"),
                    )
                if tuple(picked) != asset.chosen:
                    services.choose_slides(case.id, asset.id, picked, loaded=on_screen)
        up, down = right.columns(2)
        if up.button("↑", key=ck(f"media_up_{asset.id}")):
            services.move_asset(case.id, asset.id, -1, loaded=on_screen)
            st.rerun()
        if down.button("↓", key=ck(f"media_down_{asset.id}")):
            services.move_asset(case.id, asset.id, +1, loaded=on_screen)
            st.rerun()
