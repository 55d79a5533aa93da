"""How the gate names what holds a case back: by position, with the case's title only when vouched for."""

from __future__ import annotations

import pytest

from casefiles.deid.versions import PIXEL_RULES, TEXT_RULES
from casefiles.model import Asset, AssetKind, Case, Instance, Review
from casefiles.release import ReleaseBlocked, blockers_of, check_release


def _instance(n: int, **changes: object) -> Instance:
    fields: dict[str, object] = {"text_rules": TEXT_RULES, "pixel_rules": PIXEL_RULES}
    fields.update(changes)
    return Instance(sop_instance_uid=f"1.2.3.{n}", blob=f"blob{n}", **fields)  # type: ignore[arg-type]


def _case(*assets: Asset, text_rules: int = TEXT_RULES) -> Case:
    return Case(id="c0ffee", title="Bosniak IIF cyst", assets=assets, text_rules=text_rules)


def test_a_vouched_for_case_may_leave() -> None:
    series = Asset(id="s1", kind=AssetKind.DICOM_SERIES, instances=(_instance(1), _instance(2)))
    assert blockers_of(_case(series)) == ()
    check_release([_case(series)], way_out="package")


def test_a_confirmed_review_outranks_old_pixel_rules() -> None:
    looked_at = _instance(1, pixel_rules=0, review=Review.CONFIRMED)
    series = Asset(id="s1", kind=AssetKind.DICOM_SERIES, instances=(looked_at,))
    assert blockers_of(_case(series)) == ()


def test_images_are_counted_per_series_and_named_by_position() -> None:
    first = Asset(id="s1", kind=AssetKind.DICOM_SERIES, instances=(_instance(1),))
    second = Asset(
        id="s2",
        kind=AssetKind.DICOM_SERIES,
        instances=(_instance(1), _instance(2, review=Review.NEEDS_REVIEW), _instance(3, review=Review.NEEDS_REVIEW)),
    )
    clip = Asset(id="v1", kind=AssetKind.VIDEO, blob="clip", review=Review.NEEDS_REVIEW)
    (series_blocker, clip_blocker) = blockers_of(_case(first, second, clip))
    assert series_blocker.describe().startswith(
        "Bosniak IIF cyst: series 2, 2 images from image 2 wait for their burned-in text review"
    )
    assert series_blocker.count == 2 and series_blocker.asset_id == "s2"
    assert clip_blocker.item == "video 1" and clip_blocker.asset_id == "v1"


def test_old_text_hides_the_title_and_asks_for_a_recheck() -> None:
    series = Asset(id="s1", kind=AssetKind.DICOM_SERIES, instances=(_instance(1, text_rules=1),))
    with pytest.raises(ReleaseBlocked) as refused:
        check_release([_case(series, text_rules=0)], way_out="HTML show")
    message = str(refused.value)
    assert "Bosniak" not in message and "case c0ffee" in message
    assert "HTML show" in message and "recheck" in message
    assert len(refused.value.blockers) == 2
