"""The quiz's rules as pure functions: who may do what, what each reveal step shows, answering, scores.

Reveal steps, in order (a learner moves on at their own pace, never past what they answered):

* ``QUESTION`` — before answering: a neutral heading ("Case 3 of 10"), the history, the images
  (series without their labels or captions; no key images, so no annotations) and the question.
  No title, findings, diagnosis, differential, teaching points, captions or annotations: they
  are not in the returned :class:`QuizStep` at all, so no page can show them by mistake.
* ``ANSWER`` — after answering: what they answered, whether it was right, the right answer, the
  case's title, findings, diagnosis and differential.
* ``ANNOTATIONS`` — also the key images with their annotations and captions.
* ``TEACHING`` — also the teaching points.

Whoever may manage the set (:func:`may_manage`) sees every step of every case without answering
(to check the set before publishing). Scores are per attempt; self-study sets are not scored.
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from casefiles.accounts.permissions import Actor, PermissionDenied, Role
from casefiles.errors import CaseDeckError, ValidationError
from casefiles.model import Asset, AssetKind, Case, KeyImage
from casefiles.quiz.matching import matches
from casefiles.quiz.model import MAX_ANSWER_CHARS, Answer, Attempt, SetState, TrainingSet
from casefiles.visibility import sees


class QuizRefused(CaseDeckError):
    """A learner asked for something the quiz does not allow now (answered already, closed, time is up)."""


class Step(enum.IntEnum):
    QUESTION = 0
    ANSWER = 1
    ANNOTATIONS = 2
    TEACHING = 3

    @property
    def label(self) -> str:
        return {0: "Question", 1: "Answer", 2: "Annotations", 3: "Teaching points"}[self.value]


# -- who may do what -------------------------------------------------------------------------------
def may_create(actor: Actor | None) -> bool:
    """Coordinators and admins make sets from any case they may view; presenters from their own cases."""
    return actor is not None and actor.role is not Role.LEARNER


def may_use_case(actor: Actor, case_sharing_owner: str, may_view: bool) -> bool:
    """Whether ``actor`` may put a case in a set: presenters only their own; others any case they may view."""
    if actor.role is Role.ADMIN:
        return True
    if actor.role is Role.PRESENTER:
        return bool(case_sharing_owner) and case_sharing_owner == actor.username
    return actor.role is Role.COORDINATOR and may_view


def may_manage(actor: Actor | None, training_set: TrainingSet) -> bool:
    """Edit, publish, close and preview: admins; coordinators who see the set; a presenter their own set."""
    if actor is None:
        return False
    if actor.role is Role.ADMIN:
        return True
    if actor.role is Role.COORDINATOR:
        return sees(actor.username, actor.groups, training_set.sharing)
    return actor.role is Role.PRESENTER and actor.username == training_set.sharing.owner


def may_see_results(actor: Actor | None, training_set: TrainingSet) -> bool:
    """Other learners' answers: coordinators (who see the set) and admins only, never presenters."""
    if actor is None or actor.role not in (Role.ADMIN, Role.COORDINATOR):
        return False
    return may_manage(actor, training_set)


def may_take(actor: Actor | None, training_set: TrainingSet) -> bool:
    """Take the quiz: anyone signed in who sees the set, once it has been published."""
    if actor is None or training_set.state is SetState.DRAFT:
        return False
    return sees(actor.username, actor.groups, training_set.sharing, sees_all=actor.role is Role.ADMIN)


def require_manage(actor: Actor | None, training_set: TrainingSet) -> Actor:
    if actor is None:
        raise PermissionDenied("Sign in first.")
    if not may_manage(actor, training_set):
        raise PermissionDenied("Only coordinators, admins and the set's owner may change this training set.")
    return actor


def require_take(actor: Actor | None, training_set: TrainingSet) -> Actor:
    if actor is None:
        raise PermissionDenied("Sign in first.")
    if not may_take(actor, training_set):
        raise PermissionDenied("This quiz is not open to you; ask the education coordinator who set it.")
    return actor


# -- publishing ------------------------------------------------------------------------------------
def publish_problems(training_set: TrainingSet) -> list[str]:
    """Why the set cannot be published yet (empty: it can)."""
    if not training_set.questions:
        return ["The set has no cases; add at least one."]
    problems = []
    for n, question in enumerate(training_set.questions, 1):
        if not question.prompt.strip():
            problems.append(f"Case {n}: the question is empty; write what the learner is asked.")
        if not question.has_correct_answer:
            problems.append(f"Case {n} has no correct answer: mark an option as correct or add an accepted answer.")
    return problems


def published(training_set: TrainingSet) -> TrainingSet:
    problems = publish_problems(training_set)
    if problems:
        raise ValidationError("The set cannot be published yet. " + " ".join(problems))
    if training_set.state is SetState.OPEN:
        return training_set
    return training_set.edited(state=SetState.OPEN)


def editable(training_set: TrainingSet) -> None:
    """Questions and cases change only in a draft (answers already given would no longer fit)."""
    if training_set.state is not SetState.DRAFT:
        raise ValidationError(
            "Questions and cases can be changed only while the set is a draft; this one is "
            f"{training_set.state.value}. Make a copy to change it."
        )


# -- the time limit --------------------------------------------------------------------------------
def deadline(training_set: TrainingSet, attempt: Attempt) -> dt.datetime | None:
    limit = training_set.time_limit
    return None if limit is None else attempt.started + limit


def time_left(training_set: TrainingSet, attempt: Attempt, now: dt.datetime) -> dt.timedelta | None:
    end = deadline(training_set, attempt)
    return None if end is None else max(end - now, dt.timedelta(0))


def over(training_set: TrainingSet, attempt: Attempt, now: dt.datetime) -> bool:
    """Whether this attempt takes no more answers: the set closed, time is up, or all answered."""
    end = deadline(training_set, attempt)
    return (
        training_set.state is not SetState.OPEN
        or (end is not None and now >= end)
        or len(attempt.answered()) >= len(training_set.questions)
    )


# -- answering -------------------------------------------------------------------------------------
def check_answer_allowed(training_set: TrainingSet, attempt: Attempt, position: int, now: dt.datetime) -> None:
    """Refuse (QuizRefused, a message for the learner) an answer the quiz does not take now."""
    question = training_set.question(position)
    del question
    if training_set.state is SetState.CLOSED:
        raise QuizRefused("This quiz has been closed; answers are no longer taken.")
    if training_set.state is not SetState.OPEN:
        raise QuizRefused("This quiz is not open yet.")
    previous = attempt.answer_to(position)
    if previous is not None:
        raise QuizRefused(f"You have already answered case {position + 1}; your first answer is kept.")
    end = deadline(training_set, attempt)
    if end is not None and now >= end:
        raise QuizRefused(
            f"The time limit of {training_set.time_limit_minutes} minutes is over; answers are no longer taken."
        )


def marked(
    training_set: TrainingSet, position: int, *, text: str = "", choices: Sequence[int] = (), now: dt.datetime
) -> Answer:
    """The learner's answer, checked for shape and marked right or wrong."""
    question = training_set.question(position)
    if not isinstance(text, str):
        raise ValidationError("An answer must be text.")
    if len(text) > MAX_ANSWER_CHARS:
        raise ValidationError(f"An answer is at most {MAX_ANSWER_CHARS} characters.")
    picked = tuple(sorted(set(choices)))
    if any(isinstance(c, bool) or not isinstance(c, int) or not 0 <= c < len(question.choices) for c in picked):
        raise ValidationError("Pick one of the options shown.")
    if not text.strip() and not picked:
        raise ValidationError("Type an answer or pick an option first.")
    if picked and not question.choices:
        raise ValidationError("This question has no options; type your answer.")
    right = _is_right(training_set, position, text, picked)
    return Answer(position, text.strip(), picked, right, now)


def _is_right(training_set: TrainingSet, position: int, text: str, picked: tuple[int, ...]) -> bool:
    question = training_set.question(position)
    if picked:
        return picked == question.correct_choices
    return bool(question.accepted) and matches(text, question.accepted)


def with_answer(
    training_set: TrainingSet,
    attempt: Attempt,
    position: int,
    *,
    text: str = "",
    choices: Sequence[int] = (),
    now: dt.datetime,
) -> Attempt:
    """The attempt with this answer added; refused when it may not be given now (see :func:`check_answer_allowed`)."""
    check_answer_allowed(training_set, attempt, position, now)
    return attempt.with_answer(marked(training_set, position, text=text, choices=choices, now=now))


# -- what each step shows --------------------------------------------------------------------------
#: Assets shown before answering: pictures only (slides and documents may carry the answer).
_IMAGE_KINDS = frozenset({AssetKind.DICOM_SERIES, AssetKind.IMAGE, AssetKind.VIDEO})


@dataclass(frozen=True, slots=True)
class Revealed:
    """What answering unlocks; ``correct`` None when not scored (self-study) or not the learner's answer."""

    given: str
    correct: bool | None
    right_answer: str
    title: str
    findings: str
    diagnosis: str
    differential: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class QuizStep:
    """What one step of one case may show; fields of later steps are empty until that step is reached."""

    set_id: str
    position: int
    total: int
    step: Step
    heading: str
    history: str
    #: The images to look at: series and pictures, unlabelled and without captions.
    images: tuple[Asset, ...]
    prompt: str
    options: tuple[str, ...]
    #: Whether more than one option is right ("pick all that apply").
    several: bool
    free_text: bool
    answered: bool
    #: Whether another step may be asked for now.
    next_step: Step | None
    revealed: Revealed | None = None
    #: Key images with their window, annotations and captions (ANNOTATIONS and later).
    key_images: tuple[KeyImage, ...] = ()
    teaching_points: tuple[str, ...] = ()
    #: The case to read images from (an id says nothing about the case).
    case_id: str = ""


def neutral_images(case: Case) -> tuple[Asset, ...]:
    """The case's series and pictures with neutral labels and no captions (a label may name the finding)."""
    shown = [a for a in case.assets if a.kind in _IMAGE_KINDS]
    return tuple(
        replace(a, label=f"Series {n}" + (f" · {a.modality}" if a.modality else ""), caption="")
        for n, a in enumerate(shown, 1)
    )


def furthest_step(training_set: TrainingSet, attempt: Attempt | None, position: int, *, manager: bool) -> Step:
    """How far this person may go on this case: everything for a manager, the question until answered."""
    if manager:
        return Step.TEACHING
    if attempt is None or attempt.answer_to(position) is None:
        return Step.QUESTION
    return Step.TEACHING


def quiz_step(
    training_set: TrainingSet,
    case: Case,
    position: int,
    step: Step,
    attempt: Attempt | None,
    *,
    manager: bool = False,
) -> QuizStep:
    """Step ``step`` of case ``position``; refused (QuizRefused) beyond what the person may see yet."""
    question = training_set.question(position)
    if case.id != question.case_id:
        raise ValidationError("That case is not the one this question is about.")
    step = Step(step)
    furthest = furthest_step(training_set, attempt, position, manager=manager)
    if step > furthest:
        raise QuizRefused("Answer this case first; the answer is shown after you have answered.")
    answer = attempt.answer_to(position) if attempt is not None else None
    revealed = None
    if step >= Step.ANSWER:
        revealed = Revealed(
            given=_given(question.choices, answer),
            correct=answer.correct if answer is not None else None,
            right_answer=question.answer_text(),
            title=case.title,
            findings=case.findings,
            diagnosis=case.diagnosis,
            differential=case.differential,
        )
    return QuizStep(
        set_id=training_set.id,
        position=position,
        total=len(training_set.questions),
        step=step,
        heading=f"Case {position + 1} of {len(training_set.questions)}",
        history=case.history,
        images=neutral_images(case),
        prompt=question.prompt,
        options=tuple(c.text for c in question.choices),
        several=len(question.correct_choices) > 1,
        free_text=question.free_text,
        answered=answer is not None,
        next_step=Step(step + 1) if step < furthest else None,
        revealed=revealed,
        key_images=case.key_images if step >= Step.ANNOTATIONS else (),
        teaching_points=case.teaching_points if step >= Step.TEACHING else (),
        case_id=case.id,
    )


def _given(choices: Sequence[object], answer: Answer | None) -> str:
    if answer is None:
        return ""
    picked = [str(getattr(choices[n], "text", "")) for n in answer.choices if n < len(choices)]
    return " / ".join([*picked, answer.text] if answer.text else picked)


# -- scores and results ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Score:
    """An attempt's progress and (unless self-study) score."""

    answered: int
    total: int
    correct: int | None

    @property
    def percent(self) -> int | None:
        if self.correct is None or not self.total:
            return None
        return round(100 * self.correct / self.total)

    def text(self) -> str:
        if self.correct is None:
            return f"{self.answered} of {self.total} answered (self-study: not scored)"
        return f"{self.correct} of {self.total} right ({self.percent}%), {self.answered} answered"


def score(training_set: TrainingSet, attempt: Attempt | None) -> Score:
    total = len(training_set.questions)
    answers = [] if attempt is None else [a for a in attempt.answers if a.position < total]
    if training_set.self_study:
        return Score(len(answers), total, None)
    return Score(len(answers), total, sum(1 for a in answers if a.correct))


@dataclass(frozen=True, slots=True)
class QuestionResult:
    position: int
    prompt: str
    answered: int
    #: None for a self-study set (not scored).
    correct: int | None

    @property
    def percent(self) -> int | None:
        return round(100 * self.correct / self.answered) if self.answered and self.correct is not None else None


@dataclass(frozen=True, slots=True)
class LearnerResult:
    learner: str
    started: dt.datetime
    score: Score
    finished: bool


def results_by_question(training_set: TrainingSet, attempts: Iterable[Attempt]) -> list[QuestionResult]:
    attempts = list(attempts)
    rows = []
    for position, question in enumerate(training_set.questions):
        given = [a.answer_to(position) for a in attempts]
        answers = [g for g in given if g is not None]
        correct = None if training_set.self_study else sum(1 for g in answers if g.correct)
        rows.append(QuestionResult(position, question.prompt, len(answers), correct))
    return rows


def results_by_learner(training_set: TrainingSet, attempts: Iterable[Attempt], now: dt.datetime) -> list[LearnerResult]:
    return sorted(
        (LearnerResult(a.learner, a.started, score(training_set, a), over(training_set, a, now)) for a in attempts),
        key=lambda r: r.learner,
    )


CSV_COLUMNS = ("learner", "case", "question", "answer", "correct", "answered_at", "started")


def results_csv(training_set: TrainingSet, attempts: Iterable[Attempt]) -> str:
    """One row per learner and case (unanswered cases too); cells a spreadsheet would run are defused."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for attempt in sorted(attempts, key=lambda a: a.learner):
        for position, question in enumerate(training_set.questions):
            answer = attempt.answer_to(position)
            correct = ""
            if answer is not None and answer.correct is not None and not training_set.self_study:
                correct = "yes" if answer.correct else "no"
            row = (
                attempt.learner,
                f"Case {position + 1}",
                question.prompt,
                _given(question.choices, answer),
                correct,
                answer.at.isoformat() if answer else "",
                attempt.started.isoformat(),
            )
            writer.writerow([defused(str(cell)) for cell in row])
    return out.getvalue()


def defused(cell: str) -> str:
    """A cell a spreadsheet would run as a formula, made plain text (as casefiles.audit.to_csv does)."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell
