"""Issue #14: an edit made on an outdated copy of a case is refused, never written over a newer one.

Each edit method takes ``loaded`` (the case as the editor loaded it; its ``updated`` is the
version). These tests play two editors (two tabs) on one case through one Services object.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from casefiles.config import Settings
from casefiles.errors import StaleEditError
from casefiles.model import Case, KeyImage
from casefiles.services import STALE_EDIT_MESSAGE, Services
from tests.dicom_factory import write_ct_study


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Services, Case, str]:
    services = Services(Settings(data_dir=tmp_path / "data", seed_samples=False))
    report = services.import_dicom(write_ct_study(tmp_path / "in", slices=3), title="Stale edits")
    case = services.get_case(report.case_ids[0])
    return services, case, case.assets[0].id


def test_a_save_on_the_current_version_goes_through_and_moves_the_version_on(setup) -> None:
    services, case, _ = setup
    saved = services.update_case(case.id, {"history": "Cough."}, loaded=case)
    assert saved.history == "Cough." and saved.updated > case.updated
    again = services.update_case(case.id, {"history": "Cough, fever."}, loaded=saved)
    assert services.get_case(case.id).history == "Cough, fever." and again.updated > saved.updated


def test_a_save_on_an_outdated_copy_is_refused_and_the_other_edit_kept(setup) -> None:
    services, case, _ = setup
    services.update_case(case.id, {"history": "Written in the other tab."}, loaded=case)
    with pytest.raises(StaleEditError) as refused:
        services.update_case(case.id, {"history": "Written here.", "diagnosis": "Nodule"}, loaded=case)
    assert str(refused.value) == STALE_EDIT_MESSAGE
    assert "changed since you opened it" in STALE_EDIT_MESSAGE and "nothing was saved" in STALE_EDIT_MESSAGE
    stored = services.get_case(case.id)
    assert (stored.history, stored.diagnosis) == ("Written in the other tab.", "")


def test_a_change_to_what_the_form_does_not_write_does_not_block_it(setup) -> None:
    services, case, asset_id = setup
    services.toggle_key_image(case.id, asset_id, 1, None, loaded=case)  # key images: not the form's fields
    saved = services.update_case(case.id, {"history": "Cough."}, loaded=case)
    assert saved.history == "Cough." and [k.frame for k in saved.key_images] == [1]


def test_a_form_loaded_for_another_case_is_refused(setup, tmp_path: Path) -> None:
    services, case, _ = setup
    other = services.get_case(services.import_dicom(write_ct_study(tmp_path / "in2", slices=2)).case_ids[0])
    with pytest.raises(StaleEditError, match="another case"):
        services.update_case(other.id, {"title": case.title, "history": "Case A's text"}, loaded=case)
    assert services.get_case(other.id) == other


def test_without_a_loaded_copy_edits_are_unchecked_as_before(setup) -> None:
    services, case, _ = setup
    services.update_case(case.id, {"history": "One."})
    assert services.update_case(case.id, {"history": "Two."}).history == "Two."


def test_key_images_marked_from_an_outdated_page_are_refused(setup) -> None:
    services, case, asset_id = setup
    services.toggle_key_image(case.id, asset_id, 0, None, loaded=case)  # the other tab marks slice 1
    with pytest.raises(StaleEditError):
        services.toggle_key_image(case.id, asset_id, 0, None, loaded=case)  # would unmark it unseen
    with pytest.raises(StaleEditError):
        services.set_key_images(case.id, [], loaded=case)
    assert [k.frame for k in services.get_case(case.id).key_images] == [0]
    # Another frame is independent of what this page showed: marking it goes through.
    assert [k.frame for k in services.toggle_key_image(case.id, asset_id, 2, None, loaded=case).key_images] == [0, 2]


def test_annotations_drawn_on_an_outdated_key_image_are_refused(setup) -> None:
    services, case, asset_id = setup
    shown = services.set_key_images(case.id, [KeyImage(asset_id=asset_id, frame=0)], loaded=case)
    arrow = {"kind": "arrow", "points": [[1, 1], [20, 20]]}
    ruler = {"kind": "ruler", "points": [[5, 5], [30, 5]]}
    mine = services.annotate_key_image(case.id, asset_id, 0, [arrow], loaded=shown)
    with pytest.raises(StaleEditError):
        services.annotate_key_image(case.id, asset_id, 0, [ruler], loaded=shown)  # drawn before the arrow
    stored = services.get_case(case.id).key_images[0]
    assert [type(a).__name__ for a in stored.annotations] == ["Arrow"]
    assert services.annotate_key_image(case.id, asset_id, 0, [arrow, ruler], loaded=mine).key_images[0].annotations


def test_two_tabs_saving_at_once_each_refused_or_kept_never_mixed(setup) -> None:
    """Many threads save on the same loaded copy at once: exactly one wins, the others are refused."""
    services, case, _ = setup
    start = threading.Barrier(8)
    outcomes: dict[int, str] = {}

    def save(n: int) -> None:
        start.wait()
        try:
            services.update_case(case.id, {"history": f"tab {n}"}, loaded=case)
            outcomes[n] = "saved"
        except StaleEditError:
            outcomes[n] = "refused"

    threads = [threading.Thread(target=save, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [n for n, outcome in outcomes.items() if outcome == "saved"]
    assert len(winners) == 1 and len(outcomes) == 8
    assert services.get_case(case.id).history == f"tab {winners[0]}"
