"""Reading IHE TCE key object selections built with highdicom, as a workstation would send them."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from pydicom.sr.coding import Code

from casefiles.errors import ValidationError
from casefiles.pacs.tce import KosTitle, TceError, parse_kos
from tests.dicom_factory import FAKE_PHI
from tests.inbox.kit import CLEAN_PART, FOR_CONFERENCE, sop_uids, write_kos


def _kos(tmp_path: Path, study: list[Path], **kwargs: object) -> pydicom.Dataset:
    return pydicom.dcmread(write_kos(tmp_path / "kos.dcm", study, [study[1], study[3]], **kwargs))  # type: ignore[arg-type]


def test_a_for_teaching_selection_gives_its_images_study_and_description(tmp_path, study):
    selection = parse_kos(_kos(tmp_path, study))
    assert selection.title is KosTitle.FOR_TEACHING
    assert selection.referenced_sop_uids == tuple(sop_uids([study[1], study[3]]))
    assert selection.study_uid == pydicom.dcmread(study[0]).StudyInstanceUID
    assert selection.description.startswith(CLEAN_PART)


def test_the_description_loses_the_patients_identifiers_and_dates(tmp_path, study):
    description = parse_kos(_kos(tmp_path, study)).description
    assert "[removed]" in description
    for phi in (*FAKE_PHI, "Quimby", "2024-03-12"):
        assert phi.lower() not in description.lower()


@pytest.mark.parametrize(
    ("code", "title"),
    [
        (FOR_CONFERENCE, KosTitle.FOR_CONFERENCE),
        (Code("113000", "DCM", "Of Interest"), KosTitle.OF_INTEREST),
        (Code("113013", "DCM", "Best In Set"), KosTitle.OTHER),
    ],
)
def test_other_document_titles_are_told_apart(tmp_path, study, code, title):
    assert parse_kos(_kos(tmp_path, study, title=code)).title is title


def test_a_selection_without_a_description_has_an_empty_one(tmp_path, study):
    assert parse_kos(_kos(tmp_path, study, description=None)).description == ""


def test_without_image_items_the_evidence_names_the_images(tmp_path, study):
    ds = _kos(tmp_path, study)
    ds.ContentSequence = [item for item in ds.ContentSequence if item.ValueType == "TEXT"]
    assert set(parse_kos(ds).referenced_sop_uids) == set(sop_uids(study))


def test_a_selection_without_a_title_is_refused_with_a_reason(tmp_path, study):
    ds = _kos(tmp_path, study)
    del ds.ConceptNameCodeSequence
    with pytest.raises(TceError, match="no document title"):
        parse_kos(ds)


def test_a_selection_that_references_nothing_is_refused_with_a_reason(tmp_path, study):
    ds = _kos(tmp_path, study)
    ds.ContentSequence = [item for item in ds.ContentSequence if item.ValueType == "TEXT"]
    del ds.CurrentRequestedProcedureEvidenceSequence
    with pytest.raises(TceError, match="references no images"):
        parse_kos(ds)


def test_an_image_is_not_a_key_object_selection(study):
    with pytest.raises(TceError, match="not a Key Object Selection"):
        parse_kos(pydicom.dcmread(study[0]))


def test_a_damaged_selection_is_an_error_not_a_crash(tmp_path, study):
    ds = _kos(tmp_path, study)
    # Sequences that arrived as text (a broken sender): what pydicom gives for a mis-typed element.
    ds.ContentSequence[0].add_new(0x0040A043, "LO", "junk")
    ds.ContentSequence[1].add_new(0x00081199, "LO", "junk")
    with pytest.raises(ValidationError) as info:
        parse_kos(ds)
    assert "QUIMBY" not in str(info.value).upper()
    with pytest.raises(TceError):
        parse_kos("a file name")  # type: ignore[arg-type]
