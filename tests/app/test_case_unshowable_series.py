"""The Case page of a case whose first series cannot be shown (issue #14, finding 3): a series stored by an
import made before non-image objects were left out has no pixel data. The page leaves it out of the series
picker and opens the next one, with no NameError (Streamlit's red box) and no failed-open message."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import generate_uid
from streamlit.testing.v1 import AppTest

from casefiles.config import Settings
from casefiles.model import AssetKind
from casefiles.services import Services
from pages.ui import case_key
from tests.dicom_factory import ct_slice
from tests.helpers import ROOT


def _case_whose_first_series_has_no_pixels(services: Services, tmp_path: Path) -> str:
    source = tmp_path / "in"
    source.mkdir()
    study = generate_uid()
    for number in (1, 2):
        series = generate_uid()
        for index in range(3):
            ds = ct_slice(study, series, index, series_number=number)
            ds.SeriesDescription = f"Series {number}"
            ds.save_as(source / f"s{number}_{index}.dcm", enforce_file_format=True)
    (case_id,) = services.import_dicom([source]).case_ids
    case = services.get_case(case_id)
    first = next(a for a in case.assets if a.kind is AssetKind.DICOM_SERIES)
    instances = []
    for instance in first.instances:  # as an old import stored a non-image object: no PixelData
        ds = pydicom.dcmread(io.BytesIO(services.blobs.get(instance.blob)))
        del ds.PixelData
        out = io.BytesIO()
        ds.save_as(out)
        instances.append(dataclasses.replace(instance, blob=services.blobs.put(out.getvalue())))
    assets = tuple(dataclasses.replace(a, instances=tuple(instances)) if a.id == first.id else a for a in case.assets)
    services.store.save_case(dataclasses.replace(case, assets=assets))
    return case_id


def test_a_series_without_pixel_data_is_left_out_and_the_page_does_not_crash(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    services = Services(Settings(data_dir=data, seed_samples=False))
    case_id = _case_whose_first_series_has_no_pixels(services, tmp_path)
    case = services.get_case(case_id)
    first, second = (a for a in case.assets if a.kind is AssetKind.DICOM_SERIES)
    assert not services.series_showable(first)
    assert services.series_showable(second)

    monkeypatch.setenv("CASEDECK_DATA", str(data))
    monkeypatch.setenv("CASEDECK_SAMPLES", "0")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/case.py").run()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert not errors, errors
    shown = " ".join(str(e.value) for e in (*at.markdown, *at.caption, *at.info))
    assert "1 series hold no image" in shown
    # Only the showable series is offered, and its key-image button is there.
    picker = at.radio(key=case_key(case_id, "viewer_series"))
    assert picker.value == second.id
    assert [o for o in picker.options if "Series 1" in o] == []
    assert any(b.label == "☆ Mark as key image" for b in at.button)
