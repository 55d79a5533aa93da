"""`user` and `audit` commands through the use cases (casefiles.acting.cli), as the local operator."""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path

import pytest

from casefiles.accounts.local import LocalAccounts
from casefiles.acting.admin import LastAdmin
from casefiles.acting.cli import add_parsers
from casefiles.audit import Audit
from casefiles.config import Settings
from casefiles.deid.keys import load_or_create_secret
from casefiles.errors import CaseDeckError
from casefiles.store.tinydb_store import TinyDBCaseStore


def run(data: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    parser = argparse.ArgumentParser(prog="casefiles")
    add_parsers(parser.add_subparsers(dest="command", required=True), lambda _args: Settings(data_dir=data))
    args = parser.parse_args(argv)
    capsys.readouterr()
    assert args.func(args) == 0
    return capsys.readouterr().out


def test_users_through_the_use_cases(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    added = run(data, capsys, "user", "add", "Root", "--role", "admin")
    one_time = added.strip().splitlines()[-1].rsplit(" ", 1)[-1]
    accounts = LocalAccounts(TinyDBCaseStore(data / "library"))
    assert accounts.sign_in("root", one_time).must_change_password
    run(data, capsys, "user", "add", "ana", "--role", "presenter", "--group", "gi", "--email", "ana@example.org")
    assert run(data, capsys, "user", "update", "ana", "--role", "coordinator", "--group", "gi", "--group", "neuro") == (
        "ana\tcoordinator\tgi,neuro\n"
    )
    assert "ana\tcoordinator\tlocal\tactive\tgi,neuro" in run(data, capsys, "user", "list")
    assert run(data, capsys, "user", "update", "ana", "--no-groups") == "ana\tcoordinator\t\n"
    assert run(data, capsys, "user", "disable", "ana") == "ana\tdisabled\n"
    assert run(data, capsys, "user", "enable", "ana") == "ana\tactive\n"
    reset = run(data, capsys, "user", "reset", "ana")
    assert reset.startswith("one-time password") and one_time not in reset
    with pytest.raises(LastAdmin):
        run(data, capsys, "user", "disable", "root")
    with pytest.raises(CaseDeckError, match="already a user"):
        run(data, capsys, "user", "add", "ana", "--role", "learner")
    audit = Audit(TinyDBCaseStore(data / "library"), load_or_create_secret(Settings(data_dir=data).secret_path))
    events = [e.data for e in audit.events()]
    assert {(e["actor"], e["where"]) for e in events} == {("local", "cli")}
    assert [e["action"] for e in events] == [
        "user.create",
        "user.create",
        "user.update",
        "user.update",
        "user.disable",
        "user.enable",
        "user.reset",
    ]
    assert one_time not in (data / "library" / "audit.log").read_text()


def test_audit_export_check_and_pulled(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    audit = Audit(TinyDBCaseStore(data / "library"), load_or_create_secret(Settings(data_dir=data).secret_path))
    audit.record("ana", "pacs.pull", target_kind="case", target_id="c1", accessions=["ACC9"], count=1)
    audit.record("-2+3", "case.view", target_kind="case", target_id="c1")
    rows = list(csv.reader(io.StringIO(run(data, capsys, "audit", "export", "--action", "case.view"))))
    assert [r[2] for r in rows[1:]] == ["'-2+3"]
    out = tmp_path / "all.csv"
    run(data, capsys, "audit", "export", "--since", "2000-01-01", "--out", str(out))
    assert len(list(csv.reader(io.StringIO(out.read_text())))) == 4  # header, two events, the first export
    assert run(data, capsys, "audit", "check").startswith("The audit log is intact (4 entries)")
    assert "\tana\tc1" in run(data, capsys, "audit", "pulled", "acc9")
    assert "No pull" in run(data, capsys, "audit", "pulled", "ACC1")
    with pytest.raises(CaseDeckError, match="YYYY-MM-DD"):
        run(data, capsys, "audit", "export", "--until", "yesterday")


def test_the_first_admin_is_made_once_and_its_password_signs_in(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    said = run(data, capsys, "user", "first-admin")
    one_time = said.split("one-time password ", 1)[1].split(" ", 1)[0]
    assert LocalAccounts(TinyDBCaseStore(data / "library")).sign_in("admin", one_time).must_change_password
    assert run(data, capsys, "user", "first-admin") == "An admin account exists already.\n"
