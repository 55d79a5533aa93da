"""A case whose stored files are missing (issue #14, bad input): the Case page and an export say so in
plain words; no traceback (Streamlit's red box), nothing changed.

Files go missing when a data directory is copied in part or cleaned by hand. The Case page used to
call such a series one "with no pixel data" and the case one "with no DICOM series", and a held image
whose original was gone stopped the page with a NotFoundError.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from casefiles.config import Settings
from casefiles.model import KeyImage
from casefiles.services import Services
from tests.dicom_factory import write_ct_study
from tests.support.app_pages import open_page
from tests.support.held_case import held_case

MISSING = "cannot be shown: their stored files are missing"


def _lose_the_images(services: Services, case_id: str) -> None:
    """Delete every instance file of the case from the blob store, as a partial copy of the data dir would."""
    for asset in services.get_case(case_id).assets:
        for instance in asset.instances:
            services.blobs.delete(instance.blob)
            services.pixels.forget(instance.blob)


def _said(at: AppTest) -> str:
    return " ".join(str(e.value) for e in (*at.error, *at.warning, *at.info, *at.caption, *at.markdown))


def test_a_case_whose_images_are_gone_says_so_on_the_case_page(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    data = tmp_path / "data"
    services = Services(Settings(data_dir=data, seed_samples=False))
    (case_id,) = services.import_dicom(write_ct_study(tmp_path / "ct", slices=3), title="Files gone").case_ids
    case = services.get_case(case_id)
    services.set_key_images(case_id, [KeyImage(asset_id=case.assets[0].id, frame=1)])
    _lose_the_images(services, case_id)

    at = open_page(monkeypatch, data, "pages/case.py", case=case_id)
    said = _said(at)
    assert f"1 series of this case {MISSING}" in said
    assert "no DICOM series" not in said and "no pixel data" not in said, "the old, wrong explanations"
    assert "Showing a key image failed: A stored file of this case is missing" in said
    assert at.text_input(key=f"case_title-{case_id}").value == "Files gone", "the teaching content still opens"


def test_a_held_image_whose_original_is_gone_is_a_message_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    services = Services(Settings(data_dir=data, seed_samples=False))
    case_id = held_case(services, tmp_path)
    assert services.images_for_review(services.get_case(case_id))
    _lose_the_images(services, case_id)

    at = open_page(monkeypatch, data, "pages/case.py", case=case_id)  # was: NotFoundError in Streamlit's red box
    said = _said(at)
    assert "Showing the image for review failed: A stored file of this case is missing" in said
    assert MISSING in said


def test_exporting_a_conference_whose_case_lost_its_files_stops_with_a_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    services = Services(Settings(data_dir=data, seed_samples=False))
    (case_id,) = services.import_dicom(write_ct_study(tmp_path / "ct", slices=3), title="Files gone").case_ids
    case = services.get_case(case_id)
    services.set_key_images(case_id, [KeyImage(asset_id=case.assets[0].id, frame=1)])
    conference = services.create_conference("Board", case_ids=[case_id])
    _lose_the_images(services, case_id)

    at = open_page(monkeypatch, data, "pages/conferences.py", conference=conference.id)
    for fmt in ("pptx", "html"):
        at.radio(key="conf_format").set_value(fmt).run()
        at.button(key="conf_export").click().run()
        assert not at.exception, at.exception
        errors = " ".join(str(e.value) for e in at.error)
        assert "Export failed" in errors and "missing" in errors, errors
        assert not at.get("download_button"), "no download of a deck made without its images"
        assert "is ready" not in " ".join(str(e.value) for e in at.success)
