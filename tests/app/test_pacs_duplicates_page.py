"""The From PACS page shows the duplicate warning in its outcome list (#17), without a PACS: the
finished retrieval is a job the test hands to the page's job runner."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from casefiles.config import Settings
from casefiles.pacs import PacsNode
from casefiles.pacs.retrieval import PullReport
from casefiles.services import Services
from pages.ui import get_jobs
from tests.dicom_factory import write_ct_study
from tests.helpers import ROOT


def test_the_outcome_of_a_pull_warns_of_a_study_already_in_the_library(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path, tmp_path: Path
) -> None:
    monkeypatch.setenv("CASEDECK_DATA", str(data_dir))
    monkeypatch.setenv("CASEDECK_SAMPLES", "0")
    write_ct_study(tmp_path / "study", slices=2)
    services = Services(Settings(data_dir=data_dir, seed_samples=False))
    services.save_pacs_node(PacsNode(name="Orthanc", ae_title="ORTHANC", host="127.0.0.1", port=4242))
    (first_id,) = services.import_dicom([tmp_path / "study"]).case_ids
    first = services.get_case(first_id)
    services.store.save_case(first.edited(title="Kept without its images", assets=(), key_images=()))
    imported = services.import_dicom([tmp_path / "study"])
    (second_id,) = imported.case_ids
    pulled = PullReport((second_id,), 1, imported.instances_imported, (), imported.duplicates)

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    job_id = get_jobs().submit("Retrieving 1 study(ies)", lambda ctx: (pulled, None))
    deadline = time.monotonic() + 30
    while not get_jobs().snapshot(job_id).state.finished:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    at.session_state["pacs_job"] = job_id
    at.switch_page("pages/pacs.py").run()
    assert not at.exception, at.exception
    text = "\n".join(w.value for w in at.warning)
    assert "already in the library, in “Kept without its images”" in text
    keys = {b.key: b.label for b in at.button if b.key}
    assert keys[f"pacs_duplicate_1_open_{first_id}"] == "Open the existing case"
    assert keys[f"pacs_duplicate_1_merge_{first_id}"] == "Merge into it"

    at.button(key=f"pacs_duplicate_1_merge_{first_id}").click().run()
    assert not at.exception, at.exception
    assert [c.id for c in services.case_summaries()] == [first_id]
    assert f"pacs_open_{second_id}" not in {b.key for b in at.button}
