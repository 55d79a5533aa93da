"""Issue #14: every edit of a case's items, and of a conference, carries the copy it was made on.

Each method takes ``loaded`` (the case or conference as the page showed it; its ``updated`` is the
version). Two editors (two tabs) work through one Services object: the second edit made on the old
copy is refused with StaleEditError when the part it changes moved on, and nothing is saved; an
unrelated change does not block it; ``loaded=None`` keeps the old, unchecked behaviour.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from casefiles.config import Settings
from casefiles.errors import StaleEditError
from casefiles.model import Asset, AssetKind, Case, CasePlan, Conference, Region, new_id
from casefiles.services import STALE_CONFERENCE_MESSAGE, STALE_EDIT_MESSAGE, Services
from tests.dicom_factory import write_ct_study
from tests.support.held_case import held_case


@pytest.fixture
def services(tmp_path: Path) -> Services:
    return Services(Settings(data_dir=tmp_path / "data", seed_samples=False))


def _photo(colour: tuple[int, int, int] = (30, 140, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((120, 160, 3), colour, np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def _pdf(pages: int = 2) -> bytes:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    for page in range(pages):
        pdf.drawString(72, 720, f"Report page {page + 1}")
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _with_item(services: Services, case: Case, kind: AssetKind, data: bytes, label: str) -> tuple[Case, str]:
    """The case with an item added straight to the store (its file is not read by the checks)."""
    asset = Asset(id=new_id(), kind=kind, label=label, blob=services.blobs.put(data))
    saved = case.edited(assets=(*case.assets, asset))
    services.store.save_case(saved)
    return services.get_case(case.id), asset.id


@pytest.fixture
def case(services: Services, tmp_path: Path) -> Case:
    report = services.import_dicom(write_ct_study(tmp_path / "ct", slices=3), title="Edit checks")
    return services.get_case(report.case_ids[0])


def _unchanged(services: Services, before: Case) -> None:
    after = services.get_case(before.id)
    assert (after.assets, after.updated) == (before.assets, before.updated), "nothing was saved"


def test_a_caption_written_on_an_old_copy_is_refused_and_another_item_s_is_not(services, case) -> None:
    case, slides = _with_item(services, case, AssetKind.SLIDE_DECK, b"deck", "Slides 1")
    ct = case.assets[0].id
    other_tab = services.set_asset_caption(case.id, slides, "Referring team's slides", loaded=case)
    with pytest.raises(StaleEditError) as refused:
        services.set_asset_caption(case.id, slides, "My caption", loaded=case)
    assert str(refused.value) == STALE_EDIT_MESSAGE
    _unchanged(services, other_tab)
    # The CT's caption did not change since this page was shown: it may be written.
    saved = services.set_asset_caption(case.id, ct, "Axial CT", loaded=case)
    assert (saved.asset(ct).caption, saved.asset(slides).caption) == ("Axial CT", "Referring team's slides")
    assert saved.updated > other_tab.updated
    # Without a loaded copy: as before, unchecked.
    assert services.set_asset_caption(case.id, slides, "Unchecked").asset(slides).caption == "Unchecked"


def test_slides_chosen_on_an_old_copy_are_refused(services, case) -> None:
    case, slides = _with_item(services, case, AssetKind.SLIDE_DECK, b"deck", "Slides 1")
    other_tab = services.choose_slides(case.id, slides, [0, 2], loaded=case)
    with pytest.raises(StaleEditError):
        services.choose_slides(case.id, slides, [1], loaded=case)
    _unchanged(services, other_tab)
    assert services.choose_slides(case.id, slides, [1], loaded=other_tab).asset(slides).chosen == (1,)


def test_moving_an_item_on_an_old_order_is_refused_but_a_caption_elsewhere_does_not_block_it(services, case) -> None:
    case, first = _with_item(services, case, AssetKind.SLIDE_DECK, b"deck", "Slides 1")
    case, second = _with_item(services, case, AssetKind.DOCUMENT, b"%PDF", "PDF 1")
    ct = case.assets[0].id
    captioned = services.set_asset_caption(case.id, ct, "Axial CT", loaded=case)  # not the order
    moved = services.move_asset(case.id, second, -1, loaded=case)
    assert [a.id for a in moved.assets] == [ct, second, first]
    assert moved.asset(ct).caption == "Axial CT" and moved.updated > captioned.updated
    with pytest.raises(StaleEditError):  # this page still shows the old order
        services.move_asset(case.id, first, -1, loaded=case)
    _unchanged(services, moved)
    assert [a.id for a in services.move_asset(case.id, first, -1, loaded=moved).assets] == [ct, first, second]


def test_pages_taken_from_a_pdf_another_tab_removed_are_refused(services, case) -> None:
    case, pdf = _with_item(services, case, AssetKind.DOCUMENT, _pdf(), "PDF 1")
    ct = case.assets[0].id
    services.set_asset_caption(case.id, ct, "Axial CT", loaded=case)  # unrelated: does not block
    added = services.add_pdf_pages(case.id, pdf, [1], loaded=case)
    pictures = [a for a in added.assets if a.kind is AssetKind.IMAGE]
    assert [(p.label, p.caption) for p in pictures] == [("Image 1", "PDF 1, page 2")]
    assert added.asset(ct).caption == "Axial CT", "the other edit is kept"

    removed = added.edited(assets=tuple(a for a in added.assets if a.id != pdf))
    services.store.save_case(removed)  # another tab takes the PDF out
    current = services.get_case(case.id)
    with pytest.raises(StaleEditError):
        services.add_pdf_pages(case.id, pdf, [0], loaded=added)
    _unchanged(services, current)


def test_a_clip_edited_on_an_old_copy_is_refused_before_it_is_encoded(services, case) -> None:
    case, clip = _with_item(services, case, AssetKind.VIDEO, b"not really a clip", "Clip 1")
    other = case.edited(assets=tuple(replace(a, blob=services.blobs.put(b"trimmed")) if a.id == clip else a
                                      for a in case.assets))  # fmt: skip
    services.store.save_case(other)  # another tab trimmed it
    current = services.get_case(case.id)
    with pytest.raises(StaleEditError):
        services.edit_video(case.id, clip, start_s=1.0, loaded=case)
    with pytest.raises(StaleEditError):
        services.black_out(case.id, clip, [Region(0, 0, 10, 10)], loaded=case)
    _unchanged(services, current)


def test_boxes_blacked_out_on_an_old_copy_of_a_picture_are_refused(services, case) -> None:
    case, photo = _with_item(services, case, AssetKind.IMAGE, _photo(), "Image 1")
    other_tab = services.black_out(case.id, photo, [Region(0, 0, 40, 20)], loaded=case)
    assert other_tab.asset(photo).blob != case.asset(photo).blob
    with pytest.raises(StaleEditError):  # drawn on the picture as it was before
        services.black_out(case.id, photo, [Region(100, 80, 40, 20)], loaded=case)
    _unchanged(services, other_tab)
    again = services.black_out(case.id, photo, [Region(100, 80, 40, 20)], loaded=other_tab)
    assert again.asset(photo).blob != other_tab.asset(photo).blob


def test_boxes_blacked_out_on_an_old_copy_of_a_dicom_image_are_refused_on_that_image_only(services, case) -> None:
    series = case.assets[0]
    other_tab = services.black_out(case.id, series.id, [Region(0, 0, 8, 8)], frame=0, loaded=case)
    with pytest.raises(StaleEditError):
        services.black_out(case.id, series.id, [Region(10, 10, 8, 8)], frame=0, loaded=case)
    with pytest.raises(StaleEditError):
        services.blank_region(
            case.id, series.id, series.instances[0].sop_instance_uid, Region(10, 10, 8, 8), loaded=case
        )
    _unchanged(services, other_tab)
    # Another image of the series did not change: the boxes drawn on it go in.
    frame_2 = services.black_out(case.id, series.id, [Region(10, 10, 8, 8)], frame=2, loaded=case)
    stored = frame_2.asset(series.id)
    assert [len(i.redacted) for i in stored.instances] == [1, 0, 1]


def test_review_boxes_and_confirmation_on_an_old_copy_are_refused(services, tmp_path: Path) -> None:
    case_id = held_case(services, tmp_path)
    case = services.get_case(case_id)
    asset, _frame, instance = services.images_for_review(case)[0]
    sop = instance.sop_instance_uid
    other_tab = services.set_review_boxes(case_id, asset.id, sop, [Region(0, 0, 60, 20)], loaded=case)
    with pytest.raises(StaleEditError):  # confirming what this reviewer did not see
        services.confirm_reviewed(case_id, asset.id, sop, loaded=case)
    with pytest.raises(StaleEditError):
        services.set_review_boxes(case_id, asset.id, sop, [], loaded=case)
    _unchanged(services, other_tab)
    confirmed = services.confirm_reviewed(case_id, asset.id, sop, loaded=other_tab)
    assert services.images_for_review(confirmed) == []


def test_a_conference_saved_on_an_old_copy_is_refused_where_it_changed(services, case) -> None:
    board = services.create_conference("Tumor board", case_ids=[case.id])
    renamed = services.update_conference(board.id, {"title": "Tumor board, Thu"}, loaded=board)
    assert renamed.updated > board.updated
    form = {"title": "Tumor board", "kind": board.kind, "date": "2025-03-14"}
    with pytest.raises(StaleEditError) as refused:  # the old form would undo the other tab's title
        services.update_conference(board.id, form, loaded=board)
    assert str(refused.value) == STALE_CONFERENCE_MESSAGE
    assert "changed since you opened it — reload" in STALE_CONFERENCE_MESSAGE
    assert services.get_conference(board.id) == renamed
    # A field the other tab did not change may be saved from the old copy.
    dated = services.update_conference(board.id, {"date": "2025-03-14"}, loaded=board)
    assert (dated.title, dated.date) == ("Tumor board, Thu", dt.date(2025, 3, 14))
    # A form filled for another conference is never saved into this one.
    other = services.create_conference("Grand rounds")
    with pytest.raises(StaleEditError, match="another conference"):
        services.update_conference(other.id, {"title": "Tumor board, Thu"}, loaded=dated)
    assert services.get_conference(other.id).title == "Grand rounds"
    # Unchecked without a loaded copy, as before.
    assert services.update_conference(board.id, {"title": "Board"}).title == "Board"


def test_a_case_plan_set_on_an_old_copy_of_the_conference_is_refused(services, case) -> None:
    board = services.create_conference("Tumor board", case_ids=[case.id])
    other_tab = services.set_plan(board.id, CasePlan(case.id, reveal=True), loaded=board)
    with pytest.raises(StaleEditError):
        services.set_plan(board.id, CasePlan(case.id, stacks=True), loaded=board)
    assert services.get_conference(board.id) == other_tab
    assert services.set_plan(board.id, CasePlan(case.id, reveal=True, stacks=True), loaded=other_tab).items[0].stacks


def test_the_running_order_is_read_and_saved_under_the_edit_lock(services, case) -> None:
    """Adding, removing and moving cases hold the lock every other edit holds (issue #14, two tabs at once):
    a case deleted out of the conference, or a plan saved, never meets them in the store's version check."""
    from casefiles.usecases.conferences import Conferences

    class Lock:
        held = False

        def __enter__(self) -> None:
            Lock.held = True

        def __exit__(self, *exc: object) -> None:
            Lock.held = False

    class Records:
        def __getattr__(self, name: str) -> object:
            return getattr(services.store, name)

        def save_conference(self, conference: Conference) -> Conference:
            assert Lock.held, "saved outside the edit lock"
            return services.store.save_conference(conference)

    other = services.store.save_case(replace(case, id=new_id(), version=0))
    board = services.create_conference("Tumor board", case_ids=[case.id])
    conferences = Conferences(Records(), edit_lock=Lock(), refuse_while_exported=lambda *_: None)
    added = conferences.add_cases(board.id, [other.id])
    moved = conferences.move_case(board.id, other.id, 0)
    removed = conferences.remove_case(board.id, case.id)
    assert (added.case_ids, moved.case_ids, removed.case_ids) == ((case.id, other.id), (other.id, case.id), (other.id,))
    assert added.updated > board.updated and moved.updated > added.updated and removed.updated > moved.updated
