"""What greets a person: the case of the week, what is new, their drafts and the conferences ahead (issue #17).

Everything here is read through the acting guard, so a person is only ever shown what they may
open. The case of the week is chosen by a presenter (or above) among cases visible to the whole
department — everyone is greeted by it, so a case only some may see cannot be it.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Protocol

from casefiles.accounts.permissions import Action, Actor, Role, require
from casefiles.errors import ValidationError
from casefiles.model import Conference
from casefiles.store import CaseQuery, CaseSummary
from casefiles.visibility import Sharing, Visibility

#: Where the choice is kept (store settings): the case id, who chose it and when.
FEATURED_KEY = "case_of_the_week"
#: How far back "my drafts" looks among the newest cases (a landing page must stay fast at 10,000 cases).
DRAFTS_SCAN = 500


class Library(Protocol):
    """The part of the acting services the landing page reads (already filtered for the person)."""

    @property
    def actor(self) -> Actor | None: ...
    def case_summaries(self, query: CaseQuery | None = None) -> list[CaseSummary]: ...
    def list_conferences(self) -> list[Conference]: ...


class Settings(Protocol):
    def get_meta(self, key: str) -> str | None: ...
    def set_meta(self, key: str, value: str) -> None: ...


class Auditor(Protocol):
    def record(
        self, actor: str, action: str, *, target_kind: str = "", target_id: str = "", where: str = ""
    ) -> object: ...


@dataclass(frozen=True, slots=True)
class Featured:
    case: CaseSummary
    chosen_by: str
    since: dt.date


@dataclass(frozen=True)
class Landing:
    library: Library
    settings: Settings
    audit: Auditor | None = None
    where: str = ""

    def case_of_the_week(self) -> Featured | None:
        """The chosen case, if it still exists and this person may see it."""
        raw = self.settings.get_meta(FEATURED_KEY)
        if not raw:
            return None
        try:
            chosen = json.loads(raw)
            case_id, by, since = str(chosen["case_id"]), str(chosen["by"]), dt.date.fromisoformat(chosen["since"])
        except (ValueError, KeyError, TypeError):
            return None  # a damaged setting greets nobody rather than failing the page
        found = self.library.case_summaries(CaseQuery(ids=(case_id,), limit=1))
        return Featured(found[0], by, since) if found else None

    def feature(self, case_id: str, *, today: dt.date | None = None) -> Featured:
        """Make the case the case of the week (presenters and up; it must be visible to the department)."""
        found = self.library.case_summaries(CaseQuery(ids=(case_id,), limit=1))  # refused for anonymous
        if not found:
            raise ValidationError("That case is not in the library (or not shared with you).")
        case = found[0]
        actor = self.library.actor
        require(actor, Action.EXPORT, case.sharing)  # presenters and up who may see it
        assert actor is not None
        if case.sharing.visibility is not Visibility.DEPARTMENT:
            raise ValidationError(
                "The case of the week greets everyone: share this case with the whole department first (Sharing tab)."
            )
        day = today or dt.datetime.now(dt.UTC).date()
        chosen = {"case_id": case.id, "by": actor.username, "since": day.isoformat()}
        self.settings.set_meta(FEATURED_KEY, json.dumps(chosen))
        if self.audit is not None:
            self.audit.record(actor.username, "case.edit", target_kind="case", target_id=case.id, where=self.where)
        return Featured(case, actor.username, day)

    def may_feature(self, sharing: Sharing) -> bool:
        actor = self.library.actor
        return (
            actor is not None and actor.role.rank >= Role.PRESENTER.rank and sharing.visibility is Visibility.DEPARTMENT
        )

    def recently_added(self, count: int = 8) -> list[CaseSummary]:
        return self.library.case_summaries(CaseQuery(limit=count))

    def my_drafts(self, count: int = 8) -> list[CaseSummary]:
        """This person's own cases nobody else sees yet, newest first."""
        actor = self.library.actor
        if actor is None:
            return []
        recent = self.library.case_summaries(CaseQuery(limit=DRAFTS_SCAN))
        mine = [c for c in recent if c.sharing.owner == actor.username and c.sharing.visibility is Visibility.PRIVATE]
        return mine[:count]

    def upcoming_conferences(self, count: int = 5, *, today: dt.date | None = None) -> list[Conference]:
        day = today or dt.datetime.now(dt.UTC).date()
        ahead = [c for c in self.library.list_conferences() if c.date is not None and c.date >= day]
        return sorted(ahead, key=lambda c: (c.date or day, c.title))[:count]
