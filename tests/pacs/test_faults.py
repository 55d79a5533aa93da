"""Bad input and faults against a real Orthanc: a PACS that dies mid-transfer, an object CaseDeck
does not take, duplicates, no matches, refused pushes. What arrived intact is kept; the quarantine
is empty afterwards. Destructive tests start their own Orthanc (see conftest.Orthanc)."""

from __future__ import annotations

import io
import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from casefiles.config import Settings
from casefiles.errors import Cancelled, ValidationError
from casefiles.model import AssetKind
from casefiles.pacs import AssociationRejected, PacsConnectionError, PacsNode, RetrieveInterrupted
from casefiles.pacs.dimse import get_study, move_study, store_instances
from casefiles.pacs.retrieval import Stage, StudyProgress
from casefiles.progress import CancelToken
from casefiles.services import Services
from tests.dicom_factory import FAKE_ACCESSION, FAKE_PHI, ct_slice, write_ct_study
from tests.pacs.conftest import LoadedStudy, Orthanc, free_port

#: Not a storage class anyone negotiates: stands for a vendor's private object in a study.
PRIVATE_SOP_CLASS = "1.2.826.0.1.3680043.8.498.77.1.1"


@pytest.fixture
def own_orthanc(tmp_path: Path) -> Iterator[Orthanc]:
    """A fresh Orthanc this test may fill, kill or refuse with."""
    server = Orthanc(workdir=tmp_path / "orthanc", our_port=free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _services(tmp_path: Path, node: PacsNode) -> Services:
    services = Services(Settings(data_dir=tmp_path / "data", seed_samples=False))
    services.save_pacs_node(node)
    return services


def _quarantine_is_empty(services: Services) -> bool:
    return not any(services.settings.quarantine_dir.iterdir())


def _instances(services: Services, case_ids: tuple[str, ...]) -> list[str]:
    return [
        inst.sop_instance_uid
        for case_id in case_ids
        for asset in services.get_case(case_id).assets
        if asset.kind is AssetKind.DICOM_SERIES
        for inst in asset.instances
    ]


def _load_ct(server: Orthanc, folder: Path, *, slices: int, series: int = 1) -> str:
    files = write_ct_study(folder, slices=slices, series=series)
    server.store(files)
    return str(pydicom.dcmread(files[0], stop_before_pixels=True).StudyInstanceUID)


def _post_instance(server: Orthanc, ds: Dataset) -> None:
    """Store through Orthanc's REST API, which takes any SOP class (C-STORE would need a context)."""
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.http_port}/instances",
        data=buffer.getvalue(),
        headers={"Content-Type": "application/dicom"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as rsp:
        assert json.load(rsp)["Status"] == "Success"


def _private_object(study_uid: str) -> Dataset:
    ds = ct_slice(study_uid, generate_uid(), 0, size=16)
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = PRIVATE_SOP_CLASS
    ds.Modality = "OT"
    return ds


def _orthanc_files(server: Orthanc) -> list[bytes]:
    base = f"http://127.0.0.1:{server.http_port}"
    with urllib.request.urlopen(f"{base}/instances", timeout=10) as rsp:
        ids = json.load(rsp)
    files = []
    for orthanc_id in ids:
        with urllib.request.urlopen(f"{base}/instances/{orthanc_id}/file", timeout=10) as rsp:
            files.append(rsp.read())
    return files


# --- a PACS that dies mid-transfer ------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "move"])
def test_pacs_killed_mid_retrieve_keeps_what_arrived_and_empties_the_quarantine(
    own_orthanc: Orthanc, tmp_path: Path, method: str
) -> None:
    _load_ct(own_orthanc, tmp_path / "ct", slices=12, series=2)
    node = own_orthanc.node(retrieve=method, timeout=4)
    services = _services(tmp_path, node)

    def kill_after_five(event: StudyProgress) -> None:
        # Called from the retrieve's on_instance after each instance is safely in the quarantine.
        if event.stage is Stage.RETRIEVING and event.done == 5:
            own_orthanc.kill()  # SIGKILL: no goodbye on either association

    report, _ = services.pacs.pull_accessions(node.name, [FAKE_ACCESSION], on_study=kill_after_five)

    assert report.instances_imported == 5, "the five instances that arrived are imported"
    assert len(report.case_ids) == 1
    assert len(set(_instances(services, report.case_ids))) == 5
    [problem] = report.problems
    assert problem.item == "study 1 of 1"
    assert "stopped" in problem.reason and "5 instance(s) arrived intact" in problem.reason
    assert FAKE_ACCESSION not in problem.reason
    assert _quarantine_is_empty(services)


def test_c_move_from_a_pacs_killed_part_way_reports_the_partial_count(own_orthanc: Orthanc, tmp_path: Path) -> None:
    study_uid = _load_ct(own_orthanc, tmp_path / "ct", slices=10, series=2)
    got: list[Dataset] = []

    def kill_after_three(ds: Dataset) -> None:
        got.append(ds)
        if len(got) == 3:
            own_orthanc.kill()

    with pytest.raises(RetrieveInterrupted, match="3 instance") as info:
        move_study(own_orthanc.node(timeout=4), study_uid, on_instance=kill_after_three)
    assert info.value.partial.received == 3
    assert all(ds.pixel_array.size for ds in got)  # whole instances, not fragments


def test_a_dead_pacs_is_a_problem_for_its_study_and_leaves_the_quarantine_empty(
    own_orthanc: Orthanc, tmp_path: Path
) -> None:
    _load_ct(own_orthanc, tmp_path / "ct", slices=2)
    node = own_orthanc.node(timeout=4)
    services = _services(tmp_path, node)
    search = services.pacs.find_accessions(node.name, [FAKE_ACCESSION])
    own_orthanc.stop()
    from casefiles.pacs.retrieval import StudyRequest

    report, _ = services.pacs.retrieve(node.name, [StudyRequest(m.study_uid) for m in search.matches])
    assert report.case_ids == () and report.instances_imported == 0
    [problem] = report.problems
    assert "refused" in problem.reason and "is the PACS running" in problem.reason
    assert _quarantine_is_empty(services)


# --- objects CaseDeck does not take -----------------------------------------------------


@pytest.mark.parametrize("retrieve", [get_study, move_study])
def test_an_unsupported_sop_class_is_counted_and_the_rest_arrives(
    own_orthanc: Orthanc, tmp_path: Path, retrieve: object
) -> None:
    study_uid = _load_ct(own_orthanc, tmp_path / "ct", slices=4)
    _post_instance(own_orthanc, _private_object(study_uid))
    assert own_orthanc.count_instances() == 5
    got: list[Dataset] = []
    result = retrieve(own_orthanc.node(), study_uid, on_instance=got.append)  # type: ignore[operator]
    assert (result.received, result.failed) == (4, 1)
    assert {str(ds.SOPClassUID) for ds in got} == {"1.2.840.10008.5.1.4.1.1.2"}


def test_pulling_a_study_with_an_unsupported_object_imports_the_rest(own_orthanc: Orthanc, tmp_path: Path) -> None:
    study_uid = _load_ct(own_orthanc, tmp_path / "ct", slices=4)
    _post_instance(own_orthanc, _private_object(study_uid))
    node = own_orthanc.node()
    services = _services(tmp_path, node)
    report, _ = services.pull_from_pacs(node.name, [FAKE_ACCESSION])
    assert report.instances_imported == 4
    assert len(_instances(services, report.case_ids)) == 4
    assert [p.item for p in report.problems] == ["study 1 of 1"]
    assert "1 image(s) could not be retrieved" in report.problems[0].reason
    assert _quarantine_is_empty(services)


# --- duplicates and no matches ----------------------------------------------------------


def test_pulling_the_same_accession_twice_adds_no_duplicates(
    node: PacsNode, studies: dict[str, LoadedStudy], tmp_path: Path
) -> None:
    mr = next(s for s in studies.values() if s.modality == "MR")
    services = _services(tmp_path, node)
    first, _ = services.pull_from_pacs(node.name, [mr.accession])
    before = _instances(services, first.case_ids)
    assert len(before) == len(set(before)) == len(mr.sop_uids)
    again, _ = services.pull_from_pacs(node.name, [mr.accession])
    assert again.case_ids == first.case_ids, "the second pull merges into the same case"
    after = _instances(services, again.case_ids)
    assert sorted(after) == sorted(before)
    assert len(services.list_cases()) == 1
    assert _quarantine_is_empty(services)


def test_an_accession_without_matches_is_a_clear_problem(node: PacsNode, tmp_path: Path) -> None:
    services = _services(tmp_path, node)
    report, conference = services.pull_from_pacs(node.name, ["NO-SUCH-ACC"], conference_title="Tumor board")
    assert report.case_ids == () and report.studies_retrieved == 0 and conference is None
    assert [(p.item, p.reason) for p in report.problems] == [
        ("accession 1 of 1", "no study on the PACS has this accession number")
    ]
    assert services.list_cases() == []
    assert _quarantine_is_empty(services)


# --- push (C-STORE) ---------------------------------------------------------------------


def _blobs(services: Services, case_ids: tuple[str, ...]) -> list[str]:
    return [
        inst.blob
        for case_id in case_ids
        for asset in services.get_case(case_id).assets
        if asset.kind is AssetKind.DICOM_SERIES
        for inst in asset.instances
    ]


@pytest.fixture
def deidentified(tmp_path: Path, own_orthanc: Orthanc) -> tuple[Services, list[str]]:
    """A case imported (de-identified) from a CT with fake PHI; its blob ids."""
    write_ct_study(tmp_path / "source", slices=6)
    services = _services(tmp_path, own_orthanc.node())
    report = services.import_dicom([tmp_path / "source"])
    assert report.instances_imported == 6
    return services, _blobs(services, report.case_ids)


def test_push_sends_a_de_identified_case_and_the_pacs_holds_no_phi(
    own_orthanc: Orthanc, deidentified: tuple[Services, list[str]]
) -> None:
    services, blobs = deidentified
    seen: list[tuple[int, int]] = []
    datasets = (pydicom.dcmread(io.BytesIO(services.blobs.get(b))) for b in blobs)
    result = store_instances(
        own_orthanc.node(), datasets, total=len(blobs), progress=lambda d, t, _m: seen.append((d, t))
    )
    assert (result.sent, result.failed, result.complete) == (6, 0, True)
    assert seen[-1] == (6, 6)
    stored = _orthanc_files(own_orthanc)
    assert len(stored) == own_orthanc.count_instances() == 6
    sent_uids = {str(pydicom.dcmread(io.BytesIO(services.blobs.get(b))).SOPInstanceUID) for b in blobs}
    assert {str(pydicom.dcmread(io.BytesIO(f)).SOPInstanceUID) for f in stored} == sent_uids
    for data in stored:
        assert not any(phi.encode() in data for phi in (*FAKE_PHI, FAKE_ACCESSION))
    again = store_instances(own_orthanc.node(), (pydicom.dcmread(io.BytesIO(services.blobs.get(b))) for b in blobs))
    assert again.sent == 6 and own_orthanc.count_instances() == 6, "a second push keeps one copy of each"


def test_push_counts_an_instance_the_pacs_cannot_take_and_sends_the_rest(
    own_orthanc: Orthanc, deidentified: tuple[Services, list[str]]
) -> None:
    services, blobs = deidentified
    datasets = [pydicom.dcmread(io.BytesIO(services.blobs.get(b))) for b in blobs]
    datasets.insert(3, _private_object(str(datasets[0].StudyInstanceUID)))  # no context was proposed for it
    result = store_instances(own_orthanc.node(), datasets)
    assert (result.sent, result.failed, result.complete) == (6, 1, False)
    assert own_orthanc.count_instances() == 6


def test_a_cancelled_push_stops_between_instances(
    own_orthanc: Orthanc, deidentified: tuple[Services, list[str]]
) -> None:
    services, blobs = deidentified
    token = CancelToken()

    def cancel_after_two(done: int, total: int, message: str) -> None:
        if done == 2:
            token.cancel()

    datasets = (pydicom.dcmread(io.BytesIO(services.blobs.get(b))) for b in blobs)
    with pytest.raises(Cancelled, match="stored 2 instance"):
        store_instances(own_orthanc.node(), datasets, progress=cancel_after_two, cancel=token)
    assert own_orthanc.count_instances() == 2


def test_push_to_a_closed_port_says_connection_refused(deidentified: tuple[Services, list[str]]) -> None:
    services, blobs = deidentified
    closed = PacsNode("teaching pacs", "TEACHING", "127.0.0.1", free_port(), timeout=5)
    with pytest.raises(PacsConnectionError, match=r"'teaching pacs'.*refused — is the PACS running"):
        store_instances(closed, [pydicom.dcmread(io.BytesIO(services.blobs.get(blobs[0])))])


def test_push_with_a_wrong_called_ae_title_names_it(
    own_orthanc: Orthanc, deidentified: tuple[Services, list[str]]
) -> None:
    services, blobs = deidentified
    with pytest.raises(AssociationRejected, match="'NOTORTHANC'"):
        store_instances(
            own_orthanc.node(ae_title="NOTORTHANC"), [pydicom.dcmread(io.BytesIO(services.blobs.get(blobs[0])))]
        )
    assert own_orthanc.count_instances() == 0


def test_push_from_an_unregistered_calling_ae_title_says_to_register_it(tmp_path: Path) -> None:
    strict = Orthanc(
        workdir=tmp_path / "strict",
        our_port=free_port(),
        extra_config={"DicomAlwaysAllowStore": False, "DicomCheckModalityHost": True},
    )
    strict.start()
    try:
        ds = ct_slice(generate_uid(), generate_uid(), 0, size=16)
        with pytest.raises(AssociationRejected, match=r"our AE title 'STRANGER'.*register"):
            store_instances(strict.node(our_ae_title="STRANGER"), [ds])
        assert store_instances(strict.node(), [ds]).sent == 1  # the registered AE title may store
    finally:
        strict.stop()


def test_push_of_nothing_is_refused_before_connecting() -> None:
    closed = PacsNode("teaching pacs", "TEACHING", "127.0.0.1", free_port(), timeout=5)
    with pytest.raises(ValidationError, match="no DICOM instances"):
        store_instances(closed, [])


# --- TLS --------------------------------------------------------------------------------


def test_a_tls_node_against_a_plain_port_says_the_handshake_failed(orthanc: Orthanc) -> None:
    from casefiles.pacs import echo

    with pytest.raises(PacsConnectionError, match="TLS handshake failed — the port may not speak TLS"):
        echo(orthanc.node(tls=True))


def test_a_missing_ca_file_is_named(orthanc: Orthanc, tmp_path: Path) -> None:
    from casefiles.pacs import echo

    missing = tmp_path / "no-such-ca.pem"
    with pytest.raises(PacsConnectionError, match=r"CA file .*no-such-ca\.pem for its TLS certificate does not exist"):
        echo(orthanc.node(tls=True, ca_file=str(missing)))


# --- an instance over the size limit, mid-stream ------------------------------------------------


@pytest.mark.parametrize("transport", ["pynetdicom", "dcmtk"])
def test_an_image_over_the_size_limit_is_reported_by_position_and_the_rest_are_kept(
    own_orthanc: Orthanc, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, transport: str
) -> None:
    from casefiles.pacs import dcmtk, retrieval

    if transport == "dcmtk" and dcmtk.getscu_program() is None:
        pytest.skip("dcmtk's getscu is not installed")
    files = write_ct_study(tmp_path / "ct", slices=4)
    big = pydicom.dcmread(files[0])
    big.SOPInstanceUID = big.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    big.InstanceNumber = 99
    big.Rows = big.Columns = 256
    big.PixelData = bytes(256 * 256 * 2)  # a slice 16 times the size of the others
    big.save_as(tmp_path / "big.dcm", enforce_file_format=True)
    own_orthanc.store([*files, tmp_path / "big.dcm"])
    monkeypatch.setattr(retrieval, "MAX_INSTANCE_BYTES", 2 * max(f.stat().st_size for f in files))
    monkeypatch.setenv(dcmtk.TRANSPORT_SETTING, transport)
    node = own_orthanc.node()
    services = _services(tmp_path, node)

    report, _ = services.pacs.pull_accessions(node.name, [FAKE_ACCESSION])

    assert report.instances_imported == 4, "the images under the limit are kept"
    assert len(_instances(services, report.case_ids)) == 4
    too_large = [p for p in report.problems if "larger than the limit" in p.reason]
    assert [p.item for p in too_large] == ["study 1 of 1"]
    assert re.fullmatch(r"image [1-5] is larger than the limit of 0 MB; it was not kept", too_large[0].reason)
    assert _quarantine_is_empty(services)


def test_pacs_killed_mid_retrieve_through_getscu_keeps_what_arrived_and_empties_the_quarantine(
    own_orthanc: Orthanc, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from casefiles.pacs import dcmtk

    if dcmtk.getscu_program() is None:
        pytest.skip("dcmtk's getscu is not installed")
    monkeypatch.setenv(dcmtk.TRANSPORT_SETTING, "dcmtk")
    study, series = generate_uid(), generate_uid()
    (tmp_path / "ct").mkdir()
    files = []
    for index in range(150):  # 512² slices: getscu is still receiving when the fifth is handed on
        path = tmp_path / "ct" / f"{index:03d}.dcm"
        ct_slice(study, series, index, size=512).save_as(path, enforce_file_format=True)
        files.append(path)
    own_orthanc.store(files)
    node = own_orthanc.node(timeout=4)
    services = _services(tmp_path, node)

    def kill_after_five(event: StudyProgress) -> None:
        if event.stage is Stage.RETRIEVING and event.done == 5:
            own_orthanc.kill()  # SIGKILL: getscu is left with a dead peer

    report, _ = services.pacs.pull_accessions(node.name, [FAKE_ACCESSION], on_study=kill_after_five)

    [problem] = report.problems
    assert problem.item == "study 1 of 1"
    arrived = int(re.search(r"(\d+) instance\(s\) arrived intact", problem.reason).group(1))  # type: ignore[union-attr]
    assert 5 <= arrived < 150, "getscu may have had a few more whole files than were handed on at the kill"
    assert report.instances_imported == arrived, "every whole file that arrived is imported, no more"
    assert len(set(_instances(services, report.case_ids))) == arrived
    assert FAKE_ACCESSION not in problem.reason
    assert _quarantine_is_empty(services)
