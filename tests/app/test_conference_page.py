"""The Conferences page through AppTest: create from sample cases, reorder, plan, export."""

from __future__ import annotations

import io
import zipfile

from streamlit.testing.v1 import AppTest

from pages.ui import plain
from tests.helpers import ROOT


def start(monkeypatch, data_dir) -> AppTest:
    monkeypatch.setenv("CASEDECK_DATA", str(data_dir))
    monkeypatch.setenv("CASEDECK_SAMPLES", "1")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240)
    at.run()
    at.switch_page("pages/conferences.py").run()
    assert not at.exception, at.exception
    return at


def test_create_reorder_and_export_a_conference(monkeypatch, seeded_data_dir):
    at = start(monkeypatch, seeded_data_dir)
    at.text_input(key="conf_new_title").input("Tumor board, Thu 26 Nov")
    cases = at.multiselect(key="conf_new_cases")
    first, second = cases.options[:2]
    cases.select(first).select(second)
    next(b for b in at.button if b.label == "Create conference").click().run()
    assert not at.exception, at.exception
    headings = [m.value for m in at.markdown if m.value.startswith("**1.") or m.value.startswith("**2.")]
    # "title · modality · date"; the heading shows the title as text (markdown characters escaped)
    first, second = (plain(label.split(" · ")[0]) for label in (first, second))
    assert len(headings) == 2 and first in headings[0]

    down = next(b for b in at.button if b.key and b.key.startswith("conf_down_"))
    down.click().run()
    headings = [m.value for m in at.markdown if m.value.startswith("**1.") or m.value.startswith("**2.")]
    assert second in headings[0] and first in headings[1], "the order changed"

    reveal = next(c for c in at.checkbox if c.key and c.key.startswith("conf_reveal_"))
    reveal.check().run()
    assert any("title hidden until the reveal" in c.value for c in at.code)

    at.radio(key="conf_format").set_value("package").run()
    at.button(key="conf_export").click().run()
    assert not at.exception, at.exception
    assert any("ready" in s.value for s in at.success)
    assert at.get("download_button")


def test_package_export_imports_back_through_the_import_page(monkeypatch, seeded_data_dir):
    at = start(monkeypatch, seeded_data_dir)
    at.text_input(key="conf_new_title").input("Grand rounds")
    cases = at.multiselect(key="conf_new_cases")
    cases.select(cases.options[0])
    next(b for b in at.button if b.label == "Create conference").click().run()
    at.radio(key="conf_format").set_value("package").run()
    at.button(key="conf_export").click().run()
    package = at.session_state["conf_export_result"][3]
    with zipfile.ZipFile(io.BytesIO(package)) as zf:
        assert "manifest.json" in zf.namelist()

    at.switch_page("pages/import_studies.py").run()
    at.file_uploader(key="import_package").set_value(("package.zip", package, "application/zip")).run()
    at.button(key="import_package_button").click().run()
    assert not at.exception, at.exception
    assert any("1 case(s) imported" in s.value for s in at.success)


def test_the_download_belongs_to_the_export_it_was_made_for(monkeypatch, tmp_path):
    """Issue #14: after changing format, options or the conference, the old file is no longer offered."""
    from casefiles.config import Settings
    from casefiles.services import Services
    from tests.dicom_factory import write_ct_study

    data = tmp_path / "data"
    Services(Settings(data_dir=data, seed_samples=False)).import_dicom(write_ct_study(tmp_path / "ct", slices=2))
    monkeypatch.setenv("CASEDECK_DATA", str(data))
    monkeypatch.setenv("CASEDECK_SAMPLES", "0")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240)
    at.run()
    at.switch_page("pages/conferences.py").run()
    at.text_input(key="conf_new_title").input("Morning meeting")
    cases = at.multiselect(key="conf_new_cases")
    cases.select(cases.options[0])
    next(b for b in at.button if b.label == "Create conference").click().run()
    at.radio(key="conf_format").set_value("html").run()
    at.button(key="conf_export").click().run()
    assert not at.exception, at.exception
    assert [d.proto.label for d in at.get("download_button")] == ["Download Offline slide show (.html)"]

    at.radio(key="conf_format").set_value("pdf").run()  # another format: the HTML file is gone
    assert not at.exception, at.exception
    assert at.get("download_button") == [] and not any("ready" in s.value for s in at.success)
    at.radio(key="conf_format").set_value("html").run()  # and stays gone: export again to get one
    assert at.get("download_button") == [] and "conf_export_result" not in at.session_state

    at.button(key="conf_export").click().run()
    assert len(at.get("download_button")) == 1
    reveal = next(c for c in at.checkbox if c.key and c.key.startswith("conf_reveal_"))
    reveal.check().run()  # the conference changed: the file no longer shows it
    assert not at.exception, at.exception
    assert at.get("download_button") == []
