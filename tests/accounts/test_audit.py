"""The audit trail: every event chained, no patient data, accession numbers findable only by keyed hash."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from casefiles.audit import Audit, AuditFilter, to_csv
from casefiles.errors import ValidationError
from casefiles.store.tinydb_store import TinyDBCaseStore
from tests.accounts.test_local_accounts import Clock

SECRET = bytes(range(32))


@pytest.fixture
def audit(tmp_path: Path) -> Audit:
    return Audit(TinyDBCaseStore(tmp_path / "library"), SECRET, Clock())


def test_a_pull_is_findable_by_accession_without_keeping_it(audit: Audit, tmp_path: Path) -> None:
    audit.record("ana", "pacs.pull", target_kind="case", target_id="c1", accessions=["ACC123456", "ACC777"], count=2)
    audit.record("ana", "case.view", target_kind="case", target_id="c1", where="10.1.2.3")
    log = (tmp_path / "library" / "audit.log").read_text()
    assert "ACC123456" not in log and "ACC777" not in log
    assert [e.seq for e in audit.pulls_of(" acc123456 ")] == [1]
    assert audit.pulls_of("ACC999") == []
    other = Audit(TinyDBCaseStore(tmp_path / "library"), bytes(32), Clock())
    assert other.pulls_of("ACC123456") == []  # without this installation's key the hashes mean nothing


def test_events_are_filtered_and_exported_with_formulas_defused(audit: Audit) -> None:
    audit.record("ana", "case.export", target_kind="case", target_id="c1", format="pptx")
    audit.record("=cmd|' /C calc'!A0", "sign_in_refused", where="10.0.0.9")
    audit.record("ben", "case.view", target_kind="case", target_id="c2")
    assert [e.data["actor"] for e in audit.events(AuditFilter(action="case.view"))] == ["ben"]
    assert [e.seq for e in audit.events(AuditFilter(target_id="c1"))] == [1]
    rows = list(csv.reader(io.StringIO(to_csv(audit.events()))))
    assert rows[0][:4] == ["seq", "at", "actor", "action"]
    assert rows[1][7] == "format=pptx"
    assert rows[2][2].startswith("'=")  # a spreadsheet shows it, never runs it


def test_free_text_and_unknown_actions_are_refused(audit: Audit) -> None:
    with pytest.raises(ValidationError, match="no free text"):
        audit.record("ana", "case.edit", target_id="c1", title="DOE^JOHN chest CT")
    with pytest.raises(ValidationError, match="Unknown audit action"):
        audit.record("ana", "case.rename")
    assert audit.events() == []


def test_tampering_is_detected(audit: Audit, tmp_path: Path) -> None:
    for n in range(4):
        audit.record("ana", "case.view", target_id=f"c{n}")
    assert audit.first_broken() is None
    log = tmp_path / "library" / "audit.log"
    lines = log.read_text().splitlines()
    doc = json.loads(lines[1])
    doc["data"]["actor"] = "mallory"
    log.write_text("\n".join([lines[0], json.dumps(doc), *lines[2:]]) + "\n")
    assert audit.first_broken() == 1
