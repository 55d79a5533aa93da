"""Finding the files in what the user gave: folders, CDs with a DICOMDIR, uploads."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import pydicom
from pydicom.fileset import FileSet

from casefiles.ingest import Upload
from casefiles.ingest.sources import gather

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import Study

    MakeStudy = Callable[..., Study]


def test_folder_walk_skips_os_junk_and_does_not_follow_links(tmp_path: Path) -> None:
    root = tmp_path / "CD"
    (root / "DICOM" / "sub").mkdir(parents=True)
    (root / "__MACOSX" / "DICOM").mkdir(parents=True)
    (root / "DICOM" / "IM1").write_bytes(b"x" * 10)
    (root / "DICOM" / "sub" / "IM2").write_bytes(b"x" * 10)
    (root / "DICOM" / ".DS_Store").write_bytes(b"junk")
    (root / "DICOM" / "Thumbs.db").write_bytes(b"junk")
    (root / "DICOM" / "._IM1").write_bytes(b"junk")
    (root / "__MACOSX" / "DICOM" / "._IM1").write_bytes(b"junk")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.dcm").write_bytes(b"x")
    os.symlink(outside / "secret.dcm", root / "DICOM" / "link.dcm")
    os.symlink(outside, root / "linked-folder")

    found = gather([root], tmp_path / "work")

    # by position, in reading order: CD/linked-folder, CD/DICOM/IM1, CD/DICOM/link.dcm, CD/DICOM/sub/IM2
    assert [f.item for f in found.files] == ["file 2 of 4", "file 4 of 4"]
    assert all(f.path.parent.parent == root or f.path.parent.parent.parent == root for f in found.files)
    assert sorted((p.item, p.reason) for p in found.problems) == [
        ("file 1 of 4", "symbolic link to a folder; not followed"),
        ("file 3 of 4", "symbolic link; not followed"),
    ]
    assert found.files_seen == 2


def test_dicomdir_on_a_lower_cased_mount_and_a_record_that_escapes(tmp_path: Path, make_study: MakeStudy) -> None:
    study = make_study(tmp_path / "src", slices=3, second_series_slices=0)
    fs = FileSet()
    for path in study.files:
        fs.add(pydicom.dcmread(path))
    cd = tmp_path / "cd"
    fs.write(cd)
    # some drivers mount ISO 9660 discs with lower-case names
    for path in sorted(cd.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.name != "DICOMDIR":
            path.rename(path.with_name(path.name.lower()))
    dicomdir = pydicom.dcmread(cd / "DICOMDIR")
    images = [r for r in dicomdir.DirectoryRecordSequence if "ReferencedFileID" in r]
    with warnings.catch_warnings():  # pydicom rightly warns that ".." is no valid CS value
        warnings.simplefilter("ignore")
        images[0].ReferencedFileID = ["..", "..", "etc", "passwd"]
    dicomdir.save_as(cd / "DICOMDIR")

    found = gather([cd / "DICOMDIR"], tmp_path / "work")

    assert len(found.files) == 2
    assert all(f.path.is_file() and cd in f.path.parents for f in found.files)
    assert [p.reason for p in found.problems] == ["DICOMDIR record points outside its folder; ignored"]
    assert found.problems[0].item == "DICOMDIR record 4"  # patient, study, series, then the first image


def test_damaged_dicomdir_is_reported_and_the_folder_still_walked(tmp_path: Path) -> None:
    cd = tmp_path / "cd"
    cd.mkdir()
    (cd / "DICOMDIR").write_bytes(b"\0" * 128 + b"DICM" + b"garbage" * 10)
    (cd / "IM1").write_bytes(b"x")
    found = gather([cd], tmp_path / "work")
    assert [f.item for f in found.files] == ["file 2 of 2"]
    assert [(p.item, p.reason) for p in found.problems] == [
        ("file 1 of 2", "damaged DICOMDIR; the other files are still imported")
    ]


def test_uploads_are_written_to_the_work_folder_under_numbered_names(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    uploads = [
        Upload("C:\\Users\\me\\Zebulonfake_Quentinia.dcm", b"data-1"),
        Upload("", b"data-2"),
        Upload("Thumbs.db", b"junk"),
        Upload("empty.dcm", b""),
    ]
    found = gather(uploads, work)
    assert [f.item for f in found.files] == ["upload 1 of 4", "upload 2 of 4"]  # never the name the browser gave
    assert [f.path.read_bytes() for f in found.files] == [b"data-1", b"data-2"]
    assert all(f.path.parent == work and "Zebulonfake" not in f.path.name for f in found.files)
    assert [(p.item, p.reason) for p in found.problems] == [("upload 4 of 4", "empty file")]
    assert found.files_seen == 3
