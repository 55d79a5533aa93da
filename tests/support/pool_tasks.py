"""Tasks for tests of the worker pool (module-level: workers import them by name)."""

from __future__ import annotations


def word_lists_loaded(_item: object) -> bool:
    """Whether this process had the free-text word lists loaded before this task asked."""
    from casefiles.deid import freetext

    return freetext._lists.cache_info().currsize > 0
