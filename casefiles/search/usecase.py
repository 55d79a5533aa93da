"""Search the library: what the facade's ``search`` runs (and the guard narrows to what a person may see)."""

from __future__ import annotations

from typing import Protocol

from casefiles.store.fulltext import SearchQuery, SearchResults


class Searchable(Protocol):
    """The part of a :class:`~casefiles.store.CaseStore` search needs."""

    def search(self, query: SearchQuery) -> SearchResults: ...


class CaseSearch:
    """Ranked search over a store. The store does the work; this is the seam the facade and CLI share.

    Queries are never logged or audited: a search box may be typed a patient's name into.
    """

    def __init__(self, store: Searchable) -> None:
        self._store = store

    def search(self, query: SearchQuery) -> SearchResults:
        """Best first (an exact diagnosis match first of all), then newest; with the total and facet counts."""
        return self._store.search(query)

    def all_ids(self, query: SearchQuery, *, at_most: int = 1000) -> list[str]:
        """The ids of every match, best first, up to ``at_most`` (e.g. to make a training set of a search)."""
        from dataclasses import replace

        return self._store.search(replace(query, offset=0, limit=at_most)).ids
