"""The OpenCV text gate: every planted line is a candidate, texture mostly is not."""

import numpy as np
import pytest

from casefiles.errors import ValidationError
from casefiles.redaction.gate import candidate_lines, gray_frame
from tests.support.burned_in import (
    boxed_share,
    ct_phantom,
    ct_screen_save,
    dose_report,
    ink_covered,
    photo_texture,
    ultrasound_frame,
)


@pytest.mark.parametrize("seed", range(12))
def test_ct_screen_save_header_lines_are_candidates(seed):
    frame = ct_screen_save(seed)
    boxes = candidate_lines(frame.pixels)
    for field in frame.fields:
        assert ink_covered(field, boxes) >= 0.9, field.kind


@pytest.mark.parametrize("seed", range(3))
def test_ultrasound_banner_fields_are_candidates(seed):
    frame = ultrasound_frame(seed)
    boxes = candidate_lines(gray_frame(frame.pixels))
    for field in frame.fields:
        assert ink_covered(field, boxes) >= 0.9, field.kind


def test_dark_text_on_a_light_page_is_found():
    frame = dose_report(1)
    boxes = candidate_lines(frame.pixels)
    for field in frame.fields:
        assert ink_covered(field, boxes) >= 0.9, field.kind


@pytest.mark.parametrize("seed", range(4))
def test_photo_texture_keeps_almost_all_its_pixels(seed):
    image = photo_texture(seed)
    assert boxed_share(image.shape, candidate_lines(gray_frame(image))) < 0.005


def test_text_free_ct_slices_rarely_reach_the_recogniser():
    passed = sum(1 for seed in range(40) if candidate_lines(ct_phantom(seed)))
    assert passed <= 12  # the recogniser drops these; the gate only has to keep them few


def test_boxes_lie_inside_the_frame_and_the_frame_is_untouched():
    frame = ct_screen_save(3)
    before = frame.pixels.copy()
    height, width = frame.pixels.shape
    boxes = candidate_lines(frame.pixels)
    assert boxes
    for box in boxes:
        assert 0 <= box.x < box.right <= width and 0 <= box.y < box.bottom <= height
    assert np.array_equal(frame.pixels, before)


def test_tiny_and_blank_frames_have_no_candidates():
    assert candidate_lines(np.zeros((1, 1), np.uint8)) == []
    assert candidate_lines(np.zeros((7, 300), np.uint8)) == []
    assert candidate_lines(np.full((256, 256), 255, np.uint8)) == []


def test_colour_text_keeps_its_contrast_in_gray():
    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[0, 0] = (255, 220, 0)  # yellow readout
    rgb[0, 1] = (0, 0, 255)  # blue: dark in luminance, bright in its own channel
    gray = gray_frame(rgb)
    assert gray[0, 0] == 255 and gray[0, 1] == 255


@pytest.mark.parametrize(
    "bad",
    [np.zeros((10, 10), np.uint16), np.zeros((10, 10, 3), np.uint8), np.zeros((2, 10, 10), np.uint8), [[0, 1]]],
)
def test_candidate_lines_wants_a_2d_uint8_frame(bad):
    with pytest.raises(ValidationError):
        candidate_lines(bad)


def test_gray_frame_refuses_deep_data():
    with pytest.raises(ValidationError):
        gray_frame(np.zeros((10, 10), np.int16))
