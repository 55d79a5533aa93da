"""Home: the case of the week, what is new, my drafts and the conferences ahead (issue #17)."""

import streamlit as st

from casefiles.store import CaseSummary
from pages.session import acting_services, landing, quizzes, routed
from pages.ui import open_case, plain, show_conference, user_errors

routed()  # app.py's routing decides first (sign-in, refusal, links): see pages.session.routed

services = acting_services()
home = landing()
st.title("CaseDeck")


def case_card(case: CaseSummary, key: str) -> None:
    thumb = services.summary_thumbnail(case)
    if thumb:
        st.image(thumb, width="stretch")
    st.markdown(f"**{plain(case.title)}**")
    st.caption(plain(" · ".join(x for x in (case.modality, case.body_part, case.diagnosis) if x)))
    if st.button("Open", key=f"{key}_{case.id}", width="stretch"):
        open_case(case.id)


with user_errors("Loading the home page"):
    featured = home.case_of_the_week()
    if featured is not None:
        st.subheader("Case of the week")
        left, right = st.columns([1, 2])
        with left:
            case_card(featured.case, "home_featured")
        right.caption(f"Chosen by {plain(featured.chosen_by)} on {featured.since:%d %b %Y}.")

    drafts = home.my_drafts()
    if drafts:
        st.subheader("My drafts")
        st.caption("Your cases nobody else sees yet (share them from the Sharing tab of the case).")
        for column, case in zip(st.columns(4), drafts[:4], strict=False):
            with column:
                case_card(case, "home_draft")

    mine = [q for q in quizzes().my_quizzes() if not q.over]
    if mine:
        st.subheader("My quizzes")
        for quiz in mine[:5]:
            done = f"{quiz.score.answered} of {quiz.score.total} answered" if quiz.attempt else "not started"
            if st.button(f"{plain(quiz.title)} · {done}", key=f"home_quiz_{quiz.training_set.id}"):
                st.switch_page("pages/quiz.py")

    upcoming = home.upcoming_conferences()
    st.subheader("Conferences ahead")
    if not upcoming:
        st.caption("No conference with a date ahead.")
    for conference in upcoming:
        when, count = f"{conference.date:%a %d %b}", len(conference.items)
        label = f"{when} · {plain(conference.title)} · {conference.kind.label} · {count} case(s)"
        if st.button(label, key=f"home_conf_{conference.id}"):
            show_conference(conference.id)
            st.switch_page("pages/conferences.py")

    recent = home.recently_added()
    st.subheader("Recently added")
    if not recent:
        st.info("No case here yet: import a study, or ask a colleague to share one with you.")
    for start in range(0, len(recent), 4):
        for column, case in zip(st.columns(4), recent[start : start + 4], strict=False):
            with column:
                case_card(case, "home_recent")
