"""The in-app notification model and its pure functions."""

from __future__ import annotations

import datetime as dt
from dataclasses import FrozenInstanceError

import pytest

from casefiles.errors import ValidationError
from casefiles.notify.errors import PhiInNotificationError
from casefiles.notify.inbox import (
    InAppNotification,
    for_recipient,
    from_document,
    mark_all_read,
    mark_read,
    new_in_app,
    to_document,
    unread_count,
)
from casefiles.notify.messages import CaseShared, ConferenceReady, Recipient, UploadArrived

ALICE = Recipient("alice", "Alice Martin")
BOB = Recipient("bob", "Bob Jones", "bob@example.org")
T0 = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)


def test_new_notification_is_unread_and_links_inside_the_app() -> None:
    item = new_in_app(CaseShared(ALICE, "Bob Jones", "a1b2c3d4e5f6"), now=T0)
    assert item.recipient == "alice"
    assert item.kind == "case_shared"
    assert item.text == "Bob Jones shared a case with you (case a1b2c3d4e5f6)."
    assert item.link == "/case?case=a1b2c3d4e5f6"
    assert item.created == T0
    assert not item.read
    assert len(item.id) == 16
    with pytest.raises(FrozenInstanceError):
        item.read = True  # type: ignore[misc]


def test_mark_read_and_lists() -> None:
    a1 = new_in_app(CaseShared(ALICE, "Bob Jones", "c1"), now=T0)
    a2 = new_in_app(UploadArrived(ALICE, "conference", "k1"), now=T0 + dt.timedelta(minutes=5))
    b1 = new_in_app(ConferenceReady(BOB, "Alice Martin", "k1", "Neuro rounds"), now=T0)
    items = [a1, a2, b1]
    assert for_recipient(items, "alice") == [a2, a1]
    assert unread_count(items, "alice") == 2
    read = mark_read(a1)
    assert read.read and not a1.read  # a new value; the old one is unchanged
    assert mark_read(read) is read
    assert for_recipient([read, a2, b1], "alice", unread_only=True) == [a2]
    after = mark_all_read(items, "alice")
    assert unread_count(after, "alice") == 0
    assert unread_count(after, "bob") == 1


def test_document_round_trip() -> None:
    item = mark_read(
        new_in_app(ConferenceReady(BOB, "Alice Martin", "k1", "Neuro rounds", dt.date(2026, 12, 10)), now=T0)
    )
    assert from_document(to_document(item)) == item


def test_model_is_checked() -> None:
    with pytest.raises(ValidationError):
        InAppNotification("x", "alice", "bogus", "t", "/case?case=a", T0)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        InAppNotification("x", "alice", "case_shared", "t", "https://evil.example.org", T0)
    with pytest.raises(ValidationError):
        InAppNotification("x", "alice", "case_shared", "t", "/case?case=a", T0.replace(tzinfo=None))
    with pytest.raises(ValidationError):
        from_document({**to_document(new_in_app(CaseShared(ALICE, "Bob Jones", "c1"), now=T0)), "kind": "bogus"})


def test_in_app_text_passes_the_guard() -> None:
    class Leaky(CaseShared):
        def summary(self) -> str:
            return "Bob Jones shared the case of John Smith, born 1962-03-04."

    with pytest.raises(PhiInNotificationError):
        new_in_app(Leaky(ALICE, "Bob Jones", "c1"), now=T0)
