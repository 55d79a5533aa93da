"""`python -m casefiles annotations`: the annotation editor's CLI twin (list, set from JSON, export GSPS + KOS)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pydicom

from casefiles.annotations.gsps import read_gsps
from casefiles.config import Settings
from casefiles.model import Window
from casefiles.services import Services
from tests.dicom_factory import write_ct_study
from tests.helpers import ROOT, require_tool


def test_set_list_and_export_annotations(tmp_path: Path) -> None:
    data = tmp_path / "data"
    services = Services(Settings(data_dir=data, seed_samples=False))
    case = services.get_case(services.import_dicom(write_ct_study(tmp_path / "in", slices=3)).case_ids[0])
    case = services.toggle_key_image(case.id, case.assets[0].id, 1, Window(40, 400))
    env = {**os.environ, "CASEDECK_DATA": str(data), "CASEDECK_SAMPLES": "0"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "casefiles", "annotations", case.id, *args],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    drawn = [
        {"kind": "arrow", "points": [[5, 5], [30, 30]]},
        {"kind": "ruler", "points": [[10, 50], [50, 50]], "style": {"color": "#00ff00", "width": 2}},
    ]
    (tmp_path / "a.json").write_text(json.dumps(drawn))
    saved = cli("--key", "1", "--set", str(tmp_path / "a.json"))
    assert saved.returncode == 0, saved.stderr
    assert "2 annotation(s) saved" in saved.stdout
    listed = cli()
    kinds = [a["kind"] for a in json.loads(listed.stdout.strip().split("\t")[-1])]
    assert kinds == ["arrow", "ruler"]

    exported = cli("--dicom-out", str(tmp_path / "dicom"))
    assert exported.returncode == 0, exported.stderr
    gsps = pydicom.dcmread(tmp_path / "dicom" / "gsps-001.dcm")
    annotations, window = read_gsps(gsps)
    assert [type(a).__name__ for a in annotations] == ["Arrow", "Ruler"] and window == Window(40, 400)
    assert (tmp_path / "dicom" / "key-images-kos.dcm").exists()
    dciodvfy = require_tool("dciodvfy")
    for path in (tmp_path / "dicom").iterdir():
        checked = subprocess.run([dciodvfy, str(path)], capture_output=True, text=True, check=False)
        assert not [line for line in checked.stderr.splitlines() if line.startswith("Error")], path.name

    bad = cli("--key", "9", "--set", str(tmp_path / "a.json"))
    assert bad.returncode == 2 and "--key N" in bad.stderr
    (tmp_path / "bad.json").write_text('[{"kind": "arrow", "points": [[1, 1]]}]')
    refused = cli("--key", "1", "--set", str(tmp_path / "bad.json"))
    assert refused.returncode == 1 and refused.stderr.startswith("error: ") and "Traceback" not in refused.stderr
