"""De-identified instances stay valid DICOM: dicom3tools' dciodvfy finds no error the input did not have."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from casefiles.deid import TEACHING_FILE, Deidentifier, Profile
from casefiles.deid.profiles import BASIC
from tests.helpers import SAMPLE_STUDIES, require_tool

from .conftest import SECRET, make_phi_ct, written

pytestmark = pytest.mark.dicom3tools


@pytest.fixture(autouse=True)
def _dciodvfy() -> None:
    require_tool("dciodvfy")  # skips on a bare machine, fails in CI where scripts/test installs it


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


@pytest.mark.parametrize("study", ["study04_us_ruq", "study03_cr_chest"])
def test_pixel_cleaned_samples_stay_valid(tmp_path: Path, study: str) -> None:
    """OCR redaction rewrites the pixel module (uncompressed, YBR to RGB): it must stay a valid IOD."""
    require_tool("tesseract")
    original = sorted((SAMPLE_STUDIES / study).rglob("*.dcm"))[0]
    result = Deidentifier(SECRET, TEACHING_FILE).deidentify(pydicom.dcmread(original))
    deidentified = tmp_path / "out.dcm"
    deidentified.write_bytes(written(result.dataset))
    assert _errors(deidentified) - _errors(original) == set()
