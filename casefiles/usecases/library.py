"""The library: list, count, filter and open cases, and what the release gate holds back across it."""

from __future__ import annotations

from typing import Protocol

from casefiles.errors import NotFoundError
from casefiles.model import Case
from casefiles.release import Blocker, blockers_of, may_be_blocked
from casefiles.store import CaseQuery, CaseSummary


class LibraryRecords(Protocol):
    """The reading part of the store contract (:class:`casefiles.store.CaseStore`)."""

    def get_case(self, case_id: str) -> Case: ...

    def summaries(self, query: CaseQuery | None = None) -> list[CaseSummary]: ...

    def count_cases(self, query: CaseQuery | None = None) -> int: ...

    def facets(self) -> tuple[list[str], list[str]]: ...


class Library:
    """Reading the cases in ``records``; the filtering and sorting happen inside the store."""

    def __init__(self, records: LibraryRecords) -> None:
        self._records = records

    def summaries(self, query: CaseQuery | None = None) -> list[CaseSummary]:
        """Cases for lists and pickers, newest first, without their image records (fast at any size)."""
        return self._records.summaries(query)

    def count(self, query: CaseQuery | None = None) -> int:
        return self._records.count_cases(query)

    def cases(self, case_filter: CaseQuery | None = None) -> list[Case]:
        """The matching cases in full, newest first: for a page of them; lists use :meth:`summaries`."""
        cases = []
        for summary in self._records.summaries(case_filter):
            try:
                cases.append(self._records.get_case(summary.id))
            except NotFoundError:
                continue  # deleted since it was listed
        return cases

    def facets(self) -> tuple[list[str], list[str]]:
        """All modalities and tags in the library, for the filter pickers."""
        return self._records.facets()

    def get(self, case_id: str) -> Case:
        return self._records.get_case(case_id)

    def blockers(self) -> tuple[Blocker, ...]:
        """What the release gate holds back, over every case in the library."""
        found: list[Blocker] = []
        for summary in self._records.summaries():
            if not may_be_blocked(summary):
                continue  # the summary's facts vouch for the case without opening it
            try:
                found.extend(blockers_of(self._records.get_case(summary.id)))
            except NotFoundError:
                continue
        return tuple(found)
