"""Reviewing burned-in text after import: blank more, confirm; the unredacted file must not remain."""

import io

import numpy as np
import pydicom
import pytest

from casefiles.errors import ValidationError
from casefiles.model import Asset, AssetKind, Case, Instance, Region, Review
from tests.redaction.synthetic import ultrasound


def stored_ultrasound_case(services) -> tuple[Case, Instance]:
    ds = ultrasound(frames=3)
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    blob = services.blobs.put(buffer.getvalue())
    instance = Instance(str(ds.SOPInstanceUID), blob, frames=3, review=Review.NEEDS_REVIEW)
    asset = Asset(id="us1", kind=AssetKind.DICOM_SERIES, label="US", modality="US", instances=(instance,))
    case = Case(id="c1", title="Gallstone", assets=(asset,))
    services.store.save_case(case)
    return case, instance


def test_pending_images_are_listed_until_confirmed(services):
    case, instance = stored_ultrasound_case(services)
    assert [(a.id, f, i.sop_instance_uid) for a, f, i in services.images_for_review(case)] == [
        ("us1", 0, instance.sop_instance_uid)
    ]
    confirmed = services.confirm_reviewed(case.id, "us1", instance.sop_instance_uid)
    assert services.images_for_review(confirmed) == []
    assert services.get_case(case.id).assets[0].instances[0].review is Review.CONFIRMED


def test_blanking_a_region_replaces_the_file_in_every_frame_and_deletes_the_old_one(services):
    case, instance = stored_ultrasound_case(services)
    before = pydicom.dcmread(io.BytesIO(services.blobs.get(instance.blob))).pixel_array
    assert before[:, 0:40, :, :].max() > 0, "the banner area has text before"

    updated = services.blank_region(case.id, "us1", instance.sop_instance_uid, Region(0, 0, 640, 40))
    new = updated.assets[0].instances[0]
    assert new.blob != instance.blob
    assert not services.blobs.exists(instance.blob), "the unredacted file is gone"
    assert new.redacted == (Region(0, 0, 640, 40),)
    assert new.review is Review.NEEDS_REVIEW, "a person still confirms"
    after = pydicom.dcmread(io.BytesIO(services.blobs.get(new.blob))).pixel_array
    assert after.shape == before.shape
    assert after[:, 0:40, :, :].max() == 0
    np.testing.assert_array_equal(after[:, 40:, :, :], before[:, 40:, :, :])
    assert updated.assets[0].thumbnail and services.blobs.exists(updated.assets[0].thumbnail)
    assert services.review_overlay_png(updated.assets[0], 0, new)[:4] == b"\x89PNG"


def test_region_outside_the_image_is_refused(services):
    case, instance = stored_ultrasound_case(services)
    with pytest.raises(ValidationError, match="outside the image"):
        services.blank_region(case.id, "us1", instance.sop_instance_uid, Region(700, 0, 10, 10))
    assert services.blobs.exists(instance.blob)
