"""A study and its TCE key object selection sent by storescu become a de-identified draft case."""

from __future__ import annotations

import time
from pathlib import Path

import pydicom
import pytest

from casefiles.inbox import CONFERENCE_INBOX
from casefiles.model import Case
from casefiles.services import Services
from tests.dicom_factory import FAKE_PHI
from tests.inbox.kit import CLEAN_PART, FOR_CONFERENCE, Results, send, settled_status, sop_uids, write_kos


def _key_image_sops(case: Case) -> list[str]:
    return [case.asset(k.asset_id).locate_frame(k.frame)[0].sop_instance_uid for k in case.key_images]


def _only_case(library: Services) -> Case:
    cases = library.list_cases()
    assert len(cases) == 1, f"{len(cases)} cases were made"
    return cases[0]


@pytest.mark.parametrize("order", ["selection last", "selection first", "selection after the study was filed"])
def test_a_for_teaching_selection_makes_one_draft_case_with_its_key_images(
    order, inbox, library, results: Results, study, tmp_path
):
    selected = [study[1], study[3]]
    kos = write_kos(tmp_path / "kos.dcm", study, selected)
    if order == "selection last":
        assert send(inbox.port, [*study, kos]).returncode == 0
        filed = results.wait_for(1)
    elif order == "selection first":
        assert send(inbox.port, [kos, *study]).returncode == 0
        filed = results.wait_for(1)
    else:
        assert send(inbox.port, study).returncode == 0
        results.wait_for(1)
        assert _only_case(library).key_images == ()
        assert send(inbox.port, [kos]).returncode == 0
        filed = results.wait_for(2)
    case = _only_case(library)
    assert sum(len(a.instances) for a in case.assets) == 5
    assert _key_image_sops(case) == [library.deidentifier.remap_uid(u) for u in sop_uids(selected)]
    assert CLEAN_PART in case.history
    assert {"inbox", "for teaching"} <= set(case.tags)
    assert all(r.problems == () for r in filed), [r.problems for r in filed]
    assert sum(r.key_images_added for r in filed) == 2
    assert library.list_conferences() == []


def test_nothing_identifying_reaches_the_library_and_the_quarantine_ends_empty(
    inbox, library, results: Results, study, tmp_path
):
    kos = write_kos(tmp_path / "kos.dcm", study, [study[0]])
    assert send(inbox.port, [*study, kos]).returncode == 0
    results.wait_for(1)
    inbox.stop()
    assert not any(library.settings.quarantine_dir.iterdir())
    case = _only_case(library)
    assert "[removed]" in case.history
    for phi in (*FAKE_PHI, "2024-03-12"):
        assert phi.lower() not in case.history.lower()
    stored = [p for p in library.settings.data_dir.rglob("*") if p.is_file()]
    assert stored
    for path in stored:
        data = path.read_bytes().lower()
        assert not any(phi.lower().encode() in data for phi in FAKE_PHI), path.name


def test_a_for_conference_selection_puts_the_case_in_the_conference_inbox(
    inbox, library, results: Results, study, tmp_path
):
    kos = write_kos(tmp_path / "kos.dcm", study, [study[2]], title=FOR_CONFERENCE, description="Board on Thursday")
    assert send(inbox.port, [*study, kos]).returncode == 0
    results.wait_for(1)
    case = _only_case(library)
    assert {"inbox", "for conference"} <= set(case.tags)
    (conference,) = library.list_conferences()
    assert conference.title == CONFERENCE_INBOX
    assert conference.case_ids == (case.id,)
    assert case.history == "Board on Thursday"

    # A second case for conference joins the same inbox conference.
    from tests.dicom_factory import write_ct_study

    other = write_ct_study(tmp_path / "other", slices=2)
    kos2 = write_kos(tmp_path / "kos2.dcm", other, other, title=FOR_CONFERENCE, description=None)
    assert send(inbox.port, [*other, kos2]).returncode == 0
    results.wait_for(2)
    (conference,) = library.list_conferences()
    assert len(conference.case_ids) == 2 and conference.case_ids[0] == case.id


def test_a_study_without_a_selection_becomes_a_plain_draft_in_the_inbox(inbox, library, results: Results, study):
    assert send(inbox.port, study).returncode == 0
    (result,) = results.wait_for(1)
    case = _only_case(library)
    assert result.case_ids == (case.id,) and result.key_images_added == 0
    assert case.tags == ("inbox",)
    assert case.key_images == () and case.history == ""


def test_the_history_a_case_already_has_is_kept_and_the_description_appended(
    inbox, library, results: Results, study, tmp_path
):
    assert send(inbox.port, study).returncode == 0
    results.wait_for(1)
    case = _only_case(library)
    library.update_case(case.id, {"history": "Cough for 3 weeks."})
    kos = write_kos(tmp_path / "kos.dcm", study, [study[4]])
    assert send(inbox.port, [kos]).returncode == 0
    results.wait_for(2)
    history = library.get_case(case.id).history
    assert history.startswith("Cough for 3 weeks.\n\n") and CLEAN_PART in history


def _short_pixels(path: Path) -> None:
    ds = pydicom.dcmread(path)
    ds.PixelData = ds.PixelData[:1000]  # a damaged image: fewer pixels than its rows and columns say
    ds.save_as(path)


def _no_study_uid(path: Path) -> None:
    ds = pydicom.dcmread(path)
    del ds.StudyInstanceUID
    ds.save_as(path)


@pytest.mark.parametrize("damage", [_short_pixels, _no_study_uid], ids=["short pixel data", "no study uid"])
def test_a_damaged_instance_among_good_ones_leaves_the_rest_filed(
    damage, inbox, library, results: Results, study, tmp_path
):
    kos = write_kos(tmp_path / "kos.dcm", study, [study[0], study[4]])
    damage(study[2])
    assert send(inbox.port, [*study, kos]).returncode == 0
    results.wait_for(1)
    case = _only_case(library)
    assert sum(len(a.instances) for a in case.assets) == 4
    assert len(case.key_images) == 2
    assert inbox.status().problems + sum(len(r.problems) for r in results.wait_for(1)) >= 1
    inbox.stop()
    assert not any(library.settings.quarantine_dir.iterdir())


def test_a_selection_whose_images_never_arrived_is_reported(inbox, library, results: Results, study, tmp_path):
    kos = write_kos(tmp_path / "kos.dcm", study, [study[0]])
    assert send(inbox.port, [kos]).returncode == 0
    (result,) = results.wait_for(1)
    assert library.list_cases() == []
    assert result.case_ids == () and result.key_images_added == 0
    assert "send the study itself too" in result.problems[0].reason
    status = settled_status(inbox, lambda s: s.problems > 0)
    assert status.problems == 1 and "Nothing of a received study could be filed" in status.last_problem


def test_a_sent_study_is_de_identified_while_it_arrives_and_filed_once_complete(
    library: Services, results: Results, tmp_path: Path
) -> None:
    from tests.dicom_factory import write_ct_study

    study = write_ct_study(tmp_path / "big", slices=30)
    receiver = library.pacs.receiver(host="127.0.0.1", port=0, quiet_seconds=6.0, on_result=results.add)
    with receiver:
        assert send(receiver.port, study).returncode == 0
        # Within the quiet period (the study may still grow), its images are already de-identified and stored ...
        deadline = time.monotonic() + 5.0
        while len(list(library.blobs.digests())) < 30 and time.monotonic() < deadline:
            time.sleep(0.05)
        stored_early = len(list(library.blobs.digests()))
        cases_early = library.count_cases()
        # ... and the case is filed only once the study is complete.
        results.wait_for(1)
    assert stored_early == 30, f"{stored_early} of 30 images were de-identified before the study was complete"
    assert cases_early == 0, "a case was filed before the study was complete"
    case = _only_case(library)
    assert sum(len(a.instances) for a in case.assets) == 30
    assert not any(library.settings.quarantine_dir.iterdir()), "the quarantine is empty afterwards"
    for blob in library.blobs.digests():
        data = library.blobs.get(blob)
        assert not any(phi.encode() in data for phi in FAKE_PHI)
