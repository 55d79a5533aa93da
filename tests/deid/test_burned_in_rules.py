"""The header rules that decide which images are read for burned-in text and held for review.

Finding 2 of the free-text/gate issue: a CT "screen save" with the patient's name in a corner
and no Burned In Annotation was never screened. Real captures rarely say what they are, so the
rules look at what a capture looks like from its header.
"""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset
from pydicom.uid import SecondaryCaptureImageStorage

from casefiles.deid.access import encoding_of
from casefiles.deid.burned_in import burned_in_reasons
from tests.redaction.synthetic import ct_header, secondary_capture_16bit, ultrasound


def reasons(ds: Dataset) -> tuple[str, ...]:
    return burned_in_reasons(ds, encoding_of(ds))


def test_ultrasound_with_burned_in_annotation_is_flagged_with_both_reasons_and_no_patient_data():
    found = reasons(ultrasound(frames=1))
    assert any("Burned In Annotation" in r for r in found)
    assert any("modality US" in r for r in found)
    assert not any("QUIMBY" in r or "MRN" in r for r in found)


def test_plain_ct_slice_is_not_held():
    assert reasons(ct_header()) == ()


def test_colour_mr_is_not_flagged_when_monochrome():
    ds = ct_header()
    ds.Modality = "MR"
    ds.PhotometricInterpretation = "MONOCHROME2"
    assert reasons(ds) == ()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda ds: setattr(ds, "ImageType", ["DERIVED", "SECONDARY", "SCREEN SAVE"]), "Image Type"),
        (lambda ds: setattr(ds, "ImageType", ["DERIVED", "SECONDARY", "OTHER", "CSA REPORT"]), "Image Type"),
        (lambda ds: setattr(ds, "ConversionType", "WSD"), "Conversion Type"),
        (lambda ds: setattr(ds, "PhotometricInterpretation", "RGB"), "colour image"),
        (lambda ds: setattr(ds, "SeriesDescription", "Dose Report"), "dose report"),
        (lambda ds: setattr(ds, "SeriesDescription", "SCREENSAVE"), "screen save"),
        (lambda ds: setattr(ds, "SOPClassUID", SecondaryCaptureImageStorage), "Secondary Capture"),
    ],
)
def test_ct_screen_save_without_burned_in_annotation_is_flagged(change, expected):
    ds = ct_header()
    assert "BurnedInAnnotation" not in ds
    change(ds)
    found = reasons(ds)
    assert any(expected in r for r in found), found


def test_burned_in_annotation_no_does_not_clear_a_capture():
    ds = secondary_capture_16bit()
    ds.BurnedInAnnotation = "NO"
    found = reasons(ds)
    assert any("modality OT" in r for r in found)
    assert any("Secondary Capture" in r for r in found)
