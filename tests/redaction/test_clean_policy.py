"""The burned-in text policy on whole images (casefiles.redaction.clean), bad input included.

Every image is screened; text is blanked on every frame; an image is held only when its text
could not be cleared, and then stored blank with its original returned for the review area.
Odd images (1×1, palette, signed 16-bit, YBR, long cines) are screened or refused, never passed
through unchecked.
"""

from __future__ import annotations

import numpy as np
import pytest
from pydicom.pixels import convert_color_space

from casefiles.errors import DeidentificationError
from casefiles.redaction.clean import clean_pixels
from casefiles.redaction.frames import iter_decoded, to_uint8
from tests.support.burned_in import (
    boxed_share,
    ct_phantom,
    ct_screen_save,
    dicom_image,
    ink_covered,
    photo_texture,
    ultrasound_cine,
)


def _pixels(ds) -> np.ndarray:  # type: ignore[no-untyped-def]
    return np.stack([to_uint8(p, props, ds) for p, props in iter_decoded(ds)])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_screen_save_without_burned_in_annotation_is_cleared_field_by_field(seed: int) -> None:
    shot = ct_screen_save(seed)
    ds = dicom_image(shot.pixels, modality="CT")
    outcome = clean_pixels(ds, suspicious=True)
    assert not outcome.held
    for field in shot.fields:
        assert ink_covered(field, outcome.boxes) >= 0.9, field.kind
    assert outcome.dataset.BurnedInAnnotation == "NO"
    assert boxed_share(shot.pixels.shape, outcome.boxes) < 0.05


def test_text_free_images_keep_every_pixel() -> None:
    for image in (ct_phantom(4), photo_texture(5)):
        ds = dicom_image(image, modality="CT" if image.ndim == 2 else "XC")
        outcome = clean_pixels(ds, suspicious=image.ndim == 3)
        assert outcome.boxes == () and not outcome.held
        assert outcome.dataset is ds


def test_a_cine_overlay_is_blanked_on_every_frame_and_the_speckle_is_kept() -> None:
    cine = ultrasound_cine(frames=12)
    ds = dicom_image(np.stack([f.pixels for f in cine]), modality="US")
    outcome = clean_pixels(ds, suspicious=True)
    assert not outcome.held
    frames = _pixels(outcome.dataset)
    for _frame, shot in zip(frames, cine, strict=True):
        for field in shot.fields:
            assert ink_covered(field, outcome.boxes) >= 0.9
    assert boxed_share(cine[0].pixels.shape, outcome.boxes) < 0.15
    assert frames.shape[0] == 12


def test_declared_text_that_nothing_can_find_is_held_blank_with_its_original() -> None:
    ds = dicom_image(ct_phantom(6), modality="CT")
    outcome = clean_pixels(ds, suspicious=True, declared=True)
    assert outcome.held and outcome.original is ds
    assert not _pixels(outcome.dataset).any(), "the library gets a blank placeholder"


@pytest.mark.parametrize(
    "make",
    [
        lambda: dicom_image(np.zeros((1, 1), np.uint8)),
        lambda: dicom_image((ct_phantom(7).astype(np.int32) * 8 - 1024).astype(np.int16), bits=16, signed=True),
        lambda: dicom_image(np.full((64, 64), 200, np.uint8), photometric="MONOCHROME1"),
    ],
    ids=["1x1", "signed-16-bit", "monochrome1"],
)
def test_odd_images_are_screened(make) -> None:  # type: ignore[no-untyped-def]
    outcome = clean_pixels(make(), suspicious=True)
    assert not outcome.held


def test_a_ybr_image_is_screened_and_its_text_found() -> None:
    shot = ct_screen_save(8)
    rgb = np.repeat(shot.pixels[..., None], 3, axis=2)
    ds = dicom_image(rgb, modality="OT")
    ds.PixelData = convert_color_space(rgb, "RGB", "YBR_FULL").tobytes()
    ds.PhotometricInterpretation = "YBR_FULL"
    outcome = clean_pixels(ds, suspicious=True)
    for field in shot.fields:
        assert ink_covered(field, outcome.boxes) >= 0.9


def test_pixels_that_cannot_be_decoded_are_refused() -> None:
    ds = dicom_image(ct_phantom(9), modality="CT")
    ds.PixelData = ds.PixelData[:100]
    with pytest.raises(DeidentificationError):
        clean_pixels(ds, suspicious=False)
