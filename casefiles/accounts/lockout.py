"""Back-off after repeated wrong passwords, the same for accounts and for password-protected links.

After :data:`LOCK_AFTER` failures in a row the record is locked for 30 s, doubling with each
further failure up to an hour; a success clears the count. The state lives in the record itself
(``failures``, ``locked_until``), so every process of an installation sees the same lock.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from casefiles.store.records import Record

LOCK_AFTER = 5
FIRST_LOCK = dt.timedelta(seconds=30)
LONGEST_LOCK = dt.timedelta(hours=1)


def count_failure(record: Record, now: dt.datetime) -> Record:
    """``record`` with one more failure, locked when there were enough in a row."""
    failures = int(record.data.get("failures", 0)) + 1
    changes: dict[str, Any] = {"failures": failures}
    if failures >= LOCK_AFTER:
        changes["locked_until"] = (now + min(FIRST_LOCK * 2 ** (failures - LOCK_AFTER), LONGEST_LOCK)).isoformat()
    return record.with_data(**changes)


def cleared(record: Record, **more: Any) -> Record:
    return record.with_data(failures=0, locked_until=None, **more)


def locked_for(record: Record, now: dt.datetime) -> dt.timedelta | None:
    """How long the record stays locked (None: it is open)."""
    until = record.data.get("locked_until")
    if not until:
        return None
    left = dt.datetime.fromisoformat(until) - now
    return left if left > dt.timedelta(0) else None
