"""dcmtk's getscu as the pull's transport (issue #18, scope 2), against the real Orthanc.

The same uncompressed study pulled through getscu and through pynetdicom ends up as
byte-identical stored instances (a compressed one as the same pixels: getscu takes one
compressed syntax only, so the PACS decompresses); getscu is given no identifier on its
command line; instances of another study are deleted unread; a cancel stops getscu; the
transport is chosen by a setting, and TLS or C-MOVE nodes keep pynetdicom.
"""

from __future__ import annotations

import io
import subprocess
import threading
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

from casefiles.config import Settings
from casefiles.deid import TEACHING_FILE, Deidentifier
from casefiles.errors import Cancelled
from casefiles.pacs import PacsNode, dcmtk
from casefiles.pacs.retrieval import StudyRequest
from casefiles.progress import CancelToken
from casefiles.services import Services
from tests.pacs.conftest import LoadedStudy

pytestmark = pytest.mark.skipif(dcmtk.getscu_program() is None, reason="dcmtk's getscu is not installed")


def _stored(services: Services, case_ids: tuple[str, ...]) -> list[bytes]:
    """Every stored instance of the cases, as bytes, in a stable order."""
    blobs = []
    for case_id in case_ids:
        for asset in services.get_case(case_id).assets:
            blobs.extend(services.blobs.get(i.blob) for i in asset.instances)
    return sorted(blobs)


def _pull(tmp_path: Path, name: str, node: PacsNode, study: LoadedStudy, transport: str, secret: bytes) -> list[bytes]:
    services = Services(
        Settings(data_dir=tmp_path / name, seed_samples=False), deidentifier=Deidentifier(secret, TEACHING_FILE)
    )
    services.save_pacs_node(node)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(dcmtk.TRANSPORT_SETTING, transport)
        report, _ = services.pacs.retrieve(node.name, [StudyRequest(study.study_uid)])
    assert not report.problems, report.problems
    assert not any(services.settings.quarantine_dir.iterdir()), "the quarantine is empty afterwards"
    return _stored(services, report.case_ids)


def test_getscu_and_pynetdicom_store_byte_identical_instances(
    node: PacsNode, studies: dict[str, LoadedStudy], tmp_path: Path
) -> None:
    secret = b"s" * 32
    compared = set()
    for study in studies.values():
        through_dcmtk = _pull(tmp_path, f"dcmtk-{study.modality}", node, study, "dcmtk", secret)
        through_pynetdicom = _pull(tmp_path, f"pynetdicom-{study.modality}", node, study, "pynetdicom", secret)
        count = sum(len(sops) for sops in study.sop_uids_by_series.values())
        assert len(through_dcmtk) == count, f"{study.modality}: getscu brought {len(through_dcmtk)} of {count}"
        syntaxes = {str(pydicom.dcmread(io.BytesIO(b)).file_meta.TransferSyntaxUID) for b in through_pynetdicom}
        if syntaxes <= UNCOMPRESSED:
            assert through_dcmtk == through_pynetdicom, f"{study.modality}: the stored instances differ"
            compared.add(study.modality)
        else:  # the PACS decompressed them for getscu: the same pixels, in a bigger file
            assert _pixels(through_dcmtk) == _pixels(through_pynetdicom), f"{study.modality}: the pixels differ"
    assert {"CT", "MR"} <= compared


UNCOMPRESSED = {ExplicitVRLittleEndian, ImplicitVRLittleEndian}


def _pixels(blobs: list[bytes]) -> list[bytes]:
    return sorted(pydicom.dcmread(io.BytesIO(b)).pixel_array.tobytes() for b in blobs)


def test_getscu_gets_no_identifier_on_its_command_line(
    node: PacsNode, studies: dict[str, LoadedStudy], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    study = next(iter(studies.values()))
    commands: list[list[str]] = []
    real_popen = subprocess.Popen

    def recording(command: list[str], *args: object, **kwargs: object) -> subprocess.Popen[bytes]:
        commands.append(list(command))
        return real_popen(command, *args, **kwargs)  # type: ignore[call-overload,no-any-return]

    monkeypatch.setattr(dcmtk.subprocess, "Popen", recording)
    arrived: list[Path] = []
    (tmp_path / "work").mkdir()
    result = dcmtk.get_study_files(
        node,
        study.study_uid,
        workdir=tmp_path / "work",
        on_file=lambda p: arrived.append(p.rename(p.with_suffix(".x"))),
    )

    assert result.received == len(arrived) > 0
    [command] = commands
    line = " ".join(command)
    forbidden = [study.study_uid, study.accession, study.patient_id, study.patient_name, study.study_date]
    forbidden += [uid for uid in study.sop_uids_by_series] + [
        s for sops in study.sop_uids_by_series.values() for s in sops
    ]
    assert not [value for value in forbidden if value and value in line]


def test_instances_of_another_study_are_deleted_unread(
    node: PacsNode, studies: dict[str, LoadedStudy], tmp_path: Path
) -> None:
    first, second = sorted(studies.values(), key=lambda s: s.study_uid)[:2]
    incoming = tmp_path / "work" / "incoming"
    incoming.mkdir(parents=True)
    wanted = dcmtk._Wanted(first.study_uid, frozenset())
    # A PACS that sends an instance of another study along: as if getscu had written it.
    stray = tmp_path / "stray.dcm"
    _copy_one_instance(node, second, stray, tmp_path)
    stray.rename(incoming / "stray.dcm")
    handed: list[Path] = []

    dcmtk._hand_over(incoming, wanted, handed.append, all_whole=True)

    assert handed == [] and wanted.refused == 1 and wanted.strays == [1]
    assert not any(incoming.iterdir()), "the stray instance was deleted"


def test_a_cancel_stops_getscu_and_keeps_nothing(
    node: PacsNode, studies: dict[str, LoadedStudy], tmp_path: Path
) -> None:
    study = max(studies.values(), key=lambda s: sum(len(v) for v in s.sop_uids_by_series.values()))
    token = CancelToken()
    (tmp_path / "work").mkdir()

    def cancel_at_first(path: Path) -> None:
        path.unlink()
        token.cancel()

    with pytest.raises(Cancelled):
        dcmtk.get_study_files(node, study.study_uid, workdir=tmp_path / "work", on_file=cancel_at_first, cancel=token)
    leftover = [p.name for p in (tmp_path / "work").rglob("*.dcm") if not p.name.startswith("query-")]
    assert len(leftover) <= 1  # at most the instance getscu was writing when it was stopped
    assert not [t for t in threading.enumerate() if "getscu" in t.name]


def test_the_setting_chooses_getscu_and_tls_or_move_nodes_keep_pynetdicom(
    node: PacsNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    assert not dcmtk.uses_dcmtk(node), "pynetdicom is the default"
    monkeypatch.setenv(dcmtk.TRANSPORT_SETTING, "dcmtk")
    assert dcmtk.uses_dcmtk(node)
    assert not dcmtk.uses_dcmtk(replace(node, retrieve="move"))
    assert not dcmtk.uses_dcmtk(replace(node, tls=True))


def _copy_one_instance(node: PacsNode, study: LoadedStudy, target: Path, tmp_path: Path) -> None:
    work = tmp_path / "one"
    work.mkdir()
    got: list[Path] = []
    dcmtk.get_study_files(node, study.study_uid, workdir=work, on_file=lambda p: got.append(p.rename(work / p.name)))
    assert got
    got[0].rename(target)
    assert pydicom.dcmread(target).StudyInstanceUID == study.study_uid
