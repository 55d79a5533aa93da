"""The Import page warns when a study is already in the library, and opens or merges into that case (#17)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from casefiles.config import Settings
from casefiles.store.opening import open_store
from tests.dicom_factory import write_ct_study
from tests.helpers import ROOT


def start_app(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> AppTest:
    monkeypatch.setenv("CASEDECK_DATA", str(data_dir))
    monkeypatch.setenv("CASEDECK_SAMPLES", "0")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    at.switch_page("pages/import_studies.py").run()
    return at


def upload(at: AppTest, files: list[Path]) -> None:
    at.file_uploader(key="import_uploads").set_value([(p.name, p.read_bytes(), "application/dicom") for p in files])
    at.button(key="import_upload_button").click().run()
    assert not at.exception, at.exception


def warnings_text(at: AppTest) -> str:
    return "\n".join(w.value for w in at.warning)


def buttons(at: AppTest) -> dict[str, str]:
    return {b.key: b.label for b in at.button if b.key}


def test_a_study_uploaded_again_warns_and_opens_the_existing_case(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path, tmp_path: Path
) -> None:
    files = write_ct_study(tmp_path / "study", slices=3)
    at = start_app(monkeypatch, data_dir)
    upload(at, files)
    assert "already in the library" not in warnings_text(at)
    (case,) = open_store(Settings(data_dir=data_dir)).list_cases()

    upload(at, files)
    assert f"The study is already in the library, in “{case.title}”" in warnings_text(at)
    assert "3 image(s) of it were there already and were skipped" in warnings_text(at)
    shown = buttons(at)
    assert shown[f"import_duplicate_1_open_{case.id}"] == "Open the existing case"
    assert not any("merge" in k for k in shown)  # the images are already in that case: nothing to merge

    at.button(key=f"import_duplicate_1_open_{case.id}").click().run()
    assert not at.exception, at.exception
    assert at.query_params.get("case") == [case.id] or at.session_state["selected_case_id"] == case.id


def test_a_second_case_of_the_same_study_can_be_merged_into_the_first(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path, tmp_path: Path
) -> None:
    files = write_ct_study(tmp_path / "study", slices=3)
    at = start_app(monkeypatch, data_dir)
    upload(at, files)
    store = open_store(Settings(data_dir=data_dir))
    (first,) = store.list_cases()
    # its series were taken out of the case: a re-import cannot join it, and makes a case of its own
    store.save_case(first.edited(title="Teaching case without images", assets=(), key_images=()))

    upload(at, files)
    (second,) = [c for c in store.list_cases() if c.id != first.id]
    text = warnings_text(at)
    assert "already in the library, in “Teaching case without images”" in text
    assert f"this import put it in a separate case, “{second.title}”" in text
    shown = buttons(at)
    assert shown[f"import_duplicate_1_open_{first.id}"] == "Open the existing case"
    assert shown[f"import_duplicate_1_merge_{first.id}"] == "Merge into it"

    at.button(key=f"import_duplicate_1_merge_{first.id}").click().run()
    assert not at.exception, at.exception
    assert any("Merged" in s.value for s in at.success)
    (merged,) = store.list_cases()
    assert merged.id == first.id and sum(len(a.instances) for a in merged.assets) == 3
    assert not at.error, [e.value for e in at.error]
    # the page no longer offers the merged-away case
    assert f"import_open_{second.id}" not in buttons(at)
    assert f"import_open_{first.id}" in buttons(at)
