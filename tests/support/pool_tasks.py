"""Tasks for tests of the worker pool (module-level: workers import them by name)."""

from __future__ import annotations


def word_lists_loaded(_item: object) -> bool:
    """Whether this process had the free-text word lists loaded before this task asked."""
    from casefiles.deid import freetext

    return freetext._lists.cache_info().currsize > 0


KILLS_ITS_WORKER = -999


def negate_slowly(item: int) -> int:
    """A task that takes a little while, so that two runs overlap; KILLS_ITS_WORKER ends the worker."""
    import os
    import time

    if item == KILLS_ITS_WORKER:
        os._exit(3)  # what a codec crash or the OOM killer does to a worker
    time.sleep(0.02)
    return -item
