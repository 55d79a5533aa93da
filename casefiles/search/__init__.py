"""Ranked search of the teaching-file library (issue #17): the use case and the CLI.

The query, its results and the rules both store backends share live in
:mod:`casefiles.store.fulltext` (the store evaluates them: an in-memory index or PostgreSQL full
text); they are re-exported here for callers above the store.
"""

from casefiles.store.fulltext import FacetCount, SearchHit, SearchQuery, SearchResults

__all__ = ["FacetCount", "SearchHit", "SearchQuery", "SearchResults"]
