"""Training sets and quizzes as the signed-in person (issue #17, scope 4).

Who may do what (decided in :mod:`casefiles.quiz.flow`, asked here on every call):

* **coordinators and admins** make sets from any case they may view (picked cases or a
  conference), edit, share, publish, close and delete the sets they see, and read the results
  (every learner's answers, per question and per learner, CSV);
* **presenters** make sets from *their own* cases only (a set shows its cases' images to whoever
  may take it, so a presenter cannot hand out a colleague's case) and manage their own sets, but
  never read other learners' answers;
* **learners** (and everyone else) take the published sets they see: one attempt per set, one
  answer per case (the first stays), nothing after the set closed or the time limit ran out.

A set shows its cases to those who take it, as a share link does, whatever the cases' own
visibility: what a learner gets is only what :func:`casefiles.quiz.flow.quiz_step` lets the
step show. The set is made private to its maker; sharing it (like a case) is what lets learners
take it. Every change, start, answer, refusal and results read is audited (ids, counts and a
reason code; never an answer or a title).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from casefiles.accounts.permissions import Action, Actor, PermissionDenied, allowed, require
from casefiles.errors import ConflictError, NotFoundError, ValidationError
from casefiles.model import Case, Conference
from casefiles.quiz.flow import (
    LearnerResult,
    QuestionResult,
    QuizRefused,
    QuizStep,
    Score,
    Step,
    editable,
    may_create,
    may_manage,
    may_see_results,
    may_take,
    may_use_case,
    over,
    published,
    quiz_step,
    require_manage,
    require_take,
    results_by_learner,
    results_by_question,
    results_csv,
    score,
    time_left,
    with_answer,
)
from casefiles.quiz.model import (
    QUIZ_ATTEMPT,
    TRAINING_SET,
    Attempt,
    Question,
    SetState,
    TrainingSet,
    attempt_key,
    new_set_id,
    utcnow,
)
from casefiles.store.records import Record
from casefiles.visibility import Sharing, Visibility

_UNCHANGED: Any = object()


class QuizRecords(Protocol):
    def get_record(self, kind: str, key: str) -> Record | None: ...
    def save_record(self, record: Record) -> Record: ...
    def update_record(self, kind: str, key: str, change: Callable[[Record], Record]) -> Record: ...
    def delete_record(self, kind: str, key: str) -> None: ...
    def list_records(self, kind: str) -> list[Record]: ...


class QuizLibrary(Protocol):
    """The part of :class:`casefiles.services.Services` the quiz uses."""

    @property
    def store(self) -> Any: ...

    def get_case(self, case_id: str) -> Case: ...

    def get_conference(self, conference_id: str) -> Conference: ...

    def render_key_image(self, case: Case, key: Any) -> bytes: ...


class Auditor(Protocol):
    def record(
        self, actor: str, action: str, *, target_kind: str = "", target_id: str = "", where: str = "", **details: Any
    ) -> object: ...


@dataclass(frozen=True, slots=True)
class MyQuiz:
    """One quiz in a person's list: the set, their attempt (None: not started), score and time left."""

    training_set: TrainingSet
    attempt: Attempt | None
    score: Score
    over: bool
    time_left: dt.timedelta | None

    @property
    def title(self) -> str:
        return self.training_set.title


@dataclass(frozen=True, slots=True)
class Results:
    """A set's results for a coordinator."""

    training_set: TrainingSet
    by_question: tuple[QuestionResult, ...]
    by_learner: tuple[LearnerResult, ...]


def _set_of(record: Record) -> TrainingSet:
    return TrainingSet.from_dict(record.data, record.version)


def _attempt_of(record: Record) -> Attempt:
    return Attempt.from_dict(record.data, record.version)


@dataclass(frozen=True)
class Quizzes:
    """The quiz use cases for ``actor`` (None: nobody signed in; everything is refused)."""

    actor: Actor | None
    library: QuizLibrary
    audit: Auditor | None = None
    where: str = ""
    clock: Callable[[], dt.datetime] = utcnow

    # -- plumbing --------------------------------------------------------------------------------
    @property
    def _records(self) -> QuizRecords:
        records: QuizRecords = self.library.store
        return records

    def _signed_in(self) -> Actor:
        if self.actor is None:
            raise PermissionDenied("Sign in first.")
        return self.actor

    def _audit(self, action: str, set_id: str, **details: Any) -> None:
        if self.audit is not None and self.actor is not None:
            self.audit.record(
                self.actor.username, action, target_kind="training_set", target_id=set_id, where=self.where, **details
            )

    def _load(self, set_id: str) -> TrainingSet:
        record = self._records.get_record(TRAINING_SET, set_id) if set_id else None
        if record is None:
            raise NotFoundError("That training set is not in CaseDeck (it may have been deleted).")
        return _set_of(record)

    def _change(self, set_id: str, change: Callable[[TrainingSet], TrainingSet]) -> TrainingSet:
        def apply(record: Record) -> Record:
            return Record(TRAINING_SET, set_id, change(_set_of(record)).to_dict(), record.version)

        return _set_of(self._records.update_record(TRAINING_SET, set_id, apply))

    def _managed(self, set_id: str) -> TrainingSet:
        training_set = self._load(set_id)
        require_manage(self._signed_in(), training_set)
        return training_set

    def _all_sets(self) -> list[TrainingSet]:
        return [_set_of(r) for r in self._records.list_records(TRAINING_SET)]

    def _attempts(self, set_id: str) -> list[Attempt]:
        prefix = attempt_key(set_id, "")
        return [_attempt_of(r) for r in self._records.list_records(QUIZ_ATTEMPT) if r.key.startswith(prefix)]

    def _case(self, case_id: str) -> Case:
        try:
            return self.library.get_case(case_id)
        except NotFoundError:
            raise NotFoundError("A case of this set is no longer in the library; ask the coordinator.") from None

    # -- making and editing sets -------------------------------------------------------------------
    def may_create(self) -> bool:
        return may_create(self.actor)

    def _questions(self, actor: Actor, case_ids: Iterable[str]) -> tuple[Question, ...]:
        questions = []
        for n, case_id in enumerate(dict.fromkeys(case_ids), 1):
            case = self._case(case_id)
            if not may_use_case(actor, case.sharing.owner, allowed(actor, Action.VIEW, case.sharing)):
                raise PermissionDenied(
                    f"Case {n} cannot go into your set: presenters use their own cases, "
                    "coordinators any case they may view."
                )
            accepted = (case.diagnosis.strip(),) if case.diagnosis.strip() else ()
            questions.append(Question(case_id, accepted=accepted[:1]))
        return tuple(questions)

    def create(
        self,
        title: str,
        case_ids: Sequence[str] = (),
        *,
        conference_id: str = "",
        time_limit_minutes: int | None = None,
        self_study: bool = False,
    ) -> TrainingSet:
        """A new draft set of these cases (or the conference's), private to its maker.

        Each question starts as "What is the most likely diagnosis?" with the case's diagnosis as
        its accepted answer (none when the case has no diagnosis: publishing then says so).
        """
        actor = self._signed_in()
        if not may_create(actor):
            raise PermissionDenied("Learners take quizzes; making training sets is for presenters and up.")
        ids = list(case_ids)
        if conference_id:
            conference = self.library.get_conference(conference_id)
            require(actor, Action.VIEW, conference.sharing)
            ids = [*conference.case_ids, *ids]
        if not ids:
            raise ValidationError("Pick at least one case (or a conference) for the training set.")
        made = TrainingSet(
            id=new_set_id(),
            title=title.strip(),
            sharing=Sharing(actor.username, Visibility.PRIVATE),
            questions=self._questions(actor, ids),
            time_limit_minutes=time_limit_minutes,
            self_study=self_study,
            conference_id=conference_id,
        )
        stored = self._records.save_record(Record(TRAINING_SET, made.id, made.to_dict()))
        self._audit("quiz.create", made.id, count=len(made.questions))
        return _set_of(stored)

    def managed_sets(self) -> list[TrainingSet]:
        """The sets this person may edit, newest first."""
        actor = self._signed_in()
        return sorted((s for s in self._all_sets() if may_manage(actor, s)), key=lambda s: s.created, reverse=True)

    def get(self, set_id: str) -> TrainingSet:
        """The whole set with its answers: for whoever may manage it."""
        return self._managed(set_id)

    def edit(
        self,
        set_id: str,
        *,
        title: str | None = None,
        time_limit_minutes: int | None = _UNCHANGED,
        self_study: bool | None = None,
    ) -> TrainingSet:
        """The title (any time); the time limit and self-study (while a draft)."""
        self._managed(set_id)

        def change(current: TrainingSet) -> TrainingSet:
            changes: dict[str, Any] = {}
            if title is not None:
                changes["title"] = title.strip()
            if time_limit_minutes is not _UNCHANGED and time_limit_minutes != current.time_limit_minutes:
                editable(current)
                changes["time_limit_minutes"] = time_limit_minutes
            if self_study is not None and self_study != current.self_study:
                editable(current)
                changes["self_study"] = self_study
            return current.edited(**changes) if changes else current

        result = self._change(set_id, change)
        self._audit("quiz.edit", set_id)
        return result

    def set_question(self, set_id: str, position: int, question: Question) -> TrainingSet:
        """Replace the question of case ``position`` (same case), while the set is a draft."""
        self._managed(set_id)

        def change(current: TrainingSet) -> TrainingSet:
            editable(current)
            if current.question(position).case_id != question.case_id:
                raise ValidationError("A question stays with its case; the set changed meanwhile, reload it.")
            questions = list(current.questions)
            questions[position] = question
            return current.edited(questions=tuple(questions))

        result = self._change(set_id, change)
        self._audit("quiz.edit", set_id)
        return result

    def set_cases(self, set_id: str, case_ids: Sequence[str]) -> TrainingSet:
        """The set's cases in this order (questions of cases kept stay as written), while a draft."""
        actor = self._signed_in()
        before = self._managed(set_id)
        kept = {q.case_id: q for q in before.questions}
        new = self._questions(actor, [c for c in case_ids if c not in kept])
        fresh = {q.case_id: q for q in new}

        def change(current: TrainingSet) -> TrainingSet:
            editable(current)
            now = {q.case_id: q for q in current.questions}
            questions = tuple(now.get(c) or fresh[c] for c in dict.fromkeys(case_ids) if c in now or c in fresh)
            return current.edited(questions=questions)

        result = self._change(set_id, change)
        self._audit("quiz.edit", set_id, count=len(result.questions))
        return result

    def share(self, set_id: str, visibility: Visibility, groups: Iterable[str] = ()) -> TrainingSet:
        """Who may take the set (its owner stays)."""
        actor = self._signed_in()
        self._managed(set_id)
        result = self._change(
            set_id,
            lambda s: s.edited(sharing=Sharing(s.sharing.owner or actor.username, visibility, frozenset(groups))),
        )
        self._audit("quiz.edit", set_id)
        return result

    def publish(self, set_id: str) -> TrainingSet:
        """Open the set to learners; refused (a clear message) while a question has no correct answer."""
        self._managed(set_id)
        result = self._change(set_id, published)
        self._audit("quiz.publish", set_id, count=len(result.questions))
        return result

    def close(self, set_id: str) -> TrainingSet:
        """No more answers are taken; learners still see the reveal of what they answered."""
        self._managed(set_id)

        def change(current: TrainingSet) -> TrainingSet:
            if current.state is SetState.DRAFT:
                raise ValidationError("A draft is not open; there is nothing to close.")
            return current.edited(state=SetState.CLOSED)

        result = self._change(set_id, change)
        self._audit("quiz.close", set_id)
        return result

    def reopen(self, set_id: str) -> TrainingSet:
        self._managed(set_id)
        result = self._change(set_id, published)
        self._audit("quiz.publish", set_id, count=len(result.questions))
        return result

    def copy(self, set_id: str, title: str = "") -> TrainingSet:
        """A new draft with the same cases and questions, the copier's and private (to change a published set)."""
        actor = self._signed_in()
        source = self._managed(set_id)
        made = replace(
            source,
            id=new_set_id(),
            title=(title or f"Copy of {source.title}").strip()[:300],
            sharing=Sharing(actor.username, Visibility.PRIVATE),
            state=SetState.DRAFT,
            created=utcnow(),
            updated=utcnow(),
            version=0,
        )
        stored = self._records.save_record(Record(TRAINING_SET, made.id, made.to_dict()))
        self._audit("quiz.create", made.id, count=len(made.questions))
        return _set_of(stored)

    def delete(self, set_id: str) -> None:
        """The set and every attempt at it."""
        self._managed(set_id)
        attempts = self._attempts(set_id)
        for attempt in attempts:
            self._records.delete_record(QUIZ_ATTEMPT, attempt.key)
        self._records.delete_record(TRAINING_SET, set_id)
        self._audit("quiz.delete", set_id, count=len(attempts))

    # -- taking a quiz ----------------------------------------------------------------------------
    def my_quizzes(self) -> list[MyQuiz]:
        """The published sets this person may take, with their progress, open ones first."""
        actor = self._signed_in()
        now = self.clock()
        mine = []
        for training_set in self._all_sets():
            if not may_take(actor, training_set):
                continue
            attempt = self._my_attempt(training_set.id)
            mine.append(
                MyQuiz(
                    training_set,
                    attempt,
                    score(training_set, attempt),
                    attempt is not None and over(training_set, attempt, now),
                    time_left(training_set, attempt, now) if attempt else None,
                )
            )
        return sorted(mine, key=lambda q: (q.training_set.state is not SetState.OPEN, q.training_set.title.lower()))

    def _my_attempt(self, set_id: str) -> Attempt | None:
        record = self._records.get_record(QUIZ_ATTEMPT, attempt_key(set_id, self._signed_in().username))
        return None if record is None else _attempt_of(record)

    def attempt(self, set_id: str) -> Attempt | None:
        """This person's own attempt at the set (None: not started)."""
        require_take(self._signed_in(), self._load(set_id))
        return self._my_attempt(set_id)

    def start(self, set_id: str) -> Attempt:
        """Start (or go back to) this person's attempt; the time limit counts from the first start."""
        actor = self._signed_in()
        training_set = self._load(set_id)
        require_take(actor, training_set)
        existing = self._my_attempt(set_id)
        if existing is not None:
            return existing
        if training_set.state is not SetState.OPEN:
            self._audit("quiz.refused", set_id, reason="closed")
            raise QuizRefused("This quiz has been closed; it can no longer be started.")
        attempt = Attempt(set_id, actor.username, self.clock())
        try:
            stored = self._records.save_record(Record(QUIZ_ATTEMPT, attempt.key, attempt.to_dict()))
        except ConflictError:  # started at the same moment in another tab: that one stands
            again = self._my_attempt(set_id)
            assert again is not None
            return again
        self._audit("quiz.start", set_id)
        return _attempt_of(stored)

    def step(self, set_id: str, position: int, step: Step = Step.QUESTION) -> QuizStep:
        """What step ``step`` of case ``position`` may show this person (refused beyond what they answered)."""
        actor = self._signed_in()
        training_set = self._load(set_id)
        manager = may_manage(actor, training_set)
        attempt = self._my_attempt(set_id)
        if not manager:
            require_take(actor, training_set)
            if attempt is None:
                raise QuizRefused("Start the quiz first.")
        question = training_set.question(position)
        try:
            return quiz_step(training_set, self._case(question.case_id), position, step, attempt, manager=manager)
        except QuizRefused:
            self._audit("quiz.refused", set_id, reason="not_answered")
            raise

    def answer(self, set_id: str, position: int, text: str = "", choices: Sequence[int] = ()) -> QuizStep:
        """Give the answer to case ``position``; returns the step that shows the answer.

        Refused with a clear message when already answered (the first answer is kept), when the
        set is closed or the time limit is over; nothing is saved then.
        """
        actor = self._signed_in()
        training_set = self._load(set_id)
        require_take(actor, training_set)
        if self._my_attempt(set_id) is None:
            raise QuizRefused("Start the quiz first.")
        now = self.clock()

        def change(record: Record) -> Record:
            current = _set_of_fresh(self._records, set_id)  # closed a moment ago counts
            attempt = with_answer(current, _attempt_of(record), position, text=text, choices=choices, now=now)
            return Record(QUIZ_ATTEMPT, record.key, attempt.to_dict(), record.version)

        try:
            self._records.update_record(QUIZ_ATTEMPT, attempt_key(set_id, actor.username), change)
        except QuizRefused as exc:
            self._audit("quiz.refused", set_id, reason=_reason(str(exc)))
            raise
        self._audit("quiz.answer", set_id, count=position + 1)
        return self.step(set_id, position, Step.ANSWER)

    def my_score(self, set_id: str) -> Score:
        training_set = self._load(set_id)
        require_take(self._signed_in(), training_set)
        return score(training_set, self._my_attempt(set_id))

    def key_image_png(self, shown: QuizStep, index: int) -> bytes:
        """Key image ``index`` of a step already given to this person, with its annotations."""
        if index < 0 or index >= len(shown.key_images):
            raise QuizRefused("Answer this case first; the annotations are shown after you have answered.")
        # re-asked, so a step object made up by a page cannot unlock anything
        step = self.step(shown.set_id, shown.position, Step.ANNOTATIONS)
        return self.library.render_key_image(self._case(step.case_id), step.key_images[index])

    # -- results ----------------------------------------------------------------------------------
    def may_see_results(self, set_id: str) -> bool:
        return may_see_results(self.actor, self._load(set_id))

    def _results_allowed(self, set_id: str) -> TrainingSet:
        training_set = self._load(set_id)
        if not may_see_results(self._signed_in(), training_set):
            raise PermissionDenied("Only coordinators and admins see learners' answers.")
        return training_set

    def results(self, set_id: str) -> Results:
        training_set = self._results_allowed(set_id)
        attempts = self._attempts(set_id)
        self._audit("quiz.results", set_id, count=len(attempts))
        return Results(
            training_set,
            tuple(results_by_question(training_set, attempts)),
            tuple(results_by_learner(training_set, attempts, self.clock())),
        )

    def results_csv(self, set_id: str) -> str:
        training_set = self._results_allowed(set_id)
        attempts = self._attempts(set_id)
        self._audit("quiz.export", set_id, count=len(attempts), format="csv")
        return results_csv(training_set, attempts)


def _set_of_fresh(records: QuizRecords, set_id: str) -> TrainingSet:
    record = records.get_record(TRAINING_SET, set_id)
    if record is None:
        raise NotFoundError("That training set is not in CaseDeck (it may have been deleted).")
    return _set_of(record)


def _reason(message: str) -> str:
    """A short code for the audit log (the message itself is for the learner)."""
    if "already answered" in message:
        return "answered_twice"
    if "time limit" in message:
        return "time_up"
    if "closed" in message or "not open" in message:
        return "closed"
    return "refused"
