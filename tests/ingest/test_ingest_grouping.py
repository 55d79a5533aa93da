"""Slice order, series labels and case titles, as a radiologist would expect them."""

from __future__ import annotations

from pydicom.dataset import Dataset

from casefiles.ingest.grouping import (
    Summary,
    body_part_name,
    case_title,
    clean_text,
    joined_modalities,
    normal_position,
    order_summaries,
    series_label,
)


def _summary(sop: str, *, normal: float | None = None, loc: float | None = None, number: int | None = None) -> Summary:
    return Summary("1.2", "1.2.3", sop, "b" * 64, normal_position=normal, slice_location=loc, instance_number=number)


def test_position_along_the_normal_beats_instance_number() -> None:
    items = [_summary("a", normal=10, number=1), _summary("b", normal=-5, number=3), _summary("c", normal=0, number=2)]
    assert [s.sop_uid for s in order_summaries(items)] == ["b", "c", "a"]


def test_fallbacks_slice_location_then_instance_number_then_uid() -> None:
    items = [
        _summary("u2", number=None),
        _summary("n2", number=2),
        _summary("loc", loc=-3.0, number=9),
        _summary("u1", number=None),
        _summary("n1", number=1),
    ]
    assert [s.sop_uid for s in order_summaries(items)] == ["loc", "n1", "n2", "u1", "u2"]


def test_normal_position_for_an_oblique_sagittal_stack() -> None:
    ds = Dataset()
    ds.ImageOrientationPatient = [0, 1, 0, 0, 0, -1]  # sagittal: normal is -x... row × col = (-1, 0, 0)
    ds.ImagePositionPatient = [12.5, -100, 50]
    assert normal_position(ds) == -12.5
    ds.ImageOrientationPatient = [0, 0, 0, 0, 0, 0]
    assert normal_position(ds) is None
    del ds.ImagePositionPatient
    assert normal_position(ds) is None


def test_series_labels_and_case_titles() -> None:
    assert series_label("Axial 5mm", "CT", 2, 1) == "Axial 5mm"
    assert series_label("", "MR", 7, 1) == "MR series 7"
    assert series_label("", "", None, 3) == "Unknown series 3"
    assert case_title("CT", "Chest", "CT CHEST W") == "CT Chest"
    assert case_title("MR", "", "Brain protocol") == "MR Brain protocol"
    assert case_title("US", "", "") == "US study"
    assert case_title("", "", "") == "Imported study"
    assert joined_modalities(["PT", "CT", "PT", ""]) == "PT/CT"


def test_header_text_is_cleaned_for_display() -> None:
    assert clean_text("  AX\x00 T1^POST\r\n  GAD ", 64) == "AX T1 POST GAD"
    assert clean_text(None, 10) == ""
    assert clean_text("x" * 100, 10) == "x" * 10
    assert body_part_name("CHEST") == "Chest"
    assert body_part_name("ABDOMENPELVIS") == "Abdomen/Pelvis"
    assert body_part_name("LEFT_KNEE") == "Left knee"
    assert body_part_name("") == ""
