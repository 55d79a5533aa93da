"""Guessing link tokens is slowed down: after 20 refused opens from one address, that address waits."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from casefiles.accounts.ratelimit import Attempts, TooManyTries
from casefiles.accounts.shares import LinkRefused
from casefiles.acting.links import ShareLinks
from casefiles.config import Settings
from casefiles.department import open_department
from casefiles.services import Services
from casefiles.store.documents import CaseQuery
from tests.store.conftest import make_case


def test_an_address_that_keeps_guessing_waits_and_others_do_not(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", seed_samples=False)
    services = Services(settings)
    services.store.save_case(make_case("c1", series=1, images=1))
    now = [dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)]
    department = open_department(services.store, settings, env={})
    department = type(department)(**{**department.__dict__, "link_attempts": Attempts(clock=lambda: now[0])})
    links = ShareLinks(services, department)
    token, _ = department.links.create(owner="pia", target_kind="case", target_id="c1")
    for n in range(20):
        with pytest.raises(LinkRefused):
            links.open_shared(f"guess-{n}", where="203.0.113.9")
    with pytest.raises(TooManyTries, match="try again in 10 minute"):
        links.open_shared(token, where="203.0.113.9")  # even the right token, from there, for now
    refusals = len(department.audit.events())
    with pytest.raises(TooManyTries):
        links.open_shared("guess-again", where="203.0.113.9")
    assert len(department.audit.events()) == refusals  # a scanner does not fill the log
    assert links.open_shared(token, where="198.51.100.4").cases  # a colleague elsewhere is not held up
    now[0] += dt.timedelta(minutes=10, seconds=1)
    assert links.open_shared(token, where="203.0.113.9").cases
    assert services.count_cases(CaseQuery()) == 1
