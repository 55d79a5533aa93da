"""`python -m casefiles user|share|audit`: the CLI twins of accounts, links and the audit log."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from casefiles.accounts.local import LocalAccounts
from casefiles.store.tinydb_store import TinyDBCaseStore
from tests.helpers import ROOT
from tests.store.conftest import make_case


def cli(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CASEDECK_DATA": str(data), "CASEDECK_SAMPLES": "0"}
    env.pop("CASEDECK_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "casefiles", *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_users_are_added_listed_disabled_and_reset(tmp_path: Path) -> None:
    data = tmp_path / "data"
    added = cli(data, "user", "add", "Ana", "--role", "presenter", "--name", "Ana R", "--group", "gi")
    assert added.returncode == 0, added.stderr
    one_time = added.stdout.strip().splitlines()[-1].rsplit(" ", 1)[-1]
    accounts = LocalAccounts(TinyDBCaseStore(data / "library"))
    assert accounts.sign_in("ana", one_time).must_change_password
    assert "ana\tpresenter\tlocal\tactive\tgi" in cli(data, "user", "list").stdout
    assert "disabled" in cli(data, "user", "disable", "ana").stdout
    reset = cli(data, "user", "reset", "ana")
    assert reset.returncode == 0 and one_time not in reset.stdout
    refused = cli(data, "user", "add", "x y", "--role", "admin")
    assert refused.returncode == 1 and refused.stderr.startswith("error: ") and "Traceback" not in refused.stderr


def test_links_are_created_listed_and_revoked_and_the_audit_exports(tmp_path: Path) -> None:
    data = tmp_path / "data"
    TinyDBCaseStore(data / "library").save_case(make_case("c1", series=1, images=2))
    created = cli(data, "share", "create", "--case", "c1", "--owner", "ana", "--days", "30")
    assert created.returncode == 0, created.stderr
    link_id = created.stdout.split("\t", 1)[0]
    listed = cli(data, "share", "list", "--case", "c1")
    assert link_id in listed.stdout and "active" in listed.stdout
    assert "revoked" in cli(data, "share", "revoke", link_id).stdout
    assert "revoked" in cli(data, "share", "list", "--case", "c1").stdout
    missing = cli(data, "share", "create", "--case", "nope", "--owner", "ana")
    assert missing.returncode == 1 and "no case" in missing.stderr
    exported = cli(data, "audit", "export")
    assert exported.returncode == 0 and exported.stdout.startswith("seq,at,actor,action")
    assert "intact" in cli(data, "audit", "check").stdout
    assert "No pull" in cli(data, "audit", "pulled", "ACC1").stdout
