"""CaseDeck's storage receiver on loopback, with dcmtk's storescu as the sending workstation."""

from __future__ import annotations

import re
import socket
import threading
from pathlib import Path

import pydicom
import pytest

from casefiles.errors import ValidationError
from casefiles.pacs import PacsNode, echo
from casefiles.pacs.errors import PacsConnectionError
from casefiles.pacs.receiver import ReceivedStudy, StorageReceiver
from tests.dicom_factory import FAKE_PHI, write_ct_study
from tests.inbox.kit import send, settled_status, write_kos


class Filed:
    """An on_study that records what it was given, and what the study's folder held at that moment."""

    def __init__(self, fail_first: int = 0) -> None:
        self.studies: list[ReceivedStudy] = []
        self.files: list[list[str]] = []
        self.fail_first = fail_first
        self.done = threading.Semaphore(0)

    def __call__(self, received: ReceivedStudy) -> None:
        try:
            self.studies.append(received)
            self.files.append(sorted(p.relative_to(received.folder.parent.parent).as_posix() for p in _files(received)))
            if len(self.studies) <= self.fail_first:
                raise RuntimeError(f"database locked for {FAKE_PHI[0]}")  # an unexpected failure, PHI inside
        finally:
            self.done.release()

    def wait(self, count: int = 1) -> None:
        for _ in range(count):
            assert self.done.acquire(timeout=60), "the study was not filed"


def _files(received: ReceivedStudy) -> list[Path]:
    return [p for p in received.folder.rglob("*") if p.is_file()]


def _receiver(tmp_path: Path, on_study: Filed, **changes: object) -> StorageReceiver:
    settings: dict[str, object] = {
        "ae_title": "CASEDECK",
        "host": "127.0.0.1",
        "port": 0,
        "quarantine_dir": tmp_path / "quarantine",
        "on_study": on_study,
        "quiet_seconds": 0.5,
    }
    settings.update(changes)
    return StorageReceiver(**settings)  # type: ignore[arg-type]


def test_a_sent_study_is_handed_over_once_complete_in_counter_named_files(tmp_path, study):
    filed = Filed()
    with _receiver(tmp_path, filed) as receiver:
        assert send(receiver.port, study).returncode == 0
        filed.wait()
        status = settled_status(receiver, lambda s: s.studies_filed == 1)
    assert len(filed.studies) == 1
    received = filed.studies[0]
    assert received.instance_count == 5 and received.selections == () and received.calling_ae == "WORKSTATION"
    names = filed.files[0]
    assert len(names) == 5
    assert all(re.fullmatch(r"receiver-[^/]+/study-\d+/\d{7}\.dcm", n) for n in names), names
    assert not received.folder.exists(), "the study's folder is removed once it is filed"
    assert (status.studies_filed, status.instances_received, status.studies_waiting) == (1, 5, 0)
    assert not any((tmp_path / "quarantine").iterdir()), "the quarantine is empty after stop()"


def test_two_studies_in_one_association_are_handed_over_separately(tmp_path, study):
    other = write_ct_study(tmp_path / "other", slices=3)
    filed = Filed()
    with _receiver(tmp_path, filed) as receiver:
        assert send(receiver.port, [*study[:2], *other, *study[2:]]).returncode == 0
        filed.wait(2)
    assert sorted(s.instance_count for s in filed.studies) == [3, 5]


def test_a_key_object_selection_travels_in_memory_with_its_study(tmp_path, study):
    kos = write_kos(tmp_path / "kos.dcm", study, [study[0]])
    filed = Filed()
    with _receiver(tmp_path, filed) as receiver:
        assert send(receiver.port, [kos, *study]).returncode == 0
        filed.wait()
    (received,) = filed.studies
    assert received.instance_count == 5, "the KOS is not written among the images"
    assert len(received.selections) == 1
    assert len(filed.files[0]) == 5


def test_stop_files_every_waiting_study_at_once(tmp_path, study):
    filed = Filed()
    receiver = _receiver(tmp_path, filed, quiet_seconds=3600)
    receiver.start()
    try:
        assert send(receiver.port, study).returncode == 0
        waiting = receiver.status()
        assert (waiting.studies_waiting, waiting.instances_waiting) == (1, 5)
    finally:
        receiver.stop()
    assert [s.instance_count for s in filed.studies] == [5]
    assert len(filed.files[0]) == 5
    assert not any((tmp_path / "quarantine").iterdir())


def test_a_failure_while_filing_is_counted_without_patient_data_and_the_receiver_goes_on(tmp_path, study):
    filed = Filed(fail_first=1)
    other = write_ct_study(tmp_path / "other", slices=2)
    with _receiver(tmp_path, filed) as receiver:
        assert send(receiver.port, study).returncode == 0
        filed.wait()
        assert send(receiver.port, other).returncode == 0
        filed.wait()
        status = settled_status(receiver, lambda s: s.studies_filed == 1)
    assert status.problems == 1 and status.studies_filed == 1
    assert "RuntimeError" in status.last_problem
    assert not any(phi.lower() in status.last_problem.lower() for phi in FAKE_PHI)
    assert not any((tmp_path / "quarantine").iterdir())


def test_a_claimed_study_goes_to_the_claimant_not_the_inbox(tmp_path, study):
    filed = Filed()
    claimed: list[pydicom.Dataset] = []
    study_uid = pydicom.dcmread(study[0]).StudyInstanceUID
    with _receiver(tmp_path, filed) as receiver:
        with receiver.claim(study_uid, claimed.append):
            assert send(receiver.port, study).returncode == 0
        assert receiver.status().studies_waiting == 0
    assert filed.studies == []
    assert sorted(ds.SOPInstanceUID for ds in claimed) == sorted(pydicom.dcmread(p).SOPInstanceUID for p in study)
    assert all(ds.file_meta.TransferSyntaxUID for ds in claimed)


def test_an_instance_without_a_study_uid_is_refused_and_the_rest_kept(tmp_path, study):
    broken = pydicom.dcmread(study[2])
    del broken.StudyInstanceUID
    broken.save_as(study[2])
    filed = Filed()
    with _receiver(tmp_path, filed) as receiver:
        done = send(receiver.port, study)
        filed.wait()
        status = settled_status(receiver, lambda s: s.studies_filed == 1)
    assert done.returncode == 0, "storescu (-nh) went on past the refused instance"
    assert [s.instance_count for s in filed.studies] == [4]
    assert status.problems == 1 and "Study Instance UID" in status.last_problem


def test_only_allowed_calling_ae_titles_may_send(tmp_path, study):
    filed = Filed()
    with _receiver(tmp_path, filed, allowed_calling_aes=frozenset({"PACS1"})) as receiver:
        refused = send(receiver.port, study, calling="STRANGER")
        assert refused.returncode != 0
        assert "reject" in (refused.stdout + refused.stderr).lower()
        assert receiver.status().instances_received == 0
        assert send(receiver.port, study, calling="PACS1").returncode == 0
        filed.wait()
    assert [s.calling_ae for s in filed.studies] == ["PACS1"]


def test_a_wrong_called_ae_title_is_rejected(tmp_path, study):
    with _receiver(tmp_path, Filed()) as receiver:
        refused = send(receiver.port, study, called="ANY-SCP")
        assert refused.returncode != 0
        assert receiver.status().instances_received == 0


def test_the_receiver_answers_an_echo(tmp_path):
    with _receiver(tmp_path, Filed()) as receiver:
        node = PacsNode(name="ourselves", ae_title="CASEDECK", host="127.0.0.1", port=receiver.port, timeout=10)
        assert echo(node) >= 0


def test_a_port_in_use_is_a_clear_error(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        receiver = _receiver(tmp_path, Filed(), port=port)
        with pytest.raises(PacsConnectionError, match=f"Port {port} is already in use"):
            receiver.start()
    assert not receiver.running
    assert not any((tmp_path / "quarantine").iterdir())


@pytest.mark.parametrize(
    "changes",
    [
        {"ae_title": "A" * 17},
        {"port": 70000},
        {"quiet_seconds": 0},
        {"allowed_calling_aes": frozenset()},
        {"allowed_calling_aes": "PACS1"},
        {"max_associations": 0},
        {"max_instance_bytes": 0},
        {"min_free_bytes": -1},
    ],
)
def test_unusable_settings_are_refused(tmp_path, changes):
    with pytest.raises(ValidationError):
        _receiver(tmp_path, Filed(), **changes)


def test_an_instance_over_the_size_limit_is_refused_with_a700(tmp_path, study):
    filed = Filed()
    with _receiver(tmp_path, filed, max_instance_bytes=1000) as receiver:
        send(receiver.port, study)  # storescu -nh goes on past each refusal (A700: out of resources)
        status = receiver.status()
    assert status.instances_received == 0 and filed.studies == []
    assert "larger than the receiver's limit" in status.last_problem


def test_instances_are_refused_when_the_disk_is_nearly_full(tmp_path, study):
    filed = Filed()
    with _receiver(tmp_path, filed, min_free_bytes=1 << 60) as receiver:  # more than any disk has
        send(receiver.port, study)
        status = receiver.status()
    assert status.instances_received == 0 and filed.studies == []
    assert "nearly full" in status.last_problem


def test_associations_beyond_the_cap_are_rejected(tmp_path, study):
    from pynetdicom import AE
    from pynetdicom.sop_class import Verification

    with _receiver(tmp_path, Filed(), max_associations=1) as receiver:
        holder = AE(ae_title="HOLDER")
        holder.add_requested_context(Verification)
        held = holder.associate("127.0.0.1", receiver.port, ae_title="CASEDECK")
        assert held.is_established
        try:
            refused = send(receiver.port, study)
            assert refused.returncode != 0
            assert receiver.status().instances_received == 0
        finally:
            held.release()
        assert send(receiver.port, study).returncode == 0  # room again once it is released


def test_the_cli_receiver_listens_on_this_computer_only_by_default() -> None:
    from casefiles.__main__ import build_parser

    args = build_parser().parse_args(["receive"])
    assert (args.host, args.max_instance_mb, args.min_free_gb, args.max_associations) == ("127.0.0.1", 2048, 2, 8)
