"""Merge two cases of one study on the Case page (issue #14, scope 4): the page offers the other cases holding
images of the case's study in a "Same study" tab, asks first, and merges the other one into the case shown."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from pydicom.uid import generate_uid
from streamlit.testing.v1 import AppTest

from casefiles.config import Settings
from casefiles.model import AssetKind, new_id
from casefiles.services import Services
from pages.ui import case_key
from tests.dicom_factory import ct_slice, write_ct_study
from tests.support.app_pages import open_page


def _series(folder: Path, study: str, number: int, slices: int) -> Path:
    folder.mkdir()
    series = generate_uid()
    for index in range(slices):
        ds = ct_slice(study, series, index, size=64, series_number=number)
        ds.save_as(folder / f"{index}.dcm", enforce_file_format=True)
    return folder


@pytest.fixture
def library(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """One study imported in two parts (two cases), and a case of another study."""
    data = tmp_path / "data"
    services = Services(Settings(data_dir=data, seed_samples=False))
    study = generate_uid()
    (first,) = services.import_dicom(
        [_series(tmp_path / "a", study, 1, 3), _series(tmp_path / "b", study, 2, 4)], title="Chest, part one"
    ).case_ids
    # The second series in a case of its own, as a second import into another conference leaves it.
    whole = services.get_case(first)
    part_one, part_two = (a for a in whole.assets if a.kind is AssetKind.DICOM_SERIES)
    services.store.save_case(replace(whole, assets=(part_one,), key_images=()))
    second = services.store.save_case(
        replace(whole, id=new_id(), version=0, title="Chest, part two", assets=(part_two,), key_images=())
    ).id
    (other,) = services.import_dicom(write_ct_study(tmp_path / "c", slices=2), title="Another study").case_ids
    services.update_case(second, {"diagnosis": "Hamartoma"})
    services.create_conference("Tumor board", case_ids=[second])
    return data, {"first": first, "second": second, "other": other}


def _app(monkeypatch: pytest.MonkeyPatch, data: Path, case_id: str) -> AppTest:
    return open_page(monkeypatch, data, "pages/case.py", case=case_id)


def test_a_case_of_the_same_study_is_offered_and_merged_after_asking(
    monkeypatch: pytest.MonkeyPatch, library: tuple[Path, dict[str, str]]
) -> None:
    data, cases = library
    first, second, other = cases["first"], cases["second"], cases["other"]
    at = _app(monkeypatch, data, first)
    assert "Same study (1)" in [t.label for t in at.tabs]
    assert not [b for b in at.button if b.key == case_key(first, f"merge_{other}")], "another study is not offered"

    at.button(key=case_key(first, f"merge_{second}")).click().run()
    assert "Merge “Chest, part two” into “Chest, part one”?" in " ".join(str(w.value) for w in at.warning)
    at.button(key=case_key(first, f"merge_cancel_{second}")).click().run()
    services = Services(Settings(data_dir=data, seed_samples=False))
    assert {c.id for c in services.list_cases()} == {first, second, other}, "Keep both merges nothing"

    at.button(key=case_key(first, f"merge_{second}")).click().run()
    at.button(key=case_key(first, f"merge_confirm_{second}")).click().run()
    assert not at.exception, at.exception
    assert "Merged “Chest, part two” into this case." in " ".join(str(s.value) for s in at.success)
    assert {c.id for c in services.list_cases()} == {first, other}
    merged = services.get_case(first)
    assert sorted(a.frame_count for a in merged.assets if a.kind is AssetKind.DICOM_SERIES) == [3, 4]
    assert merged.diagnosis == "Hamartoma", "an empty field takes the merged case's text"
    assert services.list_conferences()[0].case_ids == (first,), "its conference holds this case instead"
    assert "Same study (1)" not in [t.label for t in at.tabs]
    assert at.radio(key=case_key(first, "viewer_series")).options.__len__() == 2
