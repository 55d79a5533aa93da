"""The Export page offers a deck's download only for the case, as it is, that the deck was built from."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from casefiles.config import Settings
from casefiles.services import Services
from tests.dicom_factory import write_ct_study
from tests.helpers import ROOT


def test_the_deck_download_goes_when_the_case_changes_or_another_is_picked(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    services = Services(Settings(data_dir=data, seed_samples=False))
    first = services.import_dicom(write_ct_study(tmp_path / "ct1", slices=2)).case_ids[0]
    second = services.import_dicom(write_ct_study(tmp_path / "ct2", slices=2)).case_ids[0]
    monkeypatch.setenv("CASEDECK_DATA", str(data))
    monkeypatch.setenv("CASEDECK_SAMPLES", "0")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240)
    at.run()
    at.switch_page("pages/export.py").run()
    at.selectbox(key="export_case").set_value(first).run()

    at.button(key="export_build").click().run()
    assert not at.exception, at.exception
    assert [d.proto.label for d in at.get("download_button")] == ["Download deck (.pptx)"]
    at.run()
    assert len(at.get("download_button")) == 1, "it stays while nothing changes"

    services.update_case(first, {"diagnosis": "Granuloma"})  # the deck no longer shows the case as it is
    at.run()
    assert not at.exception, at.exception
    assert at.get("download_button") == [] and not any("ready" in s.value for s in at.success)

    at.button(key="export_build").click().run()
    assert len(at.get("download_button")) == 1
    at.selectbox(key="export_case").set_value(second).run()  # another case: not its deck
    assert at.get("download_button") == []
    at.selectbox(key="export_case").set_value(first).run()
    assert at.get("download_button") == []
