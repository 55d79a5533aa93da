"""The stack viewer's payload: every frame, in order, drawn with the window asked for, plus what the viewer shows."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from casefiles.errors import RenderError, ValidationError
from casefiles.imaging.presets import presets_for
from casefiles.imaging.stack import (
    SeriesHeader,
    StackPayload,
    build_stack_payload,
    cine_frame_rate,
    pixel_spacing_mm,
    read_stack_payload,
    series_header,
)
from casefiles.imaging.voi import apply_window
from casefiles.model import AssetKind, Window
from tests.dicom_factory import write_ct_study

CT_WINDOW = Window(center=40, width=400)


def hu_stack(count: int, size: int = 32) -> np.ndarray:
    """HU slices: slice i holds 10*i - 200 HU everywhere, so each frame's grey level names its index."""
    return np.stack([np.full((size, size), 10.0 * i - 200.0, np.float32) for i in range(count)])


def decode(frames: list[bytes]) -> list[np.ndarray]:
    images = [cv2.imdecode(np.frombuffer(f, np.uint8), cv2.IMREAD_UNCHANGED) for f in frames]
    assert all(image is not None for image in images)
    return images


def build(volume: np.ndarray, window: Window = CT_WINDOW, **options: object) -> StackPayload:
    return build_stack_payload(lambda i: apply_window(volume[i], window), len(volume), window=window, **options)  # type: ignore[arg-type]


# -- frames ----------------------------------------------------------------------------


def test_every_frame_arrives_once_in_order_drawn_with_the_window() -> None:
    volume = hu_stack(30)
    payload = build(volume, encoding="png")
    meta, frames = read_stack_payload(payload.data)

    assert payload.frames == meta["frames"] == len(frames) == 30
    assert (meta["rows"], meta["cols"]) == (32, 32)
    assert meta["mime"] == payload.mime == "image/png"
    expected = [apply_window(volume[i], CT_WINDOW) for i in range(30)]
    assert all(np.array_equal(got, want) for got, want in zip(decode(frames), expected, strict=True))
    # -200 to -160 HU lie below a 40/400 window (black); 40 HU (slice 24) is its centre (mid grey)
    levels = [int(image[0, 0]) for image in decode(frames)]
    assert levels[:5] == [0] * 5 and 126 <= levels[24] <= 129
    assert levels[5:] == sorted(set(levels[5:]))  # each slice brighter than the one before: in order


def test_another_window_gives_other_pixels_and_another_identity() -> None:
    volume = hu_stack(5)
    soft, bone = build(volume, encoding="png"), build(volume, Window(center=400, width=1800), encoding="png")
    assert soft.digest != bone.digest and soft != bone
    assert read_stack_payload(bone.data)[0]["window"] == {"center": 400.0, "width": 1800.0}
    assert not np.array_equal(decode(read_stack_payload(soft.data)[1])[4], decode(read_stack_payload(bone.data)[1])[4])


def test_same_frames_and_window_give_the_same_payload_whatever_the_threads() -> None:
    volume = hu_stack(12)
    one, many = build(volume, workers=1), build(volume, workers=3)
    assert one.data == many.data
    assert one == many and hash(one) == hash(many)
    assert {one: "cached"}[many] == "cached"


def test_big_stacks_go_as_jpeg_small_ones_as_lossless_png() -> None:
    small = build(hu_stack(4, size=64))
    assert small.mime == "image/png"
    big = build_stack_payload(lambda i: np.full((512, 512), i, np.uint8), 40, window=CT_WINDOW)  # 10 M pixels in all
    assert big.mime == "image/jpeg"
    _, frames = read_stack_payload(big.data)
    assert all(abs(int(image.mean()) - i) <= 1 for i, image in enumerate(decode(frames)))
    assert build(hu_stack(4, size=64), encoding="jpeg").mime == "image/jpeg"


def test_the_viewer_starts_in_the_middle_unless_told() -> None:
    volume = hu_stack(9)
    assert build(volume).start_frame == 4
    assert read_stack_payload(build(volume, start_frame=0).data)[0]["start_frame"] == 0
    with pytest.raises(ValidationError, match="start frame"):
        build(volume, start_frame=9)


def test_colour_frames_carry_no_window_and_no_presets() -> None:
    rgb = np.zeros((16, 16, 3), np.uint8)
    rgb[..., 0] = 200
    payload = build_stack_payload(
        lambda i: rgb, 3, window=CT_WINDOW, header=SeriesHeader(modality="US", frame_rate=30.0)
    )
    meta, frames = read_stack_payload(payload.data)
    assert payload.color and meta["color"] is True
    assert payload.window is None and meta["window"] is None and meta["presets"] == []
    assert decode(frames)[0][0, 0].tolist() == [0, 0, 200]  # OpenCV decodes to BGR: red survived


# -- metadata ----------------------------------------------------------------------------


def test_the_header_carries_spacing_rate_presets_and_reset_window() -> None:
    header = SeriesHeader(modality="CT", pixel_spacing=(0.5, 0.7), frame_rate=None, inverted=False)
    payload = build(hu_stack(3), header=header, default_window=Window(center=50, width=350))
    meta, _ = read_stack_payload(payload.data)
    assert meta["modality"] == "CT"
    assert meta["pixel_spacing"] == [0.5, 0.7]
    assert meta["frame_rate"] is None
    assert meta["default_window"] == {"center": 50.0, "width": 350.0}
    names = [p["name"] for p in meta["presets"]]
    assert names == list(presets_for("CT")) == [
        "brain", "subdural", "stroke", "lung", "mediastinum", "abdomen", "liver", "bone",
    ]  # fmt: skip
    lung = next(p for p in meta["presets"] if p["name"] == "lung")
    assert (lung["center"], lung["width"]) == (-600.0, 1500.0)


def test_modalities_without_presets_and_presets_of_ones_own() -> None:
    assert build(hu_stack(2), header=SeriesHeader(modality="MR")).presets == ()
    own = {"own": Window(center=100, width=50)}
    meta, _ = read_stack_payload(build(hu_stack(2), header=SeriesHeader(modality="MR"), presets=own).data)
    assert meta["presets"] == [{"name": "own", "center": 100.0, "width": 50.0}]
    assert read_stack_payload(build(hu_stack(2)).data)[0]["default_window"] == {"center": 40.0, "width": 400.0}


def dataset(**values: object) -> Dataset:
    ds = Dataset()
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    return ds


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"RecommendedDisplayFrameRate": 25, "CineRate": 30, "FrameTime": 100}, 25.0),
        ({"CineRate": 30, "FrameTime": 100}, 30.0),
        ({"FrameTime": "33.333"}, 1000 / 33.333),
        ({"FrameTimeVector": [0, 40, 40, 40]}, 25.0),
        ({"RecommendedDisplayFrameRate": 0, "CineRate": 500, "FrameTime": "50"}, 20.0),  # unusable ones skipped
        ({"FrameTime": "0"}, None),
        ({}, None),
    ],
)
def test_cine_frame_rate(values: dict[str, object], expected: float | None) -> None:
    rate = cine_frame_rate(dataset(**values))
    assert rate == expected if expected is None else rate is not None and math.isclose(rate, expected)


def test_the_ultrasound_cine_sample_plays_at_its_frame_time() -> None:
    path = get_testdata_file("examples_ybr_color.dcm")
    assert path is not None
    header = series_header(pydicom.dcmread(path, stop_before_pixels=True))
    assert header.modality == "US"
    assert header.frame_rate is not None and math.isclose(header.frame_rate, 30.0, rel_tol=1e-3)


def test_pixel_spacing_from_the_image_the_enhanced_groups_or_the_detector() -> None:
    assert pixel_spacing_mm(dataset(PixelSpacing=[0.5, 0.6], ImagerPixelSpacing=[0.2, 0.2])) == (0.5, 0.6)
    assert pixel_spacing_mm(dataset(ImagerPixelSpacing=[0.14, 0.14])) == (0.14, 0.14)
    enhanced = dataset(
        SharedFunctionalGroupsSequence=[dataset(PixelMeasuresSequence=[dataset(PixelSpacing=[0.8, 0.9])])]
    )
    assert pixel_spacing_mm(enhanced) == (0.8, 0.9)
    assert pixel_spacing_mm(dataset()) is None
    assert pixel_spacing_mm(dataset(PixelSpacing=[0, 0.5])) is None


def test_series_header_of_a_real_ct_and_an_inverted_radiograph() -> None:
    path = get_testdata_file("CT_small.dcm")
    assert path is not None
    ct = pydicom.dcmread(path)
    header = series_header(ct)
    assert header.modality == "CT" and header.frame_rate is None and not header.inverted
    assert header.pixel_spacing is not None and math.isclose(header.pixel_spacing[0], 0.661468)
    ct.PhotometricInterpretation = "MONOCHROME1"
    assert series_header(ct).inverted


# -- with the real renderer ---------------------------------------------------------------


def test_a_stored_series_renders_through_services_render_frame(services, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write_ct_study(tmp_path / "study", slices=6)
    report = services.import_dicom([tmp_path / "study"])
    case = services.get_case(report.case_ids[0])
    asset = next(a for a in case.assets if a.kind is AssetKind.DICOM_SERIES)
    window = services.asset_window(asset)
    header = series_header(services.dataset(asset.instances[0].blob))

    payload = build_stack_payload(
        lambda i: services.render_frame(asset, i, window), asset.frame_count, window=window, header=header
    )
    meta, frames = read_stack_payload(payload.data)
    assert meta["frames"] == 6 and meta["window"] == {"center": 40.0, "width": 400.0}
    assert meta["pixel_spacing"] == [0.7, 0.7] and len(meta["presets"]) == 8
    # dicom_factory marks slice i with a bar i+1 pixels tall: frames arrive in slice order
    heights = [int((image[:, 0] == 255).sum()) for image in decode(frames)]
    assert heights == [1, 2, 3, 4, 5, 6]


# -- refusals --------------------------------------------------------------------------------


def test_frames_of_different_sizes_are_refused() -> None:
    def render(i: int) -> np.ndarray:
        return np.zeros((16, 16 + (i == 2)), np.uint8)

    with pytest.raises(RenderError, match="differ in size"):
        build_stack_payload(render, 4, window=None)


def test_a_renderer_that_returns_no_8_bit_image_is_refused() -> None:
    with pytest.raises(RenderError, match="8-bit"):
        build_stack_payload(lambda i: np.zeros((4, 4), np.float32), 2, window=None)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"frame_count": 0}, "between 1 and"),
        ({"frame_count": True}, "between 1 and"),
        ({"encoding": "gif"}, "encoding"),
        ({"quality": 0}, "quality"),
        ({"workers": 0}, "workers"),
        ({"window": (40, 400)}, "window must be a Window"),
    ],
)
def test_bad_options_are_refused_with_a_reason(options: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"frame_count": 2, "window": None, **options}
    count = arguments.pop("frame_count")
    with pytest.raises(ValidationError, match=message):
        build_stack_payload(lambda i: np.zeros((4, 4), np.uint8), count, **arguments)  # type: ignore[arg-type]


def test_bad_header_values_are_refused() -> None:
    with pytest.raises(ValidationError, match="Pixel spacing"):
        SeriesHeader(pixel_spacing=(0.0, 1.0))
    with pytest.raises(ValidationError, match="frame rate"):
        SeriesHeader(frame_rate=0.0)


def test_something_else_is_not_read_as_a_payload() -> None:
    with pytest.raises(RenderError, match="not a stack viewer payload"):
        read_stack_payload(b"\x89PNG\r\n\x1a\n and more")
    truncated = build(hu_stack(3)).data[:-10]
    with pytest.raises(RenderError, match="truncated"):
        read_stack_payload(truncated)
