"""CaseDeck's Streamlit entry point: page setup and routing only."""

import streamlit as st

from pages.ui import exposure_problem, get_services, init_session, start_receiver_if_configured


def main() -> None:
    st.set_page_config(page_title="CaseDeck", page_icon="🩻", layout="wide")
    refused = exposure_problem()
    if refused is not None:  # one page that says why: no other page can be reached, none is listed
        st.navigation([st.Page(lambda: st.error(refused), title="CaseDeck", url_path="refused")]).run()
        return
    # Navigation first: until st.navigation runs, Streamlit would list every file in pages/ itself.
    navigation = st.navigation(
        [
            st.Page("pages/library.py", title="Library", icon=":material/photo_library:", default=True),
            st.Page("pages/import_studies.py", title="Import", icon=":material/upload:"),
            st.Page("pages/pacs.py", title="From PACS", icon=":material/lan:"),
            st.Page("pages/case.py", title="Case", icon=":material/radiology:"),
            st.Page("pages/conferences.py", title="Conferences", icon=":material/groups:"),
            st.Page("pages/export.py", title="Export", icon=":material/slideshow:"),
            st.Page("pages/safety.py", title="Safety", icon=":material/verified_user:"),
        ]
    )
    init_session()
    get_services()
    start_receiver_if_configured()
    navigation.run()


# Streamlit runs this file as __main__. The import's worker processes re-import the parent's main
# script as __mp_main__ (multiprocessing's rule): they must not open services, seed or start a receiver.
if __name__ == "__main__":
    main()
