"""A real Orthanc sends studies to CaseDeck's receiver (REST /modalities/CASEDECK/store): draft cases in the inbox."""

from __future__ import annotations

import json
import shutil
import urllib.request

import pydicom

from casefiles.config import Settings
from casefiles.inbox import inbox_handler
from casefiles.pacs.receiver import StorageReceiver
from casefiles.services import Services
from tests.dicom_factory import FAKE_PHI, write_ct_study
from tests.inbox.kit import CLEAN_PART, Results, sop_uids, write_kos
from tests.pacs.conftest import OUR_AET, Orthanc, free_port


def _post(orthanc: Orthanc, path: str, body: bytes) -> object:
    request = urllib.request.Request(f"http://127.0.0.1:{orthanc.http_port}{path}", data=body, method="POST")
    with urllib.request.urlopen(request, timeout=120) as rsp:
        return json.load(rsp)


def _send_study(orthanc: Orthanc, study_uid: str) -> None:
    """Ask Orthanc to C-STORE one study to CaseDeck, as a PACS user does from its UI."""
    found = _post(orthanc, "/tools/lookup", study_uid.encode())
    assert isinstance(found, list)
    (study,) = [f for f in found if f["Type"] == "Study"]
    _post(
        orthanc, f"/modalities/{OUR_AET}/store", json.dumps({"Resources": [study["ID"]], "Synchronous": True}).encode()
    )


def _receiver(library: Services, results: Results, port: int) -> StorageReceiver:
    return StorageReceiver(
        ae_title=OUR_AET,
        host="127.0.0.1",
        port=port,
        quarantine_dir=library.settings.quarantine_dir,
        on_study=inbox_handler(library, on_result=results.add),
        quiet_seconds=1.0,
        allowed_calling_aes=frozenset({"ORTHANC"}),
    )


def test_a_study_sent_from_orthanc_becomes_a_draft_case_with_all_its_instances(orthanc, studies, tmp_path):
    library = Services(Settings(data_dir=tmp_path / "data", seed_samples=False))
    results = Results()
    ct = next(s for s in studies.values() if s.patient_name == "QUIMBY^EUSTACE")
    with _receiver(library, results, orthanc.our_port):
        _send_study(orthanc, ct.study_uid)
        (result,) = results.wait_for(1)
    (case,) = library.list_cases()
    assert result.case_ids == (case.id,) and result.problems == ()
    remapped = {library.deidentifier.remap_uid(u) for u in ct.sop_uids}
    assert {i.sop_instance_uid for a in case.assets for i in a.instances} == remapped
    assert len(case.assets) == len(ct.sop_uids_by_series)
    assert "inbox" in case.tags
    assert not any(library.settings.quarantine_dir.iterdir())
    for path in (tmp_path / "data").rglob("*"):
        if path.is_file():
            data = path.read_bytes().lower()
            assert not any(phi.lower().encode() in data for phi in FAKE_PHI), path.name


def test_orthanc_sending_a_study_with_its_teaching_selection_sets_the_key_images(tmp_path):
    # An Orthanc of its own: the shared one's contents are counted by other tests.
    images = write_ct_study(tmp_path / "sent", slices=4)
    selected = [images[0], images[2]]
    kos = write_kos(tmp_path / "kos.dcm", images, selected)
    server = Orthanc(workdir=tmp_path / "orthanc", our_port=free_port())
    server.start()
    try:
        server.store([*images, kos])
        library = Services(Settings(data_dir=tmp_path / "data", seed_samples=False))
        results = Results()
        with _receiver(library, results, server.our_port):
            _send_study(server, str(pydicom.dcmread(images[0]).StudyInstanceUID))
            (result,) = results.wait_for(1)
    finally:
        server.stop()
        shutil.rmtree(server.workdir, ignore_errors=True)
    (case,) = library.list_cases()
    assert result.problems == () and result.key_images_added == 2
    keys = [case.asset(k.asset_id).locate_frame(k.frame)[0].sop_instance_uid for k in case.key_images]
    assert keys == [library.deidentifier.remap_uid(u) for u in sop_uids(selected)]
    assert sum(len(a.instances) for a in case.assets) == 4, "the selection is not stored as an instance"
    assert CLEAN_PART in case.history and {"inbox", "for teaching"} <= set(case.tags)


def test_a_c_move_goes_through_the_running_receiver_on_our_port(orthanc, node, studies, tmp_path):
    """One AE title and port for the PACS admin: a C-MOVE retrieve while the receiver runs lands in the
    retrieve (a case of its own, not an inbox draft), and a study a workstation sends meanwhile still
    reaches the inbox."""
    library = Services(Settings(data_dir=tmp_path / "data", seed_samples=False))
    results = Results()
    ct = next(s for s in studies.values() if s.patient_name == "QUIMBY^EUSTACE")
    library.pacs.save_node(node.__class__(**{**node.to_json(), "name": "move", "retrieve": "move"}))
    with _receiver(library, results, orthanc.our_port) as receiver:
        report, _ = library.pacs.pull_accessions("move", [ct.accession])
        assert report.problems == () and report.studies_retrieved >= 1
        pulled = {c.id for c in library.list_cases()}
        assert all("inbox" not in library.get_case(c).tags for c in pulled), "the retrieve is not an inbox draft"
        other = next(s for s in studies.values() if s.modality == "MR")
        _send_study(orthanc, other.study_uid)
        (sent,) = results.wait_for(1)
        assert receiver.status().studies_filed == 1
    assert "inbox" in library.get_case(sent.case_ids[0]).tags
    remapped = {library.deidentifier.remap_uid(u) for u in ct.sop_uids}
    stored = {i.sop_instance_uid for c in pulled for a in library.get_case(c).assets for i in a.instances}
    assert remapped <= stored
    assert not any(library.settings.quarantine_dir.iterdir())
