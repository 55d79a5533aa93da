"""Slowing down guessing: too many refused link opens from one address wait a while (issue #16).

Link tokens are 256-bit and cannot be guessed; this keeps a scanner from trying anyway, and keeps
the audit log from filling with its refusals. The count lives in the app process's memory (one
department server); an address without a name (a script run) shares one bucket.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections import deque
from collections.abc import Callable

from casefiles.errors import CaseDeckError


class TooManyTries(CaseDeckError):
    """Too many refused attempts from one address in a short time."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Attempts:
    """At most ``limit`` refusals per address within ``window``; then :class:`TooManyTries` until they age out."""

    def __init__(
        self,
        limit: int = 20,
        window: dt.timedelta = dt.timedelta(minutes=10),
        clock: Callable[[], dt.datetime] = _now,
    ) -> None:
        self._limit = limit
        self._window = window
        self._clock = clock
        self._refused: dict[str, deque[dt.datetime]] = {}
        self._lock = threading.Lock()

    def check(self, address: str) -> None:
        """Raise :class:`TooManyTries` if ``address`` used up its refusals."""
        with self._lock:
            recent = self._recent(address)
            if len(recent) >= self._limit:
                wait = recent[0] + self._window - self._clock()
                minutes = max(1, math.ceil(wait.total_seconds() / 60))
                raise TooManyTries(f"Too many invalid links were tried from here; try again in {minutes} minute(s).")

    def refused(self, address: str) -> None:
        with self._lock:
            self._recent(address).append(self._clock())
            if len(self._refused) > 50_000:  # a flood of addresses: forget the oldest half
                for key in list(self._refused)[:25_000]:
                    del self._refused[key]

    def _recent(self, address: str) -> deque[dt.datetime]:
        recent = self._refused.setdefault(address or "-", deque())
        cutoff = self._clock() - self._window
        while recent and recent[0] <= cutoff:
            recent.popleft()
        return recent
