"""The built-in leak check: an identifier that survives the actions stops the instance."""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset

from casefiles.deid import Deidentifier, Option, Profile
from casefiles.deid.identifiers import PatientIdentifiers, birth_date_forms, clean_text
from casefiles.deid.leaks import LeakNeedles, find_leaks
from casefiles.errors import DeidentificationError

from .conftest import PHI, SECRET, make_phi_ct

IDENTIFIERS = PatientIdentifiers(
    patient_names=(f"{PHI['family']}^{PHI['given']}",),
    ids=(PHI["patient_id"], "12345"),
    birth_dates=birth_date_forms(PHI["birth"]),
    staff_names=(PHI["referrer"],),
    places=(PHI["institution"],),
)


def _clean_dataset() -> Dataset:
    ds = Dataset()
    ds.PatientName = "CASEDECK^ABC123"
    ds.Manufacturer = "GE MEDICAL SYSTEMS"
    ds.SeriesDescription = "Axial 5mm"
    ds.InstanceNumber = "12345"  # a short numeric ID colliding with a number is not a leak
    ds.Modality = "CT"
    return ds


def test_a_clean_dataset_has_no_leaks() -> None:
    assert find_leaks(_clean_dataset(), LeakNeedles.build(IDENTIFIERS)) == ()


@pytest.mark.parametrize(
    ("where", "plant"),
    [
        ("SeriesDescription", lambda ds: setattr(ds, "SeriesDescription", f"Axial {PHI['given'].lower()}")),
        ("(0011,1001)", lambda ds: ds.private_block(0x0011, "X", create=True).add_new(0x01, "LO", PHI["family"])),
        (
            "(0011,1002)",
            lambda ds: ds.private_block(0x0011, "X", create=True).add_new(
                0x02, "OB", b"x" + PHI["patient_id"].encode()
            ),
        ),
        ("(0011,1003)", lambda ds: ds.private_block(0x0011, "X", create=True).add_new(0x03, "UN", b"12/03/1961")),
        (
            "ContentSequence[0] > TextValue",
            lambda ds: (
                setattr(ds, "ContentSequence", [Dataset()])
                or setattr(ds.ContentSequence[0], "TextValue", "by Merkwurdig")
            ),
        ),
        ("ImageComments", lambda ds: setattr(ds, "ImageComments", f"at {PHI['institution']}")),
        ("StudyInstanceUID", lambda ds: setattr(ds, "StudyInstanceUID", "1.2.3.999.1")),
        ("DerivationDescription", lambda ds: setattr(ds, "DerivationDescription", "from 1.2.3.999.1 source")),
    ],
)
def test_the_scanner_finds_a_planted_identifier_and_names_only_its_place(where: str, plant: object) -> None:
    ds = _clean_dataset()
    plant(ds)  # type: ignore[operator]
    found = find_leaks(ds, LeakNeedles.build(IDENTIFIERS, uids={"1.2.3.999.1"}, embedded_uids={"1.2.3.999.1"}))
    assert found == (where,)


def test_an_option_that_keeps_a_name_in_a_private_tag_is_stopped() -> None:
    """Retain Safe Private keeps Philips' diffusion direction; a name planted there must not pass."""
    ds = make_phi_ct()
    ds.private_block(0x2001, "Philips Imaging DD 001", create=True).add_new(0x04, "CS", PHI["family"].upper())
    profile = Profile("safe-private", frozenset({Option.RETAIN_SAFE_PRIVATE}), "test")
    with pytest.raises(DeidentificationError, match=r"survived in \(2001,1004\)") as caught:
        Deidentifier(SECRET, profile).deidentify(ds)
    assert PHI["family"].lower() not in str(caught.value).lower()


def test_descriptor_cleaning_cuts_this_patients_identifiers_and_generic_patterns() -> None:
    pattern = IDENTIFIERS.cleaning_pattern()
    text = f"{PHI['given']} {PHI['family'].upper()} born 1961-03-12, id {PHI['patient_id']}"
    text += " tel +1 (555) 123-4567 MRN123456"
    cleaned = clean_text(text, pattern)
    for survivor in (PHI["given"], PHI["family"].upper(), "1961-03-12", PHI["patient_id"], "555", "123456"):
        assert survivor not in cleaned
    assert clean_text("T2 FLAIR 3D AX 5mm", pattern) == "T2 FLAIR 3D AX 5mm"
    assert (
        clean_text("SCANNER ROOM", PatientIdentifiers(("Ann^Li",), (), (), (), ()).cleaning_pattern()) == "SCANNER ROOM"
    )
