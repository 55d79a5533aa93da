"""Quizzes (learners): the training sets open to me, taking one, the reveal steps and my score.

What each step shows comes from the domain (casefiles.acting.quiz → casefiles.quiz.flow): before
an answer the page has only the case's history, its unlabelled images and the question — the
title, diagnosis, findings, teaching points, captions and annotations are not in what it gets.
Every text is shown as typed (``st.text``), never as markdown or HTML.
"""

from __future__ import annotations

import streamlit as st

from casefiles.accounts.permissions import PermissionDenied
from casefiles.acting.quiz import MyQuiz, Quizzes
from casefiles.errors import CaseDeckError
from casefiles.model import AssetKind
from casefiles.quiz.flow import QuizRefused, QuizStep, Step
from casefiles.quiz.model import SetState
from pages.components.stack_viewer import stack_viewer, viewer_window
from pages.session import acting_services, quizzes, routed
from pages.ui import get_services, plain, stack_payload, user_errors

routed()  # app.py's routing decides first (sign-in, refusal, links): see pages.session.routed

#: The quiz chosen on this tab, and per (set, case) the reveal step reached.
CHOSEN = "quiz_chosen"
POSITION = "quiz_position_{}"
STEP = "quiz_step_{}_{}"
#: A refusal to show once (answered twice, closed, time is up).
NOTICE = "quiz_notice"


def _label(quiz: MyQuiz) -> str:
    state = {SetState.OPEN: "open", SetState.CLOSED: "closed", SetState.DRAFT: "draft"}[quiz.training_set.state]
    started = "not started" if quiz.attempt is None else f"{quiz.score.answered}/{quiz.score.total} answered"
    return f"{quiz.title} · {state} · {started}"


def _images(step: QuizStep) -> None:
    services = get_services()
    series = [a for a in step.images if a.kind is AssetKind.DICOM_SERIES and services.series_showable(a)]
    pictures = [a for a in step.images if a.kind is AssetKind.IMAGE and a.blob]
    if not series and not pictures:
        st.caption("This case has no images to show.")
        return
    if series:
        labels = {a.id: f"{a.label} ({a.frame_count} images)" for a in series}
        asset_id = st.selectbox(
            "Series", list(labels), format_func=labels.__getitem__, key=f"quiz_series_{step.set_id}_{step.position}"
        )
        asset = next(a for a in series if a.id == asset_id)
        key = f"quiz_viewer_{step.set_id}_{step.position}_{asset.id}"
        with user_errors("Opening the series"):
            window = viewer_window(key) or services.asset_window(asset)
            stack_viewer(stack_payload(step.case_id, asset, window), key=key, height=520)
            st.caption("Scroll with the mouse wheel or arrow keys · drag to set window/level · R resets")
    for picture in pictures:
        with user_errors("Showing a picture"):
            st.image(acting_services().blob_bytes(str(picture.blob)))


def _answer_form(step: QuizStep, taking: Quizzes) -> None:
    suffix = f"quiz_{step.set_id}_{step.position}"  # each case its own widgets: nothing typed carries over
    with st.form(f"{suffix}_answer"):
        picked: list[int] = []
        if step.options:
            numbers = list(range(len(step.options)))
            if step.several:
                picked = st.multiselect(
                    "Pick all that apply", numbers, format_func=lambda n: step.options[n], key=f"{suffix}_many"
                )
            else:
                one = st.radio(
                    "Pick one", numbers, index=None, format_func=lambda n: plain(step.options[n]), key=f"{suffix}_one"
                )
                picked = [] if one is None else [one]
        typed = st.text_input("Your answer", max_chars=500, key=f"{suffix}_typed") if step.free_text else ""
        if st.form_submit_button("Answer", type="primary"):
            try:
                taking.answer(step.set_id, step.position, text=typed or "", choices=picked)
            except (QuizRefused, CaseDeckError) as exc:
                st.session_state[NOTICE] = str(exc)
            else:
                st.session_state[STEP.format(step.set_id, step.position)] = int(Step.ANSWER)
            st.rerun()


def _section(label: str, value: str) -> None:
    if value.strip():
        st.caption(label)
        st.text(value)


def _revealed(step: QuizStep, taking: Quizzes) -> None:
    shown = step.revealed
    if shown is None:
        return
    st.divider()
    if shown.given:
        _section("Your answer", shown.given)
        if shown.correct is True:
            st.success("Right.", icon="✅")
        elif shown.correct is False:
            st.error("Not right.", icon="❌")
    _section("Answer", shown.right_answer)
    _section("Case", shown.title)
    _section("Findings", shown.findings)
    _section("Diagnosis", shown.diagnosis)
    _section("Differential diagnosis", "\n".join(shown.differential))
    if step.step >= Step.ANNOTATIONS:
        st.caption("Key images")
        if not step.key_images:
            st.text("This case has no annotated key images.")
        for index, key in enumerate(step.key_images):
            with user_errors("Showing a key image"):
                st.image(taking.key_image_png(step, index))
            if key.caption.strip():
                st.text(key.caption)
    if step.step >= Step.TEACHING:
        _section("Teaching points", "\n".join(f"• {p}" for p in step.teaching_points) or "(none)")
    if step.next_step is not None:
        label = {Step.ANNOTATIONS: "Show annotations", Step.TEACHING: "Show teaching points"}.get(step.next_step)
        if label and st.button(label, key=f"quiz_next_step_{step.set_id}_{step.position}"):
            st.session_state[STEP.format(step.set_id, step.position)] = int(step.next_step)
            st.rerun()


def _take(quiz: MyQuiz, taking: Quizzes) -> None:
    training_set = quiz.training_set
    set_id = training_set.id
    total = len(training_set.questions)
    if quiz.attempt is None:
        st.text(f"{total} case{'s' if total != 1 else ''}")
        if training_set.time_limit_minutes:
            st.caption(f"Time limit: {training_set.time_limit_minutes} minutes from when you start.")
        if training_set.self_study:
            st.caption("Self-study: you see whether you were right, but no score is kept.")
        if training_set.state is not SetState.OPEN:
            st.info("This quiz is closed.")
            return
        if st.button("Start quiz", type="primary", key="quiz_start"):
            with user_errors("Starting the quiz"):
                taking.start(set_id)
                st.rerun()
        return
    answered = quiz.attempt.answered()
    st.progress(len(answered) / total if total else 1.0, text=quiz.score.text())
    if quiz.time_left is not None and not quiz.over:
        st.caption(f"Time left: {int(quiz.time_left.total_seconds() // 60)} min")
    if quiz.over:
        st.subheader("Your score", anchor=False)
        st.text(quiz.score.text())
        if training_set.state is SetState.CLOSED:
            st.caption("This quiz is closed; you can still review the cases you answered.")
    positions = list(range(total))
    position_key = POSITION.format(set_id)
    position = st.radio(
        "Case",
        positions,
        format_func=lambda n: f"{n + 1}{' ✓' if n in answered else ''}",
        horizontal=True,
        key=position_key,
    )
    wanted = st.session_state.get(STEP.format(set_id, position), int(Step.QUESTION))
    try:
        step = taking.step(set_id, position, Step(wanted))
    except QuizRefused:
        step = taking.step(set_id, position, Step.QUESTION)
    if step.answered and step.step is Step.QUESTION:
        step = taking.step(set_id, position, Step.ANSWER)
    st.subheader(step.heading, anchor=False)
    _section("History", step.history)
    _images(step)
    st.caption("Question")
    st.text(step.prompt)
    if not step.answered:
        if quiz.over:
            st.info("This case was not answered; answers are no longer taken.")
        else:
            _answer_form(step, taking)
    _revealed(step, taking)
    if step.answered and position + 1 < total:
        st.button(
            "Next case",
            key=f"quiz_next_{set_id}_{position}",
            on_click=lambda: st.session_state.update({position_key: position + 1}),
        )


def main() -> None:
    st.title("Quizzes")
    taking = quizzes()
    try:
        mine = taking.my_quizzes()
    except PermissionDenied as exc:
        st.error(str(exc))
        return
    notice = st.session_state.pop(NOTICE, None)
    if notice:
        st.warning(notice, icon="⚠️")
    if not mine:
        st.info("No quiz is open to you yet. Your education coordinator publishes them.")
        return
    by_id = {q.training_set.id: q for q in mine}
    chosen = st.selectbox("Quiz", list(by_id), format_func=lambda i: _label(by_id[i]), key=CHOSEN)
    with user_errors("Opening the quiz"):
        _take(by_id[chosen], taking)


main()
