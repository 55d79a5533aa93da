"""The quiz as learners and coordinators use it: reveal steps, refusals, scores, results and CSV."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io

import pytest

from casefiles.audit import AuditFilter
from casefiles.errors import ValidationError
from casefiles.quiz.flow import QuizRefused, QuizStep, Step
from casefiles.quiz.model import Choice, Question, SetState, TrainingSet
from casefiles.visibility import Visibility
from tests.quiz.quizlib import COORDINATOR, LEARNER, OTHER_LEARNER, Library

SECRET_WORDS = ("hepatocellular", "washout", "li-rads", "regenerative", "cholangio", "hcc", "adenocarcinoma")


def published_set(library: Library, **settings: object) -> TrainingSet:
    quizzes = library.as_(COORDINATOR)
    made = quizzes.create("Liver and chest", library.case_ids, **settings)  # type: ignore[arg-type]
    quizzes.set_question(
        made.id,
        1,
        Question(
            "chest1",
            "Which diagnosis?",
            choices=(Choice("Pneumonia"), Choice("Adenocarcinoma of the lung", correct=True), Choice("Hamartoma")),
        ),
    )
    quizzes.share(made.id, Visibility.DEPARTMENT)
    return quizzes.publish(made.id)


def everything_in(value: object) -> str:
    """Every text reachable from a returned object (what a page could possibly show)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return " ".join(everything_in(getattr(value, f.name)) for f in dataclasses.fields(value))
    if isinstance(value, tuple | list | frozenset | set):
        return " ".join(everything_in(v) for v in value)
    if isinstance(value, dict):
        return " ".join(everything_in(v) for v in value.values())
    return str(value)


def test_before_answering_the_step_holds_no_answer(library: Library) -> None:
    made = published_set(library)
    learner = library.as_(LEARNER)
    learner.start(made.id)
    step = learner.step(made.id, 0)
    assert step.heading == "Case 1 of 2"
    assert step.history.startswith("60-year-old")
    assert [a.label for a in step.images] == ["Series 1 · CT"]
    assert all(a.caption == "" for a in step.images)
    assert step.revealed is None and step.key_images == () and step.teaching_points == ()
    text = everything_in(step).lower()
    for word in SECRET_WORDS:
        assert word not in text, word
    assert step.next_step is None
    for later in (Step.ANSWER, Step.ANNOTATIONS, Step.TEACHING):
        with pytest.raises(QuizRefused, match="Answer this case first"):
            learner.step(made.id, 0, later)
    # a made-up step object does not unlock the annotated key images either
    fake = dataclasses.replace(step, key_images=("anything",))  # type: ignore[arg-type]
    with pytest.raises(QuizRefused):
        learner.key_image_png(fake, 0)
    refused = library.audit.events(AuditFilter(action="quiz.refused"))
    assert {e.data["reason"] for e in refused} == {"not_answered"}


def test_answer_then_reveal_steps_in_order(library: Library) -> None:
    made = published_set(library)
    learner = library.as_(LEARNER)
    learner.start(made.id)
    shown = learner.answer(made.id, 0, text="HCC")
    assert shown.step is Step.ANSWER and shown.answered
    assert shown.revealed is not None
    assert shown.revealed.correct is True
    assert shown.revealed.given == "HCC"
    assert shown.revealed.diagnosis == "Hepatocellular carcinoma"
    assert shown.revealed.title.startswith("Hepatocellular")
    assert shown.key_images == () and shown.teaching_points == ()
    assert shown.next_step is Step.ANNOTATIONS
    annotated = learner.step(made.id, 0, Step.ANNOTATIONS)
    assert annotated.key_images[0].caption == "Washout: HCC" and annotated.teaching_points == ()
    teaching = learner.step(made.id, 0, Step.TEACHING)
    assert teaching.teaching_points == ("LI-RADS 5: arterial enhancement plus washout",)
    assert teaching.next_step is None
    # the second case is still closed to this learner
    second = learner.step(made.id, 1)
    assert second.options == ("Pneumonia", "Adenocarcinoma of the lung", "Hamartoma")
    assert second.revealed is None
    wrong = learner.answer(made.id, 1, choices=[0])
    assert wrong.revealed is not None and wrong.revealed.correct is False
    assert wrong.revealed.right_answer == "Adenocarcinoma of the lung"
    assert learner.my_score(made.id).text() == "1 of 2 right (50%), 2 answered"


def test_answering_twice_is_refused_and_the_first_answer_kept(library: Library) -> None:
    made = published_set(library)
    learner = library.as_(LEARNER)
    learner.start(made.id)
    learner.answer(made.id, 0, text="cholangiocarcinoma")
    with pytest.raises(QuizRefused, match="already answered case 1; your first answer is kept"):
        learner.answer(made.id, 0, text="HCC")
    attempt = learner.attempt(made.id)
    assert attempt is not None and [a.text for a in attempt.answers] == ["cholangiocarcinoma"]
    assert learner.my_score(made.id).correct == 0
    assert [e.data["reason"] for e in library.audit.events(AuditFilter(action="quiz.refused"))] == ["answered_twice"]


def test_closed_set_takes_no_answers_and_no_new_starts(library: Library) -> None:
    made = published_set(library)
    learner = library.as_(LEARNER)
    learner.start(made.id)
    learner.answer(made.id, 0, text="HCC")
    library.as_(COORDINATOR).close(made.id)
    with pytest.raises(QuizRefused, match="closed"):
        learner.answer(made.id, 1, choices=[1])
    with pytest.raises(QuizRefused, match="closed"):
        library.as_(OTHER_LEARNER).start(made.id)
    # what was answered can still be reviewed; what was not stays closed
    assert learner.step(made.id, 0, Step.TEACHING).teaching_points
    with pytest.raises(QuizRefused):
        learner.step(made.id, 1, Step.ANSWER)


def test_time_limit(library: Library) -> None:
    made = published_set(library, time_limit_minutes=10)
    learner = library.as_(LEARNER)
    learner.start(made.id)
    library.clock.now += dt.timedelta(minutes=9)
    learner.answer(made.id, 0, text="hepatocellular carcinoma")
    (mine,) = learner.my_quizzes()
    assert mine.time_left == dt.timedelta(minutes=1) and not mine.over
    library.clock.now += dt.timedelta(minutes=1)
    with pytest.raises(QuizRefused, match="time limit of 10 minutes is over"):
        learner.answer(made.id, 1, choices=[1])
    # going back to the quiz does not restart the clock
    learner.start(made.id)
    with pytest.raises(QuizRefused, match="time limit"):
        learner.answer(made.id, 1, choices=[1])
    (mine,) = learner.my_quizzes()
    assert mine.over and mine.score.correct == 1


def test_bad_answers(library: Library) -> None:
    made = published_set(library)
    learner = library.as_(LEARNER)
    with pytest.raises(QuizRefused, match="Start the quiz first"):
        learner.answer(made.id, 0, text="HCC")
    learner.start(made.id)
    with pytest.raises(ValidationError, match="Type an answer"):
        learner.answer(made.id, 0, text="   ")
    with pytest.raises(ValidationError, match="at most 500"):
        learner.answer(made.id, 0, text="x" * 10_000)
    with pytest.raises(ValidationError, match="Pick one of the options"):
        learner.answer(made.id, 1, choices=[7])
    with pytest.raises(ValidationError, match="no case 3"):
        learner.answer(made.id, 2, text="HCC")
    attempt = learner.attempt(made.id)
    assert attempt is not None and attempt.answers == ()


def test_a_question_without_a_correct_answer_is_not_published(library: Library) -> None:
    coordinator = library.as_(COORDINATOR)
    made = coordinator.create("Chest", ["chest1"])
    coordinator.set_question(made.id, 0, Question("chest1", "Which?", choices=(Choice("A"), Choice("B"))))
    with pytest.raises(ValidationError, match="Case 1 has no correct answer: mark an option as correct"):
        coordinator.publish(made.id)
    assert coordinator.get(made.id).state is SetState.DRAFT
    # the default question takes the case's diagnosis as its accepted answer
    other = coordinator.create("Liver", ["liver1"])
    assert other.questions[0].accepted == ("Hepatocellular carcinoma",)
    assert coordinator.publish(other.id).state is SetState.OPEN
    with pytest.raises(ValidationError, match="only while the set is a draft"):
        coordinator.set_question(other.id, 0, Question("liver1", accepted=("HCC",)))


def test_self_study_is_not_scored(library: Library) -> None:
    made = published_set(library, self_study=True)
    learner = library.as_(LEARNER)
    learner.start(made.id)
    shown = learner.answer(made.id, 0, text="HCC")
    assert shown.revealed is not None and shown.revealed.correct is True  # feedback still given
    assert learner.my_score(made.id).correct is None
    assert "not scored" in learner.my_score(made.id).text()
    results = library.as_(COORDINATOR).results(made.id)
    assert results.by_question[0].correct is None and results.by_question[0].answered == 1


def test_scores_results_and_csv(library: Library) -> None:
    made = published_set(library)
    for actor, liver, chest in ((LEARNER, "HCC", 1), (OTHER_LEARNER, "=HYPERLINK(1)", 0)):
        quizzes = library.as_(actor)
        quizzes.start(made.id)
        quizzes.answer(made.id, 0, text=liver)
        quizzes.answer(made.id, 1, choices=[chest])
    results = library.as_(COORDINATOR).results(made.id)
    assert [(q.answered, q.correct, q.percent) for q in results.by_question] == [(2, 1, 50), (2, 1, 50)]
    learners = [(r.learner, r.score.correct, r.finished) for r in results.by_learner]
    assert learners == [("lena", 2, True), ("leo", 0, True)]
    rows = list(csv.reader(io.StringIO(library.as_(COORDINATOR).results_csv(made.id))))
    assert rows[0] == ["learner", "case", "question", "answer", "correct", "answered_at", "started"]
    assert rows[1][:5] == ["lena", "Case 1", "What is the most likely diagnosis?", "HCC", "yes"]
    assert rows[4][:5] == ["leo", "Case 2", "Which diagnosis?", "Pneumonia", "no"]
    assert rows[3][3] == "'=HYPERLINK(1)"  # a formula typed as an answer stays text
    assert len(library.audit.events(AuditFilter(action="quiz.export"))) == 1
    answers = library.audit.events(AuditFilter(action="quiz.answer"))
    assert len(answers) == 4 and all("HCC" not in str(e.data) for e in answers)


def test_manager_preview_sees_everything_without_answering(library: Library) -> None:
    made = published_set(library)
    step = library.as_(COORDINATOR).step(made.id, 0, Step.TEACHING)
    assert isinstance(step, QuizStep) and step.revealed is not None and step.teaching_points


def test_two_tabs_answering_at_once_keep_one_answer(library: Library) -> None:
    import threading

    made = published_set(library)
    learner = library.as_(LEARNER)
    learner.start(made.id)
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def answer(text: str) -> None:
        barrier.wait()
        try:
            learner.answer(made.id, 0, text=text)
            outcomes.append("kept " + text)
        except QuizRefused:
            outcomes.append("refused")

    threads = [threading.Thread(target=answer, args=(t,)) for t in ("HCC", "cholangiocarcinoma")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(o.split()[0] for o in outcomes) == ["kept", "refused"]
    attempt = learner.attempt(made.id)
    assert attempt is not None and len(attempt.answers) == 1
    assert "kept " + attempt.answers[0].text in outcomes


def test_copy_reopen_and_records(library: Library) -> None:
    coordinator = library.as_(COORDINATOR)
    made = published_set(library, time_limit_minutes=30)
    closed = coordinator.close(made.id)
    assert closed.state is SetState.CLOSED
    assert coordinator.reopen(made.id).state is SetState.OPEN
    copy = coordinator.copy(made.id)
    assert copy.state is SetState.DRAFT and copy.id != made.id and copy.title == "Copy of Liver and chest"
    assert copy.questions == made.questions and copy.sharing.visibility is Visibility.PRIVATE
    stored = TrainingSet.from_dict(copy.to_dict())
    assert stored.questions == copy.questions and stored.time_limit_minutes == 30
    with pytest.raises(ValidationError, match="nothing to close"):
        coordinator.close(copy.id)
    coordinator.delete(made.id)
    assert [s.id for s in coordinator.managed_sets()] == [copy.id]
