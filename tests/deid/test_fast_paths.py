"""The shortcuts that make de-identification fast must decide exactly as the slow, obvious way would."""

from __future__ import annotations

import io
from collections.abc import Callable

import pydicom
import pytest
from pydicom.dataset import Dataset

from casefiles.deid import TEACHING_FILE, Deidentifier
from casefiles.deid.identifiers import REMOVED, PatientIdentifiers, birth_date_forms, clean_text
from casefiles.deid.leaks import LeakNeedles, find_leaks, iter_leaks
from casefiles.ingest.reading import encode, source_syntax

from .conftest import PHI, SECRET, make_phi_ct

IDENTIFIERS = PatientIdentifiers(
    patient_names=(f"{PHI['family']}^{PHI['given']}",),
    ids=(PHI["patient_id"], "12345", "ABC\x00DEFGH"),
    birth_dates=birth_date_forms(PHI["birth"]),
    staff_names=(PHI["referrer"],),
    places=(PHI["institution"],),
)
KEY_UID = "1.2.826.0.1.3680043.8.498.77"
NEEDLES = LeakNeedles.build(IDENTIFIERS, uids={KEY_UID}, embedded_uids={KEY_UID})
ASCII_NEEDLES = LeakNeedles.build(
    PatientIdentifiers((f"{PHI['family']}^{PHI['given']}",), (PHI["patient_id"],), (), (), ()),
    embedded_uids={KEY_UID},
)


def _base() -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = "CASEDECK^ABC123"
    ds.Modality = "CT"
    ds.SeriesDescription = "Axial 5mm"
    ds.InstanceNumber = "12345"
    ds.Manufacturer = "GE MEDICAL SYSTEMS"
    return ds


def _set(**values: object) -> Callable[[Dataset], None]:
    def plant(ds: Dataset) -> None:
        for keyword, value in values.items():
            setattr(ds, keyword, value)

    return plant


PLANTS = {
    "clean": _set(),
    "name in lower case": _set(SeriesDescription=f"axial {PHI['family'].lower()}"),
    "name inside a longer word (not a leak)": _set(SeriesDescription=f"{PHI['family']}ville"),
    "name as the whole value": _set(StudyDescription=PHI["given"]),
    "name with a long s (Unicode case folding)": _set(ImageComments="by Strangelove".replace("S", "\u017f")),
    "name next to non-ASCII text": _set(ImageComments=f"Befund {PHI['family']} über"),
    "ID split across two elements (not a leak)": _set(StudyDescription="PID-47", SeriesDescription="11-XY"),
    "birth date split across two elements (not a leak)": _set(StudyDescription="1961", SeriesDescription="0312"),
    "birth date in a longer number": _set(ImageComments="ref 9919610312"),
    "ID holding a NUL": _set(ImageComments="ABC\x00DEFGH"),
    "birth date in a number string": _set(AcquisitionNumber="19610312"),
    "short ID in a number string (not a leak)": _set(AcquisitionNumber="12345"),
    "replaced UID kept": _set(StudyInstanceUID=KEY_UID),
    "replaced UID inside text": _set(DerivationDescription=f"from {KEY_UID}"),
    "name in a sequence": _set(ContentSequence=[Dataset()]),
}


def _planted(name: str) -> Dataset:
    ds = _base()
    PLANTS[name](ds)
    if name == "name in a sequence":
        ds.ContentSequence[0].TextValue = f"seen by {PHI['given']}"
    return ds


@pytest.mark.parametrize("name", sorted(PLANTS))
@pytest.mark.parametrize("needles", [NEEDLES, ASCII_NEEDLES], ids=["with-NUL-needle", "ascii-needles"])
def test_the_one_pass_leak_search_finds_what_the_element_by_element_scan_finds(name: str, needles: LeakNeedles) -> None:
    for ds in (_planted(name), pydicom.dcmread(io.BytesIO(_written(_planted(name))), force=True)):
        assert find_leaks(ds, needles) == tuple(iter_leaks(ds, needles))


def test_the_planted_values_above_are_found_where_they_should_be() -> None:
    """The comparison above would pass vacuously if nothing were ever found: these must be."""
    assert find_leaks(_planted("name with a long s (Unicode case folding)"), NEEDLES) == ("ImageComments",)
    assert find_leaks(_planted("name next to non-ASCII text"), NEEDLES) == ("ImageComments",)
    assert find_leaks(_planted("ID holding a NUL"), NEEDLES) == ("ImageComments",)
    assert find_leaks(_planted("birth date in a number string"), NEEDLES) == ("AcquisitionNumber",)
    assert find_leaks(_planted("name in a sequence"), ASCII_NEEDLES) == ("ContentSequence[0] > TextValue",)
    assert find_leaks(_planted("ID split across two elements (not a leak)"), ASCII_NEEDLES) == ()


def _written(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, ds, implicit_vr=False, little_endian=True)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Axial 5mm", "Axial 5mm"),
        (f"CT {PHI['family']} chest", f"CT {REMOVED} chest"),
        ("seen by \u017ftrangelove", f"seen by {REMOVED}"),  # re's Unicode case folding: long s is s
        (f"Befund {PHI['given']} über", f"Befund {REMOVED} über"),
        ("MRN \u0661\u0662\u0663\u0664\u0665\u0666\u0667", f"MRN {REMOVED}"),  # Arabic-Indic digits are \\d
        ("mail jq@example.org", f"mail {REMOVED}"),
    ],
)
def test_cleaning_skips_nothing_a_regex_would_have_cut(text: str, expected: str) -> None:
    assert clean_text(text, IDENTIFIERS.cleaning_pattern()) == expected


def test_values_the_engine_writes_read_back_as_written() -> None:
    """Engine-made values (pseudonym, shifted dates, remapped UIDs, cleaned text) are encoded by the
    engine itself: read back from the stored bytes they are the values the engine chose."""
    source = make_phi_ct()
    source.SpecificCharacterSet = "ISO_IR 100"
    source.SeriesDescription = f"Axial ± {PHI['given']} 5mm"
    deidentifier = Deidentifier(SECRET, TEACHING_FILE)
    result = deidentifier.deidentify(source)
    stored = pydicom.dcmread(io.BytesIO(encode(result.dataset, fallback_syntax=source_syntax(source))))
    name, pid = deidentifier.pseudonym(PHI["patient_id"], PHI["issuer"])
    assert (str(stored.PatientName), stored.PatientID) == (name, pid)
    assert stored.StudyInstanceUID == deidentifier.remap_uid(source.StudyInstanceUID)
    assert stored.file_meta.MediaStorageSOPInstanceUID == deidentifier.remap_uid(source.SOPInstanceUID)
    assert stored.StudyDate != source.StudyDate and len(stored.StudyDate) == 8
    assert stored.SeriesDescription == f"Axial ± {REMOVED} 5mm"
    assert stored.StudyDescription.startswith("CT chest [removed]")
