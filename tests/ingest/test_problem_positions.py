"""Import problems name items by position only: never a file or folder name, never a path (issue #12).

Folder and file names on CDs, shares and in zips routinely hold the patient's
name, MRN and study date; a problem line must not repeat them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from casefiles.deid import Deidentifier
from casefiles.ingest import ImportReport, Upload, import_sources
from casefiles.ingest.sources import gather
from tests.support.phi_paths import NOT_DICOM, phi_cd, phi_folder, phi_texts, phi_zip

if TYPE_CHECKING:
    from conftest import Library


@pytest.fixture
def deid(secret: bytes) -> Deidentifier:
    return Deidentifier(secret)


def run(lib: Library, deid: Deidentifier, sources: list[Path | Upload]) -> ImportReport:
    return import_sources(
        sources,
        store=lib.store,
        blobs=lib.blobs,
        deidentifier=deid,
        quarantine_dir=lib.quarantine,
        workers=1,
        review_area=lib.review_area,
    )


def assert_no_path_phi(tmp_path: Path, report: ImportReport) -> None:
    for problem in report.problems:
        text = f"{problem.item}: {problem.reason}"
        for phi in phi_texts(tmp_path):
            assert phi not in text, f"{phi!r} in problem {text!r}"


def test_a_folder_named_after_the_patient(tmp_path: Path, library: Library, deid: Deidentifier) -> None:
    source = phi_folder(tmp_path)
    report = run(library, deid, [source.path])
    assert_no_path_phi(tmp_path, report)
    assert [(p.item, p.reason) for p in report.problems] == list(source.problems)
    assert report.instances_imported == source.good


def test_a_zip_whose_members_are_named_after_the_patient(tmp_path: Path, library: Library, deid: Deidentifier) -> None:
    source = phi_zip(tmp_path)
    report = run(library, deid, [source.path])
    assert_no_path_phi(tmp_path, report)
    assert [(p.item, p.reason) for p in report.problems] == list(source.problems)
    assert report.instances_imported == source.good


def test_a_cd_in_a_folder_named_after_the_patient(tmp_path: Path, library: Library, deid: Deidentifier) -> None:
    source = phi_cd(tmp_path)
    report = run(library, deid, [source.path])
    assert_no_path_phi(tmp_path, report)
    # DICOMDIR is file 1; the stray IM1 (in the patient's folder) sorts before PT000000: file 2
    assert [p.item for p in report.problems][1:] == ["file 2 of 4"]
    assert re.fullmatch(r"file 1 of 4, DICOMDIR record \d+", report.problems[0].item)
    assert [p.reason for p in report.problems] == ["DICOMDIR points at a missing file", "not a DICOM file"]
    assert report.instances_imported == source.good


def test_a_dicomdir_chosen_itself_names_its_records(tmp_path: Path, library: Library, deid: Deidentifier) -> None:
    source = phi_cd(tmp_path)
    report = run(library, deid, [source.path / "DICOMDIR"])
    assert_no_path_phi(tmp_path, report)
    assert len(report.problems) == 1 and re.fullmatch(r"DICOMDIR record \d+", report.problems[0].item)
    assert report.problems[0].reason == "DICOMDIR points at a missing file"
    assert report.instances_imported == source.good


def test_several_sources_are_named_by_their_place_in_the_list(
    tmp_path: Path, library: Library, deid: Deidentifier
) -> None:
    folder, archive, cd = phi_folder(tmp_path), phi_zip(tmp_path), phi_cd(tmp_path)
    missing = tmp_path / "DOE^JOHN_MRN4471_missing"
    report = run(library, deid, [folder.path, archive.path, cd.path, missing])
    assert_no_path_phi(tmp_path, report)
    items = {p.item: p.reason for p in report.problems}
    record = next(i for i in items if i.startswith("source 3 of 4, file 1 of 4, DICOMDIR record "))
    assert items == {
        "source 1 of 4, file 4 of 4": "not a DICOM file",
        "source 2 of 4, item 1 of 4 in the zip": "not a DICOM file",
        "source 2 of 4, item 4 of 4 in the zip": "unsafe path in zip (../)",
        record: "DICOMDIR points at a missing file",
        "source 3 of 4, file 2 of 4": "not a DICOM file",
        "source 4 of 4": "not found (it may have been moved or the disc ejected)",
    }
    assert report.instances_imported == folder.good + archive.good + cd.good


def test_uploads_are_named_by_number_not_by_the_name_the_browser_gave(tmp_path: Path) -> None:
    uploads = [
        Upload("C:\\Patients\\DOE^JOHN_MRN4471\\STUDY_2024-03-02\\IM1", NOT_DICOM),
        Upload("DOE^JOHN_MRN4471.dcm", b""),
        Upload("DOE^JOHN_MRN4471_2024-03-02.zip", phi_zip(tmp_path).path.read_bytes()),
    ]
    work = tmp_path / "work"
    work.mkdir()
    found = gather(uploads, work)
    assert [f.item for f in found.files][:1] == ["upload 1 of 3"]
    assert [f.item for f in found.files][1:] == [
        "upload 3 of 3, item 1 of 4 in the zip",
        "upload 3 of 3, item 2 of 4 in the zip",
        "upload 3 of 3, item 3 of 4 in the zip",
    ]
    assert [(p.item, p.reason) for p in found.problems] == [
        ("upload 2 of 3", "empty file"),
        ("upload 3 of 3, item 4 of 4 in the zip", "unsafe path in zip (../)"),
    ]


def test_a_file_that_cannot_be_read_is_named_by_position(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = phi_folder(tmp_path)
    real_open = open

    def open_denied(path: Path, *args: object, **kwargs: object) -> object:
        if Path(path).name == "DOE^JOHN_0000.dcm":
            raise PermissionError(13, "Permission denied", str(path))  # its text names the file
        return real_open(path, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr("casefiles.ingest.sources.open", open_denied, raising=False)
    found = gather([source.path], tmp_path / "work")
    assert [(p.item, p.reason) for p in found.problems] == [
        ("file 1 of 4", "cannot be read (permission denied or a disc error)")
    ]


def test_a_media_file_that_cannot_be_read_is_named_by_position(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from casefiles.media_import import import_media
    from casefiles.model import Case, new_id
    from casefiles.store.blobs import LocalBlobStore

    photo = tmp_path / "DOE^JOHN_MRN4471" / "STUDY_2024-03-02" / "wound.jpg"
    photo.parent.mkdir(parents=True)
    photo.write_bytes(b"\xff\xd8\xff\xe0 not read")
    real_read = Path.read_bytes

    def read_denied(path: Path) -> bytes:
        if path == photo:
            raise PermissionError(13, "Permission denied", str(path))  # its text names the file
        return real_read(path)

    monkeypatch.setattr(Path, "read_bytes", read_denied)
    case = Case(id=new_id(), title="Wound")
    _case, report = import_media(
        case,
        [photo],
        blobs=LocalBlobStore(tmp_path / "blobs"),
        save=lambda c: None,
        quarantine_dir=tmp_path / "quarantine",
    )
    assert [(p.item, p.reason) for p in report.problems] == [
        ("file 1 of 1", "The file cannot be read (Permission denied).")
    ]
