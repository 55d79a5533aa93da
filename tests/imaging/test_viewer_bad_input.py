"""Awkward images open in the viewer and take annotations: no spacing, odd and 1-pixel sizes, signed 16-bit,
palette colour and a 4k radiograph (shown fitted, annotated at full resolution)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from casefiles.annotations.model import Arrow, Point, Ruler
from casefiles.config import Settings
from casefiles.imaging.stack import read_stack_payload
from casefiles.model import AssetKind
from casefiles.services import Services
from tests.dicom_factory import ct_slice


@pytest.fixture
def library(tmp_path: Path) -> Services:
    return Services(Settings(data_dir=tmp_path / "data", seed_samples=False))


def _ct(folder: Path, *, rows: int, cols: int, spacing: bool = True, signed: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    ds = ct_slice(generate_uid(), generate_uid(), 0)
    ds.Rows, ds.Columns = rows, cols
    rng = np.random.default_rng(rows * 7 + cols)
    values = rng.integers(-1000, 1500, size=(rows, cols)).astype(np.int16 if signed else np.uint16)
    ds.PixelRepresentation = 1 if signed else 0
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
    ds.PixelData = values.tobytes()
    if not spacing:
        del ds.PixelSpacing
    path = folder / f"{rows}x{cols}.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path


def _only_series(library: Services, report_case_ids: tuple[str, ...]):  # type: ignore[no-untyped-def]
    case = library.get_case(report_case_ids[0])
    return case, next(a for a in case.assets if a.kind is AssetKind.DICOM_SERIES)


@pytest.mark.parametrize(
    ("rows", "cols", "spacing"),
    [(1, 1, True), (7, 333, True), (301, 97, False)],
    ids=["one-pixel", "odd-wide", "odd-no-spacing"],
)
def test_odd_sizes_open_in_the_viewer_and_take_clipped_annotations(library, tmp_path, rows, cols, spacing) -> None:  # type: ignore[no-untyped-def]
    report = library.import_dicom([_ct(tmp_path / "in", rows=rows, cols=cols, spacing=spacing)])
    case, asset = _only_series(library, report.case_ids)
    _meta, frames = read_stack_payload(library.stack_payload(asset, library.asset_window(asset)).data)
    assert len(frames) == 1
    case = library.toggle_key_image(case.id, asset.id, 0, None)
    # Far outside the image on both sides: clipped when drawn, never a crash.
    off = [
        Arrow(start=Point(-500, -500), end=Point(cols + 500, rows + 500)),
        Ruler(start=Point(0, 0), end=Point(cols, 0)),
    ]
    case = library.annotate_key_image(case.id, asset.id, 0, off)
    image = library.render_key_image(case, case.key_images[0])
    assert image[:4] in (b"\x89PNG", b"\xff\xd8\xff\xe0") or image[:3] == b"\xff\xd8\xff"
    assert (library.key_image_spacing(case, case.key_images[0]) is None) is (not spacing)


def test_a_4k_radiograph_is_fitted_for_the_viewer_and_annotated_at_full_resolution(library, tmp_path) -> None:  # type: ignore[no-untyped-def]
    report = library.import_dicom([_ct(tmp_path / "in", rows=4096, cols=4096, signed=False)])
    case, asset = _only_series(library, report.case_ids)
    meta, _frames = read_stack_payload(library.stack_payload(asset, library.asset_window(asset)).data)
    assert max(meta["rows"], meta["cols"]) <= 1024, "the browser gets a fitted image, not 4k"
    case = library.toggle_key_image(case.id, asset.id, 0, None)
    case = library.annotate_key_image(case.id, asset.id, 0, [Arrow(start=Point(100, 100), end=Point(4000, 4000))])
    assert case.key_images[0].annotations[0].end == Point(4000, 4000), "stored in full-resolution pixels"
    assert library.render_key_image(case, case.key_images[0])


def test_palette_colour_opens_in_the_viewer(library, tmp_path) -> None:  # type: ignore[no-untyped-def]
    source = get_testdata_file("examples_palette.dcm")
    if source is None:
        pytest.skip("pydicom's palette sample is not in this wheel")
    ds = pydicom.dcmread(source)
    path = tmp_path / "palette.dcm"
    ds.save_as(path, enforce_file_format=True)
    report = library.import_dicom([path])
    _case, asset = _only_series(library, report.case_ids)
    meta, frames = read_stack_payload(library.stack_payload(asset, None).data)
    assert frames and meta["color"] is True
