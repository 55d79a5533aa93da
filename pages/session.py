"""Who is using this browser tab: the sign-in session, the department's parts, the acting services.

Not a page itself. The session token lives in this tab's Streamlit session only (never in the URL
or a log); the store keeps its hash. Without required sign-in (``casefiles.department``) the app
serves this computer only and the person at it acts as the local admin.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import streamlit as st

from casefiles.accounts.local import ABSOLUTE_EXPIRY, SessionExpired, User
from casefiles.accounts.permissions import Actor
from casefiles.acting.announce import Announcer
from casefiles.acting.guard import ActingServices
from casefiles.acting.landing import Landing
from casefiles.acting.quiz import Quizzes
from casefiles.config import Settings, settings_from_env
from casefiles.department import (
    LOCAL_OPERATOR,
    Department,
    first_admin_password,
    open_department,
    sign_in_required,
)
from pages.ui import exposure_problem, get_services

#: This tab's session token (its hash is in the store).
SESSION_TOKEN = "casedeck_session_token"  # noqa: S105 (a session-state key, not a secret)
#: Outside links (share, upload) open their own page through app.py, never another page.
LINK_PARAMS = ("share", "upload")
#: Why the last session ended, shown once on the sign-in page.
SESSION_ENDED = "casedeck_session_ended"
#: The browser cookie that carries the sign-in to a new tab or a reload (the token; its hash is stored).
SESSION_COOKIE = "casedeck_session"
_COOKIE_PENDING = "casedeck_cookie_pending"
_FORGOTTEN = "casedeck_forgotten_token"


def routed() -> None:
    """Make sure this run is one app.py's routing would show; call it first in every page.

    A Streamlit process with a ``pages/`` folder starts in its old multipage mode: until some run
    calls ``st.navigation``, a visit straight to ``/library`` runs ``pages/library.py`` by itself,
    without app.py (and Streamlit's AppTest runs pages that way on every run). Such a run goes on
    through app.py: to this page (with app.py's navigation) if app.py would show it to this visitor
    (this computer, or someone signed in, no outside link), else to what app.py shows instead (the
    sign-in, the refusal, the link's page).
    """
    from streamlit import config  # looked up at each call: AppTest patches config.get_option
    from streamlit.runtime.pages_manager import PagesManager

    if not PagesManager.uses_pages_directory:
        return  # app.py's navigation runs this page
    PagesManager.uses_pages_directory = False  # what app.py's st.navigation sets, from now on for the process
    page = Path(inspect.stack()[1].filename).name
    user = signed_in_user() if sign_in_required() else None
    must_change = user is not None and user.must_change_password  # app.py shows the Account page only
    shown = (
        exposure_problem() is None
        and not any(param in st.query_params for param in LINK_PARAMS)
        and current_actor() is not None
        and (page == "account.py" or not must_change)
    )
    if not shown:
        st.switch_page("app.py")
    elif not config.get_option("global.appTest"):  # AppTest runs every page this way: go on (keep the clicks)
        st.switch_page(f"pages/{page}", query_params=st.query_params.to_dict())  # drawn with app.py's navigation


def get_department() -> Department:
    """The accounts, links, audit and notifications of the configured library (one per process)."""
    return _department_for(settings_from_env())


@st.cache_resource(show_spinner=False)
def _department_for(settings: Settings) -> Department:
    department = open_department(get_services().store, settings)
    if sign_in_required():
        one_time = first_admin_password(department)
        if one_time is not None:  # to the terminal that started the app, once; never to a log
            print(
                f"CaseDeck: the first sign-in is user 'admin' with the one-time password {one_time} "
                "(it must be changed at that sign-in).",
                flush=True,
            )
    return department


def acting_services() -> ActingServices:
    """The library's use cases as the person on this tab: each asks the permission check and is audited."""
    department = get_department()
    announce = Announcer(department.accounts, department.notifications, department)
    return ActingServices(get_services(), current_actor(), audit=department.audit, where=where(), announce=announce)


def quizzes() -> Quizzes:
    """The quiz use cases for the person on this tab."""
    return Quizzes(current_actor(), get_services(), get_department().audit, where())


def landing() -> Landing:
    """The home page's use cases for the person on this tab."""
    return Landing(acting_services(), get_services().store, audit=get_department().audit, where=where())


def signed_in_user() -> User | None:
    """The user signed in on this tab, or None (also when the session ended: idle, too old, disabled).

    A new tab, a reload or a link from a notification starts a new Streamlit session: the browser's
    session cookie (set at sign-in, cleared at sign-out) carries the sign-in over.
    """
    token = st.session_state.get(SESSION_TOKEN) or _cookie_token()
    if not token:
        return None
    try:
        user = get_department().accounts.session_user(token)
    except SessionExpired as exc:
        st.session_state.pop(SESSION_TOKEN, None)
        if token != st.session_state.get(_FORGOTTEN):  # an ended session's cookie is not news twice
            st.session_state[SESSION_ENDED] = str(exc)
            st.session_state[_FORGOTTEN] = token
        return None
    st.session_state[SESSION_TOKEN] = token
    return user


def _cookie_token() -> str | None:
    try:
        value = st.context.cookies.get(SESSION_COOKIE)
    except AttributeError:  # no browser (a script run)
        return None
    if not isinstance(value, str):  # no browser behind this run (Streamlit's AppTest)
        return None
    return value if value and value != st.session_state.get(_FORGOTTEN) else None


def write_session_cookie() -> None:
    """Set or clear the browser's session cookie when sign-in or sign-out asked for it (app.py, every run).

    Streamlit cannot set cookies from the server, so a zero-height component sets it in the page;
    it is SameSite=Strict (no other site's link or form carries it) and lives no longer than the
    session's absolute expiry.
    """
    pending = st.session_state.pop(_COOKIE_PENDING, None)
    if pending is None:
        return
    import json

    import streamlit.components.v1 as components

    max_age = int(ABSOLUTE_EXPIRY.total_seconds()) if pending else 0
    cookie = f"{SESSION_COOKIE}={pending}; path=/; max-age={max_age}; SameSite=Strict"
    script = (
        "<script>const c = " + json.dumps(cookie) + ";"
        " parent.document.cookie = location.protocol === 'https:' ? c + '; Secure' : c;</script>"
    )
    components.html(script, height=0)


def current_actor() -> Actor | None:
    """Who acts on this tab: the signed-in user, the local operator when sign-in is off, else None."""
    if not sign_in_required():
        return LOCAL_OPERATOR
    get_department()  # the first request of an installation makes the first admin (and prints its password)
    user = signed_in_user()
    return user.actor if user is not None else None


def where() -> str:
    """Where the request came from, for the audit trail (the client's address when Streamlit knows it)."""
    try:
        return str(st.context.ip_address or "")
    except AttributeError:
        return ""


def start_session(user: User) -> None:
    token = get_department().accounts.open_session(user)
    st.session_state[SESSION_TOKEN] = token
    st.session_state[_COOKIE_PENDING] = token
    st.session_state.pop(SESSION_ENDED, None)


def end_session() -> None:
    token = st.session_state.pop(SESSION_TOKEN, None)
    st.session_state[_COOKIE_PENDING] = ""  # cleared in the browser on the next run
    if token:
        st.session_state[_FORGOTTEN] = token  # the cookie still sent until then is not a sign-in
        department = get_department()
        user = signed_in_user_or_none(token)
        department.accounts.close_session(token)
        if user is not None:
            department.audit.record(user.username, "sign_out", where=where())


def signed_in_user_or_none(token: str) -> User | None:
    try:
        return get_department().accounts.session_user(token)
    except SessionExpired:
        return None
