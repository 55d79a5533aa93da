"""A real Orthanc for the PACS tests, run only inside a private network namespace.

Debian's Orthanc listens on every interface and has no setting to bind to
loopback, so these tests run only through scripts/test-pacs, which enters a
namespace whose only interface is ``lo`` and sets CASEDECK_PACS_NAMESPACE=1.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
import pytest

from casefiles.pacs import PacsNode
from tests.support.streamlit_server import free_port  # also imported from here by the PACS tests

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
ORTHANC = Path("/usr/sbin/Orthanc")
DICOMWEB_PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")
ORTHANC_AET = "ORTHANC"
OUR_AET = "CASEDECK"
#: dcmtk (Orthanc's DICOM side, storescu) leaves Nagle's algorithm on unless this is set: every
#: instance would then wait ~40 ms for a delayed ACK on loopback.
DCMTK_ENV = {**os.environ, "TCP_NODELAY": "1"}


def _interfaces() -> list[str]:
    # /proc/net/dev follows this process's network namespace; /sys/class/net shows the
    # namespace sysfs was mounted in (the host's, after a plain ``unshare -n``).
    lines = Path("/proc/net/dev").read_text().splitlines()[2:]
    return sorted(line.split(":", 1)[0].strip() for line in lines if ":" in line)


def _only_loopback() -> bool:
    return _interfaces() == ["lo"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    ours = [item for item in items if HERE in Path(str(item.path)).parents]
    if not ours:
        return
    if os.environ.get("CASEDECK_PACS_NAMESPACE") != "1":
        skip = pytest.mark.skip(reason="PACS tests run only via scripts/test-pacs (private network namespace)")
        for item in ours:
            item.add_marker(skip)
        return
    if not _only_loopback():
        pytest.exit(
            "CASEDECK_PACS_NAMESPACE=1 but this network namespace has interfaces other than lo "
            f"({', '.join(_interfaces())}); refusing to start Orthanc where "
            "others could reach it. Run scripts/test-pacs.",
            returncode=3,
        )


#: dcmtk's storescu, by path: pynetdicom installs a storescu of its own into the venv, which
#: scripts/test puts first on PATH, and the point here is an independent peer.
DCMTK_STORESCU = shutil.which("storescu", path="/usr/bin:/usr/local/bin") or "/usr/bin/storescu"


@dataclass
class Orthanc:
    """One Orthanc process with its own storage in a temp directory."""

    workdir: Path
    our_port: int
    http_port: int = field(default_factory=free_port)
    dicom_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    #: merged over the defaults below, e.g. {"AuthenticationEnabled": True, "RegisteredUsers": {...}}
    extra_config: dict[str, object] = field(default_factory=dict)

    def start(self) -> None:
        assert _only_loopback(), "refusing to start Orthanc outside a loopback-only namespace"
        if not ORTHANC.exists():
            pytest.fail(
                "Orthanc is not installed (Debian packages orthanc, orthanc-dicomweb; scripts/test installs them)"
            )
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = {
            "Name": "casedeck-test",
            "StorageDirectory": str(self.workdir / "storage"),
            "IndexDirectory": str(self.workdir / "index"),
            "HttpPort": self.http_port,
            "DicomPort": self.dicom_port,
            "DicomAet": ORTHANC_AET,
            "DicomCheckCalledAet": True,
            "DicomModalities": {OUR_AET: {"AET": OUR_AET, "Host": "127.0.0.1", "Port": self.our_port}},
            "RemoteAccessAllowed": True,
            "AuthenticationEnabled": False,
            "SaveJobs": False,
            "Plugins": [str(DICOMWEB_PLUGIN)] if DICOMWEB_PLUGIN.exists() else [],
            "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
        }
        config.update(self.extra_config)
        conf_path = self.workdir / "orthanc.json"
        conf_path.write_text(json.dumps(config, indent=2))
        logdir = self.workdir / "logs"
        logdir.mkdir(exist_ok=True)
        self.proc = subprocess.Popen(
            [str(ORTHANC), f"--logdir={logdir}", str(conf_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=DCMTK_ENV,
        )
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                pytest.fail(f"Orthanc exited with code {self.proc.returncode} on start; see logs in {logdir}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/system", timeout=2) as rsp:
                    if rsp.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                self.stop()
                pytest.fail("Orthanc did not answer GET /system within 30 s")
            time.sleep(0.1)
        # the DICOM port opens alongside HTTP, but be sure before tests connect
        with socket.create_connection(("127.0.0.1", self.dicom_port), timeout=10):
            pass
        # ... and that it answers associations (a fresh Orthanc can abort the first ones while starting)
        from casefiles.pacs.dimse import echo
        from casefiles.pacs.errors import PacsError

        while True:
            try:
                echo(self.node(timeout=5))
                break
            except PacsError:
                if time.monotonic() > deadline:
                    self.stop()
                    pytest.fail("Orthanc did not answer C-ECHO within 30 s")
                time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()

    def store(self, paths: list[Path]) -> None:
        """Load files with dcmtk's storescu, an independent DICOM peer."""
        # -xr: propose RLE as well as uncompressed, so the RLE samples are stored as they are
        for start in range(0, len(paths), 200):
            done = subprocess.run(
                [DCMTK_STORESCU, "-xr", "-aet", "LOADER", "-aec", ORTHANC_AET, "127.0.0.1", str(self.dicom_port)]
                + [str(p) for p in paths[start : start + 200]],
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
                env=DCMTK_ENV,
            )
            if done.returncode != 0:
                pytest.fail(f"storescu could not load test files into Orthanc:\n{done.stderr[-2000:]}")

    def count_instances(self) -> int:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/statistics", timeout=10) as rsp:
            return int(json.load(rsp)["CountInstances"])

    def node(self, **changes: object) -> PacsNode:
        settings: dict[str, object] = {
            "name": "test orthanc",
            "ae_title": ORTHANC_AET,
            "host": "127.0.0.1",
            "port": self.dicom_port,
            "our_ae_title": OUR_AET,
            "our_port": self.our_port,
            "timeout": 15,
        }
        settings.update(changes)
        return PacsNode(**settings)  # type: ignore[arg-type]


@dataclass(frozen=True)
class LoadedStudy:
    study_uid: str
    accession: str
    patient_id: str
    patient_name: str
    study_date: str
    modality: str
    sop_uids_by_series: dict[str, frozenset[str]]

    @property
    def sop_uids(self) -> frozenset[str]:
        return frozenset().union(*self.sop_uids_by_series.values())


def describe(paths: list[Path]) -> dict[str, LoadedStudy]:
    """What was loaded, read back from the files with pydicom (the expected answers)."""
    studies: dict[str, dict[str, set[str]]] = {}
    first: dict[str, pydicom.Dataset] = {}
    for path in paths:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        studies.setdefault(ds.StudyInstanceUID, {}).setdefault(ds.SeriesInstanceUID, set()).add(ds.SOPInstanceUID)
        first.setdefault(ds.StudyInstanceUID, ds)
    return {
        uid: LoadedStudy(
            study_uid=uid,
            accession=str(first[uid].AccessionNumber),
            patient_id=str(first[uid].PatientID),
            patient_name=str(first[uid].PatientName),
            study_date=str(first[uid].StudyDate),
            modality=str(first[uid].Modality),
            sop_uids_by_series={k: frozenset(v) for k, v in series.items()},
        )
        for uid, series in studies.items()
    }


@pytest.fixture(scope="session")
def loaded_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    from tests.dicom_factory import write_ct_study

    synthetic = write_ct_study(tmp_path_factory.mktemp("synthetic-ct"), slices=4, series=2)
    samples = sorted(p for p in (ROOT / "sample_data" / "studies").rglob("*") if p.is_file())
    assert samples, "sample_data/studies is empty"
    return synthetic + samples


@pytest.fixture(scope="session")
def orthanc(tmp_path_factory: pytest.TempPathFactory, loaded_files: list[Path]) -> Iterator[Orthanc]:
    server = Orthanc(workdir=tmp_path_factory.mktemp("orthanc"), our_port=free_port())
    server.start()
    try:
        server.store(loaded_files)
        assert server.count_instances() == len(loaded_files)
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def studies(loaded_files: list[Path]) -> dict[str, LoadedStudy]:
    return describe(loaded_files)


@pytest.fixture(scope="session")
def node(orthanc: Orthanc) -> PacsNode:
    return orthanc.node()
