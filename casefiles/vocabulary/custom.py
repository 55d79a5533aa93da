"""An installation's own vocabulary terms: what may be added, and how a term is kept as record data.

Pure rules, no store: the use case that keeps the terms (``casefiles.usecases.vocabulary_terms``)
sits above the store in the layers, this module beside the shipped vocabulary. An added term
extends the vocabulary and never renames or takes over a name it already knows (shipped or added
earlier): a synonym that already names a term would make search fold it two ways.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from casefiles.errors import ValidationError
from casefiles.vocabulary import KINDS, Term, Vocabulary

#: The store's record kind for an installation's terms.
TERM_RECORD = "vocabulary_term"
#: As long as a case's category may be (casefiles.model), so any term can be a case's category.
MAX_NAME = 100
MAX_SYNONYMS = 30
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

KIND_NAMES = {"body_region": "body region", "modality": "modality", "category": "diagnosis category"}


def _name(text: object, what: str) -> str:
    if not isinstance(text, str):
        raise ValidationError(f"The {what} must be text.")
    cleaned = " ".join(text.split())
    if _CONTROL.search(cleaned):
        raise ValidationError(f"The {what} may not contain control characters.")
    if len(cleaned) > MAX_NAME:
        raise ValidationError(f"The {what} is too long ({len(cleaned)} characters; the limit is {MAX_NAME}).")
    return cleaned


def new_term(vocabulary: Vocabulary, kind: str, label: str, synonyms: Iterable[str] = ()) -> Term:
    """The term to add, checked against ``vocabulary`` (shipped plus added so far).

    Refused (ValidationError, saying which): an unknown kind, an empty or overlong label, a label or
    synonym with no words, or a name the vocabulary already knows (it names the term that has it).
    """
    if kind not in KINDS:
        raise ValidationError(f"A term's kind is one of {', '.join(KINDS)} (got {kind!r}).")
    label = _name(label, "label")
    if not vocabulary.phrase(label):
        raise ValidationError("A vocabulary term needs a label with at least one letter or digit.")
    kept: list[str] = []
    seen = {vocabulary.phrase(label)}
    for raw in synonyms:
        synonym = _name(raw, "synonym")
        folded = vocabulary.phrase(synonym)
        if not synonym:
            continue
        if not folded:
            raise ValidationError(f"The synonym {synonym!r} has no letter or digit.")
        if folded not in seen:
            seen.add(folded)
            kept.append(synonym)
    if len(kept) > MAX_SYNONYMS:
        raise ValidationError(f"A term may have at most {MAX_SYNONYMS} synonyms.")
    labels = {vocabulary.phrase(t.label): t for t in vocabulary.terms}
    for name in (label, *kept):
        known = vocabulary.canonical(name)
        if known is not None:
            owner = labels.get(known)
            named = f"the {KIND_NAMES[owner.kind]} {owner.label!r}" if owner else repr(known)
            raise ValidationError(f"{name!r} is already in the vocabulary, as {named}.")
    return Term(kind, label, tuple(kept))


def term_document(term: Term, *, added_by: str, added_at: str) -> dict[str, Any]:
    """A term as the data of its record."""
    return {
        "kind": term.kind,
        "label": term.label,
        "synonyms": list(term.synonyms),
        "added_by": added_by,
        "added_at": added_at,
    }


def term_from_document(data: Mapping[str, Any]) -> Term:
    """The term a record's data holds (ValidationError if it is not one)."""
    try:
        synonyms = data.get("synonyms") or ()
        if isinstance(synonyms, str) or not all(isinstance(s, str) for s in synonyms):
            raise ValidationError("A vocabulary term's synonyms must be a list of texts.")
        return Term(str(data["kind"]), str(data["label"]), tuple(synonyms))
    except (KeyError, TypeError) as exc:
        raise ValidationError(
            f"A stored vocabulary term is not in the expected shape ({type(exc).__name__})."
        ) from None


def term_key(vocabulary: Vocabulary, term: Term) -> str:
    """The record key of an added term: its kind and its label as search compares it (one per name)."""
    return f"{term.kind}:{vocabulary.phrase(term.label)}"[:200]
