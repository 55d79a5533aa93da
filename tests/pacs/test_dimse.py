"""C-ECHO, C-FIND, C-GET and C-MOVE against a real Orthanc (see conftest.py)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from pydicom.dataset import Dataset

from casefiles.errors import Cancelled
from casefiles.pacs import (
    AssociationRejected,
    PacsConnectionError,
    PacsError,
    PacsNode,
    QueryFailed,
    RetrieveInterrupted,
    echo,
    find_series,
    find_studies,
    get_study,
    move_study,
)
from casefiles.progress import CancelToken
from tests.pacs.conftest import LoadedStudy, Orthanc, free_port


def _study(studies: dict[str, LoadedStudy], modality: str) -> LoadedStudy:
    return next(s for s in studies.values() if s.modality == modality and s.patient_name != "QUIMBY^EUSTACE")


def _synthetic(studies: dict[str, LoadedStudy]) -> LoadedStudy:
    return next(s for s in studies.values() if s.patient_name == "QUIMBY^EUSTACE")


def test_echo_answers_with_a_round_trip_time(node: PacsNode) -> None:
    seconds = echo(node)
    assert 0 < seconds < node.timeout


def test_echo_to_a_closed_port_says_connection_refused(node: PacsNode) -> None:
    closed = PacsNode("nobody home", "ORTHANC", "127.0.0.1", free_port(), timeout=5)
    with pytest.raises(PacsConnectionError, match="refused — is the PACS running and the port right"):
        echo(closed)


def test_a_wrong_called_ae_title_is_named_in_the_error(orthanc: Orthanc) -> None:
    with pytest.raises(AssociationRejected, match="'NOTORTHANC'"):
        echo(orthanc.node(ae_title="NOTORTHANC"))


def test_an_unregistered_calling_ae_title_cannot_query(orthanc: Orthanc, studies: dict[str, LoadedStudy]) -> None:
    with pytest.raises(QueryFailed, match="'STRANGER'"):
        find_studies(orthanc.node(our_ae_title="STRANGER"), accession=_synthetic(studies).accession)


def test_find_by_accession_returns_the_study_with_its_details(node: PacsNode, studies: dict[str, LoadedStudy]) -> None:
    mr = _study(studies, "MR")
    [match] = find_studies(node, accession=mr.accession)
    assert match.study_uid == mr.study_uid
    assert (match.patient_id, match.patient_name, match.study_date) == (mr.patient_id, mr.patient_name, mr.study_date)
    assert match.modalities == ("MR",)
    assert match.series_count == 1
    assert match.instance_count == len(mr.sop_uids)


def test_find_by_accession_shared_by_two_studies_returns_both(node: PacsNode, studies: dict[str, LoadedStudy]) -> None:
    cr, us = _study(studies, "CR"), _study(studies, "US")
    assert cr.accession == us.accession  # the sample data files both under one order
    found = find_studies(node, accession=cr.accession)
    assert {m.study_uid for m in found} == {cr.study_uid, us.study_uid}


def test_find_by_patient_id(node: PacsNode, studies: dict[str, LoadedStudy]) -> None:
    ct = _study(studies, "CT")
    assert [m.study_uid for m in find_studies(node, patient_id=ct.patient_id)] == [ct.study_uid]


def test_find_by_name_with_a_wildcard(node: PacsNode, studies: dict[str, LoadedStudy]) -> None:
    # Wildcards go over C-FIND: Orthanc 1.10's QIDO-RS does not URL-decode query values,
    # so "GARC*" or "^" never match over DICOMweb there.
    garcia = {s.study_uid for s in studies.values() if s.patient_name.startswith("GARCIA")}
    assert len(garcia) == 2
    assert {m.study_uid for m in find_studies(node, patient_name="GARC*")} == garcia


def test_find_by_date_range_and_modality(node: PacsNode, studies: dict[str, LoadedStudy]) -> None:
    march = {s.study_uid for s in studies.values() if "20240301" <= s.study_date <= "20240331"}
    assert len(march) == 2  # the MR sample and the synthetic CT
    assert {m.study_uid for m in find_studies(node, date_from="2024-03-01", date_to="20240331")} == march
    ct_in_march = {m.study_uid for m in find_studies(node, date_from="20240301", date_to="20240331", modality="CT")}
    assert ct_in_march == {_synthetic(studies).study_uid}


def test_a_search_without_matches_is_an_empty_list(node: PacsNode) -> None:
    assert find_studies(node, accession="NO-SUCH-ACC") == []
    assert find_series(node, "1.2.3.4.5.6.7.8.9") == []


def test_find_series_lists_each_series_with_its_instance_count(node: PacsNode, studies: dict[str, LoadedStudy]) -> None:
    for study in (_synthetic(studies), _study(studies, "CT")):
        series = find_series(node, study.study_uid)
        assert {s.series_uid: s.instance_count for s in series} == {
            uid: len(sops) for uid, sops in study.sop_uids_by_series.items()
        }
        assert {s.modality for s in series} == {"CT"}


class Collector:
    def __init__(self) -> None:
        self.datasets: list[Dataset] = []
        self.lock = threading.Lock()

    def __call__(self, ds: Dataset) -> None:
        with self.lock:
            self.datasets.append(ds)

    @property
    def sop_uids(self) -> set[str]:
        return {str(ds.SOPInstanceUID) for ds in self.datasets}


@pytest.mark.parametrize("modality", ["CT", "CR", "US"])
def test_c_get_receives_every_instance_of_the_study(
    node: PacsNode, studies: dict[str, LoadedStudy], modality: str
) -> None:
    study = _study(studies, modality)
    got = Collector()
    result = get_study(node, study.study_uid, on_instance=got)
    assert (result.received, result.failed) == (len(study.sop_uids), 0)
    assert got.sop_uids == study.sop_uids
    for ds in got.datasets:
        assert ds.file_meta.TransferSyntaxUID  # a complete dataset the import can write
        assert ds.pixel_array.size > 0


def test_c_move_receives_every_instance_of_the_study(node: PacsNode, studies: dict[str, LoadedStudy]) -> None:
    study = _study(studies, "MR")
    got = Collector()
    result = move_study(node, study.study_uid, on_instance=got)
    assert (result.received, result.failed) == (len(study.sop_uids), 0)
    assert got.sop_uids == study.sop_uids
    again = Collector()  # our listener is gone and its port free for the next retrieve
    assert move_study(node, study.study_uid, on_instance=again).received == len(study.sop_uids)


def test_c_move_while_our_port_is_taken_says_so(node: PacsNode, studies: dict[str, LoadedStudy]) -> None:
    import socket

    with socket.socket() as blocker:
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # the last C-MOVE may leave TIME_WAIT
        blocker.bind(("", node.our_port))
        blocker.listen()
        with pytest.raises(PacsConnectionError, match=f"Port {node.our_port} is already in use"):
            move_study(node, _study(studies, "MR").study_uid, on_instance=Collector())


def test_a_cancelled_retrieve_raises_cancelled(node: PacsNode, studies: dict[str, LoadedStudy]) -> None:
    token = CancelToken()
    got = Collector()

    def take_two(ds: Dataset) -> None:
        got(ds)
        if len(got.datasets) == 2:
            token.cancel()

    with pytest.raises(Cancelled):
        get_study(node, _study(studies, "CT").study_uid, on_instance=take_two, cancel=token)
    assert len(got.datasets) == 2


def test_orthanc_killed_mid_retrieve_reports_what_arrived_intact(tmp_path: Path) -> None:
    from tests.dicom_factory import write_ct_study

    server = Orthanc(workdir=tmp_path / "orthanc", our_port=free_port())
    server.start()
    try:
        files = write_ct_study(tmp_path / "big", slices=20, series=2)
        server.store(files)
        import pydicom

        expected = {str(pydicom.dcmread(f, stop_before_pixels=True).SOPInstanceUID): f for f in files}
        study_uid = str(pydicom.dcmread(files[0], stop_before_pixels=True).StudyInstanceUID)
        got = Collector()

        def kill_after_five(ds: Dataset) -> None:
            got(ds)
            if len(got.datasets) == 5:
                server.kill()  # SIGKILL: no goodbye on the association

        with pytest.raises(PacsError, match="5 instance") as info:
            get_study(server.node(timeout=4), study_uid, on_instance=kill_after_five)
        assert isinstance(info.value, RetrieveInterrupted)
        assert info.value.partial.received == len(got.datasets) == 5
        for ds in got.datasets:  # what arrived is whole and is what was stored
            original = pydicom.dcmread(expected[str(ds.SOPInstanceUID)])
            assert ds.PixelData == original.PixelData
    finally:
        server.stop()


@pytest.mark.parametrize("retrieve", [get_study, move_study])
def test_retrieve_of_chosen_series_brings_only_those(
    node: PacsNode, studies: dict[str, LoadedStudy], retrieve: object
) -> None:
    study = _synthetic(studies)
    first, second = sorted(study.sop_uids_by_series)
    got = Collector()
    result = retrieve(node, study.study_uid, series_uids=[second], on_instance=got)  # type: ignore[operator]
    assert (result.received, result.failed) == (len(study.sop_uids_by_series[second]), 0)
    assert got.sop_uids == study.sop_uids_by_series[second]
    both = Collector()
    assert retrieve(node, study.study_uid, series_uids=[first, second], on_instance=both).received == len(  # type: ignore[operator]
        study.sop_uids
    )
    assert both.sop_uids == study.sop_uids


def test_series_to_retrieve_must_be_uids(node: PacsNode, studies: dict[str, LoadedStudy]) -> None:
    from casefiles.errors import ValidationError

    study = _synthetic(studies)
    with pytest.raises(ValidationError, match="series instance UID holds only digits"):
        get_study(node, study.study_uid, series_uids=["1.2.x"], on_instance=Collector())
    with pytest.raises(ValidationError, match="at least one series"):
        get_study(node, study.study_uid, series_uids=[], on_instance=Collector())
