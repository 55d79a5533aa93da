"""Pixel redaction with known boxes (no OCR): every frame, every encoding, input untouched."""

import copy

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.pixels import pixel_array
from pydicom.uid import ExplicitVRLittleEndian, RLELossless

from casefiles.errors import DeidentificationError, ValidationError
from casefiles.redaction import Box, redact
from tests.redaction.synthetic import COLUMNS, ROWS, banner_mask, secondary_capture_16bit, ultrasound

BANNER = Box(0, 0, 400, 40)


def _outside(box: Box) -> np.ndarray:
    keep = np.ones((ROWS, COLUMNS), bool)
    keep[box.y : box.bottom, box.x : box.right] = False
    return keep


@pytest.mark.parametrize("encoding", ["native RGB", "RLE", "YBR_FULL"])
def test_box_is_black_in_every_frame_and_the_rest_is_unchanged(encoding):
    ds = ultrasound(photometric="YBR_FULL" if encoding == "YBR_FULL" else "RGB")
    if encoding == "RLE":
        ds.compress(RLELossless)
    before = copy.deepcopy(ds)
    expected = pixel_array(ds)  # decoded as a viewer would see it (YBR shown as RGB)

    out = redact(ds, [BANNER])

    assert ds == before and ds.PixelData == before.PixelData  # input untouched
    assert out.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert out.PhotometricInterpretation == "RGB"
    assert out.SOPInstanceUID == ds.SOPInstanceUID
    assert out.BurnedInAnnotation == "YES"  # the caller decides when to clear it
    got = pixel_array(out)
    assert got.shape == (6, ROWS, COLUMNS, 3)
    assert (got[:, banner_mask()] == 0).all()
    assert (got[:, :40, :400] == 0).all()
    keep = _outside(BANNER)
    assert np.array_equal(got[:, keep], expected[:, keep])
    assert not np.array_equal(got[:, ~keep], expected[:, ~keep])  # the banner really was there


def test_redacted_dataset_survives_a_write_and_read(tmp_path):
    out = redact(ultrasound(frames=2), [BANNER])
    path = tmp_path / "redacted.dcm"
    out.save_as(path, enforce_file_format=True)
    back = dcmread(path)
    assert back.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert (back.pixel_array[:, :40, :400] == 0).all()


def test_box_partly_outside_is_clipped_and_one_wholly_outside_is_ignored():
    ds = ultrasound(frames=2)
    expected = pixel_array(ds)
    partly, outside = Box(COLUMNS - 50, -20, 200, 60), Box(COLUMNS + 5, ROWS + 5, 10, 10)
    got = pixel_array(redact(ds, [partly, outside, Box(-30, -30, 10, 10)]))
    assert (got[:, :40, COLUMNS - 50 :] == 0).all()
    keep = _outside(Box(COLUMNS - 50, 0, 50, 40))
    assert np.array_equal(got[:, keep], expected[:, keep])


def test_no_boxes_gives_the_same_pixels_uncompressed():
    ds = ultrasound(frames=2)
    ds.compress(RLELossless)
    out = redact(ds, [])
    assert out.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert np.array_equal(pixel_array(out), pixel_array(ds))


def test_monochrome1_blanks_to_the_value_that_displays_black():
    ds = secondary_capture_16bit(photometric="MONOCHROME1")
    got = pixel_array(redact(ds, [BANNER]))
    assert (got[:40, :400] == 4095).all()  # MONOCHROME1: highest 12-bit value is black


def test_monochrome2_16bit_blanks_to_zero():
    got = pixel_array(redact(secondary_capture_16bit(), [BANNER]))
    assert (got[banner_mask()] == 0).all()


def test_signed_grayscale_blanks_to_the_lowest_value():
    ds = dcmread(get_testdata_file("MR_small_RLE.dcm"))  # signed 16-bit, RLE
    got = pixel_array(redact(ds, [Box(0, 0, 10, 10)]))
    assert (got[:10, :10] == -(2 ** (ds.BitsStored - 1))).all()
    assert np.array_equal(got[10:], pixel_array(ds)[10:])


def test_lossy_jpeg_cine_is_marked_lossy_and_comes_back_rgb():
    ds = dcmread(get_testdata_file("examples_ybr_color.dcm"))  # US, JPEG baseline, YBR_FULL_422, 30 frames
    out = redact(ds, [Box(0, 0, 50, 20)])
    assert out.LossyImageCompression == "01"
    assert out.PhotometricInterpretation == "RGB"
    assert out.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    got = pixel_array(out)
    assert got.shape == (30, 240, 320, 3)
    assert (got[:, :20, :50] == 0).all()


def test_undecodable_pixels_raise_a_plain_deidentification_error():
    ds = ultrasound(frames=2)
    ds.PixelData = ds.PixelData[:1000]  # truncated
    with pytest.raises(DeidentificationError) as excinfo:
        redact(ds, [BANNER])
    assert "QUIMBY" not in str(excinfo.value) and "MRN" not in str(excinfo.value)


def test_missing_pixels_and_bad_boxes_are_refused():
    ds = ultrasound(frames=1)
    del ds.PixelData
    with pytest.raises(DeidentificationError, match="no pixel data"):
        redact(ds, [BANNER])
    with pytest.raises(ValidationError):
        redact(ultrasound(frames=1), [(0, 0, 10, 10)])  # type: ignore[list-item]
