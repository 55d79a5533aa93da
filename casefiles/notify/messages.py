"""The notification kinds, and the rule that keeps patient data out of every one of them.

**The rule: no PHI in a notification.** A notification is built from these inputs only:

- the recipient's and the actor's display names (staff accounts, never a patient);
- the case or conference id (random, never derived from PHI) and a link to it in the app
  (the base URL comes from ``CASEDECK_PUBLIC_URL``);
- for a conference, at most its title and its date.

Case titles, histories, findings, descriptions and any text derived from DICOM are never put
in a notification: titles come from DICOM and can carry a patient's name or an accession
number. A conference title is typed by a user: it is shown only when the free-text cleaner
(:mod:`casefiles.deid.freetext`) would leave it unchanged, and is left out otherwise.

As a fail-closed backstop, :func:`check_no_phi` runs the free-text cleaner over every subject,
body and in-app text once the values vouched for above (names, ids, the link, the sender
address, the formatted conference date, the app's name) are masked out: if the cleaner would
change anything that is left (a word it cannot vouch for, a name, a date, a long digit run,
an e-mail or web address, a phone number), the text is refused and nothing is sent.
Display names, ids and addresses are checked when a notification is made.

Texts are plain text: no HTML, no markdown.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import ClassVar, Literal, Protocol

from casefiles.deid.freetext import clean_free_text
from casefiles.errors import ValidationError
from casefiles.notify.errors import PhiInNotificationError

APP_NAME = "CaseDeck"

Kind = Literal["case_shared", "upload_arrived", "conference_ready", "conference_changed"]
KINDS: tuple[Kind, ...] = ("case_shared", "upload_arrived", "conference_ready", "conference_changed")

#: Query parameters of the app's pages (pages/ui.py: CASE_PARAM, CONFERENCE_PARAM).
CASE_PATH = "/case?case="
CONFERENCE_PATH = "/conferences?conference="

_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_USERNAME = re.compile(r"[A-Za-z0-9._@+-]{1,128}")
_MAX_NAME = 80
# What a display name may not hold: addresses, links, long numbers, dates (a staff name has none).
_NAME_FORBIDDEN = re.compile(r"@|://|www\.|\d{3,}|\d{1,4}\s*[-/.]\s*\d{1,2}\s*[-/.]\s*\d{1,4}")
_MAX_TITLE = 80


def check_no_phi(text: str, *, vouched: Iterable[str] = ()) -> None:
    """Raise :class:`PhiInNotificationError` if ``text`` holds anything that could be patient data.

    ``vouched`` are values checked where they were made (display names, ids, links, the sender's
    address, a formatted conference date): they are masked out, and what is left must be text the
    free-text cleaner leaves unchanged. The error never quotes the text.
    """
    masked = text
    for value in sorted({v for v in vouched if v}, key=len, reverse=True):
        # Whole values only: an id or a name never masks part of a longer word.
        masked = re.sub(rf"(?<!\w){re.escape(value)}(?!\w)", " ", masked)
    if clean_free_text(masked) != masked:
        raise PhiInNotificationError(
            "A notification was refused: its text holds something that could be patient data "
            "(a name, a date, a number, an address, or a word the free-text cleaner cannot vouch for). "
            "Nothing was sent."
        )


def public_url_from_env(env: Mapping[str, str]) -> str | None:
    """``CASEDECK_PUBLIC_URL``: the address users open the app at (https://casedeck.example.org), or None."""
    value = env.get("CASEDECK_PUBLIC_URL", "").strip()
    return check_public_url(value) if value else None


def check_public_url(value: str) -> str:
    """The app's base URL without a trailing slash; http(s), no query, fragment or spaces."""
    url = value.strip().rstrip("/")
    if not re.fullmatch(r"https?://[A-Za-z0-9.\-\[\]:]+(?:/[A-Za-z0-9._~/-]*)?", url):
        raise ValidationError(
            "CASEDECK_PUBLIC_URL must be the app's address, like https://casedeck.example.org "
            "(http or https, no query or fragment)."
        )
    return url


def check_display_name(name: str) -> str:
    """A one-line staff display name: no addresses, links, long numbers or dates."""
    cleaned = " ".join(name.split())
    if (
        not cleaned
        or len(cleaned) > _MAX_NAME
        or not cleaned.isprintable()
        or _NAME_FORBIDDEN.search(cleaned)
        or any(c in cleaned for c in "<>[]{}")
    ):
        raise ValidationError(
            f"A display name in a notification must be a name of at most {_MAX_NAME} characters, "
            "without addresses, links, numbers or dates."
        )
    return cleaned


def check_id(value: str, what: str) -> str:
    if not _ID.fullmatch(value):
        raise ValidationError(f"A {what} id must be 1 to 64 letters, digits, '-' or '_'.")
    return value


def check_email(address: str) -> str:
    if not _EMAIL.fullmatch(address) or len(address) > 254:
        raise ValidationError("An e-mail address must look like name@example.org (one line, no spaces).")
    return address


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who is told: a CaseDeck account (username, display name) and where mail to it goes (may be unset)."""

    username: str
    display_name: str
    email: str | None = None

    def __post_init__(self) -> None:
        if not _USERNAME.fullmatch(self.username):
            raise ValidationError("A username must be 1 to 128 letters, digits or . _ @ + -.")
        object.__setattr__(self, "display_name", check_display_name(self.display_name))
        if self.email is not None:
            check_email(self.email)


class Notification(Protocol):
    """What every notification kind offers: the mailer and the in-app list take any of them."""

    kind: ClassVar[Kind]

    @property
    def recipient(self) -> Recipient: ...

    @property
    def path(self) -> str:
        """The app-relative link (``/case?case=…``): in-app notifications use it as it is."""
        ...

    def subject(self) -> str: ...

    def summary(self) -> str:
        """One line for the in-app list."""
        ...

    def body(self, base_url: str) -> str:
        """The plain-text e-mail body, linking to ``base_url`` + :attr:`path`."""
        ...

    def vouched(self) -> tuple[str, ...]:
        """The values checked at construction that :func:`check_no_phi` masks out."""
        ...


def _footer() -> str:
    return f"This message comes from {APP_NAME} and holds no patient data by design: sign in to see the details.\n"


def _letter(greeting_name: str, lines: list[str], link: str) -> str:
    return "\n\n".join([f"Hello {greeting_name},", *lines, f"Open it here: {link}", _footer()])


@dataclass(frozen=True, slots=True)
class CaseShared:
    """A case was shared with the recipient."""

    kind: ClassVar[Kind] = "case_shared"
    recipient: Recipient
    actor_name: str
    case_id: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "actor_name", check_display_name(self.actor_name))
        check_id(self.case_id, "case")

    @property
    def path(self) -> str:
        return CASE_PATH + self.case_id

    def subject(self) -> str:
        return f"{APP_NAME}: {self.actor_name} shared a case with you"

    def summary(self) -> str:
        return f"{self.actor_name} shared a case with you (case {self.case_id})."

    def body(self, base_url: str) -> str:
        lines = [f"{self.actor_name} shared a case with you in {APP_NAME}.", f"Case: {self.case_id}"]
        return _letter(self.recipient.display_name, lines, base_url + self.path)

    def vouched(self) -> tuple[str, ...]:
        return (APP_NAME, self.recipient.display_name, self.actor_name, self.case_id, self.path)


@dataclass(frozen=True, slots=True)
class UploadArrived:
    """An upload (an upload link, or a colleague) arrived for a case or conference the recipient owns.

    ``actor_name`` is None for an upload through an upload link (the uploader has no account).
    """

    kind: ClassVar[Kind] = "upload_arrived"
    recipient: Recipient
    target: Literal["case", "conference"]
    target_id: str
    actor_name: str | None = None

    def __post_init__(self) -> None:
        if self.target not in ("case", "conference"):
            raise ValidationError("An upload arrives for a case or a conference.")
        check_id(self.target_id, self.target)
        if self.actor_name is not None:
            object.__setattr__(self, "actor_name", check_display_name(self.actor_name))

    @property
    def path(self) -> str:
        return (CASE_PATH if self.target == "case" else CONFERENCE_PATH) + self.target_id

    def _who(self) -> str:
        return self.actor_name or "Someone with an upload link"

    def subject(self) -> str:
        return f"{APP_NAME}: an upload arrived for your {self.target}"

    def summary(self) -> str:
        return f"{self._who()} uploaded studies to your {self.target} ({self.target} {self.target_id})."

    def body(self, base_url: str) -> str:
        lines = [
            f"{self._who()} uploaded studies to a {self.target} you own in {APP_NAME}. "
            "They were de-identified on arrival.",
            f"{self.target.capitalize()}: {self.target_id}",
        ]
        return _letter(self.recipient.display_name, lines, base_url + self.path)

    def vouched(self) -> tuple[str, ...]:
        names = (self.actor_name,) if self.actor_name else ()
        return (APP_NAME, self.recipient.display_name, *names, self.target_id, self.path)


def _safe_title(title: str | None) -> str | None:
    """A conference title when the free-text cleaner vouches for all of it; else None (left out)."""
    if title is None:
        return None
    cleaned = " ".join(title.split())
    if not cleaned or len(cleaned) > _MAX_TITLE or clean_free_text(cleaned) != cleaned:
        return None
    return cleaned


def _format_date(day: dt.date | None) -> str | None:
    return None if day is None else f"{day:%A} {day.isoformat()}"


@dataclass(frozen=True, slots=True)
class _ConferenceNotice:
    recipient: Recipient
    actor_name: str
    conference_id: str
    title: str | None = None
    date: dt.date | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "actor_name", check_display_name(self.actor_name))
        check_id(self.conference_id, "conference")
        if self.date is not None and not isinstance(self.date, dt.date):
            raise ValidationError("A conference date must be a date.")
        object.__setattr__(self, "title", _safe_title(self.title))

    @property
    def path(self) -> str:
        return CONFERENCE_PATH + self.conference_id

    def _named(self) -> str:
        return f"the conference {self.title}" if self.title else "a conference you present"

    def _details(self) -> list[str]:
        lines = [f"Conference: {self.conference_id}"]
        if self.title:
            lines.append(f"Title: {self.title}")
        if self.date is not None:
            lines.append(f"Date: {_format_date(self.date)}")
        return ["\n".join(lines)]

    def vouched(self) -> tuple[str, ...]:
        day = _format_date(self.date)
        dates = (day,) if day else ()
        return (APP_NAME, self.recipient.display_name, self.actor_name, self.conference_id, self.path, *dates)


@dataclass(frozen=True, slots=True)
class ConferenceReady(_ConferenceNotice):
    """A conference the recipient presents was marked ready."""

    kind: ClassVar[Kind] = "conference_ready"

    def subject(self) -> str:
        return f"{APP_NAME}: a conference you present is ready"

    def summary(self) -> str:
        return f"{self.actor_name} marked {self._named()} ready (conference {self.conference_id})."

    def body(self, base_url: str) -> str:
        lines = [f"{self.actor_name} marked {self._named()} ready in {APP_NAME}.", *self._details()]
        return _letter(self.recipient.display_name, lines, base_url + self.path)


@dataclass(frozen=True, slots=True)
class ConferenceChanged(_ConferenceNotice):
    """A conference the recipient presents was changed (cases added, removed or reordered, new date...)."""

    kind: ClassVar[Kind] = "conference_changed"

    def subject(self) -> str:
        return f"{APP_NAME}: a conference you present was changed"

    def summary(self) -> str:
        return f"{self.actor_name} changed {self._named()} (conference {self.conference_id})."

    def body(self, base_url: str) -> str:
        lines = [f"{self.actor_name} changed {self._named()} in {APP_NAME}.", *self._details()]
        return _letter(self.recipient.display_name, lines, base_url + self.path)


@dataclass(frozen=True, slots=True)
class RenderedMail:
    """A notification as it goes out: recipient address, subject and plain-text body, all checked."""

    to: str
    subject: str
    body: str


def render_mail(notification: Notification, *, base_url: str, sender: str) -> RenderedMail:
    """Subject and body of ``notification`` for e-mail, after :func:`check_no_phi` passed on both."""
    to = notification.recipient.email
    if to is None:
        raise ValidationError("This recipient has no e-mail address; the notification stays in the app.")
    base = check_public_url(base_url)
    subject = notification.subject()
    body = notification.body(base)
    vouched = (*notification.vouched(), base + notification.path, base, sender)
    check_no_phi(subject, vouched=vouched)
    check_no_phi(body, vouched=vouched)
    return RenderedMail(to=check_email(to), subject=subject, body=body)
