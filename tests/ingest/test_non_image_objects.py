"""Non-image DICOM in an import (issue #14, finding 3 and scope 3).

An RT Plan, RT Structure Set, RT Dose, GSPS, key object selection, raw data or waveform
never becomes an image series: each is left out with a plain reason, once, by its
position, and is not counted as imported. A Basic Text SR becomes a document of its
cleaned text. A study of nothing but left-out objects makes no case.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pypdf import PdfReader

from casefiles.deid import Deidentifier
from casefiles.ingest import ImportReport, import_sources
from casefiles.model import AssetKind, Case
from tests.dicom_factory import FAKE_PHI, ct_slice
from tests.ingest import non_image

if TYPE_CHECKING:
    from tests.ingest.conftest import Library

PLAN_LEFT_OUT = "an RT Plan has no images to show; left out"
STRUCT_LEFT_OUT = "an RT Structure Set (contours) has no images to show; left out"
DOSE_LEFT_OUT = "an RT Dose is a dose grid, not an image to show; left out"
RAW_LEFT_OUT = "a raw data object has no images to show; left out"
GSPS_LEFT_OUT = "a presentation state (another viewer's window and marks) has no images of its own; left out"
KOS_LEFT_OUT = "a key object selection (key images chosen at a PACS) has no images of its own; left out"
ECG_LEFT_OUT = "a waveform (ECG, audio, pressures) has no images to show; left out"
EMPTY_SR = "is a structured report with no text to show; left out"


@pytest.fixture
def deid(secret: bytes) -> Deidentifier:
    return Deidentifier(secret)


def run(lib: Library, deid: Deidentifier, sources: list[Path], **kwargs: object) -> ImportReport:
    kwargs.setdefault("workers", 1)
    return import_sources(
        sources,
        store=lib.store,
        blobs=lib.blobs,
        deidentifier=deid,
        quarantine_dir=lib.quarantine,
        review_area=lib.review_area,
        **kwargs,  # type: ignore[arg-type]
    )


def _bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def write_zip(path: Path, members: list[Dataset]) -> Path:
    """The datasets as zip members in the given order (named after the patient, as PACS exports do)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for number, ds in enumerate(members, start=1):
            zf.writestr(f"QUIMBY_EUSTACE/{number:03d}.dcm", _bytes(ds))
    return path


def ct_slices(study_uid: str, count: int = 3) -> list[Dataset]:
    series = generate_uid()
    return [ct_slice(study_uid, series, i, size=16) for i in range(count)]


def _problems(report: ImportReport) -> list[tuple[str, str]]:
    return [(p.item, p.reason) for p in report.problems]


def _item(number: int, of: int) -> str:
    return f"item {number} of {of} in the zip"


def _no_broken_series(lib: Library) -> None:
    """Every DICOM series in the library is made of instances with pixels."""
    for case in lib.store.list_cases():
        for asset in case.assets:
            if asset.kind is AssetKind.DICOM_SERIES:
                assert asset.instances
                for instance in asset.instances:
                    ds = pydicom.dcmread(io.BytesIO(lib.blobs.get(instance.blob)))
                    assert "PixelData" in ds, f"{asset.label}: an instance without pixels"
                    assert ds.Modality not in ("RTPLAN", "RTSTRUCT", "RTDOSE", "SR", "KO", "PR")


def _document_text(lib: Library, case: Case) -> str:
    documents = [a for a in case.assets if a.kind is AssetKind.DOCUMENT]
    assert len(documents) == 1
    assert documents[0].blob is not None and documents[0].media_type == "application/pdf"
    reader = PdfReader(io.BytesIO(lib.blobs.get(documents[0].blob)))
    return "\n".join(page.extract_text() for page in reader.pages)


ALONE: dict[str, tuple[Callable[[str], Dataset], str]] = {
    "rt-plan": (non_image.rt_plan, PLAN_LEFT_OUT),
    "rt-struct": (non_image.rt_struct, STRUCT_LEFT_OUT),
    "rt-dose": (non_image.rt_dose, DOSE_LEFT_OUT),
    "raw-data": (non_image.raw_data, RAW_LEFT_OUT),
    "ecg": (non_image.ecg, ECG_LEFT_OUT),
    "gsps": (lambda study: non_image.gsps(ct_slices(study, 1)[0]), GSPS_LEFT_OUT),
    "kos": (lambda study: non_image.key_object_selection(study, ct_slices(study, 1)), KOS_LEFT_OUT),
    "sr-without-text": (lambda study: non_image.basic_text_sr(study, text=False), EMPTY_SR),
}


@pytest.mark.parametrize("kind", list(ALONE))
def test_a_zip_of_one_non_image_object_makes_no_case_and_says_why(
    tmp_path: Path, library: Library, deid: Deidentifier, kind: str
) -> None:
    make, reason = ALONE[kind]
    source = write_zip(tmp_path / "in.zip", [make(generate_uid())])
    report = run(library, deid, [source])
    assert _problems(report) == [(_item(1, 1), reason)]
    assert report.instances_imported == 0
    assert report.case_ids == ()
    assert library.store.list_cases() == []


@pytest.mark.parametrize("workers", [1, 2], ids=["in-process", "worker-processes"])
def test_ct_with_rt_objects_a_report_and_a_presentation_state(
    tmp_path: Path,
    library: Library,
    deid: Deidentifier,
    assert_no_phi: Callable[[Library], None],
    workers: int,
) -> None:
    study = generate_uid()
    ct = ct_slices(study, 3)
    plan = non_image.rt_plan(study)
    members = [
        ct[0],
        plan,
        non_image.rt_struct(study),
        ct[1],
        non_image.basic_text_sr(study),
        non_image.gsps(ct[0]),
        non_image.raw_data(study),
        ct[2],
        non_image.rt_dose(study),
        plan,  # the same plan again (a second copy in the export): reported once
    ]
    source = write_zip(tmp_path / "in.zip", members)
    report = run(library, deid, [source], workers=workers, pool_threshold=0)

    assert _problems(report) == [
        (_item(2, 10), PLAN_LEFT_OUT),
        (_item(3, 10), STRUCT_LEFT_OUT),
        (_item(6, 10), GSPS_LEFT_OUT),
        (_item(7, 10), RAW_LEFT_OUT),
        (_item(9, 10), DOSE_LEFT_OUT),
    ]
    assert report.instances_imported == 4  # three CT slices and the report
    assert len(report.case_ids) == 1
    case = library.store.get_case(report.case_ids[0])
    assert [a.kind for a in case.assets] == [AssetKind.DICOM_SERIES, AssetKind.DOCUMENT]
    series, document = case.assets
    assert len(series.instances) == 3
    assert series.thumbnail is not None
    assert document.label == "Report 1"
    assert document.thumbnail is not None and document.previews
    assert case.modality == "CT"
    assert case.title == "CT Chest"
    _no_broken_series(library)
    text = _document_text(library, case)
    assert non_image.SR_FINDING in text
    assert "Suspicious for primary lung cancer." in text
    assert "Findings" in text and "Impressions" in text
    for name in ("Blarnsworth", "Hortensio", "Quimby", "QUIMBY"):
        assert name not in text
    assert "[removed]" in text
    assert_no_phi(library)  # nothing of the fake patient anywhere in the library
    for data in [*library.all_blob_bytes(), library.db_text().encode()]:
        for phi in FAKE_PHI:
            assert phi.encode() not in data


def test_a_report_alone_becomes_a_case_with_its_document(tmp_path: Path, library: Library, deid: Deidentifier) -> None:
    source = write_zip(tmp_path / "in.zip", [non_image.basic_text_sr(generate_uid())])
    report = run(library, deid, [source])
    assert report.problems == ()
    assert report.instances_imported == 1
    (case,) = library.store.list_cases()
    assert [a.kind for a in case.assets] == [AssetKind.DOCUMENT]
    assert non_image.SR_FINDING in _document_text(library, case)
    assert "Blarnsworth" not in _document_text(library, case)


def test_reimporting_the_study_adds_nothing_and_reports_the_left_out_objects_again(
    tmp_path: Path, library: Library, deid: Deidentifier
) -> None:
    study = generate_uid()
    source = write_zip(
        tmp_path / "in.zip", [*ct_slices(study, 2), non_image.rt_plan(study), non_image.basic_text_sr(study)]
    )
    first = run(library, deid, [source])
    second = run(library, deid, [source])
    assert _problems(second) == [(_item(3, 4), PLAN_LEFT_OUT)]
    assert second.instances_imported == 0 and second.duplicates_skipped == 3
    assert second.case_ids == first.case_ids
    (case,) = library.store.list_cases()
    assert [a.kind for a in case.assets] == [AssetKind.DICOM_SERIES, AssetKind.DOCUMENT]


def test_the_title_is_the_users_when_only_one_case_is_made(
    tmp_path: Path, library: Library, deid: Deidentifier
) -> None:
    """A second study of nothing but an RT Plan makes no case, so the one case gets the title as typed."""
    study = generate_uid()
    members = [*ct_slices(study, 2), non_image.rt_plan(generate_uid())]
    report = run(library, deid, [write_zip(tmp_path / "in.zip", members)], title="Classic PE")
    assert [library.store.get_case(c).title for c in report.case_ids] == ["Classic PE"]
    assert _problems(report) == [(_item(3, 3), PLAN_LEFT_OUT)]
