"""In-app notifications: the model and pure functions over it.

A notification shown in the app is made from the same kinds as e-mail
(:mod:`casefiles.notify.messages`) and follows the same rule: its text is the kind's one-line
summary, checked by the PHI guard, and its link is app-relative (``/case?case=…``).
Nothing here reads or writes storage: the store keeps these documents (:func:`to_document`,
:func:`from_document`) when persistence is added.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from casefiles.errors import ValidationError
from casefiles.notify.messages import KINDS, Kind, Notification, check_no_phi


@dataclass(frozen=True, slots=True)
class InAppNotification:
    """One entry of a user's notification list."""

    id: str
    recipient: str  # username
    kind: Kind
    text: str
    link: str
    created: dt.datetime
    read: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValidationError(f"Unknown notification kind; expected one of {', '.join(KINDS)}.")
        if self.created.tzinfo is None:
            raise ValidationError("A notification's creation time must carry a time zone.")
        if not self.link.startswith("/"):
            raise ValidationError("An in-app notification links inside the app (a path starting with '/').")


def new_in_app(notification: Notification, *, now: dt.datetime | None = None) -> InAppNotification:
    """An unread in-app notification for ``notification``'s recipient; its text passes the PHI guard."""
    text = notification.summary()
    check_no_phi(text, vouched=notification.vouched())
    created = now if now is not None else dt.datetime.now(dt.UTC).replace(microsecond=0)
    return InAppNotification(
        id=secrets.token_hex(8),
        recipient=notification.recipient.username,
        kind=notification.kind,
        text=text,
        link=notification.path,
        created=created,
    )


def mark_read(item: InAppNotification) -> InAppNotification:
    return item if item.read else dataclasses.replace(item, read=True)


def mark_all_read(items: Iterable[InAppNotification], recipient: str) -> list[InAppNotification]:
    """Every item, with those of ``recipient`` marked read (others' left as they are)."""
    return [mark_read(item) if item.recipient == recipient else item for item in items]


def for_recipient(
    items: Iterable[InAppNotification], recipient: str, *, unread_only: bool = False
) -> list[InAppNotification]:
    """``recipient``'s notifications, newest first."""
    mine = [i for i in items if i.recipient == recipient and not (unread_only and i.read)]
    return sorted(mine, key=lambda i: (i.created, i.id), reverse=True)


def unread_count(items: Iterable[InAppNotification], recipient: str) -> int:
    return sum(1 for i in items if i.recipient == recipient and not i.read)


def to_document(item: InAppNotification) -> dict[str, Any]:
    return {
        "id": item.id,
        "recipient": item.recipient,
        "kind": item.kind,
        "text": item.text,
        "link": item.link,
        "created": item.created.isoformat(),
        "read": item.read,
    }


def from_document(doc: dict[str, Any]) -> InAppNotification:
    kind = next((k for k in KINDS if k == doc.get("kind")), None)
    if kind is None:
        raise ValidationError(f"Unknown notification kind; expected one of {', '.join(KINDS)}.")
    return InAppNotification(
        id=str(doc["id"]),
        recipient=str(doc["recipient"]),
        kind=kind,
        text=str(doc["text"]),
        link=str(doc["link"]),
        created=dt.datetime.fromisoformat(str(doc["created"])),
        read=bool(doc.get("read", False)),
    )
