"""Progress reporting and cancellation for long work (import, de-id, export).

Long-running functions take ``progress`` and ``cancel`` keyword arguments so a
page can draw a progress bar and a CLI can print, and both can stop the work.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

from casefiles.errors import Cancelled


class ProgressCallback(Protocol):
    """Called as work advances: ``done`` of ``total`` steps, with a short label."""

    def __call__(self, done: int, total: int, message: str) -> None: ...


def no_progress(done: int, total: int, message: str) -> None:
    """The default callback: report nothing."""


class CancelToken:
    """A flag one thread sets and the worker checks between steps."""

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled("The operation was cancelled; nothing partial was kept.")


NEVER_CANCELLED = CancelToken()

ProgressFn = Callable[[int, int, str], None]
