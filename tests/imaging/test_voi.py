"""Windowing: what grey level a clinician sees for a given value."""

from __future__ import annotations

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from casefiles.errors import RenderError, ValidationError
from casefiles.imaging import auto_window, default_window, modality_frame, presets_for, to_display
from casefiles.model import Window


def _ramp_dataset(gray, values, **attrs) -> tuple[Dataset, np.ndarray]:
    ds = gray(np.asarray(values, dtype=np.int16).reshape(1, -1))
    for keyword, value in attrs.items():
        setattr(ds, keyword, value)
    return ds, modality_frame(ds)


def test_lung_and_bone_presets_show_different_tissues(testdata):
    ds = testdata("CT_small.dcm")
    hu = modality_frame(ds)
    lung = to_display(ds, hu, presets_for("CT")["lung"])
    bone = to_display(ds, hu, presets_for("CT")["bone"])
    air = hu <= -500
    dense = hu >= 150
    assert air.any() and dense.any()
    # Bone window: air is black; dense structures keep detail (not burnt out).
    assert (bone[air] == 0).all()
    assert (bone[dense] < 255).all()
    assert len(np.unique(bone[dense])) > 10
    # Lung window: dense structures are plain white; air-filled regions keep detail.
    assert (lung[dense] == 255).all()
    assert (lung[air] > 0).all()
    assert len(np.unique(lung[air])) > 10


def test_brain_window_air_black_bone_white(testdata):
    ds = testdata("CT_small.dcm")
    hu = modality_frame(ds)
    brain = to_display(ds, hu, presets_for("CT")["brain"])
    assert (brain[hu <= 0] == 0).all()
    assert (brain[hu >= 80] == 255).all()


def test_linear_window_follows_the_standard_formula(gray):
    # PS3.3 C.11.2.1.2.1 for c=40, w=80: x <= -0.5 -> 0, x > 78.5 -> 255, else linear.
    ds, values = _ramp_dataset(gray, [-1000, -1, 0, 39, 40, 78, 79, 1000])
    out = to_display(ds, values, Window(center=40, width=80))
    expected = np.clip(((values - 39.5) / 79 + 0.5) * 255, 0, 255)
    expected[values <= -0.5] = 0
    expected[values > 78.5] = 255
    np.testing.assert_allclose(out.astype(float), expected, atol=0.5 + 1e-6)
    assert out[0, 0] == 0 and out[0, -1] == 255


def test_narrower_window_gives_more_contrast(gray):
    ds, values = _ramp_dataset(gray, np.arange(0, 101))
    wide = to_display(ds, values, Window(center=50, width=400)).astype(int)
    narrow = to_display(ds, values, Window(center=50, width=50)).astype(int)
    assert narrow[0, 75] - narrow[0, 25] > wide[0, 75] - wide[0, 25]


def test_window_width_one_is_a_threshold(gray):
    ds, values = _ramp_dataset(gray, [9, 10, 11])
    np.testing.assert_array_equal(to_display(ds, values, Window(center=10, width=1)), [[0, 255, 255]])


def test_sigmoid_voi_function(gray):
    ds, values = _ramp_dataset(gray, [-400, 0, 40, 80, 480], VOILUTFunction="SIGMOID")
    out = to_display(ds, values, Window(center=40, width=80))[0].astype(int)
    assert abs(out[2] - 128) <= 1  # the centre maps to mid-grey
    assert out[0] == 0 and out[-1] == 255
    assert list(out) == sorted(out)
    linear = to_display(gray(np.zeros((1, 1), np.int16)), values, Window(center=40, width=80))[0].astype(int)
    assert out[1] != linear[1]  # the curve differs from the linear ramp at the edges


def test_monochrome1_is_inverted(testdata):
    mono2 = testdata("MR_small.dcm")
    mono1 = testdata("MR_small.dcm")
    mono1.PhotometricInterpretation = "MONOCHROME1"
    values = modality_frame(mono2)
    window = Window(center=1000, width=1500)
    normal = to_display(mono2, values, window)
    inverted = to_display(mono1, modality_frame(mono1), window)
    np.testing.assert_array_equal(inverted, 255 - normal)
    brightest = np.unravel_index(np.argmax(values), values.shape)
    assert inverted[brightest] == 0  # high values look dark


def test_voi_lut_sequence_used_without_explicit_window(gray):
    ds, values = _ramp_dataset(gray, [0, 1, 2, 3, 50])
    item = Dataset()
    item.LUTDescriptor = [4, 0, 8]
    item.LUTData = [255, 170, 85, 0]  # an inverting LUT
    ds.VOILUTSequence = Sequence([item])
    ds.WindowCenter, ds.WindowWidth = "2", "4"  # the LUT takes precedence over the header window
    np.testing.assert_array_equal(to_display(ds, values, None), [[255, 170, 85, 0, 0]])
    # An explicit window (the presenter's choice) overrides the LUT.
    explicit = to_display(ds, values, Window(center=25, width=50))
    assert explicit[0, 0] < explicit[0, -1]


def test_voi_lut_16_bit_output_scaled_to_8_bits(gray):
    ds, values = _ramp_dataset(gray, [10, 11, 12])
    item = Dataset()
    item.LUTDescriptor = [3, 10, 12]
    item.LUTData = [0, 2048, 4095]
    ds.VOILUTSequence = Sequence([item])
    np.testing.assert_array_equal(to_display(ds, values, None), [[0, 128, 255]])


def test_without_window_uses_header_window_then_auto(testdata):
    ds = testdata("MR_small.dcm")
    values = modality_frame(ds)
    header = to_display(ds, values, None)
    np.testing.assert_array_equal(header, to_display(ds, values, Window(600, 1600)))
    del ds.WindowCenter
    del ds.WindowWidth
    auto = to_display(ds, values, None)
    np.testing.assert_array_equal(auto, to_display(ds, values, auto_window(values)))
    assert not np.array_equal(header, auto)


def test_colour_passes_through_unchanged(testdata):
    ds = testdata("SC_rgb_rle.dcm")
    rgb = modality_frame(ds)
    np.testing.assert_array_equal(to_display(ds, rgb, Window(0, 10)), rgb)


@pytest.mark.parametrize("bad", [np.zeros((0, 0)), np.zeros((2, 2, 2, 2)), np.array([["a"]])])
def test_to_display_rejects_non_images(gray, bad):
    with pytest.raises(RenderError):
        to_display(gray(np.zeros((1, 1), np.uint8)), bad, None)


def test_default_window_first_of_many_values(testdata):
    ds = testdata("CT_small.dcm")
    assert default_window(ds) is None
    ds.WindowCenter = [40, 400]
    ds.WindowWidth = [80, 1800]
    assert default_window(ds) == Window(center=40, width=80)


def test_default_window_from_bundled_header(testdata):
    assert default_window(testdata("MR_small.dcm")) == Window(center=600, width=1600)


def test_default_window_ignores_unusable_header_values(testdata):
    ds = testdata("MR_small.dcm")
    ds.WindowWidth = "0"
    assert default_window(ds) is None


def test_default_window_none_for_colour(testdata):
    assert default_window(testdata("examples_palette.dcm")) is None
    assert default_window(testdata("SC_rgb_rle.dcm")) is None


def test_default_window_per_frame_functional_groups(gray):
    ds = gray(np.zeros((3, 2, 2), dtype=np.int16))
    ds.WindowCenter, ds.WindowWidth = "0", "10"
    shared = Dataset()
    voi = Dataset()
    voi.WindowCenter, voi.WindowWidth = "5", "50"
    shared.FrameVOILUTSequence = Sequence([voi])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    groups = [Dataset(), Dataset(), Dataset()]
    own = Dataset()
    own.WindowCenter, own.WindowWidth = ["300", "40"], ["1500", "400"]
    groups[2].FrameVOILUTSequence = Sequence([own])
    ds.PerFrameFunctionalGroupsSequence = Sequence(groups)
    assert default_window(ds, 0) == Window(center=5, width=50)  # shared
    assert default_window(ds, 2) == Window(center=300, width=1500)  # the frame's own, first value
    with pytest.raises(RenderError):
        default_window(ds, 3)


def test_auto_window_ignores_outliers():
    rng = np.random.default_rng(7)
    values = rng.normal(100, 10, size=(200, 200)).astype(np.float32)
    values[0, :50] = 30000  # a few hot pixels
    values[1, :50] = -30000
    window = auto_window(values)
    assert 90 < window.center < 110
    assert 40 < window.width < 100


def test_auto_window_constant_and_tiny_images():
    assert auto_window(np.full((1, 1), 5.0)) == Window(center=5, width=1)
    assert auto_window(np.array([[0.0, np.nan, 10.0]])).width >= 1


def test_auto_window_on_huge_image_samples_but_matches():
    values = np.tile(np.arange(4096, dtype=np.float32), (4096, 1))
    window = auto_window(values)
    assert abs(window.center - 2047.5) < 5
    assert abs(window.width - 4095 * 0.99) < 10


@pytest.mark.parametrize("bad", [np.array([]), np.array([np.nan, np.inf]), np.array(["x"])])
def test_auto_window_without_usable_values_raises(bad):
    with pytest.raises(RenderError):
        auto_window(bad)


def test_to_display_rejects_a_non_window(gray):
    ds = gray(np.zeros((1, 1), np.uint8))
    with pytest.raises(ValidationError):
        to_display(ds, np.zeros((1, 1), np.float32), (40, 80))  # type: ignore[arg-type]


def test_header_without_pixels_still_gives_window_and_display(testdata):
    from pydicom import dcmread
    from pydicom.data import get_testdata_file

    full = testdata("MR_small.dcm")
    header = dcmread(get_testdata_file("MR_small.dcm"), stop_before_pixels=True)
    assert default_window(header) == Window(center=600, width=1600)
    values = modality_frame(full)
    np.testing.assert_array_equal(to_display(header, values, None), to_display(full, values, None))
