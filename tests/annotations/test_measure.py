"""Measurements: mm from pixel spacing (anisotropic too), px without it, angles, spacing lookup."""

from __future__ import annotations

import math

import pytest
from pydicom.dataset import Dataset

from casefiles.annotations.measure import (
    PixelSpacing,
    angle_degrees,
    format_length,
    label_for,
    pixel_spacing_of,
    ruler_length,
)
from casefiles.annotations.model import Angle, Point, Ruler, scaled
from casefiles.errors import ValidationError


def test_ruler_in_mm_with_isotropic_spacing() -> None:
    ruler = Ruler(start=Point(10, 10), end=Point(110, 10))
    spacing = PixelSpacing(row=0.5, column=0.5)
    assert ruler_length(ruler, spacing) == pytest.approx(50.0)
    assert label_for(ruler, spacing) == "50.0 mm"


def test_anisotropic_spacing_uses_rows_for_y_and_columns_for_x() -> None:
    spacing = PixelSpacing(row=0.8, column=0.5)  # DICOM order: (row spacing, column spacing)
    across = Ruler(start=Point(0, 0), end=Point(100, 0))
    down = Ruler(start=Point(0, 0), end=Point(0, 100))
    diagonal = Ruler(start=Point(0, 0), end=Point(30, 40))
    assert ruler_length(across, spacing) == pytest.approx(50.0)
    assert ruler_length(down, spacing) == pytest.approx(80.0)
    assert ruler_length(diagonal, spacing) == pytest.approx(math.hypot(15, 32))


def test_pixels_when_there_is_no_spacing() -> None:
    ruler = Ruler(start=Point(0, 0), end=Point(3, 4), text="CBD")
    assert ruler_length(ruler, None) == pytest.approx(5.0)
    assert label_for(ruler, None) == "CBD 5 px"
    assert format_length(17.4, None) == "17 px"
    assert format_length(42.26, PixelSpacing(1, 1)) == "42.3 mm"


def test_angles_in_degrees() -> None:
    right = Angle(a=Point(10, 0), vertex=Point(0, 0), b=Point(0, 10))
    assert angle_degrees(right) == pytest.approx(90.0)
    assert label_for(right, None) == "90.0°"
    obtuse = Angle(a=Point(10, 0), vertex=Point(0, 0), b=Point(-10, 10))
    assert angle_degrees(obtuse) == pytest.approx(135.0)
    # 45° on screen is not 45° in the patient when pixels are not square
    diagonal = Angle(a=Point(10, 0), vertex=Point(0, 0), b=Point(10, 10))
    assert angle_degrees(diagonal, PixelSpacing(row=2.0, column=1.0)) == pytest.approx(math.degrees(math.atan(2)))


def test_a_resized_image_measures_the_same() -> None:
    ruler = Ruler(start=Point(12.5, 40), end=Point(200, 310.25))
    spacing = PixelSpacing(row=0.8, column=0.5)
    original = ruler_length(ruler, spacing)
    for sx, sy in ((2.0, 2.0), (0.25, 0.25), (1.5, 0.75)):
        resized = scaled(ruler, sx, sy)
        assert isinstance(resized, Ruler)
        assert ruler_length(resized, spacing.scaled(sx, sy)) == pytest.approx(original)


def _image(**values: object) -> Dataset:
    ds = Dataset()
    for key, value in values.items():
        setattr(ds, key, value)
    return ds


def test_pixel_spacing_lookup_order() -> None:
    assert pixel_spacing_of(_image(PixelSpacing=[0.8, 0.5])) == PixelSpacing(row=0.8, column=0.5)
    assert pixel_spacing_of(_image(ImagerPixelSpacing=[0.139, 0.139])) == PixelSpacing(0.139, 0.139)
    both = _image(PixelSpacing=[0.2, 0.2], ImagerPixelSpacing=[0.3, 0.3])
    assert pixel_spacing_of(both) == PixelSpacing(0.2, 0.2)
    assert pixel_spacing_of(_image()) is None
    assert pixel_spacing_of(_image(PixelSpacing=[0, 0])) is None  # unusable: measure in px
    assert pixel_spacing_of(_image(PixelSpacing=["", ""])) is None


def test_per_frame_spacing_of_an_enhanced_image() -> None:
    def group(row: float, col: float) -> Dataset:
        measures = _image(PixelSpacing=[row, col])
        return _image(PixelMeasuresSequence=[measures])

    ds = _image(
        NumberOfFrames=2,
        PerFrameFunctionalGroupsSequence=[group(0.4, 0.4), _image()],
        SharedFunctionalGroupsSequence=[group(0.9, 0.7)],
    )
    assert pixel_spacing_of(ds, 0) == PixelSpacing(0.4, 0.4)
    assert pixel_spacing_of(ds, 1) == PixelSpacing(0.9, 0.7)  # falls back to the shared group


def test_spacing_validation() -> None:
    with pytest.raises(ValidationError, match="positive number of millimetres"):
        PixelSpacing(row=0, column=1)
    with pytest.raises(ValidationError, match="whole number"):
        pixel_spacing_of(_image(), -1)
