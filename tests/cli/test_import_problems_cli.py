"""The CLI never prints an input path: import problems are named by position (issue #12)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT
from tests.support.phi_paths import phi_cd, phi_folder, phi_texts, phi_zip


def run_cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CASEDECK_DATA": str(data_dir), "CASEDECK_SAMPLES": "0"}
    return subprocess.run(
        [sys.executable, "-m", "casefiles", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_import_problems_name_positions_not_paths(tmp_path: Path, data_dir: Path) -> None:
    folder, archive, cd = phi_folder(tmp_path), phi_zip(tmp_path), phi_cd(tmp_path)

    result = run_cli(data_dir, "import", str(folder.path), str(archive.path), str(cd.path), str(cd.path / "DICOMDIR"))

    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    for phi in phi_texts(tmp_path):
        assert phi not in output, f"{phi!r} printed:\n{output}"
    assert "Traceback" not in output
    lines = [line.strip() for line in result.stderr.splitlines() if line.strip().startswith("problem:")]
    assert "problem: source 1 of 4, file 4 of 4: not a DICOM file" in lines
    assert "problem: source 2 of 4, item 1 of 4 in the zip: not a DICOM file" in lines
    assert "problem: source 2 of 4, item 4 of 4 in the zip: unsafe path in zip (../)" in lines
    assert "problem: source 3 of 4, file 2 of 4: not a DICOM file" in lines
    assert any(line.startswith("problem: source 4 of 4, DICOMDIR record ") for line in lines)
    # the DICOMDIR's files were also found by the walk of its folder: duplicates, not new instances
    assert f"{folder.good + archive.good + cd.good} instance(s) imported" in result.stderr


def test_a_missing_input_is_named_by_position(tmp_path: Path, data_dir: Path) -> None:
    folder = phi_folder(tmp_path)
    result = run_cli(data_dir, "import", str(folder.path), str(tmp_path / "DOE^JOHN_MRN4471_2024-03-02.zip"))
    output = result.stdout + result.stderr
    for phi in phi_texts(tmp_path):
        assert phi not in output, f"{phi!r} printed:\n{output}"
    assert "problem: source 2 of 2: not found (it may have been moved or the disc ejected)" in result.stderr


def test_import_package_never_prints_its_path(tmp_path: Path, data_dir: Path) -> None:
    package = tmp_path / "DOE^JOHN_MRN4471_2024-03-02.zip"
    package.write_bytes(b"PK\x05\x06" + b"\0" * 18)  # an empty zip: not a package
    result = run_cli(data_dir, "import-package", str(package))
    assert result.returncode != 0
    output = result.stdout + result.stderr
    for phi in phi_texts(tmp_path):
        assert phi not in output, f"{phi!r} printed:\n{output}"
    assert result.stderr.startswith("error: ") and "Traceback" not in output
