"""CaseDeck's Streamlit entry point: page setup and routing only."""

import streamlit as st

from casefiles.accounts.permissions import Action, Role, allowed
from pages.session import current_actor, signed_in_user, write_session_cookie
from pages.ui import exposure_problem, get_services, init_session, start_receiver_if_configured

#: A link from outside (``?share=`` or ``?upload=``) opens its own page and nothing else, without an account.
LINK_PAGES = {"share": "pages/share_link.py", "upload": "pages/upload_link.py"}


def main() -> None:
    st.set_page_config(page_title="CaseDeck", page_icon="🩻", layout="wide")
    refused = exposure_problem()
    if refused is not None:  # one page that says why: no other page can be reached, none is listed
        st.navigation([st.Page(lambda: st.error(refused), title="CaseDeck", url_path="refused")]).run()
        return
    init_session()
    get_services()
    link = next((page for param, page in LINK_PAGES.items() if param in st.query_params), None)
    if link is not None:
        st.navigation([st.Page(link, title="CaseDeck", default=True)], position="hidden").run()
        return
    actor = current_actor()
    write_session_cookie()  # after a sign-in or sign-out on the run before
    if actor is None:  # sign-in is required and nobody is signed in on this tab: that page only
        st.navigation([st.Page("pages/sign_in.py", title="Sign in", default=True)], position="hidden").run()
        return
    user = signed_in_user()
    if user is not None and user.must_change_password:  # a one-time password opens the Account page only
        st.navigation([st.Page("pages/account.py", title="Account", default=True)], position="hidden").run()
        return
    # Navigation first: until st.navigation runs, Streamlit would list every file in pages/ itself.
    pages = [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("pages/library.py", title="Library", icon=":material/photo_library:"),
        st.Page("pages/import_studies.py", title="Import", icon=":material/upload:"),
        st.Page("pages/pacs.py", title="From PACS", icon=":material/lan:"),
        st.Page("pages/case.py", title="Case", icon=":material/radiology:"),
        st.Page("pages/conferences.py", title="Conferences", icon=":material/groups:"),
        st.Page("pages/export.py", title="Export", icon=":material/slideshow:"),
        st.Page("pages/safety.py", title="Safety", icon=":material/verified_user:"),
        st.Page("pages/quiz.py", title="Quizzes", icon=":material/quiz:"),
        st.Page("pages/notifications.py", title="Notifications", icon=":material/notifications:"),
        st.Page("pages/account.py", title="Account", icon=":material/person:"),
    ]
    if actor.role.rank >= Role.PRESENTER.rank:  # the page itself tells anyone else it is not for them
        pages.append(st.Page("pages/training_sets.py", title="Training sets", icon=":material/school:"))
    # Admin pages are listed for admins only; each also refuses anyone else itself (the domain decides).
    if allowed(actor, Action.MANAGE_USERS):
        pages.append(st.Page("pages/users.py", title="Users", icon=":material/manage_accounts:"))
    if allowed(actor, Action.READ_AUDIT):
        pages.append(st.Page("pages/audit_log.py", title="Audit log", icon=":material/policy:"))
    navigation = st.navigation(pages)
    start_receiver_if_configured()
    navigation.run()


# Streamlit runs this file as __main__. The import's worker processes re-import the parent's main
# script as __mp_main__ (multiprocessing's rule): they must not open services, seed or start a receiver.
if __name__ == "__main__":
    main()
