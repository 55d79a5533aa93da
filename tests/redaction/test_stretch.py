"""The 8-bit stretch for screening: the lookup table for ≤ 16-bit samples gives the float formula's bytes."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from casefiles.redaction.frames import _stretch


def _formula(pixels: npt.NDArray[np.generic]) -> npt.NDArray[np.uint8]:
    values = pixels.astype(np.float64)
    low, high = float(values.min()), float(values.max())
    if high <= low:
        return np.zeros(pixels.shape, dtype=np.uint8)
    return np.clip(np.rint((values - low) * (255.0 / (high - low))), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.uint16, np.int32, np.float32])
@pytest.mark.parametrize("span", ["full", "ct", "narrow", "flat"])
@pytest.mark.parametrize("shape", [(64, 48), (2, 20, 16, 3), (1,)])
def test_stretch_matches_the_float_formula(dtype: type, span: str, shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(7)
    if np.dtype(dtype).kind == "f":
        pixels = rng.uniform(-3.0, 3.0, shape).astype(dtype)
    else:
        info = np.iinfo(dtype)
        low, high = {
            "full": (info.min, info.max),
            "ct": (max(info.min, -1024), min(info.max, 3071)),
            "narrow": (max(info.min, 5), min(info.max, 9)),
            "flat": (7, 7),
        }[span]
        pixels = rng.integers(low, high, shape, endpoint=True).astype(dtype)
        pixels.flat[0], pixels.flat[-1] = low, high  # both ends present
    got = _stretch(pixels)
    assert got.dtype == np.uint8 and got.shape == pixels.shape
    assert np.array_equal(got, _formula(pixels))


@pytest.mark.parametrize("dtype", [">i2", ">u2", "<i2"])
def test_stretch_of_a_byte_swapped_or_strided_frame_matches_the_float_formula(dtype: str) -> None:
    rng = np.random.default_rng(11)
    pixels = rng.integers(-1024, 3071, (40, 30), endpoint=True).astype(np.int32)
    if dtype.endswith("u2"):
        pixels += 1024
    frame = pixels.astype(dtype)
    strided = np.asarray(frame.T)  # a view that is not C-contiguous
    for view in (frame, strided):
        assert np.array_equal(_stretch(view), _formula(view))
