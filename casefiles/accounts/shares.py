"""Share and upload links: capability tokens for people without an account (issue #16).

Modelled on Kheops' capability tokens and Orthanc Explorer 2's shares: a link carries a random
256-bit token; the store keeps only its SHA-256 (records of kind ``share``), with what it opens
(one case or one conference), what it allows (view; download only when asked; upload for an
upload link), when it expires and whether it was revoked. An optional extra password is an
argon2id hash. Wrong passwords on a link lock that link with the same back-off as accounts.

Opening a link answers *what may be shown*; it does not show anything itself: the release gate
still decides, at the moment of showing, whether the case may leave CaseDeck.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from casefiles.accounts import passwords
from casefiles.accounts.lockout import cleared, count_failure, locked_for
from casefiles.errors import CaseDeckError, ValidationError
from casefiles.store.records import Record

SHARE = "share"
#: Days a link may live (0: until revoked), as Orthanc Explorer 2 offers them; 7 by default.
EXPIRY_CHOICES = (0, 7, 15, 30, 90, 365)
DEFAULT_EXPIRY_DAYS = 7
MAX_UPLOAD_BYTES = 20 * 1024**3


class LinkKind(enum.StrEnum):
    VIEW = "view"
    UPLOAD = "upload"


class LinkRefused(CaseDeckError):
    """A link that is malformed, unknown, expired, revoked or locked; says which, never more."""


class RecordShelf(Protocol):
    def get_record(self, kind: str, key: str) -> Record | None: ...
    def save_record(self, record: Record) -> Record: ...
    def update_record(self, kind: str, key: str, change: Callable[[Record], Record]) -> Record: ...
    def list_records(self, kind: str) -> list[Record]: ...


@dataclass(frozen=True, slots=True)
class Link:
    """A stored link, without its token."""

    key: str  # SHA-256 of the token
    kind: LinkKind
    target_kind: str  # "case" | "conference"
    target_id: str
    owner: str
    created: dt.datetime
    expires: dt.datetime | None
    download: bool = False
    has_password: bool = False
    revoked: bool = False
    max_upload_bytes: int = 0
    label: str = ""

    def expired(self, now: dt.datetime) -> bool:
        return self.expires is not None and now >= self.expires

    @classmethod
    def of(cls, record: Record) -> Link:
        data = record.data
        expires = data.get("expires")
        return cls(
            key=record.key,
            kind=LinkKind(data["kind"]),
            target_kind=str(data["target_kind"]),
            target_id=str(data["target_id"]),
            owner=str(data["owner"]),
            created=dt.datetime.fromisoformat(data["created"]),
            expires=dt.datetime.fromisoformat(expires) if expires else None,
            download=bool(data.get("download", False)),
            has_password=bool(data.get("password")),
            revoked=bool(data.get("revoked", False)),
            max_upload_bytes=int(data.get("max_upload_bytes", 0)),
            label=str(data.get("label", "")),
        )


@dataclass(frozen=True, slots=True)
class Grant:
    """What an opened link allows: the one case or conference, and whether it may be downloaded."""

    link: Link

    @property
    def may_download(self) -> bool:
        return self.link.kind is LinkKind.VIEW and self.link.download

    @property
    def may_upload(self) -> bool:
        return self.link.kind is LinkKind.UPLOAD


def token_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Links:
    """Create, list, revoke and open share and upload links over a :class:`RecordShelf`."""

    def __init__(self, records: RecordShelf, clock: Callable[[], dt.datetime] = _now) -> None:
        self._records = records
        self._clock = clock

    def create(
        self,
        *,
        owner: str,
        target_kind: str,
        target_id: str,
        kind: LinkKind = LinkKind.VIEW,
        days: int = DEFAULT_EXPIRY_DAYS,
        download: bool = False,
        password: str | None = None,
        max_upload_bytes: int = 0,
        label: str = "",
    ) -> tuple[str, Link]:
        """A new link: the token (shown once, put in the URL) and what is stored of it."""
        if target_kind not in ("case", "conference"):
            raise ValidationError("A link opens one case or one conference.")
        if days not in EXPIRY_CHOICES:
            raise ValidationError(f"A link lives {', '.join(map(str, EXPIRY_CHOICES[1:]))} days, or until revoked (0).")
        if kind is LinkKind.UPLOAD:
            if days == 0:
                raise ValidationError("An upload link must expire; choose a number of days.")
            if not 0 < max_upload_bytes <= MAX_UPLOAD_BYTES:
                raise ValidationError("An upload link needs a size limit (up to 20 GB).")
            download = False
        if password is not None:
            passwords.check_new_password(password)
        token = secrets.token_urlsafe(32)  # 256 bits
        now = self._clock()
        data: dict[str, Any] = {
            "kind": kind.value,
            "target_kind": target_kind,
            "target_id": target_id,
            "owner": owner,
            "created": now.isoformat(),
            "expires": (now + dt.timedelta(days=days)).isoformat() if days else None,
            "download": download,
            "password": passwords.hash_password(password) if password else None,
            "revoked": False,
            "max_upload_bytes": max_upload_bytes,
            "label": label.strip()[:120],
            "failures": 0,
            "locked_until": None,
            "opens": 0,
        }
        saved = self._records.save_record(Record(SHARE, token_key(token), data))
        return token, Link.of(saved)

    def links_of(self, target_kind: str, target_id: str) -> list[Link]:
        return [
            link
            for link in (Link.of(r) for r in self._records.list_records(SHARE))
            if (link.target_kind, link.target_id) == (target_kind, target_id)
        ]

    def revoke(self, key: str) -> Link:
        return Link.of(self._records.update_record(SHARE, key, lambda r: r.with_data(revoked=True)))

    def open(self, token: str, password: str | None = None) -> Grant:
        """What the link allows now, or :class:`LinkRefused` saying why (every open is counted)."""
        if not token or len(token) > 200 or not token.replace("-", "").replace("_", "").isalnum():
            raise LinkRefused("This link is not valid; check that it was copied whole.")
        record = self._records.get_record(SHARE, token_key(token))
        if record is None:
            passwords.verify(None, password or "")  # as slow as a real one: no timing hint
            raise LinkRefused("This link is not valid (it may have been mistyped, or removed).")
        link = Link.of(record)
        now = self._clock()
        if link.revoked:
            raise LinkRefused("This link was withdrawn by the person who shared it.")
        if link.expired(now):
            raise LinkRefused("This link has expired; ask the person who shared it for a new one.")
        if locked_for(record, now) is not None:
            raise LinkRefused("Too many wrong passwords for this link; try again later.")
        if link.has_password and not passwords.verify(record.data.get("password"), password or ""):
            self._records.update_record(SHARE, link.key, lambda r: count_failure(r, now))
            raise LinkRefused("This link needs its password (the one the sender gave you).")
        self._records.update_record(SHARE, link.key, lambda r: cleared(r, opens=int(r.data.get("opens", 0)) + 1))
        return Grant(link)
