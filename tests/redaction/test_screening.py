from pydicom.uid import SecondaryCaptureImageStorage

from casefiles.redaction import likely_has_burned_in_text
from tests.redaction.synthetic import ct_header, secondary_capture_16bit, ultrasound


def test_ultrasound_with_burned_in_annotation_is_flagged_with_both_reasons():
    yes, reasons = likely_has_burned_in_text(ultrasound(frames=1))
    assert yes
    assert any("Burned In Annotation" in r for r in reasons)
    assert any("modality US" in r for r in reasons)
    assert not any("QUIMBY" in r or "MRN" in r for r in reasons)


def test_plain_ct_is_not_flagged():
    assert likely_has_burned_in_text(ct_header()) == (False, ())


def test_ct_screen_capture_is_flagged_for_sop_class_and_image_type():
    ds = ct_header()
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.ImageType = ["DERIVED", "SECONDARY"]
    yes, reasons = likely_has_burned_in_text(ds)
    assert yes
    assert any("Secondary Capture" in r for r in reasons)
    assert any("SECONDARY" in r for r in reasons)


def test_secondary_capture_modality_ot_is_flagged():
    yes, reasons = likely_has_burned_in_text(secondary_capture_16bit())
    assert yes
    assert any("modality OT" in r for r in reasons)
