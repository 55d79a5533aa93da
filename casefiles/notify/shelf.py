"""In-app notifications kept in the library store (records of kind ``notification``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from casefiles.notify.inbox import InAppNotification, from_document, mark_read, to_document
from casefiles.store.records import Record

NOTIFICATION = "notification"


class RecordShelf(Protocol):
    def save_record(self, record: Record) -> Record: ...
    def update_record(self, kind: str, key: str, change: Callable[[Record], Record]) -> Record: ...
    def list_records(self, kind: str) -> list[Record]: ...


class NotificationShelf:
    """Keep, list and mark read the notifications shown in the app."""

    def __init__(self, records: RecordShelf) -> None:
        self._records = records

    def keep(self, item: InAppNotification) -> InAppNotification:
        self._records.save_record(Record(NOTIFICATION, item.id, to_document(item)))
        return item

    def of(self, recipient: str, *, unread_only: bool = False) -> list[InAppNotification]:
        """A user's notifications, newest first."""
        items = [from_document(dict(r.data)) for r in self._records.list_records(NOTIFICATION)]
        mine = [i for i in items if i.recipient == recipient and not (unread_only and i.read)]
        return sorted(mine, key=lambda i: i.created, reverse=True)

    def mark_read(self, item_id: str) -> InAppNotification:
        changed = self._records.update_record(
            NOTIFICATION, item_id, lambda r: Record(r.kind, r.key, to_document(mark_read(from_document(dict(r.data)))))
        )
        return from_document(dict(changed.data))
