"""Finding 1 end to end: third parties written into kept descriptions reach neither the library nor any export.

A CT study arrives with a referring doctor, a relative, a technologist and an outside clinic
written into the descriptions, histories and request sequences (the adversarial generator in
tests/support/phi_text.py). It is imported as a user would, key images are picked, and every
export is written. No planted name is in the data directory, the case title, the series labels,
the PowerPoint, the PDF's text, the HTML show or the package; the medical phrases are readable.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pypdf import PdfReader

from casefiles.model import KeyImage
from casefiles.services import EXPORT_FORMATS, Services
from tests.dicom_factory import ct_slice
from tests.support.phi_text import MEDICAL, WORD_NAMES, PhiText, Planted, survivors

TOP_LEVEL = {
    "StudyDescription": 64,
    "SeriesDescription": 64,
    "PerformedProcedureStepDescription": 64,
    "AdditionalPatientHistory": 1024,
    "ImageComments": 1024,
    "StudyComments": 1024,
}


def _study(folder: Path, seed: int) -> list[Planted]:
    """Three CT slices whose kept free text names third parties; the same texts in every slice."""
    source = PhiText(seed)
    planted: list[Planted] = []

    def text(max_len: int) -> str:
        p = source.text(MEDICAL[len(planted) % len(MEDICAL)], max_len=max_len)
        planted.append(p)
        return p.text

    texts = {keyword: text(max_len) for keyword, max_len in TOP_LEVEL.items()}
    request = text(64)
    step = text(64)
    study, series = generate_uid(), generate_uid()
    folder.mkdir()
    for index in range(3):
        ds = ct_slice(study, series, index)
        for keyword, value in texts.items():
            setattr(ds, keyword, value)
        item = Dataset()
        item.RequestedProcedureDescription = request
        item.RequestedProcedureID = "RP1"
        ds.RequestAttributesSequence = [item]
        performed = Dataset()
        performed.PerformedProcedureStepDescription = step
        ds.ReferencedPerformedProcedureStepSequence = [performed]
        ds.save_as(folder / f"im{index}.dcm", enforce_file_format=True)
    return planted


def _words_of(archive: Path) -> str:
    with zipfile.ZipFile(archive) as zipped:
        return "\n".join(zipped.read(name).decode("latin-1") for name in zipped.namelist())


def _readable(path: Path) -> str:
    if path.suffix in (".pptx", ".zip"):
        return _words_of(path)
    if path.suffix == ".pdf":
        return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(path.read_bytes())).pages)
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("seed", [3, 17])
def test_no_planted_third_party_reaches_the_library_or_any_export(
    services: Services, data_dir: Path, tmp_path: Path, seed: int
) -> None:
    planted = _study(tmp_path / "incoming", seed)
    secrets = [s for p in planted for s in p.secrets]
    (case_id,) = services.import_dicom([tmp_path / "incoming"]).case_ids
    case = services.get_case(case_id)
    series = case.assets[0]
    services.set_key_images(case_id, [KeyImage(series.id, 0, None), KeyImage(series.id, 2, None)])

    assert survivors(case.title, secrets) == []
    assert survivors(" ".join(a.label for a in case.assets), secrets) == []
    files = [p for p in sorted(data_dir.rglob("*")) if p.is_file()]
    stored = b"".join(p.read_bytes() for p in files)
    # Names that are English words ("Will", "Mark") also occur in the app's own files; the
    # DICOM-level tests (tests/deid/test_freetext_engine.py) check them in every written value.
    distinctive = [s for s in secrets if s not in WORD_NAMES]
    assert survivors(stored, distinctive) == []

    ds = services.dataset(series.instances[0].blob)
    assert "CT CHEST W CONTRAST" in ds.StudyDescription

    for export_format in EXPORT_FORMATS:
        suffix = "zip" if export_format == "package" else export_format
        out = services.export(case_id, export_format, tmp_path / f"out.{suffix}")
        assert survivors(_readable(out), distinctive) == [], export_format
