"""Ranked search of the library (issue #17): the query, its results, and the rules both backends share.

Why here, in the store: the embedded store keeps an in-memory index and PostgreSQL a ``tsvector``,
and a person must get the same hits from either. So the folding of text, the reading of a query
and the score are defined once, in this module, and each backend only evaluates them:

* **Folding** goes through the shipped vocabulary (:mod:`casefiles.vocabulary`): lower case, words
  only, one spelling ("tumour" → "tumor"), so a case and a query meet whatever either wrote.
* **A query** is a list of *clauses*, all required: one per typed word, or per run of words that
  names a vocabulary term ("HCC", "hepatocellular carcinoma"), which then matches any of the term's
  names. The last word also matches as a prefix (search as you type); a word of 4+ letters also
  matches lexicon words a small edit away (typos, bounded: 1 edit up to 7 letters, 2 from 8).
* **The score** is a whole number: for each clause and field group, the group's weight times the
  best tier found there (exact 4, prefix 3, typo 2), plus a large bonus when the query *is* the
  diagnosis (or a synonym of it), so an exact diagnosis match ranks first. Ties: newest first.

Nothing here logs: a query may hold a patient's name.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from casefiles.errors import ValidationError
from casefiles.model import Difficulty
from casefiles.store.documents import CaseSummary
from casefiles.visibility import Viewer
from casefiles.vocabulary import Vocabulary, shipped_vocabulary

#: A query longer than this is cut (at a word boundary) and the results say so.
MAX_QUERY_CHARS = 200
#: At most this many clauses (words) are searched for; more say nothing a person would miss.
MAX_CLAUSES = 12
#: Longer "words" (base64, hashes pasted into a history) are not indexed by either backend.
MAX_TOKEN = 64
#: Typo tolerance starts at this many letters; shorter words ("CT", "MR", "T2") must be exact.
FUZZY_MIN = 4
#: The last word is a prefix from this many letters ("h" alone would match most of a library).
PREFIX_MIN = 2
#: At most this many lexicon words stand in for one mistyped word.
FUZZY_MAX_TERMS = 20
#: pg_trgm's default similarity threshold; both backends require it of a typo candidate.
TRIGRAM_THRESHOLD = 0.3
#: Field groups, best first, and their weights (the letters are PostgreSQL's tsvector weights).
GROUPS = ("A", "B", "C", "D")
WEIGHTS = (8, 4, 2, 1)
EXACT, PREFIX, TYPO = 4, 3, 2
#: Added when the whole query is the case's diagnosis: more than any query of MAX_CLAUSES words scores.
DIAGNOSIS_BONUS = 1000
#: Filler words dropped from a query of other words ("tumour of the oesophagus").
STOP_WORDS = frozenset(["a", "an", "and", "at", "by", "for", "from", "in", "is", "of", "on", "or", "the", "to", "with"])
#: Bumped when folding or the index columns change, so PostgreSQL re-folds its stored rows.
SEARCH_FORMAT = 1
FACETS = ("modality", "body_region", "category", "difficulty", "author")


# -- the query and its results ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A ranked search: free text plus filters; empty text lists the filtered library newest first."""

    text: str = ""
    modality: str = ""
    body_region: str = ""
    category: str = ""
    difficulty: str = ""
    author: str = ""
    #: First and last day (UTC, both included) the case was created on.
    created_from: dt.date | None = None
    created_to: dt.date | None = None
    #: Only the cases of this conference.
    conference_id: str = ""
    #: Only these cases (the ids of cases with a quiz; quizzes live outside the store). None: no such filter.
    has_quiz: frozenset[str] | None = None
    #: Only cases this person may see (None: every case, for the CLI and the local operator).
    viewer: Viewer | None = None
    offset: int = 0
    limit: int | None = 50

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise ValidationError("The search text must be text.")
        if self.offset < 0 or (self.limit is not None and self.limit < 0):
            raise ValidationError("A search's offset and limit must not be negative.")
        for name in ("modality", "body_region", "category", "difficulty", "author", "conference_id"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise ValidationError(f"The {name.replace('_', ' ')} filter must be text.")
            object.__setattr__(self, name, " ".join(value.split())[:MAX_QUERY_CHARS])
        if self.difficulty and self.difficulty.lower() not in {d.value for d in Difficulty if d.value}:
            choices = ", ".join(d.value for d in Difficulty if d.value)
            raise ValidationError(f"Difficulty is one of {choices} (got {self.difficulty!r}).")
        object.__setattr__(self, "difficulty", self.difficulty.lower())
        if self.created_from and self.created_to and self.created_from > self.created_to:
            raise ValidationError("The first day of the date range is after its last day; swap them.")
        if self.has_quiz is not None:
            object.__setattr__(self, "has_quiz", frozenset(self.has_quiz))


@dataclass(frozen=True, slots=True)
class SearchHit:
    summary: CaseSummary
    #: Whole-number relevance (0 for a list without words); higher is better.
    score: int


@dataclass(frozen=True, slots=True)
class FacetCount:
    value: str
    count: int


@dataclass(frozen=True, slots=True)
class SearchResults:
    """One page of hits, best first, the number of all matches, and facet counts.

    A facet's counts apply every filter but its own, so a picker shows what choosing another value
    would find.
    """

    hits: tuple[SearchHit, ...]
    total: int
    facets: Mapping[str, tuple[FacetCount, ...]] = field(default_factory=dict)
    #: What the search did with the text that a person should know (cut, nothing to search for).
    notes: tuple[str, ...] = ()

    @property
    def ids(self) -> list[str]:
        return [h.summary.id for h in self.hits]


# -- folding ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Folding:
    """The vocabulary as search needs it (built once per vocabulary)."""

    vocabulary: Vocabulary
    #: every name (folded) → all names of its term (folded), for query clauses
    names: Mapping[str, tuple[str, ...]]
    longest_name: int
    #: kind → folded name → the term's label, for filter keys and facet labels
    labels: Mapping[str, Mapping[str, str]]
    fingerprint: str

    def words(self, text: str) -> list[str]:
        return [w for w in self.vocabulary.phrase(text).split() if len(w) <= MAX_TOKEN]

    def phrase(self, text: str) -> str:
        return " ".join(self.words(text))

    def labelled(self, kind: str, text: str) -> tuple[str, str]:
        """(key, label) of a body region, category or modality as written: the term's if the vocabulary knows it."""
        folded = self.phrase(text)
        label = self.labels[kind].get(folded)
        if label is not None:
            return self.phrase(label), label
        return folded, " ".join(text.split())


@functools.cache
def _folding_for(vocabulary_id: int) -> Folding:  # keyed by id: the shipped vocabulary lives for the process
    return _build_folding(shipped_vocabulary())


def folding() -> Folding:
    """The folding of the shipped vocabulary."""
    return _folding_for(id(shipped_vocabulary()))


def _build_folding(vocabulary: Vocabulary) -> Folding:
    by_label: dict[str, set[str]] = {}
    for name, label in vocabulary.synonym_phrases().items():
        by_label.setdefault(label, set()).add(name)
    names = {name: tuple(sorted(by_label[label])) for name, label in vocabulary.synonym_phrases().items() if name}
    labels: dict[str, dict[str, str]] = {"modality": {}, "body_region": {}, "category": {}}
    for term in vocabulary.terms:
        for name in (term.label, *term.synonyms):
            labels[term.kind].setdefault(vocabulary.phrase(name), term.label)
    fingerprint = hashlib.sha256(
        json.dumps(
            {
                "format": SEARCH_FORMAT,
                "spellings": sorted(vocabulary.spellings.items()),
                "labels": {k: sorted(v.items()) for k, v in labels.items()},
            },
            ensure_ascii=False,
        ).encode()
    ).hexdigest()
    return Folding(
        vocabulary, names, max((len(n.split()) for n in names), default=1), labels, f"{SEARCH_FORMAT}:{fingerprint}"
    )


@dataclass(frozen=True, slots=True)
class IndexedCase:
    """What search keeps of a case document: folded words per field group and the filter keys."""

    #: words of groups A (diagnosis), B (title, tags, category), C (findings, differential,
    #: captions, body part, modality), D (history, teaching points, author, difficulty)
    groups: tuple[frozenset[str], frozenset[str], frozenset[str], frozenset[str]]
    diagnosis: str
    modalities: tuple[str, ...]
    body_key: str
    body_label: str
    category_key: str
    category_label: str
    difficulty: str
    author_key: str
    author_label: str

    @property
    def words(self) -> frozenset[str]:
        return self.groups[0] | self.groups[1] | self.groups[2] | self.groups[3]

    def facet(self, name: str) -> tuple[tuple[str, str], ...]:
        """(key, label) pairs of this case for facet ``name`` (none when the field is empty)."""
        if name == "modality":
            return tuple((m, m) for m in self.modalities)
        key, label = {
            "body_region": (self.body_key, self.body_label),
            "category": (self.category_key, self.category_label),
            "difficulty": (self.difficulty, self.difficulty),
            "author": (self.author_key, self.author_label),
        }[name]
        return ((key, label),) if key else ()


def index_case(doc: Mapping[str, Any], fold: Folding | None = None) -> IndexedCase:
    """The search view of a stored case document (the same for both backends)."""
    fold = fold or folding()

    def words(*texts: str) -> frozenset[str]:
        return frozenset(w for t in texts if t for w in fold.words(t))

    captions = [str(k.get("caption", "")) for k in doc.get("key_images", ()) or ()]
    body_key, body_label = fold.labelled("body_region", str(doc.get("body_part", "")))
    category_key, category_label = fold.labelled("category", str(doc.get("category", "")))
    author = " ".join(str(doc.get("author", "")).split())
    return IndexedCase(
        groups=(
            words(str(doc.get("diagnosis", ""))),
            words(str(doc.get("title", "")), *doc.get("tags", ()), str(doc.get("category", ""))),
            words(
                str(doc.get("findings", "")),
                *doc.get("differential", ()),
                *captions,
                str(doc.get("body_part", "")),
                str(doc.get("modality", "")),
            ),
            words(str(doc.get("history", "")), *doc.get("teaching_points", ()), author, str(doc.get("difficulty", ""))),
        ),
        diagnosis=fold.phrase(str(doc.get("diagnosis", ""))),
        modalities=modality_keys(str(doc.get("modality", "")), fold),
        body_key=body_key if body_key else "",
        body_label=body_label,
        category_key=category_key,
        category_label=category_label,
        difficulty=str(doc.get("difficulty", "") or ""),
        author_key=author.casefold(),
        author_label=author,
    )


def modality_keys(modality: str, fold: Folding | None = None) -> tuple[str, ...]:
    """A case's modalities ("CT/MR" is two) as filters compare them: upper case, synonyms to the term."""
    fold = fold or folding()
    found = []
    for part in modality.split("/"):
        if part.strip():
            found.append(modality_key(part, fold))
    return tuple(dict.fromkeys(found))


def modality_key(text: str, fold: Folding | None = None) -> str:
    fold = fold or folding()
    label = fold.labels["modality"].get(fold.phrase(text))
    return (label or text).strip().upper()


@dataclass(frozen=True, slots=True)
class Filters:
    """A query's filters as keys, ready to compare with :class:`IndexedCase` fields."""

    modality: str
    body_region: str
    category: str
    difficulty: str
    author: str
    created_from: dt.datetime | None
    created_before: dt.datetime | None

    def active(self) -> dict[str, str]:
        """The facet filters that are set, by facet name."""
        values = {
            "modality": self.modality,
            "body_region": self.body_region,
            "category": self.category,
            "difficulty": self.difficulty,
            "author": self.author,
        }
        return {k: v for k, v in values.items() if v}

    def passes(self, case: IndexedCase) -> dict[str, bool]:
        """Which active facet filters the case passes."""
        found = {}
        for name, key in self.active().items():
            found[name] = any(k == key for k, _ in case.facet(name))
        return found


def filters_of(query: SearchQuery, fold: Folding | None = None) -> Filters:
    fold = fold or folding()

    def start(day: dt.date | None) -> dt.datetime | None:
        return None if day is None else dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)

    return Filters(
        modality=modality_key(query.modality, fold) if query.modality else "",
        body_region=fold.labelled("body_region", query.body_region)[0] if query.body_region else "",
        category=fold.labelled("category", query.category)[0] if query.category else "",
        difficulty=query.difficulty,
        author=" ".join(query.author.split()).casefold(),
        created_from=start(query.created_from),
        created_before=start(query.created_to + dt.timedelta(days=1)) if query.created_to else None,
    )


# -- reading a query -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Clause:
    """One required part of a query: any of ``alternatives`` (each: all its words), or the prefix, or a typo."""

    alternatives: tuple[tuple[str, ...], ...]
    prefix: str = ""
    #: the typed word that may be mistyped ("" when typo tolerance does not apply)
    word: str = ""
    typos: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Analysis:
    clauses: tuple[Clause, ...]
    #: the whole query as a diagnosis would be written (with the names of its term if it is one)
    whole: tuple[str, ...]
    notes: tuple[str, ...] = ()

    def typo_words(self) -> list[str]:
        return sorted({c.word for c in self.clauses if c.word})

    def with_typos(self, found: Mapping[str, Sequence[str]]) -> Analysis:
        clauses = tuple(
            Clause(c.alternatives, c.prefix, c.word, tuple(found.get(c.word, ()))) if c.word else c
            for c in self.clauses
        )
        return Analysis(clauses, self.whole, self.notes)


def analyse(text: str, fold: Folding | None = None) -> Analysis:
    """The clauses of a typed query. Punctuation (regex metacharacters included) only separates words."""
    fold = fold or folding()
    notes: list[str] = []
    if len(text) > MAX_QUERY_CHARS:
        cut = text[:MAX_QUERY_CHARS]
        text = cut.rsplit(None, 1)[0] if " " in cut.strip() else cut
        notes.append(f"The search text was long; only its first {MAX_QUERY_CHARS} characters were searched for.")
    words = fold.words(text)
    if not words:
        if text.strip():
            notes.append(
                "The search has no words to look for (only punctuation, or words too long to be indexed), "
                "so every case is listed, newest first."
            )
        return Analysis((), (), tuple(notes))
    typing = text[-1:].isalnum()  # the last word is still being typed: no space or punctuation after it
    whole = " ".join(words)
    whole_names = fold.names.get(whole, (whole,))
    clauses: list[Clause] = []
    i = 0
    meaningful = [w for w in words if w not in STOP_WORDS]
    skip = STOP_WORDS if meaningful else frozenset()
    while i < len(words):
        matched = None
        for size in range(min(fold.longest_name, len(words) - i), 0, -1):
            names = fold.names.get(" ".join(words[i : i + size]))
            if names is not None:
                matched = (size, names)
                break
        if matched is not None and matched[0] > 1:  # a term's name of several words: any of its names
            size, names = matched
            clauses.append(Clause(tuple(tuple(n.split()) for n in names)))
            i += size
            continue
        word = words[i]
        last = i == len(words) - 1
        i += 1
        if word in skip:
            continue
        prefix = word if last and typing and len(word) >= PREFIX_MIN else ""
        typo = word if len(word) >= FUZZY_MIN and not any(c.isdigit() for c in word) else ""
        alternatives = tuple(tuple(n.split()) for n in matched[1]) if matched is not None else ((word,),)
        clauses.append(Clause(alternatives, prefix, typo))
    if len(clauses) > MAX_CLAUSES:
        clauses = clauses[:MAX_CLAUSES]
        notes.append(f"Only the first {MAX_CLAUSES} words of the search were used.")
    return Analysis(tuple(clauses), tuple(whole_names), tuple(notes))


def typo_bound(word: str) -> int:
    return 1 if len(word) < 8 else 2


def trigrams(word: str) -> frozenset[str]:
    """pg_trgm's trigrams of one word: padded with two spaces before and one after."""
    padded = f"  {word} "
    return frozenset(padded[i : i + 3] for i in range(len(padded) - 2))


def trigram_similarity(a: str, b: str) -> float:
    """pg_trgm's ``similarity`` for two single words."""
    ta, tb = trigrams(a), trigrams(b)
    common = len(ta & tb)
    union = len(ta) + len(tb) - common
    return common / union if union else 0.0


def typo_terms(word: str, candidates: Iterable[str]) -> tuple[str, ...]:
    """Lexicon words that ``word`` may be a typo of: within the edit bound and trigram-similar (pg_trgm's
    threshold), closest first, at most :data:`FUZZY_MAX_TERMS`. Both backends pass their candidates here."""
    from rapidfuzz.distance import Levenshtein

    bound = typo_bound(word)
    found = []
    for candidate in set(candidates):
        if candidate == word or abs(len(candidate) - len(word)) > bound:
            continue
        distance = Levenshtein.distance(word, candidate, score_cutoff=bound)
        if distance <= bound and trigram_similarity(word, candidate) >= TRIGRAM_THRESHOLD:
            found.append((distance, candidate))
    return tuple(c for _, c in sorted(found)[:FUZZY_MAX_TERMS])


# -- the score, as a plain function (the reference the indexes must agree with) -------------------
def score_case(analysis: Analysis, case: IndexedCase) -> int | None:
    """The case's score for the query, or None if it does not match. Linear and simple on purpose:
    the in-memory index and PostgreSQL compute the same number faster, and tests compare them."""
    words = case.words
    total = 0
    for clause in analysis.clauses:
        matched = (
            any(all(w in words for w in alt) for alt in clause.alternatives)
            or (clause.prefix and any(w.startswith(clause.prefix) for w in words))
            or any(t in words for t in clause.typos)
        )
        if not matched:
            return None
        for weight, group in zip(WEIGHTS, case.groups, strict=True):
            if any(all(w in group for w in alt) for alt in clause.alternatives):
                total += weight * EXACT
            elif clause.prefix and any(w.startswith(clause.prefix) for w in group):
                total += weight * PREFIX
            elif any(t in group for t in clause.typos):
                total += weight * TYPO
    if case.diagnosis and case.diagnosis in analysis.whole:
        total += DIAGNOSIS_BONUS
    return total


def ranking_key(score: int, created: str, case_id: str) -> tuple[int, str, str]:
    """Sort key (use with reverse=True): score, then newest, then id (as PostgreSQL's ``COLLATE "C"``)."""
    return (score, created, case_id)


def restricted_ids(query: SearchQuery, conference_cases: Callable[[str], Iterable[str]]) -> frozenset[str] | None:
    """The case ids the query is limited to (conference and "has quiz"), None when it is not."""
    ids: frozenset[str] | None = query.has_quiz
    if query.conference_id:
        members = frozenset(conference_cases(query.conference_id))
        ids = members if ids is None else ids & members
    return ids


def facet_results(counts: Mapping[str, Mapping[str, list[Any]]]) -> dict[str, tuple[FacetCount, ...]]:
    """Facet counts, most first then by label; ``counts``: facet → key → [count, smallest label seen]."""
    return {
        name: tuple(
            FacetCount(label, n)
            for n, label in sorted(((v[0], v[1]) for v in counts.get(name, {}).values()), key=lambda x: (-x[0], x[1]))
        )
        for name in FACETS
    }
