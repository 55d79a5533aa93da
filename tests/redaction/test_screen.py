"""Screening frames for burned-in text: the gate's candidates read by the recogniser, text boxed, rest left alone."""

import numpy as np
import pytest

from casefiles.errors import DeidentificationError
from casefiles.redaction import recognise, screen
from casefiles.redaction.screen import Screening, is_harmless, screen_dataset, screen_frames
from tests.support.burned_in import (
    boxed_share,
    ct_hu,
    ct_phantom,
    ct_screen_save,
    dicom_image,
    dose_report,
    draw_field,
    ink_covered,
    photo_texture,
    ultrasound_cine,
    ultrasound_frame,
)


def _assert_fields_boxed(fields, boxes):
    for field in fields:
        assert ink_covered(field, boxes) >= 0.9, field.kind


@pytest.mark.parametrize("seed", range(6))
def test_ct_screen_save_header_is_boxed(seed):
    frame = ct_screen_save(seed)
    result = screen_frames([frame.pixels], modality="CT")
    assert result.has_text
    _assert_fields_boxed(frame.fields, result.boxes[0])


def test_ultrasound_banner_is_boxed_and_the_fan_is_not():
    frame = ultrasound_frame(2)
    result = screen_frames([frame.pixels], modality="US")
    _assert_fields_boxed(frame.fields, result.boxes[0])
    fan = (slice(100, 600), slice(200, 800))
    for box in result.boxes[0]:
        assert not (box.y < fan[0].stop and box.bottom > fan[0].start and box.x < fan[1].stop and box.right > 800)


def test_dark_text_on_light_is_boxed():
    frame = dose_report(2)
    _assert_fields_boxed(frame.fields, screen_frames([frame.pixels]).boxes[0])


def test_text_free_images_get_no_boxes():
    frames = [ct_phantom(seed) for seed in range(30)]
    frames += [ct_phantom(seed, center=-600, width=1500) for seed in range(10)]
    frames += [ultrasound_frame(seed, with_text=False).pixels for seed in range(3)]
    frames += [photo_texture(seed) for seed in range(3)]
    result = screen_frames(frames)
    assert not result.has_text
    assert result.boxes == ((),) * len(frames)


@pytest.mark.parametrize("seed", range(3))
def test_boxes_on_texture_cover_under_half_a_percent(seed):
    image = photo_texture(seed)
    result = screen_frames([image])
    assert boxed_share(image.shape, result.boxes[0]) < 0.005


def test_cine_reads_each_static_region_once(monkeypatch):
    cine = ultrasound_cine(frames=20)
    per_frame = len(screen_frames([cine[0].pixels], modality="US").boxes[0])
    crops_read = []
    real = screen.read_lines

    def counting(crops):
        crops_read.append(len(crops))
        return real(crops)

    monkeypatch.setattr(screen, "read_lines", counting)
    result = screen_frames(np.stack([frame.pixels for frame in cine]), modality="US")
    assert result.frames == 20
    for frame, boxes in zip(cine, result.boxes, strict=True):
        _assert_fields_boxed(frame.fields, boxes)
    assert per_frame >= len(cine[0].fields) - 1  # fields may share a line
    assert sum(crops_read) == result.regions_read
    # distinct regions, not frames × regions: the overlay is read once, moving tissue adds a little
    assert result.regions_read <= result.candidates / 5
    assert result.candidates >= 20 * per_frame


def test_allow_listed_readouts_stay_unboxed_and_identifiers_do_not():
    image = np.zeros((200, 400), np.uint8)
    draw_field(image, "R", (20, 40), kind="orientation", height_px=16)
    draw_field(image, "5 cm", (300, 40), kind="scale", height_px=14)
    name = draw_field(image, "PENNYWORTH, ALFRED", (20, 150), kind="name", height_px=14)
    result = screen_frames([image])
    assert result.harmless_regions >= 1
    assert len(result.boxes[0]) == 1
    _assert_fields_boxed([name], result.boxes[0])


@pytest.mark.parametrize(
    ("text", "harmless"),
    [
        ("R", True),
        ("5 cm", True),
        ("WL: 40 WW: 400", True),
        ("120 kV 250 mAs", True),
        ("SUP", True),
        ("", False),
        ("DOB 17/04/1953", False),
        ("3/4/53", False),
        ("MRN 77120934", False),
        ("1953", False),
        ("Smith", False),
        ("R Smith", False),
    ],
)
def test_allow_list(text, harmless):
    assert is_harmless(text) is harmless


def test_modality_readouts_are_harmless_only_for_their_modality():
    assert is_harmless("GAIN 50 DEPTH 16", "US")
    assert not is_harmless("GAIN 50 DEPTH 16", "CT")


def test_the_result_never_holds_what_was_read():
    frame = ct_screen_save(1)
    result = screen_frames([frame.pixels])
    assert set(Screening.__slots__) == {"boxes", "candidates", "regions_read", "text_regions", "harmless_regions"}
    assert "Berg" not in repr(result) and "DOB" not in repr(result)
    reading = recognise.read_lines([frame.pixels[440:470, :200]])[0]
    assert reading.text and reading.text not in repr(reading)


# -- DICOM -----------------------------------------------------------------------------------------------------


def _ct_with_header(seed, *, signed, photometric="MONOCHROME2"):
    """A 12-bit CT slice (HU + 1024, or signed HU) with the header drawn at the top stored value."""
    hu = ct_hu(seed)
    frame = ct_screen_save(seed)  # same layout; its ink tells where to draw
    values = np.rint(hu).clip(-1024, 3071)
    top = 3071 if signed else 4095
    stored = values if signed else values + 1024
    for field in frame.fields:
        stored[field.ink] = top
    if photometric == "MONOCHROME1":
        stored = (top if not signed else 3071) - stored + (0 if not signed else -1024)
    return dicom_image(stored, modality="CT", bits=16 if signed else 12, signed=signed, photometric=photometric), frame


@pytest.mark.parametrize(
    ("signed", "photometric"), [(True, "MONOCHROME2"), (False, "MONOCHROME2"), (False, "MONOCHROME1")]
)
def test_screen_dataset_deep_grayscale(signed, photometric):
    ds, frame = _ct_with_header(4, signed=signed, photometric=photometric)
    result = screen_dataset(ds)
    assert result.frames == 1
    _assert_fields_boxed(frame.fields, result.boxes[0])


def test_screen_dataset_multiframe_colour_cine():
    cine = ultrasound_cine(frames=6)
    ds = dicom_image(np.stack([frame.pixels for frame in cine]), modality="US")
    result = screen_dataset(ds)
    assert result.frames == 6
    for frame, boxes in zip(cine, result.boxes, strict=True):
        _assert_fields_boxed(frame.fields, boxes)
    redact_boxes = result.all_boxes()
    for frame in cine:
        _assert_fields_boxed(frame.fields, redact_boxes)


def test_screen_dataset_text_free_ct_has_no_boxes():
    hu = ct_hu(9)
    ds = dicom_image(np.rint(hu).clip(-1024, 3071), modality="CT", bits=16, signed=True)
    assert not screen_dataset(ds).has_text


def test_missing_recogniser_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(recognise.importlib.util, "find_spec", lambda name: None)
    recognise._session.cache_clear()
    try:
        with pytest.raises(DeidentificationError, match="recogniser is not installed"):
            screen_frames([ct_screen_save(0).pixels])
    finally:
        monkeypatch.undo()
        recognise._session.cache_clear()


def test_frames_without_candidates_never_load_the_recogniser(monkeypatch):
    monkeypatch.setattr(screen, "read_lines", lambda crops: pytest.fail("nothing to read"))
    result = screen_frames([np.zeros((64, 64), np.uint8)] * 3)
    assert result == Screening(boxes=((), (), ()), candidates=0, regions_read=0, text_regions=0, harmless_regions=0)
