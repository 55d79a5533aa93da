"""QIDO-RS, WADO-RS and STOW-RS against a real Orthanc with its DICOMweb plugin (see conftest.py).

Wildcard name searches are not tested here: Orthanc 1.10 does not URL-decode
QIDO query values, so "GARC*" or "^" never match over DICOMweb there; they are
tested over C-FIND in test_dimse.py.
"""

from __future__ import annotations

import threading
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from casefiles.errors import Cancelled
from casefiles.pacs import AssociationRejected, PacsConnectionError, PacsError, PacsNode, RetrieveInterrupted, dimse
from casefiles.pacs.dicomweb import STOW_BATCH, echo, find_series, find_studies, get_study, store_instances
from casefiles.progress import CancelToken
from tests.dicom_factory import ct_slice
from tests.pacs.conftest import LoadedStudy, Orthanc, free_port


def _web(server: Orthanc, **changes: object) -> PacsNode:
    return server.node(protocol="dicomweb", base_url=f"http://127.0.0.1:{server.http_port}/dicom-web", **changes)


@pytest.fixture(scope="module")
def web(orthanc: Orthanc) -> PacsNode:
    return _web(orthanc)


def _study(studies: dict[str, LoadedStudy], modality: str) -> LoadedStudy:
    return next(s for s in studies.values() if s.modality == modality and s.patient_name != "QUIMBY^EUSTACE")


def _synthetic(studies: dict[str, LoadedStudy]) -> LoadedStudy:
    return next(s for s in studies.values() if s.patient_name == "QUIMBY^EUSTACE")


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


def _new_study(slices: int, *, size: int = 64) -> tuple[list[Dataset], str, str]:
    """A study nobody has seen: new UIDs, its own accession and patient, a date no other test searches."""
    study_uid, series_uid = generate_uid(), generate_uid()
    accession = f"DW{uuid.uuid4().hex[:12].upper()}"
    patient_id = f"PDW{uuid.uuid4().hex[:10].upper()}"
    datasets = []
    for i in range(slices):
        ds = ct_slice(study_uid, series_uid, i, size=size)
        ds.AccessionNumber = accession
        ds.PatientID = patient_id
        ds.StudyDate = "19990611"
        datasets.append(ds)
    return datasets, accession, patient_id


# --- connection test ---------------------------------------------------------------------


def test_echo_answers_with_a_round_trip_time(web: PacsNode) -> None:
    seconds = echo(web)
    assert 0 < seconds < web.timeout


def test_echo_to_a_closed_port_says_connection_refused() -> None:
    port = free_port()
    closed = PacsNode(
        "nobody home", "ORTHANC", "127.0.0.1", 104, protocol="dicomweb", base_url=f"http://127.0.0.1:{port}/dicom-web"
    )
    with pytest.raises(PacsConnectionError, match="refused — is the PACS running and the port right") as info:
        echo(closed)
    assert f"127.0.0.1:{port}" in str(info.value)


def test_a_wrong_base_path_says_there_is_no_dicomweb_service_there(orthanc: Orthanc) -> None:
    wrong = orthanc.node(protocol="dicomweb", base_url=f"http://127.0.0.1:{orthanc.http_port}/dicomweb")
    with pytest.raises(PacsError, match=r"no DICOMweb service at .*/dicomweb .*check the base URL"):
        echo(wrong)


USER, PASSWORD = "registrar", "s3cret-pw"


class GuardedOrthanc(Orthanc):
    """An Orthanc that wants HTTP basic credentials, also for the readiness probe of ``start``."""

    def start(self) -> None:
        passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        passwords.add_password(None, f"http://127.0.0.1:{self.http_port}/", USER, PASSWORD)
        urllib.request.install_opener(urllib.request.build_opener(urllib.request.HTTPBasicAuthHandler(passwords)))
        try:
            super().start()
        finally:
            urllib.request.install_opener(None)  # type: ignore[arg-type]  # back to the default opener


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orthanc]:
    server = GuardedOrthanc(
        workdir=tmp_path_factory.mktemp("orthanc-auth"),
        our_port=free_port(),
        extra_config={"AuthenticationEnabled": True, "RegisteredUsers": {USER: PASSWORD}},
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize(
    "credentials",
    [
        {},
        {"auth": "basic", "username": USER, "secret": "wrong"},
        {"auth": "basic", "username": "someone", "secret": PASSWORD},
        {"auth": "bearer", "secret": "not-a-token-it-knows"},
    ],
    ids=["none", "wrong-password", "wrong-user", "bearer"],
)
def test_missing_or_wrong_credentials_are_named_as_such(guarded: Orthanc, credentials: dict[str, str]) -> None:
    node = _web(guarded, **credentials)
    with pytest.raises(AssociationRejected, match=r"refused our credentials .*check user name and password/token"):
        echo(node)
    with pytest.raises(AssociationRejected):
        find_studies(node, accession="ANY")


def test_the_right_basic_credentials_get_in(guarded: Orthanc) -> None:
    node = _web(guarded, auth="basic", username=USER, secret=PASSWORD)
    assert echo(node) > 0
    assert find_studies(node, accession="NOTHING-HERE") == []


# --- QIDO-RS -----------------------------------------------------------------------------


def test_find_by_accession_returns_the_study_with_its_details(web: PacsNode, studies: dict[str, LoadedStudy]) -> None:
    mr = _study(studies, "MR")
    [match] = find_studies(web, accession=mr.accession)
    assert match.study_uid == mr.study_uid
    assert (match.patient_id, match.patient_name, match.study_date) == (mr.patient_id, mr.patient_name, mr.study_date)
    assert match.modalities == ("MR",)
    assert (match.series_count, match.instance_count) == (1, len(mr.sop_uids))


def test_find_by_accession_shared_by_two_studies_returns_both(web: PacsNode, studies: dict[str, LoadedStudy]) -> None:
    cr, us = _study(studies, "CR"), _study(studies, "US")
    assert cr.accession == us.accession
    assert {m.study_uid for m in find_studies(web, accession=cr.accession)} == {cr.study_uid, us.study_uid}


def test_find_by_patient_id(web: PacsNode, studies: dict[str, LoadedStudy]) -> None:
    ct = _study(studies, "CT")
    assert [m.study_uid for m in find_studies(web, patient_id=ct.patient_id)] == [ct.study_uid]


def test_find_by_date_range_and_modality(web: PacsNode, studies: dict[str, LoadedStudy]) -> None:
    march = {s.study_uid for s in studies.values() if "20240301" <= s.study_date <= "20240331"}
    assert len(march) == 2
    assert {m.study_uid for m in find_studies(web, date_from="2024-03-01", date_to="20240331")} == march
    ct_in_march = {m.study_uid for m in find_studies(web, date_from="20240301", date_to="20240331", modality="ct")}
    assert ct_in_march == {_synthetic(studies).study_uid}


def test_find_by_modality_alone(web: PacsNode, studies: dict[str, LoadedStudy]) -> None:
    us = _study(studies, "US")
    assert us.study_uid in {m.study_uid for m in find_studies(web, modality="US")}
    assert all("US" in m.modalities for m in find_studies(web, modality="US"))


def test_a_search_without_matches_is_an_empty_list(web: PacsNode) -> None:
    assert find_studies(web, accession="NO-SUCH-ACC") == []
    assert find_series(web, "1.2.3.4.5.6.7.8.9") == []


def test_find_series_lists_each_series_with_its_instance_count(web: PacsNode, studies: dict[str, LoadedStudy]) -> None:
    for study in (_synthetic(studies), _study(studies, "CT"), _study(studies, "US")):
        series = find_series(web, study.study_uid)
        assert {s.series_uid: s.instance_count for s in series} == {
            uid: len(sops) for uid, sops in study.sop_uids_by_series.items()
        }
        assert {s.modality for s in series} == {study.modality}


# --- WADO-RS -----------------------------------------------------------------------------


@pytest.mark.parametrize("modality", ["CT", "MR", "CR", "US"])
def test_wado_receives_exactly_the_instances_of_the_study(
    web: PacsNode, studies: dict[str, LoadedStudy], modality: str
) -> None:
    study = _study(studies, modality)
    got = Collector()
    result = get_study(web, study.study_uid, on_instance=got)
    assert (result.received, result.failed) == (len(study.sop_uids), 0)
    assert len(got.datasets) == len(study.sop_uids)
    assert got.sop_uids == study.sop_uids
    for ds in got.datasets:
        assert ds.file_meta.TransferSyntaxUID  # a complete dataset the import can write
        assert ds.pixel_array.size > 0


def test_wado_of_chosen_series_brings_only_those(web: PacsNode, studies: dict[str, LoadedStudy]) -> None:
    study = _synthetic(studies)
    first, second = sorted(study.sop_uids_by_series)
    got = Collector()
    result = get_study(web, study.study_uid, series_uids=[first], on_instance=got)
    assert result.received == len(study.sop_uids_by_series[first])
    assert got.sop_uids == study.sop_uids_by_series[first]
    both = Collector()
    assert get_study(web, study.study_uid, series_uids=[second, first, second], on_instance=both).received == len(
        study.sop_uids
    )
    assert both.sop_uids == study.sop_uids


def test_wado_of_a_study_the_pacs_does_not_have_says_so(web: PacsNode) -> None:
    with pytest.raises(PacsError, match="does not have that study"):
        get_study(web, "1.2.3.4.5.6.7.8.9", on_instance=Collector())


def test_a_cancelled_wado_retrieve_raises_cancelled(web: PacsNode, studies: dict[str, LoadedStudy]) -> None:
    token = CancelToken()
    got = Collector()

    def take_two(ds: Dataset) -> None:
        got(ds)
        if len(got.datasets) == 2:
            token.cancel()

    study = _study(studies, "CT")
    assert len(study.sop_uids) > 2
    with pytest.raises(Cancelled, match="2 instance"):
        get_study(web, study.study_uid, on_instance=take_two, cancel=token)
    assert len(got.datasets) == 2


def test_orthanc_killed_mid_wado_reports_what_arrived_intact(tmp_path: Path) -> None:
    server = Orthanc(workdir=tmp_path / "orthanc", our_port=free_port())
    server.start()
    try:
        # ~40 MB: far more than the socket buffers hold, so the kill cuts the answer short.
        datasets, accession, _ = _new_study(80, size=512)
        node = _web(server, timeout=5)
        assert store_instances(node, datasets).sent == len(datasets)
        study_uid = str(datasets[0].StudyInstanceUID)
        originals = {str(ds.SOPInstanceUID): ds.PixelData for ds in datasets}
        got = Collector()

        def kill_after_three(ds: Dataset) -> None:
            got(ds)
            if len(got.datasets) == 3:
                server.kill()

        with pytest.raises(RetrieveInterrupted, match="instance\\(s\\) arrived intact") as info:
            get_study(node, study_uid, on_instance=kill_after_three)
        assert 3 <= info.value.partial.received == len(got.datasets) < len(datasets)
        for ds in got.datasets:  # what arrived is whole and is what was stored
            assert ds.PixelData == originals[str(ds.SOPInstanceUID)]
        assert accession not in str(info.value) and study_uid not in str(info.value)
    finally:
        server.stop()


# --- STOW-RS -----------------------------------------------------------------------------


def test_stow_stores_new_instances_that_queries_then_find(orthanc: Orthanc, web: PacsNode) -> None:
    datasets, accession, patient_id = _new_study(STOW_BATCH + 3)  # two requests
    before = orthanc.count_instances()
    seen: list[tuple[int, int]] = []
    result = store_instances(
        web, iter(datasets), total=len(datasets), progress=lambda done, total, _msg: seen.append((done, total))
    )
    assert (result.sent, result.failed, result.complete) == (len(datasets), 0, True)
    assert orthanc.count_instances() == before + len(datasets)
    assert seen[-1] == (len(datasets), len(datasets))
    [over_qido] = find_studies(web, accession=accession)
    assert (over_qido.study_uid, over_qido.instance_count) == (datasets[0].StudyInstanceUID, len(datasets))
    [over_c_find] = dimse.find_studies(orthanc.node(), patient_id=patient_id)
    assert over_c_find.study_uid == datasets[0].StudyInstanceUID
    got = Collector()
    get_study(web, over_qido.study_uid, on_instance=got)
    assert got.sop_uids == {str(ds.SOPInstanceUID) for ds in datasets}


def test_stow_counts_instances_the_pacs_refuses_and_stores_the_rest(orthanc: Orthanc, web: PacsNode) -> None:
    datasets, accession, _ = _new_study(4)
    del datasets[1].SOPInstanceUID  # file meta still names it, the dataset does not: Orthanc refuses it
    before = orthanc.count_instances()
    result = store_instances(web, datasets)
    assert (result.sent, result.failed) == (3, 1)
    assert orthanc.count_instances() == before + 3
    [match] = find_studies(web, accession=accession)
    assert match.instance_count == 3


def test_stow_to_a_wrong_base_url_raises_the_diagnosis(orthanc: Orthanc) -> None:
    wrong = orthanc.node(protocol="dicomweb", base_url=f"http://127.0.0.1:{orthanc.http_port}/nothing-here")
    datasets, _, _ = _new_study(2)
    with pytest.raises(PacsError, match="no DICOMweb service"):
        store_instances(wrong, datasets)


def test_stow_cancelled_before_sending_sends_nothing(orthanc: Orthanc, web: PacsNode) -> None:
    datasets, accession, _ = _new_study(3)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        store_instances(web, datasets, cancel=token)
    assert find_studies(web, accession=accession) == []


def test_stowed_files_match_what_was_sent(web: PacsNode) -> None:
    datasets, _, _ = _new_study(2)
    store_instances(web, datasets)
    got = Collector()
    get_study(web, str(datasets[0].StudyInstanceUID), on_instance=got)
    sent = {str(ds.SOPInstanceUID): ds for ds in datasets}
    for ds in got.datasets:
        original = sent[str(ds.SOPInstanceUID)]
        assert ds.PixelData == original.PixelData
        assert ds.PatientID == original.PatientID
