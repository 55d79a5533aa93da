"""Training sets (coordinators, admins; presenters for their own cases): make, edit, publish, results.

A set is made from cases picked in the library or from a conference; each case gets a question
(options with the right one(s) marked, and/or accepted free-text answers). Publishing refuses a
question without a correct answer. The domain (casefiles.acting.quiz) decides who may do what;
this page hides what would be refused and says why. Titles and answers are shown as typed.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from casefiles.accounts.permissions import PermissionDenied, Role
from casefiles.acting.quiz import Quizzes
from casefiles.quiz.flow import publish_problems
from casefiles.quiz.model import Choice, Question, SetState, TrainingSet
from casefiles.store import CaseQuery
from casefiles.visibility import Visibility
from pages.session import acting_services, quizzes, routed
from pages.ui import case_labels, case_thumbnails, conference_labels, plain, user_errors

routed()  # app.py's routing decides first (sign-in, refusal, links): see pages.session.routed

CHOSEN = "training_set_chosen"
DONE = "training_set_done"
#: The set to choose on the next run (the chooser's own state cannot change once it is drawn).
PENDING = "training_set_pending"


def _done(message: str, chosen: str | None = None) -> None:
    st.session_state[DONE] = message
    if chosen is not None:
        st.session_state[PENDING] = chosen
    st.rerun()


def _case_titles(case_ids: tuple[str, ...]) -> dict[str, str]:
    """Titles of the set's cases this person may see (others show as "Case n")."""
    if not case_ids:
        return {}
    return {s.id: s.title for s in acting_services().case_summaries(CaseQuery(ids=case_ids))}


def _new_set(manage: Quizzes) -> None:
    actor = manage.actor
    assert actor is not None
    acting = acting_services()
    with st.expander("New training set", expanded=not manage.managed_sets()):
        title = st.text_input("Title", max_chars=300, key="ts_new_title")
        source = st.radio("Cases from", ["the library", "a conference"], horizontal=True, key="ts_new_source")
        case_ids: list[str] = []
        conference_id = ""
        if source == "the library":
            summaries = acting.case_summaries()
            if actor.role is Role.PRESENTER:
                summaries = [s for s in summaries if s.sharing.owner == actor.username]
                st.caption("Presenters make sets of their own cases.")
            labels = case_labels(summaries)  # title · modality · date; equal titles told apart
            case_ids = st.multiselect(
                "Cases, in order", list(labels), format_func=labels.__getitem__, key="ts_new_cases"
            )
            by_id = {s.id: s for s in summaries}
            case_thumbnails(acting, [by_id[i] for i in case_ids], labels, width=72)  # in the chosen order
        else:
            conferences = {c.id: c for c in acting.list_conferences()}
            if not conferences:
                st.caption("No conference is shared with you.")
            names = conference_labels(list(conferences.values()))  # title · date · kind; equal ones told apart
            conference_id = (
                st.selectbox(
                    "Conference",
                    list(conferences),
                    index=None,
                    format_func=lambda i: f"{names[i]} ({len(conferences[i].items)} cases)",
                    key="ts_new_conference",
                )
                or ""
            )
        limit = st.number_input("Time limit per attempt (minutes; 0: none)", 0, 24 * 60, 0, step=5, key="ts_new_limit")
        self_study = st.checkbox("Self-study (no scoring)", key="ts_new_self_study")
        if st.button("Make the set", type="primary", key="ts_new_make"):
            with user_errors("Making the set"):
                made = manage.create(
                    title or "Training set",
                    case_ids,
                    conference_id=conference_id,
                    time_limit_minutes=int(limit) or None,
                    self_study=self_study,
                )
                _done(f"Made a draft set of {len(made.questions)} cases.", made.id)


def _choices_from(text: str) -> tuple[Choice, ...]:
    """Options typed one per line; a leading ``*`` marks a right one."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return tuple(Choice(line.lstrip("*").strip(), correct=line.startswith("*")) for line in lines if line.lstrip("*"))


def _choices_text(question: Question) -> str:
    return "\n".join(("* " if c.correct else "") + c.text for c in question.choices)


def _questions(manage: Quizzes, training_set: TrainingSet) -> None:
    st.subheader("Questions", anchor=False)
    draft = training_set.state is SetState.DRAFT
    if not draft:
        st.caption("Questions change only while the set is a draft; make a copy to change a published set.")
    titles = _case_titles(training_set.case_ids)
    for position, question in enumerate(training_set.questions):
        label = f"Case {position + 1}: {titles.get(question.case_id, '(not shared with you)')}"
        marker = "" if question.has_correct_answer else " · no correct answer yet"
        with st.expander(plain(label + marker)):
            key = f"ts_q_{training_set.id}_{position}_{training_set.version}"
            prompt = st.text_input(
                "Question", question.prompt, max_chars=2_000, key=key + "_prompt", disabled=not draft
            )
            options = st.text_area(
                "Options, one per line; start the right one(s) with *",
                _choices_text(question),
                key=key + "_options",
                disabled=not draft,
            )
            accepted = st.text_area(
                "Accepted free-text answers, one per line (synonyms and British/American spellings count anyway)",
                "\n".join(question.accepted),
                key=key + "_accepted",
                disabled=not draft,
            )
            if draft and st.button("Save question", key=key + "_save"):
                with user_errors("Saving the question"):
                    changed = Question(
                        question.case_id,
                        prompt.strip(),
                        choices=_choices_from(options),
                        accepted=tuple(a.strip() for a in accepted.splitlines() if a.strip()),
                    )
                    manage.set_question(training_set.id, position, changed)
                    _done(f"Saved the question of case {position + 1}.")


def _settings(manage: Quizzes, training_set: TrainingSet) -> None:
    set_id = training_set.id
    st.text(f"State: {training_set.state.label} · {len(training_set.questions)} cases")
    limit = training_set.time_limit_minutes
    st.caption(
        (f"Time limit: {limit} minutes" if limit else "No time limit")
        + (" · self-study (no scoring)" if training_set.self_study else "")
        + f" · visible to: {training_set.sharing.visibility.label}"
    )
    problems = publish_problems(training_set)
    columns = st.columns(4)
    if training_set.state is not SetState.OPEN:
        if columns[0].button("Publish", type="primary", key=f"ts_publish_{set_id}", disabled=bool(problems)):
            with user_errors("Publishing"):
                manage.publish(set_id)
                _done("Published: learners who see the set can take it now.")
    elif columns[0].button("Close", key=f"ts_close_{set_id}"):
        with user_errors("Closing"):
            manage.close(set_id)
            _done("Closed: no more answers are taken.")
    if columns[1].button("Copy", key=f"ts_copy_{set_id}"):
        with user_errors("Copying"):
            copy = manage.copy(set_id)
            _done("Made a draft copy.", copy.id)
    if columns[2].button("Delete", key=f"ts_delete_{set_id}"):
        with user_errors("Deleting"):
            manage.delete(set_id)
            _done("Deleted the set and its attempts.", "")
    for problem in problems:
        st.warning(problem)
    with st.expander("Who may take it"):
        options = list(Visibility)
        visibility = st.selectbox(
            "Visible to",
            options,
            index=options.index(training_set.sharing.visibility),
            format_func=lambda v: v.label,
            key=f"ts_vis_{set_id}",
        )
        groups = st.text_input(
            "Groups (comma-separated)", ", ".join(sorted(training_set.sharing.groups)), key=f"ts_groups_{set_id}"
        )
        if st.button("Save sharing", key=f"ts_share_{set_id}"):
            with user_errors("Sharing"):
                manage.share(set_id, visibility, [g.strip() for g in groups.split(",") if g.strip()])
                _done("Saved who may take the set.")


def _results(manage: Quizzes, training_set: TrainingSet) -> None:
    if not manage.may_see_results(training_set.id):
        st.caption("Learners' answers are seen by coordinators and admins only.")
        return
    st.subheader("Results", anchor=False)
    results = manage.results(training_set.id)
    if not results.by_learner:
        st.caption("Nobody has started this quiz yet.")
        return
    by_question: list[dict[str, Any]] = [
        {
            "case": f"Case {r.position + 1}",
            "question": r.prompt,
            "answered": r.answered,
            "right": "" if r.correct is None else r.correct,
            "right %": "" if r.percent is None else r.percent,
        }
        for r in results.by_question
    ]
    st.dataframe(by_question, hide_index=True)
    by_learner: list[dict[str, Any]] = [
        {
            "learner": r.learner,
            "answered": f"{r.score.answered}/{r.score.total}",
            "right": "" if r.score.correct is None else r.score.correct,
            "score %": "" if r.score.percent is None else r.score.percent,
            "finished": "yes" if r.finished else "no",
            "started": r.started.strftime("%Y-%m-%d %H:%M UTC"),
        }
        for r in results.by_learner
    ]
    st.dataframe(by_learner, hide_index=True)
    if st.button("Prepare CSV", key=f"ts_csv_{training_set.id}"):
        with user_errors("Exporting the results"):
            st.session_state[f"ts_csv_ready_{training_set.id}"] = manage.results_csv(training_set.id)
    ready = st.session_state.get(f"ts_csv_ready_{training_set.id}")
    if ready:
        st.download_button(
            "Download results (.csv)", ready, file_name="quiz-results.csv", mime="text/csv", key="ts_csv_download"
        )


def main() -> None:
    st.title("Training sets")
    manage = quizzes()
    if not manage.may_create():
        st.info("Training sets are made by presenters, coordinators and admins. Your quizzes are on the Quizzes page.")
        return
    done = st.session_state.pop(DONE, None)
    if done:
        st.success(done)
    try:
        _new_set(manage)
        sets = {s.id: s for s in manage.managed_sets()}
    except PermissionDenied as exc:
        st.error(str(exc))
        return
    if not sets:
        st.caption("No training sets yet.")
        return
    pending = st.session_state.pop(PENDING, None)
    if pending is not None:
        st.session_state[CHOSEN] = pending
    if st.session_state.get(CHOSEN) not in sets:
        st.session_state.pop(CHOSEN, None)
    chosen = st.selectbox(
        "Training set",
        list(sets),
        format_func=lambda i: f"{sets[i].title} · {sets[i].state.value}",
        key=CHOSEN,
    )
    training_set = sets[chosen]
    with user_errors("Opening the set"):
        _settings(manage, training_set)
        _questions(manage, training_set)
        _results(manage, training_set)


main()
