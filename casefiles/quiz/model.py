"""Training sets, their questions and a learner's attempt: frozen values and their JSON shape (issue #17).

A *training set* is an ordered list of cases, each with one question: a prompt, multiple-choice
options (one or more marked correct) and/or accepted free-text answers (matched by
:mod:`casefiles.quiz.matching`). A set is a draft while it is written, open while learners take
it and closed when it is over; it is seen by whom its :class:`~casefiles.visibility.Sharing`
lets see it, like a case. An *attempt* is one learner's pass through one set: when they started
and the answer they gave to each question (one answer per question; the first one stays).

Records: kind ``training_set`` (key: the set's id) and kind ``quiz_attempt`` (key:
``<set id>:<user name>``).
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from casefiles.errors import ValidationError
from casefiles.store.records import Record
from casefiles.visibility import Sharing

TRAINING_SET = "training_set"
QUIZ_ATTEMPT = "quiz_attempt"

MAX_QUESTIONS = 200
MAX_CHOICES = 10
MAX_ACCEPTED = 30
MAX_ANSWER_CHARS = 500
MAX_TIME_LIMIT_MINUTES = 24 * 60


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def new_set_id() -> str:
    return "ts" + uuid.uuid4().hex[:10]


def _text(name: str, value: object, *, max_len: int, allow_empty: bool = True) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be text.")
    if not allow_empty and not value.strip():
        raise ValidationError(f"{name} must not be empty.")
    if len(value) > max_len:
        raise ValidationError(f"{name} is too long ({len(value)} characters; the limit is {max_len}).")
    return value


class SetState(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return {"draft": "Draft (not visible to learners)", "open": "Open", "closed": "Closed"}[self.value]


@dataclass(frozen=True, slots=True)
class Choice:
    """One multiple-choice option."""

    text: str
    correct: bool = False

    def __post_init__(self) -> None:
        _text("An option", self.text, max_len=500, allow_empty=False)
        if not isinstance(self.correct, bool):
            raise ValidationError("Whether an option is correct is yes or no.")


@dataclass(frozen=True, slots=True)
class Question:
    """The question asked about one case of the set."""

    case_id: str
    prompt: str = "What is the most likely diagnosis?"
    choices: tuple[Choice, ...] = ()
    #: Accepted free-text answers; each may be a synonym or a spelling of the others.
    accepted: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _text("case id", self.case_id, max_len=64, allow_empty=False)
        _text("The question", self.prompt, max_len=2_000)
        choices = tuple(self.choices)
        if not all(isinstance(c, Choice) for c in choices):
            raise ValidationError("Options must be Choice values.")
        if len(choices) > MAX_CHOICES:
            raise ValidationError(f"A question has at most {MAX_CHOICES} options.")
        if len({c.text.strip().casefold() for c in choices}) != len(choices):
            raise ValidationError("Two options of one question read the same.")
        accepted = tuple(
            dict.fromkeys(_text("An accepted answer", a, max_len=300).strip() for a in self.accepted if a.strip())
        )
        if len(accepted) > MAX_ACCEPTED:
            raise ValidationError(f"A question has at most {MAX_ACCEPTED} accepted answers.")
        object.__setattr__(self, "choices", choices)
        object.__setattr__(self, "accepted", accepted)

    @property
    def multiple_choice(self) -> bool:
        return bool(self.choices)

    @property
    def free_text(self) -> bool:
        """Whether the learner types an answer (no options, or options plus accepted answers)."""
        return bool(self.accepted) or not self.choices

    @property
    def correct_choices(self) -> tuple[int, ...]:
        return tuple(n for n, c in enumerate(self.choices) if c.correct)

    @property
    def has_correct_answer(self) -> bool:
        return bool(self.correct_choices) or bool(self.accepted)

    def answer_text(self) -> str:
        """The right answer(s) as shown after answering."""
        parts = [self.choices[n].text for n in self.correct_choices]
        parts += [a for a in self.accepted if a.casefold() not in {p.casefold() for p in parts}][:1]
        return " / ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "prompt": self.prompt,
            "choices": [{"text": c.text, "correct": c.correct} for c in self.choices],
            "accepted": list(self.accepted),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Question:
        return cls(
            case_id=str(data["case_id"]),
            prompt=str(data.get("prompt", "")),
            choices=tuple(Choice(str(c["text"]), bool(c.get("correct", False))) for c in data.get("choices", ())),
            accepted=tuple(str(a) for a in data.get("accepted", ())),
        )


@dataclass(frozen=True, slots=True)
class TrainingSet:
    """An ordered set of cases with a question each; what learners take as a quiz."""

    id: str
    title: str
    sharing: Sharing
    questions: tuple[Question, ...] = ()
    state: SetState = SetState.DRAFT
    #: Minutes a learner has from starting an attempt; None: no limit.
    time_limit_minutes: int | None = None
    #: Self-study: learners answer and see the reveal, but nothing is scored.
    self_study: bool = False
    #: The conference the set was made from ("" when made from picked cases).
    conference_id: str = ""
    created: dt.datetime = field(default_factory=utcnow)
    updated: dt.datetime = field(default_factory=utcnow)
    version: int = 0

    def __post_init__(self) -> None:
        _text("set id", self.id, max_len=64, allow_empty=False)
        _text("The set's title", self.title, max_len=300, allow_empty=False)
        if not isinstance(self.sharing, Sharing):
            raise ValidationError("A set's sharing must be a Sharing value.")
        if not isinstance(self.state, SetState):
            raise ValidationError(f"A set's state is one of {[s.value for s in SetState]}.")
        questions = tuple(self.questions)
        if not all(isinstance(q, Question) for q in questions):
            raise ValidationError("A set's questions must be Question values.")
        if len(questions) > MAX_QUESTIONS:
            raise ValidationError(f"A training set holds at most {MAX_QUESTIONS} cases.")
        ids = [q.case_id for q in questions]
        if len(set(ids)) != len(ids):
            raise ValidationError("A case appears twice in the training set.")
        object.__setattr__(self, "questions", questions)
        limit = self.time_limit_minutes
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_TIME_LIMIT_MINUTES
        ):
            raise ValidationError(f"A time limit is a whole number of minutes from 1 to {MAX_TIME_LIMIT_MINUTES}.")
        if not isinstance(self.self_study, bool):
            raise ValidationError("Self-study is yes or no.")

    @property
    def case_ids(self) -> tuple[str, ...]:
        return tuple(q.case_id for q in self.questions)

    @property
    def time_limit(self) -> dt.timedelta | None:
        return None if self.time_limit_minutes is None else dt.timedelta(minutes=self.time_limit_minutes)

    def question(self, position: int) -> Question:
        if isinstance(position, bool) or not isinstance(position, int) or not 0 <= position < len(self.questions):
            raise ValidationError(f"This set has no case {position + 1 if isinstance(position, int) else position}.")
        return self.questions[position]

    def edited(self, **changes: Any) -> TrainingSet:
        changes.setdefault("updated", utcnow())
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "sharing": self.sharing.to_dict(),
            "questions": [q.to_dict() for q in self.questions],
            "state": self.state.value,
            "time_limit_minutes": self.time_limit_minutes,
            "self_study": self.self_study,
            "conference_id": self.conference_id,
            "created": self.created.isoformat(),
            "updated": self.updated.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], version: int = 0) -> TrainingSet:
        limit = data.get("time_limit_minutes")
        return cls(
            id=str(data["id"]),
            title=str(data["title"]),
            sharing=Sharing.from_dict(data.get("sharing") or {"owner": "", "visibility": "private"}),
            questions=tuple(Question.from_dict(q) for q in data.get("questions", ())),
            state=SetState(data.get("state", SetState.DRAFT.value)),
            time_limit_minutes=None if limit is None else int(limit),
            self_study=bool(data.get("self_study", False)),
            conference_id=str(data.get("conference_id", "")),
            created=dt.datetime.fromisoformat(data["created"]),
            updated=dt.datetime.fromisoformat(data["updated"]),
            version=version,
        )


@dataclass(frozen=True, slots=True)
class Answer:
    """What a learner answered to one question, and whether it was right (told to the learner even in
    self-study; a self-study set keeps no score, see :func:`casefiles.quiz.flow.score`)."""

    position: int
    text: str = ""
    choices: tuple[int, ...] = ()
    correct: bool | None = None
    at: dt.datetime = field(default_factory=utcnow)

    def __post_init__(self) -> None:
        _text("An answer", self.text, max_len=MAX_ANSWER_CHARS)
        object.__setattr__(self, "choices", tuple(sorted(set(self.choices))))

    def to_dict(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "text": self.text,
            "choices": list(self.choices),
            "correct": self.correct,
            "at": self.at.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Answer:
        correct = data.get("correct")
        return cls(
            position=int(data["position"]),
            text=str(data.get("text", "")),
            choices=tuple(int(c) for c in data.get("choices", ())),
            correct=None if correct is None else bool(correct),
            at=dt.datetime.fromisoformat(data["at"]),
        )


def attempt_key(set_id: str, learner: str) -> str:
    return f"{set_id}:{learner}"


@dataclass(frozen=True, slots=True)
class Attempt:
    """One learner's pass through one set."""

    set_id: str
    learner: str
    started: dt.datetime
    answers: tuple[Answer, ...] = ()
    version: int = 0

    @property
    def key(self) -> str:
        return attempt_key(self.set_id, self.learner)

    def answer_to(self, position: int) -> Answer | None:
        for answer in self.answers:
            if answer.position == position:
                return answer
        return None

    def answered(self) -> frozenset[int]:
        return frozenset(a.position for a in self.answers)

    def with_answer(self, answer: Answer) -> Attempt:
        return replace(self, answers=(*self.answers, answer))

    def to_dict(self) -> dict[str, Any]:
        return {
            "set_id": self.set_id,
            "learner": self.learner,
            "started": self.started.isoformat(),
            "answers": [a.to_dict() for a in self.answers],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], version: int = 0) -> Attempt:
        return cls(
            set_id=str(data["set_id"]),
            learner=str(data["learner"]),
            started=dt.datetime.fromisoformat(data["started"]),
            answers=tuple(Answer.from_dict(a) for a in data.get("answers", ())),
            version=version,
        )


def questions_for(case_ids: Iterable[str]) -> tuple[Question, ...]:
    """Default questions (ask for the diagnosis, no answer yet) for cases in this order, repeats dropped."""
    return tuple(Question(case_id) for case_id in dict.fromkeys(case_ids))


class RecordLister(Protocol):
    def list_records(self, kind: str) -> list[Record]: ...


def quizzed_case_ids(records: RecordLister) -> frozenset[str]:
    """Cases asked about in a published (open or closed) training set: the search's "has quiz" filter."""
    found: set[str] = set()
    for record in records.list_records(TRAINING_SET):
        training_set = TrainingSet.from_dict(record.data, record.version)
        if training_set.state is not SetState.DRAFT:
            found.update(training_set.case_ids)
    return frozenset(found)
