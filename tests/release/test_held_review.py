"""Reviewing a held image from its encrypted original (issue #13, scope 3).

An image whose text could not be cleared enters the library as a blank placeholder; its
original waits in the encrypted review area. The reviewer sees the proposed boxes over the
original, removes a wrong one, adds a missing one and confirms: the stored image is then the
original with exactly those boxes blanked, and the review area is empty again.
"""

from __future__ import annotations

import numpy as np
import pytest

from casefiles.model import Region, Review
from casefiles.release import ReleaseBlocked
from casefiles.services import Services
from tests.support.held_case import BURNED_NAME


def _held(services: Services, case_id: str):  # type: ignore[no-untyped-def]
    ((asset, frame, instance),) = services.images_for_review(services.get_case(case_id))
    return asset, frame, instance


def test_a_held_image_is_stored_blank_and_its_original_is_encrypted_in_the_review_area(
    services: Services, blocked_case: str, data_dir
) -> None:
    _asset, _frame, instance = _held(services, blocked_case)
    assert instance.review_original
    assert not services.dataset(instance.blob).pixel_array.any(), "the library holds a blank placeholder"
    assert services.review_area_usage()[0] == 1
    on_disk = b"".join(p.read_bytes() for p in (data_dir / "review-area").glob("*.rva"))
    assert b"DICM" not in on_disk and BURNED_NAME.encode() not in on_disk


def test_remove_a_wrong_box_add_a_missing_one_and_confirm(services: Services, blocked_case: str) -> None:
    asset, frame, instance = _held(services, blocked_case)
    original = services.review_area.get(instance.review_original)
    import io

    import pydicom

    source = pydicom.dcmread(io.BytesIO(original)).pixel_array
    wrong = Region(100, 100, 40, 40)  # over the body: covers no text
    corner = Region(0, 0, 130, 36)  # where the name and MRN are
    services.set_review_boxes(blocked_case, asset.id, instance.sop_instance_uid, [wrong])
    services.set_review_boxes(blocked_case, asset.id, instance.sop_instance_uid, [])  # the reviewer removed it
    services.blank_region(blocked_case, asset.id, instance.sop_instance_uid, corner)  # and added the missing one
    shown = services.review_image_png(asset, frame, _held(services, blocked_case)[2])
    assert shown.startswith(b"\x89PNG")

    case = services.confirm_reviewed(blocked_case, asset.id, instance.sop_instance_uid)

    confirmed = next(i for a in case.assets for i in a.instances if i.sop_instance_uid == instance.sop_instance_uid)
    assert confirmed.review is Review.CONFIRMED and confirmed.review_original == ""
    assert confirmed.redacted == (corner,)
    stored = services.dataset(confirmed.blob).pixel_array
    assert not stored[0:36, 0:130].any(), "the added box is blanked"
    np.testing.assert_array_equal(stored[100:140, 100:140], source[100:140, 100:140])  # the removed one is not
    np.testing.assert_array_equal(stored[60:, :], source[60:, :])
    assert services.review_area_usage() == (0, 0), "the original was wiped"
    assert services.release_blockers(blocked_case) == ()


def test_a_box_outside_the_image_is_refused(services: Services, blocked_case: str) -> None:
    asset, _frame, instance = _held(services, blocked_case)
    with pytest.raises(Exception, match="outside the image"):
        services.set_review_boxes(blocked_case, asset.id, instance.sop_instance_uid, [Region(900, 900, 10, 10)])


def test_an_original_that_cannot_be_read_keeps_the_image_held(services: Services, blocked_case: str) -> None:
    """A missing key or a damaged original: the image stays blank and held, and says why."""
    asset, _frame, instance = _held(services, blocked_case)
    services.review_area.discard(instance.review_original)
    with pytest.raises(Exception, match="review area"):
        services.confirm_reviewed(blocked_case, asset.id, instance.sop_instance_uid)
    assert _held(services, blocked_case)[2].review is Review.NEEDS_REVIEW
    with pytest.raises(ReleaseBlocked):
        services.export(blocked_case, "pptx", services.settings.data_dir / "never.pptx")


def test_a_full_review_area_refuses_the_held_image_and_imports_the_rest(services: Services, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from pydicom.uid import generate_uid

    from casefiles.review_area import ReviewArea
    from tests.dicom_factory import ct_slice
    from tests.support.held_case import screen_save

    services.review_area = ReviewArea(tmp_path / "tiny-area", bytes(range(32)), max_bytes=64)
    folder = tmp_path / "incoming"
    folder.mkdir()
    study, series = generate_uid(), generate_uid()
    for index in range(2):
        ct_slice(study, series, index).save_as(folder / f"ct{index}.dcm", enforce_file_format=True)
    screen_save(study, faint=True).save_as(folder / "faint.dcm", enforce_file_format=True)

    report = services.import_dicom([folder])

    assert report.instances_imported == 2
    (problem,) = report.problems
    assert "held for burned-in text review and not stored" in problem.reason and "full" in problem.reason
    assert "faint" not in problem.item  # named by position
    assert services.images_for_review(services.get_case(report.case_ids[0])) == []
    assert services.review_area.usage() == (0, 0)
