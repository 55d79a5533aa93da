"""How fast CaseDeck pulls a study from a PACS, as a ratio to dcmtk ``getscu`` in the same run.

    bash scripts/bench-pacs [--instances 1000] [--size 512] [--repeat 3] [--pdu 131072] [--out bench/results/pacs.json]

Run it through scripts/bench-pacs: Debian's Orthanc listens on every interface,
so it may only run in a network namespace whose only interface is loopback.

1. generates a synthetic CT study (``tests.dicom_factory.ct_slice``, fake PHI,
   16-bit) in a temp dir and loads it into a private Orthanc with dcmtk ``storescu``;
2. baseline: ``/usr/bin/getscu`` retrieves the study (C-GET) to a temp dir;
3. CaseDeck: ``Services.pull_from_pacs`` by accession into a fresh data
   directory, i.e. C-FIND + C-GET into the quarantine + de-identify + blob store
   + TinyDB, what the From PACS page and ``pacs pull`` run;
4. where the time goes: the C-GET alone into a quarantine-like folder
   (``dimse.get_study(on_encoded=...)`` writing the bytes as sent), and ``Services.import_dicom`` of
   such a folder alone.

Each runs ``--repeat`` times, interleaved; the fastest run of each counts.
The headline is CaseDeck's instances/s divided by getscu's (1.0 = as fast as
dcmtk writing the files to disk). Prints a table and writes the numbers as JSON.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

import pydicom
import pynetdicom
from pydicom.uid import MRImageStorage, generate_uid

from bench.bench_import import Step, timed
from bench.cpu_meter import CpuSpent, cpu_spent
from casefiles.config import Settings
from casefiles.pacs.dcmtk import TRANSPORT_SETTING
from casefiles.pacs.dimse import get_study
from casefiles.pacs.nodes import PacsNode
from casefiles.release import ReleaseBlocked
from casefiles.services import Services
from tests.dicom_factory import ct_slice

RESULTS = Path(__file__).resolve().parent / "results" / "pacs.json"
ORTHANC = Path("/usr/sbin/Orthanc")
GETSCU = Path("/usr/bin/getscu")
STORESCU = Path("/usr/bin/storescu")
ORTHANC_AET = "ORTHANC"
OUR_AET = "CASEDECK"
ACCESSION = "BENCHPACS0001"
T = TypeVar("T")
#: dcmtk (which Orthanc's DICOM side is built on) leaves Nagle's algorithm on unless TCP_NODELAY
#: is set; with it on, each instance waits ~40 ms for a delayed ACK on loopback. Both peers get
#: it, so the baseline is dcmtk at its best.
DCMTK_ENV = {**os.environ, "TCP_NODELAY": "1"}
#: Orthanc's "MaximumPduLength" (its default is 16 KB; 128 KB is the most Orthanc 1.10 allows and
#: a common hospital PACS setting). getscu is told to accept PDUs as large (``-pdu``), as CaseDeck
#: does, so both get the same PDUs from the same Orthanc.
DEFAULT_PDU = 131072


def only_loopback() -> bool:
    lines = Path("/proc/net/dev").read_text().splitlines()[2:]
    return sorted(line.split(":", 1)[0].strip() for line in lines if ":" in line) == ["lo"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def orthanc(workdir: Path, our_port: int, max_pdu: int = DEFAULT_PDU) -> Iterator[tuple[int, int, int]]:
    """A private Orthanc; yields (DICOM port, HTTP port, its pid) and stops it on exit."""
    if not only_loopback():
        raise SystemExit("Refusing to start Orthanc outside a loopback-only namespace: run scripts/bench-pacs.")
    http_port, dicom_port = free_port(), free_port()
    config = {
        "Name": "casedeck-bench",
        "StorageDirectory": str(workdir / "storage"),
        "IndexDirectory": str(workdir / "index"),
        "HttpPort": http_port,
        "DicomPort": dicom_port,
        "DicomAet": ORTHANC_AET,
        "DicomCheckCalledAet": True,
        "DicomModalities": {OUR_AET: {"AET": OUR_AET, "Host": "127.0.0.1", "Port": our_port}},
        "RemoteAccessAllowed": True,
        "AuthenticationEnabled": False,
        "SaveJobs": False,
        "MaximumPduLength": max_pdu,
    }
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "orthanc.json").write_text(json.dumps(config))
    (workdir / "logs").mkdir(exist_ok=True)
    proc = subprocess.Popen(
        [str(ORTHANC), f"--logdir={workdir / 'logs'}", str(workdir / "orthanc.json")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=DCMTK_ENV,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"Orthanc exited with code {proc.returncode}; see {workdir / 'logs'}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/system", timeout=2):
                    break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    raise SystemExit("Orthanc did not answer within 30 s") from None
                time.sleep(0.1)
        yield dicom_port, http_port, proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


#: A tumor board's studies (``--board``): (relative number of images, side, modality), CT and MR mixed.
BOARD = (
    (150, 512, "CT"), (40, 256, "MR"), (120, 512, "CT"), (60, 256, "MR"), (30, 512, "CT"), (100, 256, "MR"),
    (20, 512, "CT"), (80, 256, "MR"), (50, 512, "CT"), (90, 256, "MR"), (25, 512, "CT"), (35, 256, "MR"),
)  # fmt: skip


def generate(
    folder: Path, instances: int, size: int, studies: int = 1, board: bool = False
) -> tuple[list[Path], list[str]]:
    """``instances`` slices split over ``studies`` studies of one accession (a batch like a tumor board).

    With ``board``, twelve studies of the sizes and modalities in :data:`BOARD`, scaled to ``instances``.
    """
    folder.mkdir(parents=True)
    if board:
        weight = sum(n for n, _, _ in BOARD)
        plan = [(max(1, round(instances * n / weight)), side, modality) for n, side, modality in BOARD]
    else:
        plan = [(instances // studies + (1 if k < instances % studies else 0), size, "CT") for k in range(studies)]
    paths: list[Path] = []
    study_uids = []
    for count, side, modality in plan:
        study_uid, series_uid = generate_uid(), generate_uid()
        study_uids.append(study_uid)
        for index in range(count):
            ds = ct_slice(study_uid, series_uid, index % max(side - 1, 1), size=side)
            if modality == "MR":
                ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = MRImageStorage
                ds.Modality = "MR"
            ds.AccessionNumber = ACCESSION
            ds.InstanceNumber = index + 1
            ds.ImagePositionPatient = [0.0, 0.0, float(index)]
            ds.SliceLocation = float(index)
            path = folder / f"im{len(paths):05d}.dcm"
            ds.save_as(path, enforce_file_format=True)
            paths.append(path)
    return paths, study_uids


def load(paths: list[Path], dicom_port: int) -> None:
    for start in range(0, len(paths), 250):
        subprocess.run(
            [str(STORESCU), "-aet", "LOADER", "-aec", ORTHANC_AET, "127.0.0.1", str(dicom_port)]
            + [str(p) for p in paths[start : start + 250]],
            check=True,
            capture_output=True,
            timeout=600,
            env=DCMTK_ENV,
        )


def count_instances(http_port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/statistics", timeout=10) as rsp:
        return int(json.load(rsp)["CountInstances"])


def getscu(dicom_port: int, study_uid: str, out: Path, max_pdu: int = DEFAULT_PDU) -> int:
    """dcmtk's C-GET of the whole study, each instance written to ``out``: the baseline."""
    out.mkdir(parents=True)
    subprocess.run(
        [
            str(GETSCU), "-S", "-pdu", str(max_pdu), "-aet", OUR_AET, "-aec", ORTHANC_AET,
            "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={study_uid}",
            "-od", str(out), "127.0.0.1", str(dicom_port),
        ],
        check=True, capture_output=True, timeout=600, env=DCMTK_ENV,
    )  # fmt: skip
    return sum(1 for _ in out.iterdir())


def retrieve_only(node: PacsNode, study_uid: str, out: Path) -> int:
    """CaseDeck's C-GET alone, each instance written under a counter name as it came (as the pull's quarantine)."""
    out.mkdir(parents=True)
    counter = itertools.count(1)

    def keep(data: bytes) -> None:
        (out / f"{next(counter):07d}.dcm").write_bytes(data)

    return get_study(node, study_uid, on_encoded=keep).received


def run(
    instances: int,
    size: int,
    workdir: Path,
    repeat: int,
    max_pdu: int = DEFAULT_PDU,
    studies: int = 1,
    board: bool = False,
) -> dict[str, Any]:
    (files, study_uids), gen_seconds = timed(lambda: generate(workdir / "source", instances, size, studies, board))
    instances = len(files)
    source_bytes = sum(p.stat().st_size for p in files)
    our_port = free_port()
    with orthanc(workdir / "orthanc", our_port, max_pdu) as (dicom_port, http_port, orthanc_pid):
        _, load_seconds = timed(lambda: load(files, dicom_port))
        if count_instances(http_port) != instances:
            raise SystemExit(f"Orthanc holds {count_instances(http_port)} of {instances} instances after loading")
        shutil.rmtree(workdir / "source")  # Orthanc has them; free the disk for the runs
        node = PacsNode("bench", ORTHANC_AET, "127.0.0.1", dicom_port, our_ae_title=OUR_AET, our_port=our_port)
        best: dict[str, float] = {}
        cpu: dict[str, dict[str, float]] = {}  # where the fastest run of each step spent CPU

        def keep_best(name: str, seconds: float, spent: CpuSpent | None = None) -> None:
            if seconds < best.get(name, float("inf")) and spent is not None:
                cpu[name] = {"wall": round(seconds, 3), **spent.as_dict()}
            best[name] = min(best.get(name, float("inf")), seconds)

        imported = 0
        problems: list[str] = []
        for attempt in range(repeat):
            with cpu_spent(orthanc_pid) as spent:
                got, seconds = timed(
                    lambda: sum(getscu(dicom_port, uid, workdir / "getscu" / uid, max_pdu) for uid in study_uids)
                )
            if got != instances:
                raise SystemExit(f"getscu wrote {got} of {instances} files")
            shutil.rmtree(workdir / "getscu")
            keep_best("getscu", seconds, spent)

            data = workdir / f"casedeck-{attempt}"  # a library of its own each time (stores are kept open per folder)
            services = Services(Settings(data_dir=data, seed_samples=False))
            services.save_pacs_node(node)
            os.environ[TRANSPORT_SETTING] = "dcmtk"  # opt-in: getscu carries the bytes into the quarantine
            try:
                with cpu_spent(orthanc_pid) as spent:
                    (report, _), seconds = timed(lambda: services.pull_from_pacs(node.name, [ACCESSION]))  # noqa: B023
            finally:
                del os.environ[TRANSPORT_SETTING]
            imported, problems = report.instances_imported, [p.reason for p in report.problems]
            if imported != instances:
                raise SystemExit(f"CaseDeck imported {imported} of {instances}: {problems}")
            keep_best("pull", seconds, spent)
            shutil.rmtree(data)

            data = workdir / f"casedeck-pynetdicom-{attempt}"
            services = Services(Settings(data_dir=data, seed_samples=False))
            services.save_pacs_node(node)
            os.environ[TRANSPORT_SETTING] = "pynetdicom"
            try:
                with cpu_spent(orthanc_pid) as spent:
                    (report, _), seconds = timed(lambda: services.pull_from_pacs(node.name, [ACCESSION]))  # noqa: B023
            finally:
                del os.environ[TRANSPORT_SETTING]
            if report.instances_imported != instances:
                raise SystemExit(f"CaseDeck (pynetdicom) imported {report.instances_imported} of {instances}")
            keep_best("pull_pynetdicom", seconds, spent)
            shutil.rmtree(data)

            got, seconds = timed(
                lambda: sum(retrieve_only(node, uid, workdir / "retrieved" / uid) for uid in study_uids)
            )
            if got != instances:
                raise SystemExit(f"get_study received {got} of {instances}")
            keep_best("retrieve", seconds)
            data = workdir / f"casedeck-import-{attempt}"
            services = Services(Settings(data_dir=data, seed_samples=False))
            report, seconds = timed(lambda: services.import_dicom([workdir / "retrieved"]))  # noqa: B023
            if report.instances_imported != instances:
                raise SystemExit(f"import_dicom took {report.instances_imported} of {instances}")
            keep_best("import", seconds)
            shutil.rmtree(data)
            shutil.rmtree(workdir / "retrieved")

    steps = [
        Step("dcmtk getscu (C-GET to disk)", instances, best["getscu"]),
        Step("CaseDeck pull (dcmtk getscu transport)", instances, best["pull"]),
        Step("CaseDeck pull (pynetdicom transport, the default)", instances, best["pull_pynetdicom"]),
        Step("  of which: C-GET into a folder (get_study)", instances, best["retrieve"]),
        Step("  of which: import of that folder", instances, best["import"]),
    ]
    return {
        "benchmark": "pacs",
        "parameters": {
            "instances": instances,
            "size": size,
            "transfer_syntax": "explicit VR little endian",
            "orthanc_max_pdu": max_pdu,
            "studies": len(study_uids),
            "board": board,
        },
        "machine": {
            "python": platform.python_version(),
            "pydicom": pydicom.__version__,
            "pynetdicom": pynetdicom.__version__,
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "source": {
            "files": instances,
            "bytes": source_bytes,
            "generate_seconds": round(gen_seconds, 3),
            "load_seconds": round(load_seconds, 3),
        },
        "steps": [{**asdict(s), "per_second": round(s.per_second, 2)} for s in steps],
        "repeat": repeat,
        "pull_speed_vs_getscu": round(best["getscu"] / best["pull"], 2),
        "pull_pynetdicom_speed_vs_getscu": round(best["getscu"] / best["pull_pynetdicom"], 2),
        "pull_seconds_vs_getscu_seconds": round(best["pull"] / best["getscu"], 2),
        "retrieve_speed_vs_getscu": round(best["getscu"] / best["retrieve"], 2),
        "pull_problems": problems,
        "cpu_seconds": cpu,
    }


def generate_mixed_board(folder: Path) -> tuple[list[Path], list[str]]:
    """The issue's usual tumor board, 12 studies of one accession, 114 instances.

    4 CT 512² (20, 20, 20, 13 slices), 3 MR 256² (12 slices each), 2 ultrasound cines with the
    patient's name burned into a banner (12 frames, RLE), 2 chest radiographs (1024², RLE) and a
    dose-report screenshot with burned-in text. Fake PHI throughout.
    """
    from sample_data.synth import make_ct_series, make_mr_series, make_radiograph, make_ultrasound
    from tests.support.burned_in import dicom_image, dose_report

    paths: list[Path] = []
    uids: list[str] = []

    def study(make: Any, **kwargs: Any) -> None:
        uid = generate_uid()
        uids.append(uid)
        paths.extend(make(folder / f"study-{len(uids):02d}", study_uid=uid, seed=len(uids), **kwargs))

    for slices in (20, 20, 20, 13):
        study(make_ct_series, slices=slices, size=512)
    for _ in range(3):
        study(make_mr_series, slices=12, size=256)
    for _ in range(2):
        study(make_ultrasound, frames=12)
    for _ in range(2):
        study(make_radiograph, size=1024)
    screen = dicom_image(dose_report(seed=7).pixels, modality="OT")
    screen.PatientName, screen.PatientID, screen.StudyDate = "SMITH^JOHN", "MRN4471", "20240302"
    uids.append(str(screen.StudyInstanceUID))
    screen_path = folder / "study-12" / "screen.dcm"
    screen_path.parent.mkdir(parents=True)
    screen.save_as(screen_path, enforce_file_format=True)
    paths.append(screen_path)
    for path in paths:  # one accession for the whole board, as a registrar pastes it
        ds = pydicom.dcmread(path)
        ds.AccessionNumber = ACCESSION
        ds.save_as(path, enforce_file_format=True)
    return paths, uids


def run_mixed_board(workdir: Path, repeat: int, max_pdu: int = DEFAULT_PDU) -> dict[str, Any]:
    """getscu of the board vs CaseDeck's pull of it into a tumor board conference plus its PPTX export."""
    (files, study_uids), gen_seconds = timed(lambda: generate_mixed_board(workdir / "source"))
    our_port = free_port()
    best: dict[str, float] = {}
    cpu: dict[str, dict[str, float]] = {}
    blocked: list[str] = []
    with orthanc(workdir / "orthanc", our_port, max_pdu) as (dicom_port, http_port, orthanc_pid):
        for path in files:  # over REST: Orthanc keeps each file's compressed transfer syntax as it is
            request = urllib.request.Request(
                f"http://127.0.0.1:{http_port}/instances", data=path.read_bytes(), method="POST"
            )
            with urllib.request.urlopen(request, timeout=60) as rsp:
                rsp.read()
        if count_instances(http_port) != len(files):
            raise SystemExit(f"Orthanc holds {count_instances(http_port)} of {len(files)} instances after loading")
        node = PacsNode("bench", ORTHANC_AET, "127.0.0.1", dicom_port, our_ae_title=OUR_AET, our_port=our_port)
        for attempt in range(repeat):
            got, seconds = timed(
                lambda: sum(getscu(dicom_port, uid, workdir / "getscu" / uid, max_pdu) for uid in study_uids)
            )
            shutil.rmtree(workdir / "getscu")
            if got != len(files):
                raise SystemExit(f"getscu wrote {got} of {len(files)} files")
            best["getscu"] = min(best.get("getscu", float("inf")), seconds)
            data = workdir / f"casedeck-board-{attempt}"
            services = Services(Settings(data_dir=data, seed_samples=False))
            services.save_pacs_node(node)
            start = time.perf_counter()
            with cpu_spent(orthanc_pid) as spent:
                report, conference = services.pull_from_pacs(node.name, [ACCESSION], conference_title="Tumor board")
            pulled = time.perf_counter() - start
            if pulled < best.get("pull", float("inf")):
                cpu["pull"] = {"wall": round(pulled, 3), **spent.as_dict()}
            if report.instances_imported != len(files) or conference is None:
                raise SystemExit(f"CaseDeck imported {report.instances_imported} of {len(files)}: {report.problems}")
            try:
                services.export(conference.id, "pptx", workdir / "board.pptx")
            except ReleaseBlocked as exc:
                blocked = [str(exc)]
            exported = time.perf_counter() - start
            best["pull"] = min(best.get("pull", float("inf")), pulled)
            best["pull_export"] = min(best.get("pull_export", float("inf")), exported)
            shutil.rmtree(data)
    steps = [
        Step("dcmtk getscu of the 12 studies", len(files), best["getscu"]),
        Step("CaseDeck pull into a tumor board", len(files), best["pull"]),
        Step("CaseDeck pull + PPTX export", len(files), best["pull_export"]),
    ]
    return {
        "benchmark": "pacs-mixed-board",
        "parameters": {"instances": len(files), "studies": len(study_uids), "orthanc_max_pdu": max_pdu},
        "source": {"generate_seconds": round(gen_seconds, 3)},
        "steps": [{**asdict(s), "per_second": round(s.per_second, 2)} for s in steps],
        "repeat": repeat,
        "pull_seconds": round(best["pull"], 2),
        "pull_and_export_seconds": round(best["pull_export"], 2),
        "pull_seconds_vs_getscu_seconds": round(best["pull"] / best["getscu"], 2),
        "export_blocked": blocked,
        "cpu_seconds": cpu,
    }


def print_table(result: dict[str, Any]) -> None:
    params, source = result["parameters"], result["source"]
    if result["benchmark"] == "pacs-mixed-board":
        print(f"Mixed tumor board: {params['instances']} instances in {params['studies']} studies")
        for step in result["steps"]:
            print(f"{step['name']:50} {step['items']:>6} {step['seconds']:>9.3f} {step['per_second']:>9.1f}")
        print(
            f"pull {result['pull_seconds']:.1f} s ({result['pull_seconds_vs_getscu_seconds']:.1f}x getscu's time), "
            f"pull + PPTX export {result['pull_and_export_seconds']:.1f} s; export blocked: {result['export_blocked']}"
        )
        print_cpu(result.get("cpu_seconds", {}))
        return
    print(
        f"{'CT 512 + MR 256 board:' if params.get('board') else 'CT'} {params['instances']} x "
        f"{params['size']}x{params['size']} in {params.get('studies', 1)} study(ies) "
        f"({source['bytes'] / 1e6:.0f} MB; "
        f"Orthanc MaximumPduLength {params['orthanc_max_pdu']}; "
        f"generated in {source['generate_seconds']:.1f} s, loaded into Orthanc in {source['load_seconds']:.1f} s)"
    )
    print(f"{'step':50} {'items':>6} {'seconds':>9} {'per s':>9}")
    for step in result["steps"]:
        print(f"{step['name']:50} {step['items']:>6} {step['seconds']:>9.3f} {step['per_second']:>9.1f}")
    print(
        f"CaseDeck pull (getscu transport) time / getscu time: {result['pull_seconds_vs_getscu_seconds']:.2f}; "
        f"pynetdicom transport speed / getscu speed: {result['pull_pynetdicom_speed_vs_getscu']:.2f}"
    )
    print(
        f"CaseDeck pull (getscu transport) speed / getscu speed: {result['pull_speed_vs_getscu']:.2f} "
        f"(C-GET alone {result['retrieve_speed_vs_getscu']:.2f}; best of {result['repeat']})"
    )
    print_cpu(result.get("cpu_seconds", {}))


def print_cpu(cpu: dict[str, dict[str, float]]) -> None:
    """Where the fastest run of each step spent its CPU (seconds), and how busy it kept the cores."""
    if not cpu:
        return
    cores = len(os.sched_getaffinity(0))
    heading = f"{'wall':>7} {'us':>7} {'waited':>7} {'workers':>8} {'Orthanc':>8} busy"
    print(f"{'CPU seconds of the fastest run':32} {heading}")
    for name, row in cpu.items():
        total = row["this_process"] + row["waited_children"] + row["workers"] + row["peer"]
        busy = total / (row["wall"] * cores) if row["wall"] else 0.0
        print(
            f"{name:32} {row['wall']:>7.2f} {row['this_process']:>7.2f} {row['waited_children']:>7.2f} "
            f"{row['workers']:>8.2f} {row['peer']:>8.2f} {busy:>4.0%} of {cores} cores"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_pacs", description=__doc__.split("\n")[0])
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the fastest counts")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the JSON result")
    parser.add_argument("--studies", type=int, default=1, help="split the instances over this many studies")
    parser.add_argument(
        "--mixed-board", action="store_true", help="the usual 12-study board with US, CR and a screenshot, + PPTX"
    )
    parser.add_argument(
        "--board", action="store_true", help="twelve studies of mixed CT 512 and MR 256 sizes (a tumor board)"
    )
    parser.add_argument(
        "--pdu", type=int, default=DEFAULT_PDU, help="Orthanc's MaximumPduLength, and getscu's -pdu (4096-131072)"
    )
    args = parser.parse_args(argv)
    if args.instances < 1 or args.size < 16 or args.repeat < 1:
        parser.error("--instances must be at least 1, --size at least 16 and --repeat at least 1")
    if not 4096 <= args.pdu <= 131072:
        parser.error("--pdu must be between 4096 and 131072 (what Orthanc allows)")
    for tool in (ORTHANC, GETSCU, STORESCU):
        if not tool.exists():
            parser.error(f"{tool} is missing (Debian packages orthanc and dcmtk)")
    with tempfile.TemporaryDirectory(prefix="casedeck-bench-pacs-") as tmp:
        if args.mixed_board:
            result = run_mixed_board(Path(tmp), args.repeat, args.pdu)
        else:
            result = run(args.instances, args.size, Path(tmp), args.repeat, args.pdu, args.studies, args.board)
    print_table(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
