"""The shipped sample set: loadable, full of fake PHI in the right places, and consistent with cases.json."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pydicom
import pytest
from pydicom.dataset import FileDataset
from pydicom.pixels import apply_modality_lut
from pydicom.uid import RLELossless, UltrasoundMultiFrameImageStorage

from sample_data import phantoms
from sample_data.fake_phi import PATIENTS
from sample_data.synth import FAKE_PHI
from tests.helpers import ROOT, require_tool

SAMPLE_ROOT = ROOT / "sample_data"
STUDIES = SAMPLE_ROOT / "studies"
CT_SOFT = STUDIES / "study01_ct_chest" / "series01_axial_soft"
CT_LUNG = STUDIES / "study01_ct_chest" / "series02_axial_lung"
MR = STUDIES / "study02_mr_brain" / "series01_ax_flair"
CR = STUDIES / "study03_cr_chest" / "series01_chest_pa" / "IM0001.dcm"
US = STUDIES / "study04_us_ruq" / "series01_gb_cine" / "IM0001.dcm"
ONE_OF_EACH = [CT_SOFT / "IM0001.dcm", CT_LUNG / "IM0001.dcm", MR / "IM0001.dcm", CR, US]


def _manifest() -> dict:
    return json.loads((SAMPLE_ROOT / "cases.json").read_text(encoding="utf-8"))


def _stack(folder: Path) -> list[FileDataset]:
    """The series sorted by ascending position along the normal, as CaseDeck orders frames."""
    datasets = [pydicom.dcmread(p) for p in sorted(folder.glob("*.dcm"))]
    return sorted(datasets, key=lambda ds: float(ds.ImagePositionPatient[2]))


def test_four_studies_under_the_size_budget(shipped_files: list[Path]) -> None:
    assert sorted(p.name for p in STUDIES.iterdir()) == [
        "study01_ct_chest",
        "study02_mr_brain",
        "study03_cr_chest",
        "study04_us_ruq",
    ]
    assert sum(p.stat().st_size for p in shipped_files) < 15_000_000


def test_every_shipped_file_loads_and_decodes(shipped_headers: dict[Path, FileDataset]) -> None:
    modalities = set()
    for path, ds in shipped_headers.items():
        assert ds.preamble == b"\0" * 128, path.name
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        pixels = ds.pixel_array
        assert pixels.shape[-2:] != (0, 0)
        assert pixels.std() > 0, f"{path.name} has blank pixels"
        modalities.add(ds.Modality)
    assert modalities == {"CT", "MR", "CR", "US"}


def test_every_fake_phi_string_is_planted(shipped_bytes: dict[Path, bytes]) -> None:
    """De-identification tests downstream are only meaningful if the inputs carry all of it."""
    missing = [s for s in FAKE_PHI if not any(s.encode("ascii") in data for data in shipped_bytes.values())]
    assert missing == []


def test_phi_sits_in_the_places_deidentification_must_clean(shipped_headers: dict[Path, FileDataset]) -> None:
    ds = shipped_headers[CT_SOFT / "IM0001.dcm"]
    patient = next(p for p in PATIENTS if p.name == str(ds.PatientName))
    assert ds.OtherPatientIDsSequence[0].PatientID == patient.other_id
    assert ds.RequestAttributesSequence[0].RequestedProcedureID == patient.requested_procedure_id
    assert patient.display_name in ds.RequestAttributesSequence[0].ReasonForTheRequestedProcedure
    assert ds.ReferencedPatientSequence[0].ReferencedSOPInstanceUID
    assert patient.display_name.split()[-1] in ds.StudyDescription
    assert patient.patient_id in ds.ImageComments
    assert patient.birth_date_us in ds.ImageComments
    block = ds.private_block(0x0009, "ACME 1.1")
    assert block[0x10].value == patient.name
    for keyword in ("StationName", "DeviceSerialNumber", "InstitutionName", "OperatorsName", "PatientAddress"):
        assert ds.get(keyword), keyword


def test_no_phi_in_paths_or_teaching_content() -> None:
    paths = "\n".join(str(p.relative_to(SAMPLE_ROOT)) for p in STUDIES.rglob("*")).upper()
    text = (SAMPLE_ROOT / "cases.json").read_text(encoding="utf-8")
    for s in FAKE_PHI:
        assert s.upper() not in paths
        assert s not in text
    for patient in PATIENTS:
        assert patient.name.split("^")[0] not in paths


def test_ct_needs_sorting_by_position() -> None:
    files = sorted(CT_SOFT.glob("*.dcm"))
    datasets = [pydicom.dcmread(p) for p in files]
    by_file_name = [float(ds.ImagePositionPatient[2]) for ds in datasets]
    by_instance_number = [float(ds.ImagePositionPatient[2]) for ds in sorted(datasets, key=lambda d: d.InstanceNumber)]
    by_position = sorted(by_file_name)
    assert by_file_name != by_position and by_file_name != by_position[::-1]
    assert by_instance_number != by_position and by_instance_number != by_position[::-1]
    gaps = np.diff(by_position)
    assert np.allclose(gaps, float(datasets[0].SliceThickness))
    assert all(float(ds.SliceLocation) == float(ds.ImagePositionPatient[2]) for ds in datasets)


def test_ct_series_share_study_and_frame_of_reference() -> None:
    soft, lung = pydicom.dcmread(CT_SOFT / "IM0001.dcm"), pydicom.dcmread(CT_LUNG / "IM0001.dcm")
    assert soft.StudyInstanceUID == lung.StudyInstanceUID
    assert soft.FrameOfReferenceUID == lung.FrameOfReferenceUID
    assert soft.SeriesInstanceUID != lung.SeriesInstanceUID
    assert float(lung.SliceThickness) < float(soft.SliceThickness)
    assert (soft.RescaleIntercept, soft.WindowCenter[0], soft.WindowWidth[0]) == (-1024, 40, 400)


def test_ct_shows_chest_anatomy_in_hounsfield_units() -> None:
    mid = _stack(CT_SOFT)[15]
    hu = apply_modality_lut(mid.pixel_array, mid).astype(float)
    assert hu.dtype.kind == "f"
    spacing, origin = float(mid.PixelSpacing[0]), float(mid.ImagePositionPatient[0])

    def at(x_mm: float, y_mm: float) -> float:
        col, row = round((x_mm - origin) / spacing), round((y_mm - origin) / spacing)
        return float(np.median(hu[row - 1 : row + 2, col - 1 : col + 2]))

    assert at(-70, -40) < -700  # right lung
    assert at(0, 62) > 150  # vertebral body
    assert at(16, 38) > 120  # contrast in the descending aorta
    assert -40 < at(-130, 10) < 120  # chest wall muscle
    assert at(170, 170) == -1024  # outside the reconstruction circle


def test_cases_json_key_images_show_the_findings() -> None:
    manifest = _manifest()
    ct = next(c for c in manifest["cases"] if c["study"] == "study01_ct_chest")
    nodule = phantoms.RLL_NODULE
    for key in ct["key_images"]:
        stack = _stack([CT_SOFT, CT_LUNG][key["series"]])
        shown = stack[key["frame"]]
        assert float(shown.ImagePositionPatient[2]) == pytest.approx(key["position_mm"])
        assert abs(key["position_mm"] - nodule.z) < nodule.diameter / 2

        def hu_at_nodule(ds: FileDataset) -> float:
            spacing, origin = float(ds.PixelSpacing[0]), float(ds.ImagePositionPatient[0])
            col, row = round((nodule.x - origin) / spacing), round((nodule.y - origin) / spacing)
            return float(np.median(apply_modality_lut(ds.pixel_array, ds)[row - 1 : row + 2, col - 1 : col + 2]))

        assert hu_at_nodule(shown) > -200  # solid
        far = stack[key["frame"] + 4 if key["frame"] + 4 < len(stack) else key["frame"] - 4]
        assert hu_at_nodule(far) < -600  # aerated lung above or below it

    mr = next(c for c in manifest["cases"] if c["study"] == "study02_mr_brain")
    key = mr["key_images"][0]
    stack = _stack(MR)
    shown = stack[key["frame"]].pixel_array.astype(float)
    top = stack[-1].pixel_array.astype(float)
    # the lesion (right frontal: image left, anterior) is the brightest tissue on its slice
    row, col = np.unravel_index(np.argmax(cv2.GaussianBlur(shown, (0, 0), 3)), shown.shape)
    assert col < shown.shape[1] / 2 and row < shown.shape[0] / 2
    assert shown.max() > top.max()


def test_cases_json_entries_are_complete() -> None:
    manifest = _manifest()
    assert [c["study"] for c in manifest["cases"]] == sorted(p.name for p in STUDIES.iterdir())
    for case in manifest["cases"]:
        for field in ("title", "history", "findings", "diagnosis", "modality", "body_part", "difficulty"):
            assert case[field].strip(), (case["study"], field)
        assert len(case["differential"]) >= 3 and len(case["teaching_points"]) >= 3
        assert case["key_images"]


def test_radiograph_is_monochrome1_rle_with_marker() -> None:
    ds = pydicom.dcmread(CR)
    assert ds.file_meta.TransferSyntaxUID == RLELossless
    assert (ds.Modality, ds.PhotometricInterpretation, ds.BitsStored) == ("CR", "MONOCHROME1", 12)
    assert len(ds.ImagerPixelSpacing) == 2
    pixels = ds.pixel_array
    assert pixels.shape == (1024, 1024) and int(pixels.max()) <= 4095
    # MONOCHROME1: air outside the body exposes the plate (high values, shown black); the lead
    # "L" marker on the patient's left (image right, top) blocks it (lowest values, shown white)
    corner = pixels[100:160, 870:960]
    assert int(corner.min()) < 100 < 3500 < int(np.median(pixels[5:60, 5:60]))


def test_ultrasound_has_a_burned_in_banner() -> None:
    ds = pydicom.dcmread(US)
    assert ds.SOPClassUID == UltrasoundMultiFrameImageStorage
    assert (ds.BurnedInAnnotation, ds.PhotometricInterpretation, int(ds.NumberOfFrames)) == ("YES", "RGB", 12)
    assert float(ds.FrameTime) > 0
    frames = ds.pixel_array
    assert frames.shape == (12, 480, 640, 3)
    banner = frames[:, :40]
    white_text = (banner.min(axis=-1) > 200).sum(axis=(1, 2))
    assert (white_text > 300).all(), "every frame carries the banner text"
    assert (frames[:, 40:58].max(axis=-1) > 200).sum() < 50  # dark gap between banner and image


def test_ultrasound_banner_reads_as_the_patients_name() -> None:
    """What a de-identifier's OCR would find: the name and MRN in the pixels."""
    tesseract = require_tool("tesseract")
    ds = pydicom.dcmread(US)
    banner = cv2.cvtColor(ds.pixel_array[0, :40], cv2.COLOR_RGB2GRAY)
    big = 255 - cv2.resize(banner, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)
    ok, png = cv2.imencode(".png", big)
    assert ok
    text = subprocess.run(
        [tesseract, "stdin", "stdout", "--psm", "6"], input=png.tobytes(), capture_output=True, check=True
    ).stdout.decode()
    patient = next(p for p in PATIENTS if p.name == str(ds.PatientName))
    assert patient.display_name in text
    assert patient.patient_id in text


@pytest.mark.dicom3tools
@pytest.mark.parametrize("path", ONE_OF_EACH, ids=lambda p: p.parent.name)
def test_dciodvfy_reports_no_errors(path: Path) -> None:
    dciodvfy = require_tool("dciodvfy")
    result = subprocess.run([dciodvfy, str(path)], capture_output=True, text=True, check=False)
    output = result.stdout + result.stderr
    errors = [line for line in output.splitlines() if line.startswith("Error")]
    assert errors == []
    iod = {"CT": "CTImage", "MR": "MRImage", "CR": "CRImage", "US": "USMultiFrameImage"}
    assert iod[pydicom.dcmread(path).Modality] in output.split()  # it validated against the right IOD
