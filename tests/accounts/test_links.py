"""Share and upload links: unguessable, stored as hashes, scoped, expiring, revocable, rate-limited."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from casefiles.accounts.shares import EXPIRY_CHOICES, LinkKind, LinkRefused, Links, token_key
from casefiles.errors import ValidationError
from casefiles.store.tinydb_store import TinyDBCaseStore
from tests.accounts.test_local_accounts import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def links(tmp_path: Path, clock: Clock) -> Links:
    return Links(TinyDBCaseStore(tmp_path / "library"), clock)


def test_a_link_opens_one_case_read_only_for_seven_days(links: Links, clock: Clock, tmp_path: Path) -> None:
    token, link = links.create(owner="ana", target_kind="case", target_id="c1")
    assert len(token) >= 43  # 256 random bits, URL-safe
    assert token not in "".join(p.read_text() for p in (tmp_path / "library").rglob("*.json"))
    assert link.key == token_key(token) and link.expires == clock.now + dt.timedelta(days=7)
    grant = links.open(token)
    assert (grant.link.target_kind, grant.link.target_id, grant.may_download, grant.may_upload) == (
        "case",
        "c1",
        False,
        False,
    )
    clock.advance(days=7)
    with pytest.raises(LinkRefused, match="expired"):
        links.open(token)


def test_revoked_malformed_and_unknown_links_are_refused(links: Links) -> None:
    token, link = links.create(owner="ana", target_kind="conference", target_id="k1", days=30, download=True)
    assert links.open(token).may_download
    links.revoke(link.key)
    with pytest.raises(LinkRefused, match="withdrawn"):
        links.open(token)
    with pytest.raises(LinkRefused, match="copied whole"):
        links.open("<script>alert(1)</script>")
    with pytest.raises(LinkRefused, match="not valid"):
        links.open("A" * 43)


def test_a_password_protected_link_locks_after_repeated_wrong_passwords(links: Links, clock: Clock) -> None:
    token, _ = links.create(owner="ana", target_kind="case", target_id="c1", password="tumor board thursday")
    with pytest.raises(LinkRefused, match="password"):
        links.open(token)
    for _ in range(4):
        with pytest.raises(LinkRefused, match="password"):
            links.open(token, "guess guess guess")
    with pytest.raises(LinkRefused, match="Too many"):
        links.open(token, "tumor board thursday")
    clock.advance(seconds=31)
    assert links.open(token, "tumor board thursday").link.target_id == "c1"


def test_expiry_choices_and_upload_links(links: Links, clock: Clock) -> None:
    assert EXPIRY_CHOICES == (0, 7, 15, 30, 90, 365)
    with pytest.raises(ValidationError):
        links.create(owner="ana", target_kind="case", target_id="c1", days=3)
    with pytest.raises(ValidationError):
        links.create(owner="ana", target_kind="patient", target_id="x")
    forever, _ = links.create(owner="ana", target_kind="case", target_id="c1", days=0)
    clock.advance(days=3650)
    assert links.open(forever).link.expires is None
    with pytest.raises(ValidationError, match="size limit"):
        links.create(owner="ana", target_kind="conference", target_id="k1", kind=LinkKind.UPLOAD)
    with pytest.raises(ValidationError, match="must expire"):
        links.create(owner="ana", target_kind="conference", target_id="k1", kind=LinkKind.UPLOAD, days=0)
    upload, link = links.create(
        owner="ana",
        target_kind="conference",
        target_id="k1",
        kind=LinkKind.UPLOAD,
        max_upload_bytes=2 * 1024**3,
        download=True,
    )
    grant = links.open(upload)
    assert grant.may_upload and not grant.may_download and link.max_upload_bytes == 2 * 1024**3
    assert [x.key for x in links.links_of("conference", "k1")] == [link.key]
