"""Pull by accession from a real Orthanc: retrieve -> quarantine -> de-identify -> cases -> conference."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from casefiles.config import Settings
from casefiles.services import Services
from casefiles.store.tinydb_store import TinyDBCaseStore
from sample_data.synth import FAKE_PHI
from tests.dicom_factory import FAKE_ACCESSION
from tests.helpers import ROOT


def test_batch_pull_makes_de_identified_cases_in_a_conference(node, studies, tmp_path):
    services = Services(Settings(data_dir=tmp_path / "data", seed_samples=False))
    services.save_pacs_node(node)
    us = next(s for s in studies.values() if s.modality == "US")
    report, conference = services.pull_from_pacs(
        node.name, [FAKE_ACCESSION, "NO-SUCH-ACCESSION", us.accession], conference_title="Tumor board, Thu 26 Nov"
    )
    from casefiles.pacs import find_studies

    # An accession can cover several studies (the US and CR samples share one; other tests add more).
    expected = sum(len(find_studies(node, accession=a)) for a in (FAKE_ACCESSION, us.accession))
    assert len(report.case_ids) == expected
    assert report.studies_retrieved == expected
    assert [p.item for p in report.problems] == ["accession 2 of 3"]
    assert "NO-SUCH" not in str(report.problems)
    assert conference is not None and conference.case_ids == report.case_ids
    ct = services.get_case(report.case_ids[0])
    assert sum(len(a.instances) for a in ct.assets) >= 4
    assert not any((tmp_path / "data" / "quarantine").iterdir()), "the quarantine is empty afterwards"
    for path in (tmp_path / "data").rglob("*"):
        if path.is_file():
            data = path.read_bytes().lower()
            assert not any(phi.lower().encode() in data for phi in (*FAKE_PHI, FAKE_ACCESSION)), path.name

    again, same = services.pull_from_pacs(node.name, [FAKE_ACCESSION], conference_title="Tumor board, Thu 26 Nov")
    assert set(again.case_ids) <= set(report.case_ids), "a second pull merges into the same cases"
    assert same is not None and same.id == conference.id and same.case_ids == conference.case_ids


def test_pull_from_an_unknown_node_names_the_configured_ones(tmp_path, node):
    import pytest

    from casefiles.errors import NotFoundError

    services = Services(Settings(data_dir=tmp_path / "data", seed_samples=False))
    services.save_pacs_node(node)
    with pytest.raises(NotFoundError, match=node.name):
        services.pull_from_pacs("nope", ["A1"])


def test_the_cli_configures_echoes_finds_and_pulls(node, tmp_path):
    env = {**os.environ, "CASEDECK_DATA": str(tmp_path / "cli-data"), "CASEDECK_SAMPLES": "0"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "casefiles", "pacs", *args],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    added = cli(
        "add-node", "--node", "local", "--ae", node.ae_title, "--host", node.host, "--port", str(node.port),
        "--our-ae", node.our_ae_title, "--our-port", str(node.our_port),
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "answered C-ECHO" in cli("echo", "--node", "local").stdout
    found = cli("find", "--node", "local", "--accession", FAKE_ACCESSION)
    assert found.returncode == 0 and FAKE_ACCESSION in found.stdout
    pulled = cli("pull", "--node", "local", "--accession", FAKE_ACCESSION, "--conference", "Grand rounds")
    assert pulled.returncode == 0, pulled.stderr
    assert pulled.stdout.split() and "conference" in pulled.stderr
    assert "Traceback" not in pulled.stderr
    closed = cli("echo", "--node", "nope")
    assert closed.returncode == 1 and closed.stderr.startswith("error: ")
    library = TinyDBCaseStore(Path(env["CASEDECK_DATA"], "library"))
    assert '"local"' in (library.get_meta("pacs_nodes") or "")  # nodes live in the library's settings
