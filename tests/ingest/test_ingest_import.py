"""Importing studies end to end: real files, the real de-identifier, a real library on disk."""

from __future__ import annotations

import io
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.fileset import FileSet

from casefiles.deid import Deidentifier
from casefiles.errors import Cancelled, ValidationError
from casefiles.ingest import ImportReport, Upload, ZipLimits, import_sources, wipe_quarantine
from casefiles.model import AssetKind, Case
from casefiles.progress import CancelToken
from tests.support.phi_paths import folder_position

if TYPE_CHECKING:
    from conftest import Library, Study

    MakeStudy = Callable[..., Study]


@pytest.fixture
def deid(secret: bytes) -> Deidentifier:
    return Deidentifier(secret)


def run(lib: Library, deid: Deidentifier, sources: list[Path | Upload], **kwargs: object) -> ImportReport:
    return import_sources(
        sources,
        store=lib.store,
        blobs=lib.blobs,
        deidentifier=deid,
        quarantine_dir=lib.quarantine,
        review_area=lib.review_area,
        **kwargs,  # type: ignore[arg-type]
    )


def the_case(lib: Library) -> Case:
    cases = lib.store.list_cases()
    assert len(cases) == 1
    return cases[0]


def zip_folder(folder: Path, target: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, prefix + path.relative_to(folder).as_posix())
    return target


def test_folder_import_makes_one_case_with_ordered_series_and_thumbnails(
    tmp_path: Path,
    library: Library,
    deid: Deidentifier,
    make_study: MakeStudy,
    assert_no_phi: Callable[[Library], None],
) -> None:
    study = make_study(tmp_path / "in", slices=6, second_series_slices=3)
    (tmp_path / "in" / ".DS_Store").write_bytes(b"\0junk")
    steps: list[tuple[int, int, str]] = []

    report = run(library, deid, [tmp_path / "in"], author="Dr Teacher", progress=lambda *a: steps.append(a))

    case = the_case(library)
    assert report.case_ids == (case.id,)
    assert (report.files_seen, report.instances_imported, report.duplicates_skipped) == (9, 9, 0)
    assert report.problems == ()
    assert case.title == "CT Chest"
    assert (case.modality, case.body_part, case.author) == ("CT", "Chest", "Dr Teacher")
    assert [a.kind for a in case.assets] == [AssetKind.DICOM_SERIES] * 2
    axial, second = case.assets
    assert [len(axial.instances), len(second.instances)] == [6, 3]
    assert axial.study_uid == second.study_uid != study.study_uid  # de-identified UIDs
    assert {axial.series_uid, second.series_uid}.isdisjoint(study.series_uids)
    # slices in position order although instance numbers were shuffled
    positions = [i.position for i in axial.instances]
    assert positions == sorted(positions) and len(set(positions)) == 6
    assert [i.instance_number for i in axial.instances] != sorted(i.instance_number for i in axial.instances)
    for asset in case.assets:
        assert asset.thumbnail is not None
        assert library.blobs.get(asset.thumbnail).startswith(b"\x89PNG")
        assert asset.default_window is not None and asset.default_window.width == 400
        for inst in asset.instances:
            stored = pydicom.dcmread(io.BytesIO(library.blobs.get(inst.blob)))
            assert stored.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
            assert stored.SOPInstanceUID == inst.sop_instance_uid
            assert stored.SeriesInstanceUID == asset.series_uid
    assert steps[0][:2] == (0, 9) and steps[0][2] == "De-identifying 1 of 9"
    assert steps[-1][:2] == (9, 9)
    assert_no_phi(library)


def test_zip_import(
    tmp_path: Path,
    library: Library,
    deid: Deidentifier,
    make_study: MakeStudy,
    assert_no_phi: Callable[[Library], None],
) -> None:
    make_study(tmp_path / "in", slices=4, second_series_slices=2)
    archive = zip_folder(tmp_path / "in", tmp_path / "study.zip", prefix="DICOM/")
    report = run(library, deid, [archive])
    case = the_case(library)
    assert report.instances_imported == 6 and report.problems == ()
    assert sorted(len(a.instances) for a in case.assets) == [2, 4]
    assert_no_phi(library)


def test_uploads_single_files_and_a_zip(
    tmp_path: Path,
    library: Library,
    deid: Deidentifier,
    make_study: MakeStudy,
    assert_no_phi: Callable[[Library], None],
) -> None:
    study = make_study(tmp_path / "in", slices=4, second_series_slices=2)
    singles = [Upload(p.name, p.read_bytes()) for p in study.files[:3]]
    rest = tmp_path / "rest"
    rest.mkdir()
    for p in study.files[3:]:
        (rest / p.name).write_bytes(p.read_bytes())
    archive = zip_folder(rest, tmp_path / "rest.zip")
    uploads = [*singles, Upload("rest.zip", archive.read_bytes()), Upload("empty.dcm", b"")]

    report = run(library, deid, uploads)

    case = the_case(library)
    assert report.instances_imported == 6
    assert sum(len(a.instances) for a in case.assets) == 6
    assert [(p.item, p.reason) for p in report.problems] == [("upload 5 of 5", "empty file")]
    assert_no_phi(library)


def test_bad_files_are_reported_and_the_rest_imported(
    tmp_path: Path, library: Library, deid: Deidentifier, make_study: MakeStudy
) -> None:
    study = make_study(tmp_path / "in", slices=4, second_series_slices=0)
    good = study.files[0].read_bytes()
    (tmp_path / "in" / "notes.txt").write_text("Patient history: see chart\n")
    (tmp_path / "in" / "corrupt.dcm").write_bytes(good[:132] + bytes(range(256)) * 4)
    (tmp_path / "in" / "truncated.dcm").write_bytes(good[: len(good) - 300])
    (tmp_path / "in" / "zero.dcm").write_bytes(b"")

    report = run(library, deid, [tmp_path / "in"])

    assert report.instances_imported == 4
    assert sum(len(a.instances) for a in the_case(library).assets) == 4
    folder = tmp_path / "in"
    reasons = {p.item: p.reason for p in report.problems}
    assert reasons[folder_position(folder, folder / "notes.txt")] == "not a DICOM file"
    assert reasons[folder_position(folder, folder / "corrupt.dcm")] == (
        "damaged or incomplete DICOM file (it has no SOP Class or SOP Instance UID)"
    )
    assert reasons[folder_position(folder, folder / "truncated.dcm")] == (
        "truncated DICOM file (its pixel data is cut short)"
    )
    assert reasons[folder_position(folder, folder / "zero.dcm")] == "empty file"
    assert len(report.problems) == 4
    for problem in report.problems:  # items are positions, never names or paths
        assert problem.item.startswith("file ") and "." not in problem.item and "/" not in problem.item


def test_zip_with_path_traversal_writes_nothing_outside_the_quarantine(
    tmp_path: Path, library: Library, deid: Deidentifier, make_study: MakeStudy
) -> None:
    study = make_study(tmp_path / "in", slices=2, second_series_slices=0)
    archive = tmp_path / "upload" / "evil.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../evil.dcm", study.files[0].read_bytes())
        zf.writestr("../../../../../../tmp/evil2.dcm", study.files[0].read_bytes())
        zf.writestr("ok/good.dcm", study.files[1].read_bytes())
    before = {p for p in tmp_path.rglob("*")}

    report = run(library, deid, [archive])

    assert [p.reason for p in report.problems] == ["unsafe path in zip (../)"] * 2
    assert report.instances_imported == 1
    created = {p for p in tmp_path.rglob("*")} - before
    assert not [p for p in created if p.name.startswith("evil")]
    assert not Path("/tmp/evil2.dcm").exists()
    assert all(library.root in p.parents for p in created)  # only the library changed


def test_zip_bomb_is_rejected_and_other_sources_still_import(
    tmp_path: Path, library: Library, deid: Deidentifier, make_study: MakeStudy
) -> None:
    study = make_study(tmp_path / "in", slices=3, second_series_slices=0)
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a/real.dcm", study.files[0].read_bytes())
        zf.writestr("a/zeros.dcm", bytes(24 * 1024**2))
    limits = ZipLimits(max_total_bytes=16 * 1024**2, ratio_grace_bytes=1024**2)

    report = run(library, deid, [bomb, tmp_path / "in"], limits=limits)

    assert [(p.item, p.reason) for p in report.problems] == [
        ("source 1 of 2", "zip expands beyond the 16 MiB limit; nothing was imported from this zip")
    ]
    # the folder imports; nothing from the bomb (its real.dcm would have counted as imported or duplicate)
    assert (report.instances_imported, report.duplicates_skipped) == (3, 0)


def test_dicomdir_with_a_missing_file(
    tmp_path: Path, library: Library, deid: Deidentifier, make_study: MakeStudy, make_library: Callable[[Path], Library]
) -> None:
    study = make_study(tmp_path / "src", slices=4, second_series_slices=0)
    fs = FileSet()
    for path in study.files:
        fs.add(pydicom.dcmread(path))
    cd = tmp_path / "CD"
    fs.write(cd)
    listed = sorted(p for p in cd.rglob("*") if p.is_file() and p.name != "DICOMDIR")
    listed[1].unlink()
    extra = cd / "EXTRA"
    extra.mkdir()
    make_study(extra, slices=1, second_series_slices=0, seed=7, study_uid=study.study_uid)

    report = run(library, deid, [cd])

    assert [p.reason for p in report.problems] == ["DICOMDIR points at a missing file"]
    assert report.problems[0].item == "file 1 of 5, DICOMDIR record 5"  # DICOMDIR + 3 listed + 1 extra
    assert report.instances_imported == 4  # 3 listed files that exist + 1 file the DICOMDIR does not list
    assert sum(len(a.instances) for a in the_case(library).assets) == 4

    # Given the DICOMDIR itself, only the files it lists are read.
    other = make_library(tmp_path / "lib2")
    report = run(other, deid, [cd / "DICOMDIR"])
    assert report.instances_imported == 3
    assert [p.reason for p in report.problems] == ["DICOMDIR points at a missing file"]
    assert list(other.quarantine.iterdir()) == []


def test_reimport_adds_to_the_same_case_and_skips_duplicates(
    tmp_path: Path,
    library: Library,
    deid: Deidentifier,
    make_study: MakeStudy,
    assert_no_phi: Callable[[Library], None],
) -> None:
    study = make_study(tmp_path / "in", slices=4, second_series_slices=2)
    first = run(library, deid, [tmp_path / "in"])
    original = the_case(library)
    edited = original.edited(diagnosis="Pulmonary embolism", tags=("chest",))
    edited = library.store.save_case(edited)

    again = run(library, deid, [tmp_path / "in"])
    assert again.case_ids == first.case_ids
    assert (again.instances_imported, again.duplicates_skipped) == (0, 6)
    assert the_case(library) == edited  # nothing new: the case is untouched

    # one more slice of the axial series arrives later
    extra_dir = tmp_path / "more"
    extra_dir.mkdir()
    extra = pydicom.dcmread(study.files[0])
    extra.SOPInstanceUID = extra.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid()
    extra.ImagePositionPatient = [-100.0, -100.0, -52.5]
    extra.InstanceNumber = 99
    extra.save_as(extra_dir / "late.dcm", enforce_file_format=True)
    third = run(library, deid, [tmp_path / "in", extra_dir])

    assert (third.instances_imported, third.duplicates_skipped) == (1, 6)
    case = the_case(library)
    assert case.id == original.id and case.diagnosis == "Pulmonary embolism"
    assert [a.id for a in case.assets] == [a.id for a in original.assets]
    grown = case.assets[0]
    assert len(grown.instances) == 5 and len(case.assets[1].instances) == 2
    assert grown.instances[0].position == -52.5 and grown.instances[0].instance_number == 99  # slotted in by position
    assert grown.instances[1:] == original.assets[0].instances
    assert_no_phi(library)


def test_cancel_saves_nothing_and_wipes_the_quarantine(
    tmp_path: Path, library: Library, deid: Deidentifier, make_study: MakeStudy
) -> None:
    make_study(tmp_path / "in", slices=4, second_series_slices=2)
    archive = zip_folder(tmp_path / "in", tmp_path / "again.zip")
    token = CancelToken()

    def cancel_after_two(done: int, total: int, message: str) -> None:
        if done == 2:
            token.cancel()

    with pytest.raises(Cancelled):
        run(library, deid, [archive], progress=cancel_after_two, cancel=token)
    assert library.store.list_cases() == []
    assert list(library.quarantine.iterdir()) == []


def test_failing_import_leaves_existing_cases_unchanged(
    tmp_path: Path, library: Library, deid: Deidentifier, make_study: MakeStudy
) -> None:
    make_study(tmp_path / "a", slices=3, second_series_slices=0, seed=1)
    run(library, deid, [tmp_path / "a"])
    before = [c.to_dict() for c in library.store.list_cases()]

    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "readme.txt").write_text("hello")
    report = run(library, deid, [junk, tmp_path / "missing-folder"])
    assert report.case_ids == () and report.instances_imported == 0
    assert sorted((p.item, p.reason) for p in report.problems) == [
        ("source 1 of 2, file 1 of 1", "not a DICOM file"),
        ("source 2 of 2", "not found (it may have been moved or the disc ejected)"),
    ]

    make_study(tmp_path / "b", slices=3, second_series_slices=0, seed=2)
    token = CancelToken()
    with pytest.raises(Cancelled):
        run(library, deid, [tmp_path / "a", tmp_path / "b"], cancel=token, progress=lambda d, t, m: token.cancel())
    assert [c.to_dict() for c in library.store.list_cases()] == before


def test_nested_zip_is_reported_not_opened(
    tmp_path: Path, library: Library, deid: Deidentifier, make_study: MakeStudy
) -> None:
    study = make_study(tmp_path / "in", slices=1, second_series_slices=0)
    inner = zip_folder(tmp_path / "in", tmp_path / "inner.zip")
    outer = tmp_path / "outer.zip"
    with zipfile.ZipFile(outer, "w") as zf:
        zf.write(inner, "disguised.dat")  # a zip without the .zip name
        zf.write(inner, "inner.zip")
    report = run(library, deid, [outer])
    assert report.instances_imported == 0 and study.files
    assert [p.item for p in report.problems] == ["item 2 of 2 in the zip", "item 1 of 2 in the zip"]
    assert all("zip inside a zip is not supported" in p.reason for p in report.problems)


def test_title_argument_and_validation(
    tmp_path: Path, library: Library, deid: Deidentifier, make_study: MakeStudy
) -> None:
    make_study(tmp_path / "in", slices=2, second_series_slices=0)
    with pytest.raises(ValidationError):
        run(library, deid, [tmp_path / "in"], title="   ")
    with pytest.raises(ValidationError):
        run(library, deid, tmp_path / "in")  # type: ignore[arg-type]
    run(library, deid, [tmp_path / "in"], title="Classic PE")
    assert the_case(library).title == "Classic PE"


def test_wipe_quarantine_removes_leftovers(tmp_path: Path) -> None:
    quarantine = tmp_path / "quarantine"
    (quarantine / "import-crashed" / "sub").mkdir(parents=True)
    (quarantine / "import-crashed" / "sub" / "raw.dcm").write_bytes(b"raw")
    (quarantine / "stray.dcm").write_bytes(b"raw")
    wipe_quarantine(quarantine)
    assert quarantine.is_dir() and list(quarantine.iterdir()) == []
    wipe_quarantine(tmp_path / "new" / "quarantine")
    assert (tmp_path / "new" / "quarantine").is_dir()


def test_wipe_quarantine_spares_work_another_process_holds(tmp_path: Path) -> None:
    """The app starting on a data folder must not delete a running receiver's or import's raw files."""
    import subprocess
    import sys

    quarantine = tmp_path / "quarantine"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from casefiles.ingest import QuarantineFolder\n"
            f"f = QuarantineFolder({str(quarantine)!r}, 'receiver-')\n"
            "(f.path / 'raw.dcm').write_bytes(b'raw')\n"
            "print(f.path.name, flush=True)\n"
            "sys.stdin.readline()\n"
            "f.remove()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert holder.stdout is not None and holder.stdin is not None
        held = quarantine / holder.stdout.readline().strip()
        (quarantine / "import-crashed").mkdir()
        wipe_quarantine(quarantine)
        assert [p.name for p in quarantine.iterdir()] == [held.name], "only the crash leftover goes"
        assert (held / "raw.dcm").exists()
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.wait(timeout=30) == 0
    finally:
        holder.kill()
    assert list(quarantine.iterdir()) == []


def test_instances_the_deidentifier_refuses_are_discarded_and_reported(
    tmp_path: Path,
    library: Library,
    deid: Deidentifier,
    make_study: MakeStudy,
    assert_no_phi: Callable[[Library], None],
) -> None:
    study = make_study(tmp_path / "in", slices=3, second_series_slices=0)
    leaky = pydicom.dcmread(study.files[0])
    with warnings.catch_warnings():  # pydicom warns that "-" is not valid in a CS
        warnings.simplefilter("ignore")
        leaky.ContentLabel = "PIDX-77123"  # the patient ID where no de-identifier rule looks
    leaky.save_as(study.files[0], enforce_file_format=True)
    flagged = pydicom.dcmread(study.files[1])
    flagged.BurnedInAnnotation = "YES"
    flagged.save_as(study.files[1], enforce_file_format=True)

    report = run(library, deid, [tmp_path / "in"])

    assert report.instances_imported == 2
    assert len(report.problems) == 1
    assert report.problems[0].item == folder_position(tmp_path / "in", study.files[0])
    assert report.problems[0].reason.startswith("could not be made safe to store (")
    assert report.problems[0].reason.endswith("; discarded")
    assert report.burned_in_flagged == 1 and report.deid.burned_in_suspected
    assert report.deid.uids_remapped > 0
    assert_no_phi(library)


@pytest.mark.filterwarnings("ignore:Expected explicit VR, but found implicit VR")
@pytest.mark.parametrize(
    ("name", "stored_syntax"),
    [
        ("MR_small_implicit.dcm", pydicom.uid.ExplicitVRLittleEndian),
        ("MR_small_bigendian.dcm", pydicom.uid.ExplicitVRLittleEndian),
        ("JPEG2000.dcm", pydicom.uid.JPEG2000),
        ("SC_rgb_jpeg.dcm", pydicom.uid.JPEGBaseline8Bit),  # claims explicit VR, holds implicit-VR elements
    ],
)
def test_other_encodings_are_stored_in_explicit_little_endian_or_kept_compressed(
    tmp_path: Path, library: Library, deid: Deidentifier, name: str, stored_syntax: str
) -> None:
    source = get_testdata_file(name)
    assert source is not None
    original = pydicom.dcmread(source)
    upload = Upload(name, Path(source).read_bytes())

    report = run(library, deid, [upload])

    assert report.problems == () and report.instances_imported == 1
    (asset,) = the_case(library).assets
    assert asset.thumbnail is not None
    stored = pydicom.dcmread(io.BytesIO(library.blobs.get(asset.instances[0].blob)))
    assert stored.file_meta.TransferSyntaxUID == stored_syntax
    assert (stored.pixel_array == original.pixel_array).all()
