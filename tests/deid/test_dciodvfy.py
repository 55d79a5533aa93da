"""De-identified instances stay valid DICOM: dicom3tools' dciodvfy finds no error the input did not have."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from casefiles.deid import TEACHING_FILE, Deidentifier, Profile
from casefiles.deid.profiles import BASIC

from .conftest import SECRET, make_phi_ct, written

pytestmark = [
    pytest.mark.dicom3tools,
    pytest.mark.skipif(shutil.which("dciodvfy") is None, reason="dicom3tools (dciodvfy) is not installed"),
]


def _errors(path: Path) -> set[str]:
    """dciodvfy's error lines with the values taken out, so that changed values do not count as new errors."""
    result = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60, check=False)
    lines = (result.stdout + result.stderr).splitlines()
    values = re.compile(r"\s=\s<[^>]*>|(?<=value )<[^>]*>")  # "PN [1] = <x>", "enumerated value <x>"
    return {values.sub("", line).strip() for line in lines if line.startswith("Error")}


@pytest.mark.parametrize("profile", [TEACHING_FILE, BASIC], ids=lambda p: p.name)
@pytest.mark.parametrize("source", ["CT_small.dcm", "MR_small.dcm", "phi-ct"])
def test_no_new_dciodvfy_errors(tmp_path: Path, source: str, profile: Profile) -> None:
    original = tmp_path / "in.dcm"
    if source == "phi-ct":
        original.write_bytes(written(make_phi_ct()))
    else:
        original.write_bytes(Path(get_testdata_file(source)).read_bytes())
    deidentified = tmp_path / "out.dcm"
    deidentified.write_bytes(written(Deidentifier(SECRET, profile).deidentify(pydicom.dcmread(original)).dataset))
    assert _errors(deidentified) - _errors(original) == set()
