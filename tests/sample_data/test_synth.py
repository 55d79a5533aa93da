"""The generators: deterministic, validated, and shaped as asked."""

from __future__ import annotations

import re
from pathlib import Path

import pydicom
import pytest

from casefiles.errors import ValidationError
from sample_data.fake_phi import SMITH_JOHN, FakePatient
from sample_data.generate import STUDIES, cases_json, generate_all, generate_study
from sample_data.synth import make_ct_series, make_mr_series, synthetic_uid
from tests.helpers import ROOT

SAMPLE_ROOT = ROOT / "sample_data"


def test_regenerating_gives_identical_bytes(tmp_path: Path) -> None:
    written = generate_all(tmp_path)
    shipped = sorted(p.relative_to(SAMPLE_ROOT) for p in (SAMPLE_ROOT / "studies").rglob("*.dcm"))
    regenerated = sorted(p.relative_to(tmp_path) for p in written if p.suffix == ".dcm")
    assert regenerated == shipped
    different = [rel for rel in shipped if (tmp_path / rel).read_bytes() != (SAMPLE_ROOT / rel).read_bytes()]
    assert different == []
    assert (tmp_path / "cases.json").read_text(encoding="utf-8") == (SAMPLE_ROOT / "cases.json").read_text(
        encoding="utf-8"
    )
    assert cases_json() == (SAMPLE_ROOT / "cases.json").read_text(encoding="utf-8")
    media = sorted(p.name for p in written if p.parent.name == "media")
    assert media == sorted(p.name for p in (SAMPLE_ROOT / "media").iterdir())
    # byte-stable with the pinned imageio-ffmpeg build (x264 single-threaded, bitexact muxing)
    assert [n for n in media if (tmp_path / "media" / n).read_bytes() != (SAMPLE_ROOT / "media" / n).read_bytes()] == []


def test_regenerating_overwrites_only_its_own_study_folders(tmp_path: Path) -> None:
    keep = tmp_path / "studies" / "my_notes.txt"
    keep.parent.mkdir(parents=True)
    keep.write_text("mine")
    mine = tmp_path / "media" / "my_photo.jpg"
    mine.parent.mkdir()
    mine.write_bytes(b"mine")
    generate_study("study03_cr_chest", tmp_path / "studies")
    generate_all(tmp_path)
    assert keep.read_text() == "mine"
    assert mine.read_bytes() == b"mine"


def test_unknown_study_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="no sample study"):
        generate_study("study99_pet", tmp_path)
    assert len(STUDIES) == 4


def test_synthetic_uid_is_stable_valid_and_distinct() -> None:
    uid = synthetic_uid("study", 1)
    assert uid == synthetic_uid("study", 1)
    assert uid != synthetic_uid("study", 2)
    assert re.fullmatch(r"2\.25\.[1-9][0-9]*", uid) and len(uid) <= 64
    assert pydicom.uid.UID(uid).is_valid


def test_ct_series_options(tmp_path: Path) -> None:
    paths = make_ct_series(tmp_path / "ct", slices=6, size=64, thickness=1.25, first_z=-85.0, lung_kernel=True)
    assert [p.name for p in paths] == [f"IM{i:04d}.dcm" for i in range(1, 7)]
    datasets = [pydicom.dcmread(p) for p in paths]
    assert {(ds.Rows, ds.Columns) for ds in datasets} == {(64, 64)}
    positions = sorted(float(ds.ImagePositionPatient[2]) for ds in datasets)
    assert positions == pytest.approx([-91.25, -90.0, -88.75, -87.5, -86.25, -85.0])
    assert {ds.ConvolutionKernel for ds in datasets} == {"B70f"}
    assert len({ds.SOPInstanceUID for ds in datasets}) == 6
    assert str(datasets[0].PatientName) == SMITH_JOHN.name


def test_a_series_is_never_mixed_into_a_folder_that_has_one(tmp_path: Path) -> None:
    make_mr_series(tmp_path, slices=2, size=32)
    with pytest.raises(ValidationError, match="empty folder"):
        make_mr_series(tmp_path, slices=2, size=32)


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="slices"):
        make_ct_series(tmp_path / "a", slices=0)
    with pytest.raises(ValidationError, match="thickness"):
        make_ct_series(tmp_path / "b", slices=2, size=32, thickness=0)
    with pytest.raises(ValidationError, match="FAMILY"):
        FakePatient(
            name="NOCARET",
            patient_id="X1",
            other_id="X2",
            birth_date="19700101",
            sex="F",
            address="",
            phone="1",
            accession="A1",
            requested_procedure_id="R1",
            study_date="20240101",
            study_time="120000",
        )


def test_patient_date_formats() -> None:
    assert SMITH_JOHN.birth_date_us == "03/14/1958"
    assert SMITH_JOHN.birth_date_text == "14-MAR-1958"
    assert SMITH_JOHN.age == "065Y"
    assert SMITH_JOHN.display_name == "JOHN SMITH"
