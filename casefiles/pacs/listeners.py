"""Storage listeners running in this process, by port.

A C-MOVE to our own port goes through the listener already there (CaseDeck's
always-on receiver claims the study for the retrieve) instead of opening a
second one. The receiver registers itself here and ``dimse.move_study`` looks it
up, so neither module imports the other.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Protocol

from pydicom.dataset import Dataset


class ClaimingListener(Protocol):
    """A storage SCP that can hand one study's instances to a retrieve instead of filing them."""

    @property
    def ae_title(self) -> str: ...

    def claim(self, study_uid: str, on_instance: Callable[[Dataset], None]) -> AbstractContextManager[None]: ...


_RUNNING: dict[int, ClaimingListener] = {}
_RUNNING_LOCK = threading.Lock()


def register(port: int, listener: ClaimingListener) -> None:
    """``listener`` now listens on ``port``."""
    with _RUNNING_LOCK:
        _RUNNING[port] = listener


def unregister(port: int, listener: ClaimingListener) -> None:
    """``listener`` stopped listening on ``port`` (a newer one registered there is kept)."""
    with _RUNNING_LOCK:
        if _RUNNING.get(port) is listener:
            del _RUNNING[port]


def running_listener(port: int, ae_title: str) -> ClaimingListener | None:
    """The listener of this process on ``port`` as ``ae_title``, if any."""
    with _RUNNING_LOCK:
        listener = _RUNNING.get(port)
    return listener if listener is not None and listener.ae_title == ae_title else None
