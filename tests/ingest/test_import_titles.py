"""Several studies in one import get titles of their own (issue #14, finding 5: a zip with four
studies made four cases all titled like the zip)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from pydicom.dataset import Dataset
from pydicom.uid import MRImageStorage, generate_uid

from casefiles.deid import Deidentifier
from casefiles.ingest.grouping import batch_titles
from tests.ingest.test_non_image_objects import ct_slices, run, write_zip

if TYPE_CHECKING:
    from tests.ingest.conftest import Library


@pytest.fixture
def deid(secret: bytes) -> Deidentifier:
    return Deidentifier(secret)


def _study(modality: str, body_part: str, description: str) -> list[Dataset]:
    study = generate_uid()
    slices = ct_slices(study, 2)
    for ds in slices:
        ds.Modality, ds.BodyPartExamined, ds.StudyDescription = modality, body_part, description
        if modality == "MR":
            ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = MRImageStorage
    return slices


def _four_studies() -> list[Dataset]:
    return [
        *_study("CT", "CHEST", "CT CHEST"),
        *_study("MR", "HEAD", "MR BRAIN"),
        *_study("CT", "ABDOMEN", "CT ABDOMEN"),
        *_study("CT", "CHEST", "CT CHEST FOLLOW UP"),
    ]


def test_a_zip_of_four_studies_gives_four_distinct_titles(tmp_path: Path, library: Library, deid: Deidentifier) -> None:
    source = write_zip(tmp_path / "in.zip", _four_studies())
    report = run(library, deid, [source], title="Teaching batch")
    assert len(report.case_ids) == 4
    titles = [library.store.get_case(case_id).title for case_id in report.case_ids]
    assert titles == [
        "Teaching batch (1 of 4): CT Chest",
        "Teaching batch (2 of 4): MR Head",
        "Teaching batch (3 of 4): CT Abdomen",
        "Teaching batch (4 of 4): CT Chest",
    ]


def test_four_studies_without_a_title_are_named_from_their_images(
    tmp_path: Path, library: Library, deid: Deidentifier
) -> None:
    source = write_zip(tmp_path / "in.zip", _four_studies())
    report = run(library, deid, [source])
    titles = [library.store.get_case(case_id).title for case_id in report.case_ids]
    assert titles == ["CT Chest (1 of 4)", "MR Head", "CT Abdomen", "CT Chest (4 of 4)"]


def test_batch_titles() -> None:
    assert batch_titles(["CT Chest"], "Classic PE", max_len=300) == ["Classic PE"]
    assert batch_titles(["CT Chest"], None, max_len=300) == ["CT Chest"]
    assert batch_titles([], "Classic PE", max_len=300) == []
    assert batch_titles(["CT Chest", "MR Head"], None, max_len=300) == ["CT Chest", "MR Head"]
    long = batch_titles(["CT Chest", "MR Head"], "x" * 300, max_len=300)
    assert [len(t) for t in long] == [300, 300]
    assert long[0].endswith(" (1 of 2): CT Chest") and long[1].endswith(" (2 of 2): MR Head")
