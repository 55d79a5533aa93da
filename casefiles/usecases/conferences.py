"""Conferences: create one, edit its details, add, remove, order and plan its cases, delete it.

Edits that carry the conference as the page showed it (``loaded=``) are checked
against the stored one under the edit lock every edit of the library shares, so
an edit made on an outdated page is refused instead of overwriting another's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from casefiles.errors import StaleEditError, ValidationError
from casefiles.model import Case, CasePlan, Conference, ConferenceKind, new_id, utcnow
from casefiles.usecases._values import as_text_list

#: What a change made on an outdated copy of a conference is told.
STALE_CONFERENCE_MESSAGE = (
    "This conference changed since you opened it — reload it to see the changes; nothing was saved."
)

_EDITABLE = frozenset({"title", "kind", "date", "presenters"})


class ConferenceRecords(Protocol):
    """The part of the store contract (:class:`casefiles.store.CaseStore`) conferences use."""

    def get_case(self, case_id: str) -> Case: ...

    def get_conference(self, conference_id: str) -> Conference: ...

    def list_conferences(self) -> list[Conference]: ...

    def save_conference(self, conference: Conference) -> Conference: ...

    def delete_conference(self, conference_id: str) -> None: ...


class Conferences:
    """The conference use cases over ``records``.

    ``edit_lock`` is held from reading a conference to saving it by the checked edits (the one
    lock all edits of the library share); ``refuse_while_exported(target_id, refused)`` raises if
    an export of ``target_id`` is being written.
    """

    def __init__(
        self,
        records: ConferenceRecords,
        *,
        edit_lock: AbstractContextManager[Any],
        refuse_while_exported: Callable[[str, str], None],
    ) -> None:
        self._records = records
        self._edit_lock = edit_lock
        self._refuse_while_exported = refuse_while_exported

    def list_all(self) -> list[Conference]:
        return self._records.list_conferences()

    def get(self, conference_id: str) -> Conference:
        return self._records.get_conference(conference_id)

    def create(
        self,
        title: str,
        kind: ConferenceKind = ConferenceKind.TUMOR_BOARD,
        *,
        date: dt.date | None = None,
        presenters: Sequence[str] = (),
        case_ids: Sequence[str] = (),
    ) -> Conference:
        for case_id in case_ids:
            self._records.get_case(case_id)  # NotFoundError names a missing case before anything is saved
        reveal = kind is ConferenceKind.UNKNOWN_CASE_QUIZ
        conference = Conference(
            id=new_id(),
            title=title.strip(),
            kind=kind,
            date=date,
            presenters=tuple(p.strip() for p in presenters if p.strip()),
            items=tuple(CasePlan(case_id, reveal=reveal) for case_id in case_ids),
        )
        return self._records.save_conference(conference)

    def update(self, conference_id: str, changes: Mapping[str, Any], *, loaded: Conference | None = None) -> Conference:
        """Rename, re-date (None clears the date), re-kind or change the presenters of a conference.

        Text values are accepted as the CLI gives them: a kind's value or label, a date as YYYY-MM-DD.
        ``loaded`` is the conference as the form was filled from: if the stored one moved on since and
        any field this edit writes differs from it, :class:`StaleEditError` is raised and nothing is saved.
        """
        unknown = set(changes) - _EDITABLE
        if unknown:
            raise ValidationError(f"These conference fields cannot be edited: {', '.join(sorted(unknown))}.")
        values = dict(changes)
        if "title" in values:
            values["title"] = str(values["title"]).strip()
            if not values["title"]:
                raise ValidationError("A conference needs a title.")
        if "kind" in values:
            values["kind"] = _conference_kind(values["kind"])
        if "date" in values:
            values["date"] = _conference_date(values["date"])
        if "presenters" in values:
            values["presenters"] = as_text_list(values["presenters"], split_commas=True)
        with self._edit_lock:
            stored = self._checked(conference_id, loaded, lambda c: tuple(getattr(c, name) for name in sorted(values)))
            return self._save_edit(stored, **values)

    def _checked(
        self, conference_id: str, loaded: Conference | None, aspect: Callable[[Conference], object]
    ) -> Conference:
        """The stored conference, if an edit made on ``loaded`` may be saved on it (as cases are checked)."""
        stored = self._records.get_conference(conference_id)
        if loaded is None:
            return stored
        if loaded.id != conference_id:
            raise StaleEditError(
                "This form was opened for another conference — reload the conference to edit it; nothing was saved."
            )
        if aspect(stored) != aspect(loaded):  # by content, as for cases
            raise StaleEditError(STALE_CONFERENCE_MESSAGE)
        return stored

    def _save_edit(self, stored: Conference, **changes: Any) -> Conference:
        """Save ``stored`` with ``changes``, its version strictly newer than the one it replaces."""
        conference = stored.edited(updated=max(utcnow(), stored.updated + dt.timedelta(microseconds=1)), **changes)
        return self._records.save_conference(conference)  # as stored, with its new version

    # The running order is read and saved under the edit lock, as every other edit of a conference:
    # two tabs (or a case being deleted out of it) never meet in the store's version check.

    def add_cases(self, conference_id: str, case_ids: Sequence[str]) -> Conference:
        """Append cases (those already in the conference are left where they are)."""
        with self._edit_lock:
            conference = self._records.get_conference(conference_id)
            reveal = conference.kind is ConferenceKind.UNKNOWN_CASE_QUIZ
            new = [c for c in dict.fromkeys(case_ids) if c not in conference.case_ids]
            for case_id in new:
                self._records.get_case(case_id)
            return self._save_edit(conference, items=(*conference.items, *(CasePlan(c, reveal=reveal) for c in new)))

    def remove_case(self, conference_id: str, case_id: str) -> Conference:
        with self._edit_lock:
            conference = self._records.get_conference(conference_id)
            return self._save_edit(conference, items=tuple(i for i in conference.items if i.case_id != case_id))

    def move_case(self, conference_id: str, case_id: str, new_index: int) -> Conference:
        """Put a case at ``new_index`` (clamped to the list), keeping the others in order."""
        with self._edit_lock:
            conference = self._records.get_conference(conference_id)
            plan = conference.plan(case_id)
            rest = [i for i in conference.items if i.case_id != case_id]
            rest.insert(max(0, min(new_index, len(rest))), plan)
            return self._save_edit(conference, items=tuple(rest))

    def set_plan(self, conference_id: str, plan: CasePlan, *, loaded: Conference | None = None) -> Conference:
        """What one case shows in the conference; with ``loaded``, refused if its plan changed since."""
        with self._edit_lock:
            conference = self._checked(
                conference_id, loaded, lambda c: next((i for i in c.items if i.case_id == plan.case_id), None)
            )
            conference.plan(plan.case_id)
            items = tuple(plan if i.case_id == plan.case_id else i for i in conference.items)
            return self._save_edit(conference, items=items)

    def delete(self, conference_id: str) -> Conference:
        """Delete a conference (its cases stay in the library); returns what was deleted."""
        with self._edit_lock:
            conference = self._records.get_conference(conference_id)  # NotFoundError when it is already gone
            self._refuse_while_exported(conference_id, f"The conference “{conference.title}” cannot be deleted")
            self._records.delete_conference(conference_id)
        return conference


def _conference_kind(value: object) -> ConferenceKind:
    if isinstance(value, ConferenceKind):
        return value
    text = str(value).strip().lower()
    for kind in ConferenceKind:
        if text in (kind.value, kind.label.lower()):
            return kind
    raise ValidationError(f"Conference kind must be one of {', '.join(k.value for k in ConferenceKind)}.")


def _conference_date(value: object) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    text = str(value).strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise ValidationError(f"A conference date must be written YYYY-MM-DD, not {text!r}.") from exc
