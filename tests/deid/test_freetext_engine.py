"""The free-text cleaner inside the engine: third parties planted in every kept text never reach
the written bytes, medical text does, and stored instances can be cleaned again (issue #12)."""

from __future__ import annotations

import copy
import io
import time

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from casefiles.deid import TEACHING_FILE, Deidentifier, Option, Profile
from casefiles.deid.engine import TEXT_RULES_APPLIED
from casefiles.deid.freetext import reclean_dataset
from casefiles.deid.identifiers import REMOVED
from casefiles.deid.versions import TEXT_RULES
from tests.support.phi_text import MEDICAL, PhiText, Planted, survivors

from .conftest import SECRET, _item, make_phi_ct, reread, written

# Kept free-text elements of the teaching-file profile, with the longest value each may hold.
TOP_LEVEL = {
    "StudyDescription": 64,
    "SeriesDescription": 64,
    "ProtocolName": 64,
    "PerformedProcedureStepDescription": 64,
    "ReasonForTheRequestedProcedure": 64,
    "AdditionalPatientHistory": 10240,
    "ImageComments": 10240,
    "RequestedProcedureComments": 10240,
    "StudyComments": 10240,
    "CommentsOnThePerformedProcedureStep": 1024,
}


def _planted_ct(seed: int) -> tuple[Dataset, list[Planted]]:
    """The PHI CT with a third party in every kept free-text element, sequences and SR text included."""
    source = PhiText(seed)
    ds = make_phi_ct()
    planted: list[Planted] = []

    def text(max_len: int) -> str:
        p = source.text(MEDICAL[len(planted) % len(MEDICAL)], max_len=max_len)
        planted.append(p)
        return p.text

    for keyword, max_len in TOP_LEVEL.items():
        setattr(ds, keyword, text(max_len))
    request = ds.RequestAttributesSequence[0]
    request.RequestedProcedureDescription = text(64)
    request.ScheduledProcedureStepDescription = text(64)
    request.ReasonForTheRequestedProcedure = text(64)
    ds.ContentSequence = [
        _item(RelationshipType="CONTAINS", ValueType="TEXT", TextValue=text(4096)),
        _item(
            RelationshipType="CONTAINS",
            ValueType="CONTAINER",
            ContinuityOfContent="SEPARATE",
            ContentSequence=[
                _item(RelationshipType="CONTAINS", ValueType="TEXT", TextValue=text(4096)),
                _item(
                    RelationshipType="CONTAINS",
                    ValueType="CODE",
                    ConceptNameCodeSequence=[
                        _item(CodeValue="121071", CodingSchemeDesignator="DCM", CodeMeaning="Finding")
                    ],
                ),
            ],
        ),
    ]
    ds.PerFrameFunctionalGroupsSequence[0].FrameContentSequence[0].FrameComments = text(1024)
    return ds, planted


@pytest.mark.parametrize("seed", range(8))
def test_no_planted_third_party_survives_in_the_written_bytes(seed: int) -> None:
    ds, planted = _planted_ct(seed)
    data = written(Deidentifier(SECRET, TEACHING_FILE).deidentify(ds).dataset)
    assert survivors(data, [s for p in planted for s in p.secrets]) == []


def test_medical_phrases_survive_where_they_were_written() -> None:
    ds, planted = _planted_ct(99)
    out = reread(Deidentifier(SECRET, TEACHING_FILE).deidentify(ds).dataset)
    values = [str(out.get(k)) for k in TOP_LEVEL]
    request = out.RequestAttributesSequence[0]
    values += [request.RequestedProcedureDescription, request.ScheduledProcedureStepDescription]
    values += [request.ReasonForTheRequestedProcedure, out.ContentSequence[0].TextValue]
    values += [out.ContentSequence[1].ContentSequence[0].TextValue]
    for value, p in zip(values, planted, strict=False):
        assert p.medical in value, (p.medical, value)
    code = out.ContentSequence[1].ContentSequence[1].ConceptNameCodeSequence[0]
    assert (code.CodeValue, code.CodeMeaning) == ("121071", "Finding")  # a DCM code is not a record number


def test_sr_text_content_items_are_cleaned() -> None:
    ds = pydicom.dcmread(get_testdata_file("test-SR.dcm"))
    ds.ContentSequence[0].TextValue = "Discussed with Dr. Quorvanek; r/o PE"
    ds.ContentSequence.append(
        _item(RelationshipType="CONTAINS", ValueType="TEXT", TextValue="CALL WILL 555-0142 RE: BI-RADS 4")
    )
    out = reread(Deidentifier(SECRET, TEACHING_FILE).deidentify(ds).dataset)
    assert out.ContentSequence[0].TextValue == f"Discussed with Dr. {REMOVED}; r/o PE"
    assert out.ContentSequence[-1].TextValue == f"CALL {REMOVED} RE: BI-RADS 4"


def test_results_carry_the_current_text_rules_version() -> None:
    assert TEXT_RULES_APPLIED == TEXT_RULES
    assert Deidentifier(SECRET, TEACHING_FILE).deidentify(make_phi_ct()).text_rules == TEXT_RULES


@pytest.mark.parametrize(
    ("charset", "description", "expected"),
    [
        ("ISO 2022 IR 87", "CT 胸部 山田医師", f"CT {REMOVED}"),
        ("ISO_IR 192", "CT chest Иванов", f"CT chest {REMOVED}"),
        ("ISO_IR 100", "CT thorax Dr. Müller", f"CT thorax Dr. {REMOVED}"),
        ("ISO 2022 IR 149", "CT 흉부 김철수", f"CT {REMOVED}"),
    ],
)
def test_text_in_any_character_set_is_cleaned_fail_closed(charset: str, description: str, expected: str) -> None:
    ds = make_phi_ct()
    ds.SpecificCharacterSet = ["", charset] if charset.startswith("ISO 2022") else charset
    ds.StudyDescription = description
    data = written(ds)
    out = reread(Deidentifier(SECRET, TEACHING_FILE).deidentify(pydicom.dcmread(io.BytesIO(data))).dataset)
    assert out.StudyDescription == expected


def test_a_64_kb_ut_value_is_cleaned_in_reasonable_time() -> None:
    source = PhiText(64)
    parts, secrets = [], []
    while sum(len(p) + 1 for p in parts) < 64 * 1024 - 200:
        planted = source.text("Impression: 2.3 cm RUL nodule, LI-RADS 5.")
        parts.append(planted.text)
        secrets += planted.secrets
    ds = make_phi_ct()
    ds.ContentSequence = [_item(RelationshipType="CONTAINS", ValueType="TEXT", TextValue="\n".join(parts))]
    deidentifier = Deidentifier(SECRET, TEACHING_FILE)
    deidentifier.deidentify(make_phi_ct())  # load the word lists
    started = time.perf_counter()
    out = deidentifier.deidentify(ds).dataset
    assert time.perf_counter() - started < 3.0
    assert survivors(written(out), secrets) == []
    assert "LI-RADS 5" in out.ContentSequence[0].TextValue


def test_kept_private_text_goes_through_the_cleaner() -> None:
    profile = Profile("safe-private", TEACHING_FILE.options | {Option.RETAIN_SAFE_PRIVATE}, "test")
    ds = make_phi_ct()
    block = ds.private_block(0x0019, "SIEMENS MR HEADER", create=True)
    block.add_new(0x0C, "LO", "b1000 per Dr Quorvanek")
    block.add_new(0x0D, "PN", "Quorvanek^Ida")
    out = reread(Deidentifier(SECRET, profile).deidentify(ds).dataset)
    kept = out.private_block(0x0019, "SIEMENS MR HEADER")
    assert kept[0x0C].value == f"b1000 per Dr {REMOVED}"
    assert b"quorvanek" not in written(out).lower()


def test_sr_evidence_references_get_the_new_uid_of_their_target() -> None:
    # Finding 6 of issue #12: the SR's evidence must point at the target instance as stored.
    deidentifier = Deidentifier(SECRET, TEACHING_FILE)
    target = make_phi_ct(sop_uid="1.2.826.0.1.3680043.8.498.7001")
    sr = pydicom.dcmread(get_testdata_file("test-SR.dcm"))
    sr.PatientID = target.PatientID
    reference = _item(
        StudyInstanceUID=target.StudyInstanceUID,
        ReferencedSeriesSequence=[
            _item(
                SeriesInstanceUID=target.SeriesInstanceUID,
                ReferencedSOPSequence=[
                    _item(ReferencedSOPClassUID=target.SOPClassUID, ReferencedSOPInstanceUID=target.SOPInstanceUID)
                ],
            )
        ],
    )
    sr.CurrentRequestedProcedureEvidenceSequence = [reference]
    sr.PertinentOtherEvidenceSequence = [copy.deepcopy(reference)]
    stored_target = deidentifier.deidentify(target).dataset
    stored_sr = reread(deidentifier.deidentify(sr).dataset)
    for keyword in ("CurrentRequestedProcedureEvidenceSequence", "PertinentOtherEvidenceSequence"):
        study = stored_sr[keyword][0]
        series = study.ReferencedSeriesSequence[0]
        assert study.StudyInstanceUID == stored_target.StudyInstanceUID
        assert series.SeriesInstanceUID == stored_target.SeriesInstanceUID
        assert series.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == stored_target.SOPInstanceUID


# -- re-cleaning what is already stored -------------------------------------------------------------


def _stored_by_old_rules(seed: int) -> tuple[Dataset, list[Planted]]:
    """A de-identified instance as rules before version 2 left it: third parties still in its text."""
    ds, planted = _planted_ct(seed)
    out = reread(Deidentifier(SECRET, TEACHING_FILE).deidentify(make_phi_ct()).dataset)
    for keyword in TOP_LEVEL:
        setattr(out, keyword, ds.get(keyword))
    out.RequestAttributesSequence = ds.RequestAttributesSequence
    del out.RequestAttributesSequence[0].AccessionNumber
    del out.RequestAttributesSequence[0].RequestedProcedureID
    out.ContentSequence = ds.ContentSequence
    out.PerFrameFunctionalGroupsSequence[0].FrameContentSequence[0].FrameComments = (
        ds.PerFrameFunctionalGroupsSequence[0].FrameContentSequence[0].FrameComments
    )
    return reread(out), planted


def test_reclean_dataset_removes_what_older_rules_kept() -> None:
    stored, planted = _stored_by_old_rules(5)
    secrets = [s for p in planted for s in p.secrets]
    assert survivors(written(stored), secrets) != []  # the test plants what older rules kept
    pseudonym, study_date = str(stored.PatientName), stored.StudyDate
    changed = reclean_dataset(stored)
    assert changed == len(planted)
    data = written(stored)
    assert survivors(data, secrets) == []
    assert str(stored.PatientName) == pseudonym and stored.StudyDate == study_date
    code = stored.ContentSequence[1].ContentSequence[1].ConceptNameCodeSequence[0]
    assert (code.CodeValue, code.CodeMeaning) == ("121071", "Finding")
    for p in planted:
        assert p.medical.encode() in data
    assert reclean_dataset(stored) == 0  # a second run finds nothing left to change


def test_reclean_dataset_replaces_kept_person_names_whole() -> None:
    stored, _ = _stored_by_old_rules(6)
    stored.ContentSequence.append(
        _item(RelationshipType="HAS OBS CONTEXT", ValueType="PNAME", PersonName="Quorvanek^Ida")
    )
    reclean_dataset(stored)
    assert str(stored.ContentSequence[-1].PersonName) == "ANONYMOUS"
    assert b"quorvanek" not in written(stored).lower()


# -- text derived from DICOM elsewhere ---------------------------------------------------------------


def test_case_titles_and_series_labels_come_from_cleaned_text() -> None:
    from casefiles.ingest.grouping import summarize

    stored, _ = _stored_by_old_rules(8)
    stored.StudyDescription = "CT CHEST W CONTRAST per Dr Quorvanek"
    stored.SeriesDescription = "Ax T2 FS, tech: Will"
    summary = summarize(stored, "blob")
    assert summary.study_description == f"CT CHEST W CONTRAST per Dr {REMOVED}"
    assert summary.series_description == f"Ax T2 FS, tech: {REMOVED}"


def test_a_key_object_selections_description_is_cleaned() -> None:
    from casefiles.pacs.tce import _cleaned_description

    kos = make_phi_ct()
    text = "For teaching: Bosniak IIF cyst, call Dr Quorvanek at 555-0142"
    assert _cleaned_description(kos, text) == f"For teaching: Bosniak IIF cyst, call Dr {REMOVED} at {REMOVED}"
