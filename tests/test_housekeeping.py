"""Deleting cases and conferences, editing a conference, merging two cases of one study (issue #14)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from casefiles.errors import NotFoundError, ValidationError
from casefiles.model import ConferenceKind, KeyImage, new_id
from tests.dicom_factory import write_ct_study
from tests.support.held_case import held_case


def imported(services, tmp_path, name="study", series=1, slices=3):
    write_ct_study(tmp_path / name, slices=slices, series=series)
    report = services.import_dicom([tmp_path / name])
    assert len(report.case_ids) == 1
    return services.get_case(report.case_ids[0])


def stored_blobs(services):
    return set(services.blobs.digests())


def test_delete_case_names_what_goes_takes_it_out_of_conferences_and_deletes_its_files(services, tmp_path):
    case = imported(services, tmp_path, slices=4)
    other = imported(services, tmp_path, "other")
    services.set_key_images(case.id, [KeyImage(asset_id=case.assets[0].id, frame=1)])
    board = services.create_conference("Tumor board", case_ids=[other.id, case.id])
    quiz = services.create_conference("Quiz", ConferenceKind.UNKNOWN_CASE_QUIZ, case_ids=[case.id])
    services.create_conference("Unrelated", case_ids=[other.id])
    before = stored_blobs(services)
    own = set(case.assets[0].blob_ids)

    preview = services.case_deletion(case.id)
    assert (preview.title, preview.series, preview.images, preview.key_images) == (case.title, 1, 4, 1)
    assert set(preview.conferences) == {"Tumor board", "Quiz"}
    assert "4 image(s)" in preview.summary() and "“Tumor board”" in preview.summary()
    assert services.get_case(case.id), "the preview changes nothing"

    done = services.delete_case(case.id)
    assert done == preview
    assert [c.id for c in services.list_cases()] == [other.id]
    assert services.get_conference(board.id).case_ids == (other.id,)
    assert services.get_conference(quiz.id).case_ids == ()
    assert stored_blobs(services) == before - own
    assert all(services.blobs.exists(b) for a in other.assets for b in a.blob_ids)

    with pytest.raises(NotFoundError, match="no case"):
        services.delete_case(case.id)


def test_a_case_whose_files_are_missing_is_still_deleted(services, tmp_path):
    case = imported(services, tmp_path)
    for digest in case.assets[0].blob_ids:
        services.blobs.delete(digest)
    assert services.delete_case(case.id).images == 3
    assert services.list_cases() == []


def test_files_another_case_shares_are_kept(services, tmp_path):
    case = imported(services, tmp_path)
    twin = replace(case, id=new_id(), version=0)
    services.store.save_case(twin)
    services.delete_case(case.id)
    assert all(services.blobs.exists(b) for a in twin.assets for b in a.blob_ids)


def test_deleting_a_case_wipes_its_originals_held_for_review(services, tmp_path):
    case_id = held_case(services, tmp_path)
    _asset, _frame, instance = services.images_for_review(services.get_case(case_id))[0]
    assert instance.review_original and services.review_area_usage()[0] == 1
    services.delete_case(case_id)
    assert services.review_area_usage()[0] == 0


def test_edit_and_delete_a_conference(services, tmp_path):
    case = imported(services, tmp_path)
    conference = services.create_conference("Test conference", case_ids=[case.id])
    edited = services.update_conference(
        conference.id, {"title": " Grand rounds ", "date": "2025-03-14", "kind": "grand_rounds"}
    )
    assert (edited.title, edited.date, edited.kind) == (
        "Grand rounds",
        dt.date(2025, 3, 14),
        ConferenceKind.GRAND_ROUNDS,
    )
    assert services.update_conference(conference.id, {"kind": "Tumor board", "date": ""}).date is None
    for bad in ({"title": "  "}, {"date": "14/03/2025"}, {"kind": "party"}, {"items": ()}):
        with pytest.raises(ValidationError):
            services.update_conference(conference.id, bad)
    assert services.delete_conference(conference.id).title == "Grand rounds"
    assert services.list_conferences() == [] and services.get_case(case.id)
    with pytest.raises(NotFoundError, match="no conference"):
        services.delete_conference(conference.id)


def test_merge_two_cases_of_one_study(services, tmp_path):
    whole = imported(services, tmp_path, series=2)
    first, second = whole.assets
    kept = services.store.get_case(whole.id).edited(assets=(first,), key_images=(KeyImage(first.id, 0),))
    services.store.save_case(kept)
    split = replace(
        whole,
        id=new_id(),
        version=0,
        title="Split off",
        assets=(second,),
        key_images=(KeyImage(second.id, 2),),
        diagnosis="Dx",
    )
    services.store.save_case(split)
    services.store.save_case(replace(services.get_case(whole.id), diagnosis=""))
    board = services.create_conference("Board", case_ids=[split.id])

    merged = services.merge_cases(whole.id, split.id)
    assert [a.id for a in merged.assets] == [first.id, second.id]
    assert [(k.asset_id, k.frame) for k in merged.key_images] == [(first.id, 0), (second.id, 2)]
    assert merged.diagnosis == "Dx"
    assert [c.id for c in services.list_cases()] == [whole.id]
    assert services.get_conference(board.id).case_ids == (whole.id,)
    assert all(services.blobs.exists(b) for a in merged.assets for b in a.blob_ids)


def test_merge_drops_a_series_both_hold_and_keeps_its_key_images(services, tmp_path):
    case = imported(services, tmp_path)
    copy = replace(case, id=new_id(), version=0, assets=(replace(case.assets[0], id=new_id()),))
    copy = copy.edited(key_images=(KeyImage(copy.assets[0].id, 1),))
    services.store.save_case(copy)
    merged = services.merge_cases(case.id, copy.id)
    assert [a.id for a in merged.assets] == [case.assets[0].id]
    assert [(k.asset_id, k.frame) for k in merged.key_images] == [(case.assets[0].id, 1)]
    assert all(services.blobs.exists(b) for b in case.assets[0].blob_ids)


def test_cases_of_different_studies_are_not_merged(services, tmp_path):
    one, two = imported(services, tmp_path, "a"), imported(services, tmp_path, "b")
    with pytest.raises(ValidationError, match="same study"):
        services.merge_cases(one.id, two.id)
    with pytest.raises(ValidationError):
        services.merge_cases(one.id, one.id)
    assert len(services.list_cases()) == 2
