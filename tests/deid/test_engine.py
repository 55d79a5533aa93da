"""The de-identification engine as a user of the teaching-file store sees it."""

from __future__ import annotations

import copy
import datetime as dt
import io
import os
import stat
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from casefiles.deid import PROFILES, TEACHING_FILE, Deidentifier, DeidReport, Option, Profile, load_or_create_secret
from casefiles.deid.profiles import BASIC
from casefiles.errors import DeidentificationError, StorageError, ValidationError

from .conftest import OTHER_SECRET, PHI, SECRET, make_phi_ct, phi_strings, reread, written


@pytest.mark.parametrize("profile", [BASIC, TEACHING_FILE], ids=lambda p: p.name)
def test_no_planted_phi_survives_in_the_written_bytes(profile: Profile) -> None:
    ds = make_phi_ct()
    original_uids = [ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID, ds.FrameOfReferenceUID]
    data = written(Deidentifier(SECRET, profile).deidentify(ds).dataset).lower()
    survivors = [s for s in phi_strings() + original_uids if s.lower().encode() in data]
    assert survivors == []


def test_teaching_profile_keeps_what_teaching_needs(teaching: Deidentifier) -> None:
    ds = make_phi_ct()
    out = reread(teaching.deidentify(ds).dataset)
    assert out.Modality == "CT"
    assert out.BodyPartExamined == "CHEST"
    assert (out.PatientSex, out.PatientWeight, out.PatientSize) == ("F", 71.5, 1.68)
    assert out.PatientAge == "062Y"  # computed from birth and study dates before they went
    assert out.PatientBirthDate == ""
    assert out.StudyDescription.startswith("CT chest ")
    assert "[removed]" in out.StudyDescription
    assert out.SeriesDescription == "Axial for [removed] 5mm"
    assert out.ContentSequence[0].TextValue.startswith("Seen by [removed]")
    assert out.GraphicAnnotationSequence[0].TextObjectSequence[0].UnformattedTextValue == "[removed] lesion"
    assert out.NumberOfFrames == 2 and len(out.PerFrameFunctionalGroupsSequence) == 2
    assert out.pixel_array.shape == (2, 128, 128)
    assert (out.pixel_array == ds.pixel_array).all()


def test_deidentification_is_recorded_in_the_dataset(teaching: Deidentifier) -> None:
    out = reread(teaching.deidentify(make_phi_ct()).dataset)
    assert out.PatientIdentityRemoved == "YES"
    assert "teaching-file" in out.DeidentificationMethod[0]
    codes = {item.CodeValue for item in out.DeidentificationMethodCodeSequence}
    # A CT is not suspected of burned-in text, so Clean Pixel Data (113101) applies without any OCR.
    assert codes == {"113100", "113101", "113103", "113104", "113105", "113107", "113108"}
    assert all(item.CodingSchemeDesignator == "DCM" for item in out.DeidentificationMethodCodeSequence)
    assert out.LongitudinalTemporalInformationModified == "MODIFIED"
    assert (
        reread(Deidentifier(SECRET, BASIC).deidentify(make_phi_ct()).dataset).LongitudinalTemporalInformationModified
        == "REMOVED"
    )


def test_file_meta_is_rebuilt_for_the_new_instance(teaching: Deidentifier) -> None:
    out = reread(teaching.deidentify(make_phi_ct()).dataset)
    assert out.file_meta.MediaStorageSOPInstanceUID == out.SOPInstanceUID
    assert out.file_meta.MediaStorageSOPClassUID == out.SOPClassUID
    assert out.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
    assert "SourceApplicationEntityTitle" not in out.file_meta


def test_input_dataset_is_not_modified(teaching: Deidentifier) -> None:
    ds = make_phi_ct()
    before = written(copy.deepcopy(ds))
    teaching.deidentify(ds)
    assert written(ds) == before
    assert str(ds.PatientName).startswith(PHI["family"])


def test_uids_stay_consistent_across_series_runs_and_only_with_the_same_secret() -> None:
    study = "1.2.826.0.1.3680043.8.498.2001"
    a = make_phi_ct(study_uid=study, series_uid=study + ".1", sop_uid=study + ".1.1")
    b = make_phi_ct(study_uid=study, series_uid=study + ".2", sop_uid=study + ".2.1")
    first = Deidentifier(SECRET).deidentify(a).dataset
    second = Deidentifier(SECRET).deidentify(b).dataset  # a separate run, a new engine
    again = Deidentifier(SECRET).deidentify(a).dataset
    other = Deidentifier(OTHER_SECRET).deidentify(a).dataset
    assert first.StudyInstanceUID == second.StudyInstanceUID != study
    assert first.SeriesInstanceUID != second.SeriesInstanceUID
    assert first.FrameOfReferenceUID == second.FrameOfReferenceUID
    reference = first.ReferencedImageSequence[0].ReferencedSOPInstanceUID
    assert reference == second.ReferencedImageSequence[0].ReferencedSOPInstanceUID
    assert reference == Deidentifier(SECRET).remap_uid(study + ".55.1")
    assert (again.StudyInstanceUID, again.SOPInstanceUID) == (first.StudyInstanceUID, first.SOPInstanceUID)
    assert other.StudyInstanceUID != first.StudyInstanceUID
    for uid in (first.StudyInstanceUID, first.SOPInstanceUID):
        assert uid.startswith("2.25.") and len(uid) <= 64 and pydicom.uid.UID(uid).is_valid
    # Registered UIDs are never remapped.
    assert first.SOPClassUID == a.SOPClassUID
    assert first.ReferencedImageSequence[0].ReferencedSOPClassUID == a.SOPClassUID


def test_date_intervals_between_a_patients_studies_are_preserved(teaching: Deidentifier) -> None:
    earlier = teaching.deidentify(make_phi_ct(study_date="20230301", sop_uid="1.2.3.4.1")).dataset
    later = teaching.deidentify(make_phi_ct(study_date="20240115", sop_uid="1.2.3.4.2")).dataset

    def day(value: str) -> dt.date:
        return dt.datetime.strptime(value, "%Y%m%d").date()

    assert day(later.StudyDate) - day(earlier.StudyDate) == dt.timedelta(days=320)
    shift = (day(later.StudyDate) - dt.date(2024, 1, 15)).days
    assert -3650 <= shift <= -365
    assert later.AcquisitionDateTime == later.StudyDate + "101530.25"  # time part kept, date part shifted
    other_patient = teaching.deidentify(make_phi_ct(study_date="20240115", patient_id="SOMEONE-ELSE-1")).dataset
    assert other_patient.StudyDate != later.StudyDate  # offsets are per patient


def test_pseudonym_is_stable_per_patient_and_secret(teaching: Deidentifier) -> None:
    out = teaching.deidentify(make_phi_ct()).dataset
    name, pid = teaching.pseudonym(PHI["patient_id"], PHI["issuer"])
    assert (str(out.PatientName), out.PatientID) == (name, pid)
    assert name.startswith("CASEDECK^") and pid.startswith("CD") and len(pid) == 12
    assert Deidentifier(SECRET).pseudonym(PHI["patient_id"], PHI["issuer"]) == (name, pid)
    assert Deidentifier(OTHER_SECRET).pseudonym(PHI["patient_id"], PHI["issuer"]) != (name, pid)
    assert teaching.pseudonym(PHI["patient_id"], "Other Issuer") != (name, pid)


def test_report_counts_what_changed_and_holds_no_values(teaching: Deidentifier) -> None:
    report = teaching.deidentify(make_phi_ct()).report
    assert report.removed > 0 and report.emptied > 0 and report.cleaned >= 5
    assert report.uids_remapped >= 6 and report.dates_shifted >= 5 and report.private_removed >= 4
    assert all(s.lower() not in repr(report).lower() for s in phi_strings())
    total = report.merged(report).merged(DeidReport.EMPTY)
    assert total.removed == 2 * report.removed and total.dates_shifted == 2 * report.dates_shifted


def test_burned_in_text_is_suspected_for_screens_and_routine_modalities(teaching: Deidentifier) -> None:
    ct = make_phi_ct()
    assert not teaching.deidentify(ct).report.burned_in_suspected
    us = pydicom.dcmread(get_testdata_file("examples_ybr_color.dcm"))
    report = teaching.deidentify(us).report
    assert report.burned_in_suspected and any("US" in r for r in report.reasons_burned_in)
    ct.BurnedInAnnotation = "YES"
    result = teaching.deidentify(ct)
    assert result.report.reasons_burned_in == ("Burned In Annotation is YES",)
    assert result.dataset.BurnedInAnnotation == "YES"  # only pixel cleaning may set it to NO
    merged = result.report.merged(report)
    assert merged.burned_in_suspected and len(merged.reasons_burned_in) == 2


def test_retain_safe_private_keeps_only_listed_private_elements() -> None:
    ds = make_phi_ct()
    ds.private_block(0x2001, "Philips Imaging DD 001", create=True).add_new(0x03, "FL", 1000.0)
    profile = Profile("safe-private", frozenset({Option.RETAIN_SAFE_PRIVATE}), "test")
    out = reread(Deidentifier(SECRET, profile).deidentify(ds).dataset)
    block = out.private_block(0x2001, "Philips Imaging DD 001")
    assert block[0x03].value == 1000.0
    assert not any((tag >> 16) == 0x0009 for tag in list(out.keys()))


def test_profiles_and_arguments_are_validated() -> None:
    assert set(PROFILES) >= {"basic", "teaching-file"} and PROFILES["teaching-file"] is TEACHING_FILE
    assert TEACHING_FILE.options == {
        Option.RETAIN_LONG_MODIFIED_DATES,
        Option.RETAIN_PATIENT_CHARACTERISTICS,
        Option.CLEAN_DESCRIPTORS,
        Option.CLEAN_STRUCTURED_CONTENT,
        Option.CLEAN_GRAPHICS,
        Option.CLEAN_PIXEL_DATA,
    }
    assert PROFILES["teaching-file-no-ocr"].options == TEACHING_FILE.options - {Option.CLEAN_PIXEL_DATA}
    with pytest.raises(ValidationError, match="too short"):
        Deidentifier(b"short")
    with pytest.raises(ValidationError, match="full dates or modified"):
        Profile("both", frozenset({Option.RETAIN_LONG_FULL_DATES, Option.RETAIN_LONG_MODIFIED_DATES}), "x")
    with pytest.raises(DeidentificationError):
        Deidentifier(SECRET).deidentify("not a dataset")  # type: ignore[arg-type]


def test_secret_is_created_once_private_and_then_reused(tmp_path: Path) -> None:
    path = tmp_path / "data" / "secret.key"
    first = load_or_create_secret(path)
    assert len(first) == 32
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_or_create_secret(path) == first
    path.write_bytes(b"tiny")
    with pytest.raises(StorageError, match="damaged"):
        load_or_create_secret(path)


@pytest.mark.parametrize(
    "written",
    ["DOB 14-MAR-1958.", "born 14 Mar 1958", "dob: Mar 14, 1958", "14MAR1958", "14/03/1958", "1958-03-14"],
)
def test_birth_date_in_any_common_form_is_cleaned_from_free_text(written):
    """A birth date typed into a kept descriptor (sample data writes DD-MON-YYYY) must not survive."""
    from pydicom.dataset import Dataset

    from casefiles.deid import Deidentifier

    ds = Dataset()
    ds.PatientName = "QUIMBY^EUSTACE"
    ds.PatientID = "MRN77120934"
    ds.PatientBirthDate = "19580314"
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.SOPInstanceUID = "1.2.3.4.5.6"
    ds.StudyInstanceUID = "1.2.3.4.5"
    ds.SeriesInstanceUID = "1.2.3.4.5.1"
    ds.Modality = "CT"
    ds.AdditionalPatientHistory = f"Pt QUIMBY, {written} Smoker."
    out = Deidentifier(b"k" * 32).deidentify(ds).dataset
    history = str(out.get("AdditionalPatientHistory", ""))
    assert "1958" not in history and "QUIMBY" not in history


def test_a_file_casedeck_exported_can_be_deidentified_again():
    """Re-importing CaseDeck's own output (a package, a shared file) must not trip the leak check
    on the engine's own words (the pseudonym's CASEDECK and the file meta's version name)."""
    from pydicom.data import get_testdata_file

    from casefiles.deid import Deidentifier

    first = Deidentifier(b"a" * 32).deidentify(pydicom.dcmread(get_testdata_file("CT_small.dcm"))).dataset
    buffer = io.BytesIO()
    first.save_as(buffer, enforce_file_format=True)
    again = Deidentifier(b"b" * 32).deidentify(pydicom.dcmread(io.BytesIO(buffer.getvalue())))
    assert str(again.dataset.PatientName).startswith("CASEDECK^")
    assert again.dataset.SOPInstanceUID != first.SOPInstanceUID


def test_a_deidentifier_pickles_as_its_recipe_and_gives_the_same_output():
    """Import workers receive the de-identifier through a pipe; it must behave identically there."""
    import pickle

    from pydicom.data import get_testdata_file

    from casefiles.deid import TEACHING_FILE, Deidentifier

    original = Deidentifier(b"p" * 32, TEACHING_FILE)
    copy_ = pickle.loads(pickle.dumps(original))
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    assert copy_.profile == original.profile
    assert copy_.deidentify(ds).dataset.SOPInstanceUID == original.deidentify(ds).dataset.SOPInstanceUID
