"""The fast receive path (``on_encoded``): instances kept as the PACS sent them, never re-encoded.

Against a real Orthanc (see conftest.py); one with Orthanc's largest PDU (128 KB)
checks that what CaseDeck keeps is, byte for byte, the dataset Orthanc stores.
"""

from __future__ import annotations

import io
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from casefiles.config import Settings
from casefiles.errors import ValidationError
from casefiles.model import AssetKind
from casefiles.pacs import PacsNode, get_study, move_study
from casefiles.services import Services
from tests.dicom_factory import FAKE_ACCESSION, ct_slice, write_ct_study
from tests.pacs.conftest import LoadedStudy, Orthanc, free_port


def _study(studies: dict[str, LoadedStudy], modality: str) -> LoadedStudy:
    return next(s for s in studies.values() if s.modality == modality and s.patient_name != "QUIMBY^EUSTACE")


class Files:
    """Collects what ``on_encoded`` hands over, parsed back as DICOM files."""

    def __init__(self) -> None:
        self.raw: list[bytes] = []

    def __call__(self, data: bytes) -> None:
        self.raw.append(data)

    def datasets(self) -> list[Dataset]:
        return [pydicom.dcmread(io.BytesIO(data)) for data in self.raw]

    def sop_uids(self) -> set[str]:
        return {str(ds.SOPInstanceUID) for ds in self.datasets()}


@pytest.mark.parametrize("modality", ["CT", "CR", "US"])
def test_c_get_hands_over_each_instance_as_a_complete_dicom_file(
    node: PacsNode, studies: dict[str, LoadedStudy], modality: str
) -> None:
    study = _study(studies, modality)
    got = Files()
    result = get_study(node, study.study_uid, on_encoded=got)
    assert (result.received, result.failed) == (len(study.sop_uids), 0)
    assert len(got.raw) == len(study.sop_uids), "each instance once"
    assert got.sop_uids() == study.sop_uids
    decoded: list[Dataset] = []
    get_study(node, study.study_uid, on_instance=decoded.append)
    by_uid = {str(ds.SOPInstanceUID): ds for ds in decoded}
    for ds in got.datasets():
        assert ds.preamble == b"\x00" * 128
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        assert ds.file_meta.MediaStorageSOPClassUID == ds.SOPClassUID
        same = by_uid[str(ds.SOPInstanceUID)]
        assert ds.file_meta.TransferSyntaxUID == same.file_meta.TransferSyntaxUID
        assert ds == same, "the same dataset the decoded path gives"
        assert ds.pixel_array.size > 0


def test_c_get_of_one_series_hands_over_only_that_series(node: PacsNode, studies: dict[str, LoadedStudy]) -> None:
    study = next(s for s in studies.values() if len(s.sop_uids_by_series) > 1)
    series_uid, sops = sorted(study.sop_uids_by_series.items())[0]
    got = Files()
    result = get_study(node, study.study_uid, series_uids=[series_uid], on_encoded=got)
    assert result.received == len(sops)
    assert got.sop_uids() == sops
    assert {str(ds.SeriesInstanceUID) for ds in got.datasets()} == {series_uid}


def test_c_move_hands_over_each_instance_as_a_file(node: PacsNode, studies: dict[str, LoadedStudy]) -> None:
    study = _study(studies, "MR")
    got = Files()
    result = move_study(node, study.study_uid, on_encoded=got)
    assert (result.received, result.failed) == (len(study.sop_uids), 0)
    assert got.sop_uids() == study.sop_uids


def test_a_retrieve_needs_exactly_one_way_to_hand_over_images(node: PacsNode, studies: dict[str, LoadedStudy]) -> None:
    study = _study(studies, "CT")
    with pytest.raises(ValidationError, match="exactly one"):
        get_study(node, study.study_uid)
    with pytest.raises(ValidationError, match="exactly one"):
        move_study(node, study.study_uid, on_instance=lambda ds: None, on_encoded=lambda data: None)


@pytest.fixture
def large_pdu_orthanc(tmp_path: Path) -> Iterator[Orthanc]:
    """An Orthanc sending PDUs of 128 KB, the most it allows (its default is 16 KB)."""
    server = Orthanc(workdir=tmp_path / "orthanc", our_port=free_port(), extra_config={"MaximumPduLength": 131072})
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _stored_file(server: Orthanc, sop_uid: str) -> bytes:
    base = f"http://127.0.0.1:{server.http_port}"
    request = urllib.request.Request(
        f"{base}/tools/lookup", data=sop_uid.encode(), headers={"Content-Type": "text/plain"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as rsp:
        [found] = [hit for hit in json.load(rsp) if hit["Type"] == "Instance"]
    with urllib.request.urlopen(f"{base}/instances/{found['ID']}/file", timeout=10) as rsp:
        return bytes(rsp.read())


def _dataset_part(data: bytes) -> bytes:
    """A DICOM file's bytes after its file meta group."""
    ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
    group_length = int(ds.file_meta.FileMetaInformationGroupLength)
    return data[132 + 12 + group_length :]


def test_with_large_pdus_the_kept_bytes_are_the_dataset_the_pacs_stores(
    large_pdu_orthanc: Orthanc, tmp_path: Path
) -> None:
    study_uid, series_uid = generate_uid(), generate_uid()
    (tmp_path / "ct").mkdir()
    files = []
    for index in range(4):  # 512 KB slices: several 128 KB PDUs each
        files.append(tmp_path / "ct" / f"{index}.dcm")
        ct_slice(study_uid, series_uid, index, size=512).save_as(files[-1], enforce_file_format=True)
    large_pdu_orthanc.store(files)
    got = Files()
    assert get_study(large_pdu_orthanc.node(), study_uid, on_encoded=got).received == 4
    for data in got.raw:
        sop_uid = str(pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True).SOPInstanceUID)
        assert _dataset_part(data) == _dataset_part(_stored_file(large_pdu_orthanc, sop_uid))


def test_a_pull_over_the_fast_path_makes_one_case_with_every_instance(
    large_pdu_orthanc: Orthanc, tmp_path: Path
) -> None:
    files = write_ct_study(tmp_path / "ct", slices=30, series=2)  # more than the import's pool threshold
    large_pdu_orthanc.store(files)
    node = large_pdu_orthanc.node()
    services = Services(Settings(data_dir=tmp_path / "data", seed_samples=False))
    services.save_pacs_node(node)
    report, _ = services.pacs.pull_accessions(node.name, [FAKE_ACCESSION])
    assert report.instances_imported == 60
    [case_id] = report.case_ids
    series = [a for a in services.get_case(case_id).assets if a.kind is AssetKind.DICOM_SERIES]
    assert sorted(len(a.instances) for a in series) == [30, 30]
    assert not any(services.settings.quarantine_dir.iterdir())
