"""OCR with the real Tesseract: the banner is found, redaction removes it, clean images give nothing."""

import cv2
import numpy as np
import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.pixels import pixel_array
from pydicom.uid import RLELossless

from casefiles.errors import ValidationError
from casefiles.redaction import Box, find_burned_in_text, find_text, redact
from tests.helpers import require_tool
from tests.redaction.synthetic import COLUMNS, ROWS, banner_mask, secondary_capture_16bit, ultrasound

BANNER_STRIP = 46  # rows OCR-checked after redaction


@pytest.fixture(autouse=True)
def _tesseract():
    require_tool("tesseract")


def _covered(boxes: list[Box]) -> np.ndarray:
    covered = np.zeros((ROWS, COLUMNS), bool)
    for box in boxes:
        covered[box.y : box.bottom, box.x : box.right] = True
    return covered


def _boxes(ds) -> list[Box]:
    return [finding.box for finding in find_burned_in_text(ds)]


@pytest.mark.parametrize("encoding", ["native RGB", "RLE", "YBR_FULL"])
def test_ultrasound_banner_is_found_and_redacted_in_every_frame(encoding):
    ds = ultrasound(photometric="YBR_FULL" if encoding == "YBR_FULL" else "RGB")
    if encoding == "RLE":
        ds.compress(RLELossless)
    original = pixel_array(ds)

    boxes = _boxes(ds)

    text = banner_mask()
    covered = _covered(boxes)
    assert covered[text].all(), "some banner text pixels lie outside every box"
    assert covered[BANNER_STRIP:].sum() < 0.02 * covered.size  # boxes hug the banner, not the fan

    out = redact(ds, boxes)
    redacted = pixel_array(out)
    assert (redacted[:, text] == 0).all()
    assert np.array_equal(redacted[:, ~covered], original[:, ~covered])
    for frame in redacted:
        assert find_text(np.ascontiguousarray(frame[:BANNER_STRIP])) == []


def test_a_whole_redacted_frame_has_no_text_left_in_the_banner():
    ds = ultrasound(frames=3)
    out = redact(ds, _boxes(ds))
    findings = find_text(pixel_array(out, index=1))
    assert not any(f.box.y < BANNER_STRIP for f in findings)


def test_white_text_on_16bit_secondary_capture_is_found_and_blanked():
    ds = secondary_capture_16bit()
    boxes = _boxes(ds)
    assert _covered(boxes)[banner_mask()].all()
    got = pixel_array(redact(ds, boxes))
    assert (got[banner_mask()] == 0).all()


def test_images_without_text_give_no_findings():
    rng = np.random.default_rng(11)
    gradient = np.tile(np.linspace(0, 255, COLUMNS), (ROWS, 1)).astype(np.uint8)
    noise = rng.integers(0, 256, (ROWS, COLUMNS), dtype=np.uint8)
    fan_only = pixel_array(ultrasound(frames=1))
    fan_only[:BANNER_STRIP] = 0
    for image in (gradient, noise, fan_only):
        assert find_text(image) == []


def test_dark_text_on_a_light_page_is_found():
    page = np.full((ROWS, COLUMNS), 235, np.uint8)
    cv2.putText(page, "Patient QUIMBY EUSTACE ID 77120934", (20, 200), cv2.FONT_HERSHEY_SIMPLEX, 0.5, 20, 1)
    findings = find_text(page)
    assert len(findings) == 1
    assert _covered([findings[0].box])[page < 200].all()


def test_real_ultrasound_labels_are_found():
    ds = dcmread(get_testdata_file("examples_ybr_color.dcm"))  # pydicom's echo cine: small labels, toolbar
    boxes = _boxes(ds)
    covered = np.zeros((ds.Rows, ds.Columns), bool)
    for box in boxes:
        covered[box.y : box.bottom, box.x : box.right] = True
    assert covered[225:235, 40:280].mean() > 0.9  # the bottom toolbar ("Gen", "Sector", "Page 1/3")
    assert covered.mean() < 0.2  # the heart itself is left alone


def test_find_text_refuses_images_it_cannot_read():
    with pytest.raises(ValidationError, match="8-bit"):
        find_text(np.zeros((50, 50), np.uint16))
    with pytest.raises(ValidationError, match="shape"):
        find_text(np.zeros((2, 50, 50), np.uint8))
    with pytest.raises(ValidationError, match="min_confidence"):
        find_text(np.zeros((50, 50), np.uint8), min_confidence=150)


def test_frames_outside_the_image_are_refused():
    with pytest.raises(ValidationError, match="0 to 1"):
        find_burned_in_text(ultrasound(frames=2), frames=[2])


def test_ocr_writes_no_pixels_to_the_temp_folder(tmp_path, monkeypatch):
    """Identifiable frames must never be cached to disk outside the quarantine: OCR reads through pipes."""
    require_tool("tesseract")
    import tempfile

    spy = tmp_path / "tmp"
    spy.mkdir()
    monkeypatch.setenv("TMPDIR", str(spy))
    monkeypatch.setattr(tempfile, "tempdir", str(spy))
    ds = ultrasound(frames=1)
    assert find_burned_in_text(ds)
    assert list(spy.iterdir()) == []
