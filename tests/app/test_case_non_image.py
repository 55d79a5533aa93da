"""The Case page of a case imported from a zip holding CT slices, an RT Plan and a text report (issue #14,
finding 3): no exception, no failed series, the report shown as a document."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydicom.uid import generate_uid
from streamlit.testing.v1 import AppTest

from casefiles.config import Settings
from casefiles.model import AssetKind
from casefiles.services import Services
from tests.helpers import ROOT
from tests.ingest import non_image
from tests.ingest.test_non_image_objects import PLAN_LEFT_OUT, ct_slices, write_zip


def test_the_case_made_from_ct_and_an_rt_plan_opens_without_an_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    services = Services(Settings(data_dir=data, seed_samples=False))
    study = generate_uid()
    plan = non_image.rt_plan(study)
    plan.SeriesNumber = 0  # numbered before the CT: the first series the page would open
    source = write_zip(tmp_path / "export.zip", [*ct_slices(study, 3), plan, non_image.basic_text_sr(study)])
    report = services.import_dicom([source])
    assert [(p.item, p.reason) for p in report.problems] == [("item 4 of 5 in the zip", PLAN_LEFT_OUT)]
    (case_id,) = report.case_ids
    case = services.get_case(case_id)
    assert [a.kind for a in case.assets] == [AssetKind.DICOM_SERIES, AssetKind.DOCUMENT]

    monkeypatch.setenv("CASEDECK_DATA", str(data))
    monkeypatch.setenv("CASEDECK_SAMPLES", "0")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/case.py").run()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert not errors, errors
    shown = " ".join(str(e.value) for e in (*at.markdown, *at.caption))
    assert "Report 1" in shown, "the report is listed with the case's media"
