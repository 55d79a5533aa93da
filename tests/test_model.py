import datetime as dt

import pytest

from casefiles.errors import ValidationError
from casefiles.model import (
    Asset,
    AssetKind,
    Case,
    CasePlan,
    Conference,
    ConferenceKind,
    Difficulty,
    Instance,
    KeyImage,
    Window,
    new_id,
)

BLOB = "a" * 64


def series(asset_id: str = "s1", frames: tuple[int, ...] = (1, 1, 1)) -> Asset:
    return Asset(
        id=asset_id,
        kind=AssetKind.DICOM_SERIES,
        label="AX CT",
        modality="CT",
        instances=tuple(Instance(f"1.2.{i}", BLOB, instance_number=i + 1, frames=n) for i, n in enumerate(frames)),
        default_window=Window(40, 400),
    )


def test_case_round_trips_through_its_json_shape():
    case = Case(
        id=new_id(),
        title="Pulmonary nodule",
        history="Smoker, 60 pack-years.",
        differential=("Granuloma", "Primary lung cancer"),
        teaching_points=("Fleischner applies to incidental nodules",),
        tags=("Chest", "nodule"),
        difficulty=Difficulty.INTERMEDIATE,
        assets=(series(),),
        key_images=(KeyImage("s1", 2, Window(-600, 1500), "RLL nodule"),),
    )
    assert Case.from_dict(case.to_dict()) == case


def test_tags_are_normalised_and_deduplicated():
    case = Case(id="c1", title="t", tags=("Chest", " chest ", "", "CT"))
    assert case.tags == ("chest", "ct")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"title": "  "}, "title must not be empty"),
        ({"title": 5}, "title must be text"),
        ({"tags": "chest"}, "tags must be a list"),
        ({"key_images": (KeyImage("nope", 0),)}, "not in this case"),
        ({"assets": (series(),), "key_images": (KeyImage("s1", 3),)}, "has 3 frames"),
        ({"assets": (series(), series())}, "share one id"),
    ],
)
def test_case_constructor_names_the_bad_argument(kwargs, message):
    base = {"id": "c1", "title": "Case"}
    base.update(kwargs)
    with pytest.raises(ValidationError, match=message):
        Case(**base)


def test_window_rejects_non_finite_and_narrow_values():
    with pytest.raises(ValidationError, match="finite"):
        Window(float("nan"), 400)
    with pytest.raises(ValidationError, match="at least 1"):
        Window(40, 0)


def test_series_frames_span_multi_frame_instances():
    asset = series(frames=(1, 5, 2))
    assert asset.frame_count == 8
    instance, within = asset.locate_frame(4)
    assert (instance.sop_instance_uid, within) == ("1.2.1", 3)
    with pytest.raises(ValidationError, match="8 frames"):
        asset.locate_frame(8)


def test_non_dicom_asset_needs_its_file():
    with pytest.raises(ValidationError, match="needs its file"):
        Asset(id="p", kind=AssetKind.IMAGE)


def test_edited_updates_timestamp_and_keeps_created():
    case = Case(id="c1", title="Case", created=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    later = case.edited(diagnosis="Sarcoidosis")
    assert later.created == case.created
    assert later.updated > case.updated or later.updated >= case.created
    assert later.diagnosis == "Sarcoidosis"


def test_conference_keeps_order_and_refuses_duplicates():
    conf = Conference(
        id="k",
        title="Tumor board",
        kind=ConferenceKind.TUMOR_BOARD,
        items=(CasePlan("b", key_images=(1, 0), reveal=True), CasePlan("a")),
    )
    again = Conference.from_dict(conf.to_dict())
    assert again == conf and again.case_ids == ("b", "a")
    assert again.plan("b").key_images == (1, 0) and again.plan("b").reveal
    with pytest.raises(ValidationError, match="twice"):
        Conference(id="k", title="x", items=(CasePlan("a"), CasePlan("a")))
    with pytest.raises(ValidationError, match="picked twice"):
        CasePlan("a", key_images=(0, 0))


def test_case_plan_picks_key_images_in_its_own_order():
    case = Case(
        id="c1",
        title="t",
        assets=(series(),),
        key_images=(KeyImage("s1", 0), KeyImage("s1", 1), KeyImage("s1", 2)),
    )
    assert CasePlan("c1").chosen(case) == case.key_images
    assert [k.frame for k in CasePlan("c1", key_images=(2, 0, 7)).chosen(case)] == [2, 0]
