"""Decoding frames and applying the Modality LUT, across transfer syntaxes and colour models."""

from __future__ import annotations

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from casefiles.errors import RenderError
from casefiles.imaging import frame_count, modality_frame

LOSSLESS_MR_VARIANTS = [
    "MR_small_implicit.dcm",
    "MR_small_bigendian.dcm",
    "MR_small_expb.dcm",
    "MR_small_padded.dcm",
    "MR_small_RLE.dcm",
    "MR_small_jpeg_ls_lossless.dcm",
    "MR_small_jp2klossless.dcm",
    "MR_small_deflate.dcm",
]

# Colour bars in pydicom's SC_rgb test images: one 10-row band per colour, read at column 50.
BANDS = {
    5: (255, 0, 0),
    15: (255, 128, 128),
    25: (0, 255, 0),
    35: (128, 255, 128),
    45: (0, 0, 255),
    55: (128, 128, 255),
    65: (0, 0, 0),
    75: (64, 64, 64),
    85: (192, 192, 192),
    95: (255, 255, 255),
}
LOSSLESS_RGB = [
    "SC_rgb_rle.dcm",
    "SC_rgb_rle_16bit.dcm",
    "SC_rgb_rle_32bit.dcm",
    "SC_rgb_jpeg_gdcm.dcm",  # JPEG lossless, RGB
    "SC_rgb_gdcm_KY.dcm",  # JPEG 2000, RGB
]
LOSSY_OR_YBR_RGB = [
    "SC_rgb_dcmtk_+eb+cr.dcm",  # JPEG baseline stored as RGB
    "SC_rgb_dcmtk_+eb+cy+n1.dcm",  # YBR_FULL
    "SC_rgb_dcmtk_+eb+cy+np.dcm",  # YBR_FULL_422
    "SC_rgb_dcmtk_+eb+cy+s2.dcm",
    "SC_rgb_jpeg_dcmtk.dcm",
    "SC_rgb_jpeg_lossy_gdcm.dcm",
    "SC_ybr_full_422_uncompressed.dcm",
    "SC_rgb_jls_lossy_line.dcm",
    "SC_rgb_jls_lossy_sample.dcm",
]


def test_ct_frame_is_in_hounsfield_units(testdata):
    ds = testdata("CT_small.dcm")
    hu = modality_frame(ds)
    assert hu.dtype == np.float32
    assert hu.shape == (128, 128)
    # Rescale Intercept -1024: stored values shift down by 1024 HU.
    np.testing.assert_array_equal(hu, ds.pixel_array.astype(np.float32) - 1024)
    assert hu.min() < -800 < 0 < hu.max()


@pytest.mark.parametrize("name", LOSSLESS_MR_VARIANTS)
def test_lossless_transfer_syntaxes_decode_identically(testdata, name):
    reference = modality_frame(testdata("MR_small.dcm"))
    np.testing.assert_array_equal(modality_frame(testdata(name)), reference)


def test_near_lossless_jpeg_ls_stays_close(testdata):
    # No uncompressed twin ships, but a near-lossless frame must still look like an image.
    frame = modality_frame(testdata("JPEGLSNearLossless_16.dcm"))
    assert frame.shape == (50, 10)
    assert frame.dtype == np.float32
    assert float(frame.max()) > float(frame.min())


@pytest.mark.parametrize("name", LOSSLESS_RGB)
def test_lossless_rgb_colour_bars_come_out_exact(testdata, name):
    rgb = modality_frame(testdata(name))
    assert rgb.dtype == np.uint8
    assert rgb.shape == (100, 100, 3)
    for row, colour in BANDS.items():
        assert tuple(int(v) for v in rgb[row, 50]) == colour, f"row {row}"


@pytest.mark.parametrize("name", LOSSY_OR_YBR_RGB)
def test_ybr_and_lossy_rgb_come_out_as_rgb(testdata, name):
    rgb = modality_frame(testdata(name)).astype(int)
    assert rgb.shape == (100, 100, 3)
    for row, colour in BANDS.items():
        assert np.abs(rgb[row, 50] - np.array(colour)).max() <= 8, f"row {row}"
    red = rgb[5, 50]
    assert red[0] > 240 and red[1] < 15 and red[2] < 15  # a red patch is red, not blue (YBR/BGR mix-ups)


def test_odd_sized_rgb_in_three_syntaxes_agrees(testdata):
    native = modality_frame(testdata("SC_rgb_small_odd.dcm"))
    assert native.shape == (3, 3, 3)
    np.testing.assert_array_equal(modality_frame(testdata("SC_rgb_small_odd_big_endian.dcm")), native)
    jpeg = modality_frame(testdata("SC_rgb_small_odd_jpeg.dcm")).astype(int)
    assert np.abs(jpeg - native).max() <= 10


def test_palette_colour_is_looked_up(testdata):
    ds = testdata("examples_palette.dcm")
    rgb = modality_frame(ds)
    assert rgb.dtype == np.uint8
    assert rgb.shape == (ds.Rows, ds.Columns, 3)
    # Independent lookup: stored index -> 16-bit palette entries -> 8 bits.
    index = ds.pixel_array
    luts = [
        np.frombuffer(getattr(ds, f"{c}PaletteColorLookupTableData"), dtype="<u2") for c in ("Red", "Green", "Blue")
    ]
    expected = np.stack([np.rint(lut[index].astype(np.float64) * 255 / 65535) for lut in luts], axis=-1)
    np.testing.assert_array_equal(rgb, expected.astype(np.uint8))
    assert (rgb[..., 0] != rgb[..., 2]).any()  # it is in colour, not grey


def test_multiframe_frames_are_decoded_one_at_a_time_and_match(testdata):
    ds = testdata("examples_ybr_color.dcm")
    assert frame_count(ds) == 30
    everything = ds.pixel_array  # all frames, the slow way, as reference
    for index in (0, 14, 29):
        frame = modality_frame(ds, index)
        assert frame.shape == (240, 320, 3)
        np.testing.assert_array_equal(frame, everything[index])
    assert not np.array_equal(modality_frame(ds, 0), modality_frame(ds, 29))


def test_emri_multiframe_if_bundled(testdata):
    ds = testdata("emri_small.dcm")
    assert frame_count(ds) == 10
    np.testing.assert_array_equal(modality_frame(ds, 9), ds.pixel_array[9].astype(np.float32))


@pytest.mark.parametrize("name", ["rtdose.dcm", "rtdose_rle.dcm", "rtdose_expb.dcm"])
def test_multiframe_grey_frames_match_full_decode(testdata, name):
    ds = testdata(name)
    assert frame_count(ds) == 15
    everything = ds.pixel_array
    for index in (0, 7, 14):
        np.testing.assert_array_equal(modality_frame(ds, index), everything[index].astype(np.float32))


def test_two_frame_rgb_second_frame_is_the_inverse(testdata):
    ds = testdata("SC_rgb_rle_2frame.dcm")
    first, second = modality_frame(ds, 0), modality_frame(ds, 1)
    np.testing.assert_array_equal(second, 255 - first)
    assert tuple(int(v) for v in first[5, 50]) == (255, 0, 0)


def test_signed_values_with_unused_high_bits_are_read_correctly(gray):
    # 12 bits stored in 16, signed; the unused top 4 bits hold junk (as overlays once did).
    values = np.array([[-2048, -5, 0], [5, 2047, -1]], dtype=np.int16)
    ds = gray(values, bits_stored=12)
    stored = (values.astype(np.uint16) & 0x0FFF) | 0xA000
    ds.PixelData = stored.astype("<u2").tobytes()
    np.testing.assert_array_equal(modality_frame(ds), values.astype(np.float32))


def test_unsigned_12_bit_with_overlay_bits_ignored(testdata):
    ds = testdata("examples_overlay.dcm")
    frame = modality_frame(ds)
    assert frame.max() <= 4095  # overlay planes in bits 12-15 must not leak into values


def test_modality_lut_sequence_is_applied(gray):
    ds = gray(np.array([[0, 1, 2, 3, 10]], dtype=np.uint16), bits_stored=12)
    item = Dataset()
    item.LUTDescriptor = [4, 0, 16]
    item.LUTData = [100, 200, 300, 400]
    item.ModalityLUTType = "US"
    ds.ModalityLUTSequence = Sequence([item])
    # Values past the table take its last entry.
    np.testing.assert_array_equal(modality_frame(ds), np.array([[100, 200, 300, 400, 400]], dtype=np.float32))


def test_per_frame_rescale_from_functional_groups(gray):
    ds = gray(np.full((3, 2, 2), 10, dtype=np.uint16))
    shared = Dataset()
    transform = Dataset()
    transform.RescaleSlope = "1"
    transform.RescaleIntercept = "0"
    shared.PixelValueTransformationSequence = Sequence([transform])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    per_frame = []
    for intercept in ("-100", "0", "100"):
        group = Dataset()
        own = Dataset()
        own.RescaleSlope = "2"
        own.RescaleIntercept = intercept
        group.PixelValueTransformationSequence = Sequence([own])
        per_frame.append(group)
    ds.PerFrameFunctionalGroupsSequence = Sequence(per_frame)
    assert [float(modality_frame(ds, i)[0, 0]) for i in range(3)] == [-80.0, 20.0, 120.0]


def test_one_pixel_image(gray):
    frame = modality_frame(gray(np.array([[7]], dtype=np.uint8)))
    assert frame.shape == (1, 1)
    assert float(frame[0, 0]) == 7.0


def test_dataset_without_pixels_raises_render_error(testdata):
    with pytest.raises(RenderError, match="no image pixels"):
        modality_frame(testdata("rtplan.dcm"))
    with pytest.raises(RenderError, match="no image pixels"):
        frame_count(Dataset())


@pytest.mark.parametrize("frame", [1, 5, -1])
def test_out_of_range_frame_raises_render_error(testdata, frame):
    ds = testdata("CT_small.dcm")
    with pytest.raises(RenderError, match="does not exist; this image has 1 frame"):
        modality_frame(ds, frame)


def test_out_of_range_frame_in_multiframe(testdata):
    with pytest.raises(RenderError, match="Frame 31 does not exist; this image has 30 frames"):
        modality_frame(testdata("examples_ybr_color.dcm"), 30)


def test_truncated_file_raises_plain_render_error(testdata):
    ds = testdata("MR_truncated.dcm")
    with pytest.raises(RenderError, match="truncated") as caught:
        modality_frame(ds)
    assert "MR_truncated" not in str(caught.value)
    assert str(ds.PatientName) not in str(caught.value)


def test_truncated_frame_in_synthetic_multiframe(gray):
    ds = gray(np.zeros((4, 8, 8), dtype=np.uint16))
    ds.PixelData = ds.PixelData[: 3 * 8 * 8 * 2]  # the last frame is missing
    with pytest.raises(RenderError, match="truncated"):
        modality_frame(ds, 3)
    assert modality_frame(ds, 2).shape == (8, 8)  # the frames that did arrive still show


def test_undecodable_compressed_data_raises_render_error(testdata):
    # 12-bit lossy JPEG that none of the installed plugins can decode.
    with pytest.raises(RenderError, match="could not be decoded"):
        modality_frame(testdata("JPEG-lossy.dcm"))


def test_unknown_transfer_syntax_raises_render_error(testdata):
    ds = testdata("CT_small.dcm")
    ds.file_meta.TransferSyntaxUID = "1.2.826.0.1.3680043.9.9999.1"
    with pytest.raises(RenderError, match="cannot be decoded"):
        modality_frame(ds)


def test_corrupt_compressed_stream_raises_render_error(testdata):
    from pydicom.encaps import encapsulate

    ds = testdata("MR_small_RLE.dcm")
    ds.PixelData = encapsulate([b"\x00" * 64])
    with pytest.raises(RenderError, match="could not be decoded"):
        modality_frame(ds)


def test_bad_number_of_frames_raises_render_error(testdata):
    with pytest.raises(RenderError, match="not a whole number"):
        frame_count(testdata("badVR.dcm"))


def test_dataset_read_without_file_meta_still_decodes(testdata):
    ds = testdata("MR_small.dcm")
    reference = modality_frame(ds)
    del ds.file_meta.TransferSyntaxUID
    ds.set_original_encoding(False, True)
    np.testing.assert_array_equal(modality_frame(ds), reference)
    fresh = Dataset()  # built in memory, no syntax known at all
    fresh.update(ds)
    with pytest.raises(RenderError, match="no transfer syntax"):
        modality_frame(fresh)
