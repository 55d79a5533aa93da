"""In-app notifications survive in the library store, per recipient, newest first, marked read."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from casefiles.notify.inbox import new_in_app
from casefiles.notify.messages import CaseShared, Recipient
from casefiles.notify.shelf import NotificationShelf
from casefiles.store.tinydb_store import TinyDBCaseStore


def test_notifications_are_kept_listed_and_marked_read(tmp_path: Path) -> None:
    shelf = NotificationShelf(TinyDBCaseStore(tmp_path / "library"))
    ana = Recipient(username="ana", display_name="Ana Reyes", email="ana@hospital.test")
    ben = Recipient(username="ben", display_name="Ben Ode", email="ben@hospital.test")
    at = dt.datetime(2026, 12, 7, 9, tzinfo=dt.UTC)
    first = shelf.keep(new_in_app(CaseShared(ana, "Ben Ode", "c1"), now=at))
    second = shelf.keep(new_in_app(CaseShared(ana, "Ben Ode", "c2"), now=at + dt.timedelta(minutes=5)))
    shelf.keep(new_in_app(CaseShared(ben, "Ana Reyes", "c3"), now=at))
    again = NotificationShelf(TinyDBCaseStore(tmp_path / "library"))
    assert [n.id for n in again.of("ana")] == [second.id, first.id]
    assert again.mark_read(first.id).read
    assert [n.id for n in again.of("ana", unread_only=True)] == [second.id]
    assert [n.link for n in again.of("ben")] == ["/case?case=c3"]
