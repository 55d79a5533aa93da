"""Helpers for the imaging tests: pydicom's bundled files and small synthetic datasets."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset


def _load(name: str) -> Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # some bundled files are deliberately odd
        path = get_testdata_file(name)
        if path is None:
            pytest.skip(f"{name} is not bundled with this pydicom wheel")
        return dcmread(path)


@pytest.fixture
def testdata() -> Callable[[str], Dataset]:
    """Load a file shipped with pydicom; skip the test if this wheel does not ship it."""
    return _load


def make_gray(pixels: np.ndarray, *, bits_stored: int | None = None, photometric: str = "MONOCHROME2") -> Dataset:
    """An uncompressed grayscale dataset holding ``pixels`` (H×W or F×H×W)."""
    ds = Dataset()
    bits = bits_stored or pixels.dtype.itemsize * 8
    ds.set_pixel_data(pixels, photometric, bits, generate_instance_uid=False)
    return ds


@pytest.fixture
def gray() -> Callable[..., Dataset]:
    return make_gray
