"""Clean Pixel Data in the engine: burned-in text found by OCR is blanked before anything is stored."""

import io

import numpy as np
import pydicom
import pytest

from casefiles.deid import PROFILES, TEACHING_FILE, Deidentifier
from casefiles.redaction import find_burned_in_text
from tests.helpers import require_tool
from tests.redaction.synthetic import banner_mask, ultrasound

SECRET = b"s" * 32


def ultrasound_with_patient() -> pydicom.Dataset:
    ds = ultrasound(frames=3)
    ds.PatientName = "QUIMBY^EUSTACE"
    ds.PatientID = "MRN77120934"
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.8.498.1"
    ds.SeriesInstanceUID = "1.2.826.0.1.3680043.8.498.2"
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.8.498.3"
    ds.Modality = "US"
    ds.BurnedInAnnotation = "YES"
    return ds


def codes(ds: pydicom.Dataset) -> set[str]:
    return {item.CodeValue for item in ds.DeidentificationMethodCodeSequence}


def test_teaching_profile_blanks_the_banner_and_says_so():
    require_tool("tesseract")
    result = Deidentifier(SECRET, TEACHING_FILE).deidentify(ultrasound_with_patient())
    out = result.dataset
    assert result.redacted, "the banner was found"
    assert result.report.regions_redacted == len(result.redacted)
    # Found, blanked on every frame, and nothing readable left: cleared, no review needed (issue #13).
    assert result.report.pixels_cleaned == 1 and result.report.needs_review == 0
    assert result.original is None
    assert out.BurnedInAnnotation == "NO"
    assert "113101" in codes(out)
    frames = out.pixel_array
    text = banner_mask()
    assert np.all(frames[:, text] == 0), "banner text is black in every frame"
    assert not find_burned_in_text(out)
    buffer = io.BytesIO()
    out.save_as(buffer, enforce_file_format=True)
    reread = pydicom.dcmread(io.BytesIO(buffer.getvalue()))
    # Stored losslessly compressed: uncompressed, a cleaned cine would grow about fourfold.
    assert reread.file_meta.TransferSyntaxUID == pydicom.uid.RLELossless
    assert len(buffer.getvalue()) < ultrasound_with_patient().PixelData.__len__()
    np.testing.assert_array_equal(reread.pixel_array, frames)


@pytest.mark.parametrize("profile", ["teaching-file-no-ocr", "basic"])
def test_without_clean_pixel_data_the_image_is_only_flagged(profile):
    result = Deidentifier(SECRET, PROFILES[profile]).deidentify(ultrasound_with_patient())
    assert result.redacted == ()
    assert result.report.needs_review == 1 and result.report.pixels_cleaned == 0
    assert result.dataset.BurnedInAnnotation == "YES"
    assert "113101" not in codes(result.dataset)


def test_suspect_image_without_readable_text_is_not_claimed_clean():
    require_tool("tesseract")
    ds = ultrasound_with_patient()
    ds.PixelData = np.zeros((3, ds.Rows, ds.Columns, 3), dtype=np.uint8).tobytes()
    result = Deidentifier(SECRET, TEACHING_FILE).deidentify(ds)
    assert result.redacted == () and result.report.pixels_cleaned == 0
    # The device says text is burned in and none was found: held, the original kept for the reviewer.
    assert result.report.needs_review == 1
    assert result.original is not None
    assert result.dataset.BurnedInAnnotation == "YES"
    assert "113101" not in codes(result.dataset)
