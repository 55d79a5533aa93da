"""Notification kinds and the PHI guard: names, ids, links and at most a conference title/date."""

from __future__ import annotations

import datetime as dt

import pytest

from casefiles.errors import ValidationError
from casefiles.notify.errors import PhiInNotificationError
from casefiles.notify.messages import (
    CaseShared,
    ConferenceChanged,
    ConferenceReady,
    Notification,
    Recipient,
    UploadArrived,
    check_no_phi,
    render_mail,
)

SENDER = "casedeck@radiology.example.org"
BASE = "https://casedeck.example.org"
ALICE = Recipient("alice", "Alice Martin", "alice@example.org")
DAY = dt.date(2026, 12, 10)


def kinds() -> list[Notification]:
    return [
        CaseShared(ALICE, "Bob Jones", "a1b2c3d4e5f6"),
        UploadArrived(ALICE, "case", "a1b2c3d4e5f6", "Dr Wei Chen"),
        UploadArrived(ALICE, "conference", "c0ffee123456"),
        ConferenceReady(ALICE, "Bob Jones", "c0ffee123456", "GI tumor board", DAY),
        ConferenceChanged(ALICE, "Bob Jones", "c0ffee123456"),
    ]


@pytest.mark.parametrize("notification", kinds(), ids=lambda n: n.kind)
def test_every_kind_passes_the_guard(notification: Notification) -> None:
    mail = render_mail(notification, base_url=BASE, sender=SENDER)
    assert mail.to == "alice@example.org"
    assert mail.subject.startswith("CaseDeck: ")
    assert BASE + notification.path in mail.body
    assert mail.body.startswith("Hello Alice Martin,")
    assert "<" not in mail.body and ">" not in mail.body  # plain text, no HTML
    check_no_phi(notification.summary(), vouched=notification.vouched())


def test_links_point_at_the_pages() -> None:
    assert CaseShared(ALICE, "Bob Jones", "abc123").path == "/case?case=abc123"
    assert UploadArrived(ALICE, "conference", "c1").path == "/conferences?conference=c1"
    assert ConferenceReady(ALICE, "Bob Jones", "c1").path == "/conferences?conference=c1"


def test_conference_title_and_date_are_shown() -> None:
    body = ConferenceReady(ALICE, "Bob Jones", "c1", "GI tumor board", DAY).body(BASE)
    assert "Title: GI tumor board" in body
    assert "Date: Thursday 2026-12-10" in body


@pytest.mark.parametrize(
    "title",
    ["Smith case review", "Tumor board 12/03/2024", "Board for MRN 1234567", "Mrs Rose follow-up", "x" * 81],
)
def test_a_title_the_cleaner_cannot_vouch_for_is_left_out(title: str) -> None:
    notice = ConferenceChanged(ALICE, "Bob Jones", "c1", title, DAY)
    assert notice.title is None
    body = render_mail(notice, base_url=BASE, sender=SENDER).body
    assert "Title:" not in body
    assert "a conference you present" in body


@pytest.mark.parametrize(
    "leak",
    [
        "John Smith",
        "Mrs Rose",
        "born 1962-03-04",
        "seen 04/03/1962",
        "on 4 March 1962",
        "MRN 12345678",
        "accession A20260001234",
        "call 555-0199",
        "write to j.smith@gmail.com",
        "see https://evil.example.com/x",
        "Patient: Ngozi Okonkwo-Baptiste",
    ],
)
def test_the_guard_refuses_patient_like_text(leak: str) -> None:
    notification = CaseShared(ALICE, "Bob Jones", "a1b2c3d4e5f6")
    body = notification.body(BASE) + f"\n{leak}\n"
    with pytest.raises(PhiInNotificationError) as caught:
        check_no_phi(body, vouched=(*notification.vouched(), BASE + notification.path, SENDER))
    for word in leak.split():
        if len(word) > 3:
            assert word not in str(caught.value)


def test_the_sender_address_is_vouched_for_and_no_other() -> None:
    check_no_phi(f"Reply to {SENDER} with questions.", vouched=(SENDER,))
    with pytest.raises(PhiInNotificationError):
        check_no_phi("Reply to someone@example.org with questions.", vouched=(SENDER,))


def test_vouched_values_mask_whole_values_only() -> None:
    check_no_phi("Case abc is ready.", vouched=("abc",))
    with pytest.raises(PhiInNotificationError):
        check_no_phi("Case abcSmithson is ready.", vouched=("abc",))


@pytest.mark.parametrize(
    "name",
    ["", "   ", "bob@example.org", "Bob 1234567", "Bob 12/03/1962", "http://x.org", "<b>Bob</b>", "B" * 81],
)
def test_display_names_are_checked(name: str) -> None:
    with pytest.raises(ValidationError):
        CaseShared(ALICE, name, "a1b2c3d4e5f6")


def test_a_display_name_stays_on_one_line() -> None:
    """No header injection through a name: line breaks fold into spaces, an added header's address is refused."""
    notification = CaseShared(ALICE, "Bob\r\nJones", "a1")
    assert notification.actor_name == "Bob Jones"
    assert "\n" not in notification.subject() and "\r" not in notification.subject()
    with pytest.raises(ValidationError):
        CaseShared(ALICE, "Bob\r\nBcc: all@example.org", "a1")


@pytest.mark.parametrize("case_id", ["", "a b", "x/../y", "a?b=c", "é", "a" * 65])
def test_ids_are_checked(case_id: str) -> None:
    with pytest.raises(ValidationError):
        CaseShared(ALICE, "Bob Jones", case_id)


def test_recipient_is_checked() -> None:
    with pytest.raises(ValidationError):
        Recipient("alice", "Alice", "not-an-address")
    with pytest.raises(ValidationError):
        Recipient("alice smith", "Alice")
    with pytest.raises(ValidationError, match="no e-mail address"):
        render_mail(CaseShared(Recipient("bob", "Bob"), "Alice Martin", "a1"), base_url=BASE, sender=SENDER)


def test_a_case_title_has_no_way_in() -> None:
    """The kinds take no case title, history or DICOM text at all: only names, ids and a conference title/date."""
    import dataclasses

    for cls in (CaseShared, UploadArrived, ConferenceReady, ConferenceChanged):
        fields = {f.name for f in dataclasses.fields(cls)}
        assert fields <= {"recipient", "actor_name", "case_id", "target", "target_id", "conference_id", "title", "date"}
    assert "title" not in {f.name for f in dataclasses.fields(CaseShared)}
