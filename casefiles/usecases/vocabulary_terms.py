"""The installation's vocabulary: the shipped terms plus those its admins and coordinators added (#17).

Added terms are records of kind ``vocabulary_term`` in the library's store (every backend), so the
app, the CLI and other processes see the same vocabulary. Reading it is for anyone signed in (the
case editor's pickers, search); adding a term is for coordinators and admins, and is checked here,
not by hiding a button. (This module sits among the use cases because it needs the store's
records; ``casefiles.vocabulary`` is below the store in the layers.)
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from casefiles.accounts.permissions import Actor, PermissionDenied, Role
from casefiles.errors import ValidationError
from casefiles.store.records import Record
from casefiles.vocabulary import KINDS, Term, Vocabulary, shipped_vocabulary
from casefiles.vocabulary.custom import TERM_RECORD, new_term, term_document, term_from_document, term_key

log = logging.getLogger("casedeck.vocabulary")


class TermRecords(Protocol):
    def save_record(self, record: Record) -> Record: ...
    def list_records(self, kind: str) -> list[Record]: ...


def installation_terms(records: TermRecords) -> tuple[Term, ...]:
    """The terms this installation added, in a stable order (a record that is not a term is skipped)."""
    found: list[Term] = []
    for record in sorted(records.list_records(TERM_RECORD), key=lambda r: r.key):
        try:
            found.append(term_from_document(record.data))
        except ValidationError:
            log.warning("A stored vocabulary term could not be read (record %s); it is left out", record.key)
    return tuple(found)


def installation_vocabulary(records: TermRecords, shipped: Vocabulary | None = None) -> Vocabulary:
    """The shipped vocabulary extended by the installation's own terms (never replaced by them)."""
    base = shipped_vocabulary() if shipped is None else shipped
    return Vocabulary(base.terms + installation_terms(records), base.spellings, base.source)


@dataclass(frozen=True, slots=True)
class ListedTerm:
    term: Term
    #: True for a term this installation added, False for a shipped one.
    added: bool


@dataclass(frozen=True)
class VocabularyTerms:
    """The vocabulary as one person: read it (signed in), add a term (coordinator or admin)."""

    actor: Actor | None
    records: TermRecords
    shipped: Vocabulary | None = None

    def _signed_in(self) -> Actor:
        if self.actor is None:
            raise PermissionDenied("Sign in first.")
        return self.actor

    def vocabulary(self) -> Vocabulary:
        self._signed_in()
        return installation_vocabulary(self.records, self.shipped)

    def terms(self, kind: str | None = None) -> list[ListedTerm]:
        """Every term (of ``kind``), sorted by kind and label; added ones say so."""
        if kind is not None and kind not in KINDS:
            raise ValidationError(f"A term's kind is one of {', '.join(KINDS)} (got {kind!r}).")
        self._signed_in()
        base = shipped_vocabulary() if self.shipped is None else self.shipped
        listed = [ListedTerm(t, False) for t in base.terms] + [
            ListedTerm(t, True) for t in installation_terms(self.records)
        ]
        chosen = [item for item in listed if kind is None or item.term.kind == kind]
        return sorted(chosen, key=lambda i: (KINDS.index(i.term.kind), i.term.label.casefold(), i.term.label))

    def add(self, kind: str, label: str, synonyms: Iterable[str] = ()) -> Term:
        """Add a term (refused: a name the vocabulary already knows, or anyone below coordinator)."""
        actor = self._signed_in()
        if actor.role.rank < Role.COORDINATOR.rank:
            raise PermissionDenied("Only coordinators and admins may add vocabulary terms.")
        current = installation_vocabulary(self.records, self.shipped)
        term = new_term(current, kind, label, synonyms)
        data = term_document(term, added_by=actor.username, added_at=dt.datetime.now(dt.UTC).isoformat())
        # Version 0: the store refuses it if another process added the same label meanwhile.
        self.records.save_record(Record(TERM_RECORD, term_key(current, term), data))
        return term
