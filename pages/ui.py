"""What every page shares: the services object, session keys, and error display.

Not a page itself (app.py does not route to it).
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

import streamlit as st

from casefiles.accounts.exposure import ExposedWithoutSignIn, check_exposure
from casefiles.config import Settings, settings_from_env
from casefiles.department import sign_in_required
from casefiles.errors import CaseDeckError
from casefiles.imaging.stack import StackPayload
from casefiles.jobs import JobRunner, JobSnapshot, JobState
from casefiles.model import Asset, Case, Conference, Window
from casefiles.pacs.receiver import StorageReceiver
from casefiles.progress import ProgressFn
from casefiles.release import Blocker
from casefiles.services import CaseSummary, Services, open_services

log = logging.getLogger("casedeck.ui")

#: Session keys, initialised in one place.
SELECTED_CASE = "selected_case_id"
#: The query parameter naming the case a page shows (``?case=<id>``): links, back/forward and each tab keep it.
CASE_PARAM = "case"
#: The conference the Conferences page shows, in the session and in the URL (``?conference=<id>``).
SELECTED_CONFERENCE = "conference_id"
CONFERENCE_PARAM = "conference"
LAST_IMPORT = "last_import_report"
SESSION_DEFAULTS: dict[str, object] = {SELECTED_CASE: None, LAST_IMPORT: None}


def init_session() -> None:
    for key, value in SESSION_DEFAULTS.items():
        st.session_state.setdefault(key, value)


def get_services() -> Services:
    """The thread-safe Services for the configured data directory (``CASEDECK_DATA``)."""
    return _services_for(settings_from_env())


@st.cache_resource(
    show_spinner="Opening the case library… (the very first start also de-identifies the sample cases: about a minute)"
)
def _services_for(settings: Settings) -> Services:
    """One Services per data directory per process; seeds the sample cases on first start."""
    from casefiles.samples import seed_samples

    services = open_services(settings)
    if settings.seed_samples:
        try:
            seed_samples(services)
        except CaseDeckError:
            log.warning("Sample cases could not be loaded; the library starts empty.")
    return services


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=])")


def plain(text: str) -> str:
    """``text`` (a title from DICOM, a caption someone typed) safe to put in Streamlit markdown.

    Titles and labels come from studies and from other people: a ``[link](…)``, an image, HTML, a
    ``:red[…]`` directive or ``$…$`` maths in one must show as the characters typed, not act.
    """
    return _MARKDOWN.sub(r"\\\1", text.replace("\n", " "))


@contextmanager
def user_errors(action: str) -> Iterator[None]:
    """Show a failure as a message the user can act on; never a traceback on screen."""
    try:
        yield
    except CaseDeckError as exc:
        st.error(f"{action} failed: {exc}")
    except Exception as exc:
        # Only the exception type is logged: messages from libraries may quote data.
        log.error("Unexpected %s while %s", type(exc).__name__, action.lower())
        st.error(
            f"{action} failed because of an unexpected problem ({type(exc).__name__}). "
            "Nothing in the library was changed. Please try again; if it keeps happening, report it."
        )


def progress_bar(label: str) -> tuple[ProgressFn, Callable[[], None]]:
    """A progress callback drawing an st.progress bar, and a function that removes the bar."""
    bar = st.progress(0.0, text=label)

    def report(done: int, total: int, message: str) -> None:
        bar.progress(min(1.0, done / total) if total else 0.0, text=message or label)

    return report, bar.empty


def open_case(case_id: str) -> None:
    st.session_state[SELECTED_CASE] = case_id
    st.switch_page("pages/case.py", query_params={CASE_PARAM: case_id})


def case_key(case_id: str, name: str) -> str:
    """A widget or session key bound to one case: what is typed for one case never shows on another."""
    return f"{name}-{case_id}"


def case_labels(cases: Sequence[Case | CaseSummary]) -> dict[str, str]:
    """Picker labels by case id: title · modality · date, unique (equal ones end with the case's short id).

    Streamlit tells a picker's options apart by their labels, so equal labels would pick the first
    of them on the next rerun; they are never equal here. Every case picker uses these.
    """
    return _unique(
        {c.id: " · ".join(part for part in (c.title, c.modality, c.created.date().isoformat()) if part) for c in cases}
    )


def short_id(label: str) -> str:
    """The short id a :func:`case_labels` label ends with when another case shares its title ("" if none)."""
    last = label.rsplit(" · ", 1)[-1]
    return last if last.startswith("#") else ""


class ThumbnailSource(Protocol):
    """The services (acting or not) a picker's pictures come from."""

    def summary_thumbnail(self, summary: CaseSummary) -> bytes | None: ...


def case_thumbnails(
    services: ThumbnailSource,
    cases: Sequence[CaseSummary],
    labels: dict[str, str],
    *,
    width: int = 96,
    captions: bool = True,
) -> None:
    """The pictures of the cases a picker holds (its chosen ones), each captioned with its picker label.

    Pickers list title · modality · date (:func:`case_labels`); the picture shows what was picked, so
    two cases of one title are told apart by their image too. Cases without a picture are left out.
    ``captions=False`` for a picture right beside a picker that names its one case already.
    """
    shown = [(picture, labels[c.id]) for c in cases if (picture := services.summary_thumbnail(c))]
    if shown:
        st.image(
            [picture for picture, _ in shown],
            caption=[label for _, label in shown] if captions else None,
            width=width,
        )


def conference_labels(conferences: Sequence[Conference]) -> dict[str, str]:
    """Picker labels by conference id: title · date · kind, unique like :func:`case_labels`'s."""
    return _unique(
        {
            c.id: " · ".join(part for part in (c.title, c.date.isoformat() if c.date else "", c.kind.label) if part)
            for c in conferences
        }
    )


def _unique(plain: dict[str, str]) -> dict[str, str]:
    """Labels by id, those shown more than once ended with the id's first six characters (all of it if
    those are alike too)."""
    counts = Counter(plain.values())
    labels = {key: f"{label} · #{key[:6]}" if counts[label] > 1 else label for key, label in plain.items()}
    if len(set(labels.values())) < len(labels):  # short ids alike too: the whole id
        labels = {key: f"{label} · #{key}" if counts[label] > 1 else label for key, label in plain.items()}
    return labels


def release_panel(blockers: Sequence[Blocker], *, key: str) -> bool:
    """Say what holds cases back from leaving CaseDeck, with a way to each; True when nothing does.

    The export buttons stay disabled while this returns False: the release gate would refuse
    anyway, and a person should see why before pressing anything.
    """
    if not blockers:
        return True
    st.error(
        "Nothing can be exported, presented or sent yet: CaseDeck cannot vouch for these items "
        "(they might show a patient's name).",
        icon="🔒",
    )
    for index, blocker in enumerate(blockers):
        text, go = st.columns([6, 1])
        text.markdown(f"- **{plain(blocker.case_name)}** — {plain(blocker.item)} {blocker.reason}; {blocker.action}.")
        if go.button("Open case", key=f"{key}_open_{index}"):
            open_case(blocker.case_id)
    return False


class CasePicking(ThumbnailSource, Protocol):
    """The services (acting or not) :func:`pick_case` lists and opens cases with."""

    def case_summaries(self) -> list[CaseSummary]: ...

    def get_case(self, case_id: str) -> Case: ...


def pick_case(services: CasePicking, *, key: str) -> Case:
    """The case picker shared by the Case and Export pages, bound to ``?case=<id>`` in the URL.

    The URL names the case (a link, browser back/forward, a second tab); without one, the case
    last chosen in this session, else the first. The picker picks by id. Stops the page with a
    hint when the library is empty.
    """
    cases = services.case_summaries()
    if not cases:
        st.info("No case here yet: import a study, or ask a colleague to share one with you.")
        st.stop()
    ids = [c.id for c in cases]
    case_id = st.query_params.get(CASE_PARAM)
    if case_id not in ids:
        if case_id is not None:
            st.warning("The case in this link is not in the library or not shared with you; showing another one.")
        selected = st.session_state.get(SELECTED_CASE)
        case_id = selected if selected in ids else ids[0]
    st.session_state[key] = case_id  # the picker shows the URL's case, whatever it showed before
    labels = case_labels(cases)
    # The picked case's picture beside the picker (in its row: the page below does not move down).
    pick_col, picture_col = st.columns([14, 1], vertical_alignment="bottom")
    with pick_col:
        st.selectbox("Case", ids, format_func=labels.__getitem__, key=key, on_change=_picked, args=(key,))
    with picture_col:
        case_thumbnails(services, [c for c in cases if c.id == case_id], labels, width=56, captions=False)
    st.session_state[SELECTED_CASE] = case_id
    if st.query_params.get(CASE_PARAM) != case_id:
        st.query_params[CASE_PARAM] = case_id
    return services.get_case(case_id)


def _picked(key: str) -> None:
    """A case chosen in the picker goes into the URL (a new browser history entry) before the page reruns."""
    case_id = st.session_state[key]
    st.session_state[SELECTED_CASE] = case_id
    st.query_params[CASE_PARAM] = case_id


def pick_conference(conferences: Sequence[Conference], *, key: str) -> Conference:
    """The conference picker of the Conferences page, bound to ``?conference=<id>`` like :func:`pick_case`.

    The URL names the conference (a link, browser back/forward, a second tab); without one, the one
    last chosen in this session, else the first. ``conferences`` must not be empty.
    """
    ids = [c.id for c in conferences]
    conference_id = st.query_params.get(CONFERENCE_PARAM)
    if conference_id not in ids:
        if conference_id is not None:
            st.warning("The conference in this link does not exist any more (deleted?); showing another one.")
        selected = st.session_state.get(SELECTED_CONFERENCE)
        conference_id = selected if selected in ids else ids[0]
    st.session_state[key] = conference_id  # the picker shows the URL's conference, whatever it showed before
    labels = conference_labels(conferences)
    st.selectbox("Conference", ids, format_func=labels.__getitem__, key=key, on_change=_conference_picked, args=(key,))
    show_conference(conference_id)
    return next(c for c in conferences if c.id == conference_id)


def show_conference(conference_id: str | None) -> None:
    """Make ``conference_id`` the one the Conferences page shows (None: none, e.g. after deleting it)."""
    st.session_state[SELECTED_CONFERENCE] = conference_id
    if conference_id is None:
        st.query_params.pop(CONFERENCE_PARAM, None)
    elif st.query_params.get(CONFERENCE_PARAM) != conference_id:
        st.query_params[CONFERENCE_PARAM] = conference_id


def _conference_picked(key: str) -> None:
    """A conference chosen in the picker goes into the URL (a new history entry) before the page reruns."""
    show_conference(st.session_state[key])


@st.cache_resource
def get_jobs() -> JobRunner:
    """One runner of background jobs per app process: a retrieval outlives the page's reruns."""
    return JobRunner()


def job_running(job_id: str | None) -> bool:
    """Whether this session's job is still working (False for none, finished or forgotten)."""
    if job_id is None:
        return False
    try:
        return not get_jobs().snapshot(job_id).state.finished
    except CaseDeckError:
        return False


def job_panel(job_id: str, *, cancel_key: str) -> JobSnapshot | None:
    """Overall and per-step progress bars with a Cancel button; None if the job is gone."""
    jobs = get_jobs()
    try:
        snap = jobs.snapshot(job_id)
    except CaseDeckError:
        return None
    st.progress(snap.fraction, text=f"{snap.title} — {snap.message or snap.state.value}")
    for step in snap.steps:
        icon = {JobState.DONE: "✅", JobState.FAILED: "⚠️", JobState.CANCELLED: "⏹"}.get(step.state, "⏳")
        st.progress(step.fraction, text=f"{icon} {step.label.capitalize()} — {step.message}")
    if not snap.state.finished and st.button("Cancel", key=cancel_key):
        jobs.cancel(job_id)
        st.info("Cancelling… the current image finishes, then the quarantine is wiped.")
    return snap


@st.cache_resource
def _receivers() -> dict[str, StorageReceiver | None]:
    """The app process's DICOM receiver (at most one), kept across reruns and sessions."""
    return {}


def app_receiver() -> StorageReceiver | None:
    receiver = _receivers().get("inbox")
    return receiver if receiver is not None and receiver.running else None


class ReceiverMaker(Protocol):
    """The PACS use case that makes a receiver (the acting one checks who may run it)."""

    def receiver(self, **settings: Any) -> StorageReceiver: ...


def start_app_receiver(
    pacs: ReceiverMaker,
    ae_title: str,
    port: int,
    *,
    host: str = "127.0.0.1",
    allowed: frozenset[str] | None = None,
) -> StorageReceiver:
    """Start the receiver that files sent studies into this app's library (stops a previous one)."""
    receiver = pacs.receiver(ae_title=ae_title, port=port, host=host, allowed_calling_aes=allowed)
    stop_app_receiver()
    receiver.start()
    _receivers()["inbox"] = receiver
    return receiver


def stop_app_receiver() -> None:
    receiver = _receivers().pop("inbox", None)
    if receiver is not None:
        receiver.stop()


def exposure_problem() -> str | None:
    """Why the app must not serve this address (no sign-in yet and not this computer only), or None."""
    try:
        check_exposure(st.get_option("server.address"), sign_in_configured=sign_in_required())
    except ExposedWithoutSignIn as exc:
        return str(exc)
    return None


def start_receiver_if_configured() -> None:
    """CASEDECK_RECEIVE_PORT starts the receiver with the app, once per process."""
    settings = settings_from_env()
    if settings.receive_port is None or "started with the app" in _receivers():
        return
    _receivers()["started with the app"] = None  # tried once, whatever the outcome
    try:
        start_app_receiver(get_services().pacs, settings.receive_ae, settings.receive_port, host=settings.receive_host)
    except CaseDeckError as exc:
        st.toast(f"The DICOM receiver did not start: {exc}")


@st.cache_resource(show_spinner="Loading the series…", max_entries=4)
def _stack_payload(data_dir: str, case_id: str, asset_id: str, version: int, window: tuple[float, float] | None) -> Any:
    """Viewer payloads of the last few (series, window) pairs; immutable bytes, so shared, not copied."""
    del data_dir, version  # part of the cache key only: another library, or re-blanked pixels
    services = get_services()
    asset = services.get_case(case_id).asset(asset_id)
    return services.stack_payload(asset, Window(center=window[0], width=window[1]) if window else None)


def stack_payload(case_id: str, asset: Asset, window: Window | None) -> StackPayload:
    """The cached viewer payload for ``asset`` of case ``case_id`` drawn with ``window``."""
    version = hash(tuple(i.blob for i in asset.instances))
    payload: StackPayload = _stack_payload(
        str(settings_from_env().data_dir),
        case_id,
        asset.id,
        version,
        (window.center, window.width) if window else None,
    )
    return payload
