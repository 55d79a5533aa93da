"""How fast CaseDeck imports a CT study, as a ratio to the floor measured in the same run.

    python -m bench.bench_import [--instances 500] [--size 512] [--repeat 3] [--out bench/results/import.json]

1. generates a synthetic CT series (``sample_data.synth.make_ct_series``) in a temp dir;
2. floor: pydicom ``dcmread`` + ``dcmwrite`` of every file, unchanged, to memory;
3. import: ``casefiles.ingest.import_sources`` (quarantine, de-identify, blob store,
   TinyDB, case thumbnails) into a fresh data directory, as the app runs it
   (worker processes), then the same in this process only (``workers=1``);
4. thumbnails: ``casefiles.imaging.thumbnail_png`` of every series' middle frame,
   then of every instance (per-frame cost, read from the blob store).

Floor and imports run ``--repeat`` times, interleaved, and the fastest run of
each counts: other work on the machine only ever slows a run down. The
headline is the import's speed as a fraction of the floor's (1.0 = as fast as
reading and writing the files unchanged). Prints a table and writes the
numbers as JSON. Files are read once before any timing so every step starts
from a warm page cache.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

import pydicom

from casefiles.config import Settings
from casefiles.deid import TEACHING_FILE, Deidentifier, load_or_create_secret
from casefiles.imaging import thumbnail_png
from casefiles.ingest import ImportReport, import_sources
from casefiles.ingest.pool import default_workers
from casefiles.model import Asset, AssetKind, Instance
from casefiles.store import CaseStore
from casefiles.store.blobs import LocalBlobStore
from casefiles.store.tinydb_store import TinyDBCaseStore
from sample_data import phantoms
from sample_data.synth import make_ct_series

RESULTS = Path(__file__).resolve().parent / "results" / "import.json"
T = TypeVar("T")


@dataclass(frozen=True)
class Step:
    name: str
    items: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.items / self.seconds if self.seconds > 0 else float("inf")


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    """``fn()`` and the seconds it took, after flushing earlier writes (their write-back would compete)."""
    os.sync()
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def floor(files: list[Path]) -> int:
    """Read and re-write each file unchanged: what any DICOM import must at least pay."""
    for path in files:
        ds = pydicom.dcmread(path)
        buffer = io.BytesIO()
        pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
    return len(files)


def import_into(
    data_dir: Path, source: Path, *, workers: int | None
) -> tuple[ImportReport, CaseStore, LocalBlobStore, float]:
    """Import ``source`` into a new library in ``data_dir``; the report, the stores and the seconds taken."""
    settings = Settings(data_dir=data_dir)
    store = TinyDBCaseStore(settings.library_dir)  # a library of its own each time (the folder is removed)
    blobs = LocalBlobStore(settings.blob_dir)
    deidentifier = Deidentifier(load_or_create_secret(settings.secret_path), profile=TEACHING_FILE)
    report, seconds = timed(
        lambda: import_sources(
            [source],
            store=store,
            blobs=blobs,
            deidentifier=deidentifier,
            quarantine_dir=settings.quarantine_dir,
            workers=workers,
        )
    )
    expected = sum(1 for p in source.iterdir() if p.is_file())
    if report.instances_imported != expected:
        reasons = sorted({p.reason for p in report.problems})
        raise SystemExit(f"Import took {report.instances_imported} of {expected} instances: {reasons}")
    return report, store, blobs, seconds


def run(instances: int, size: int, workdir: Path, repeat: int = 3) -> dict[str, Any]:
    source = workdir / "source"
    thickness = round((phantoms.CT_TOP_Z - phantoms.CT_BOTTOM_Z) / instances, 4)
    files, gen_seconds = timed(lambda: make_ct_series(source, slices=instances, size=size, thickness=thickness, seed=1))
    source_bytes = sum(p.stat().st_size for p in files)
    for path in files:  # warm the page cache so no step pays for the first disk read
        path.read_bytes()

    floor_seconds = import_seconds = inprocess_seconds = float("inf")
    cold_seconds = 0.0
    for attempt in range(repeat):
        _, seconds = timed(lambda: floor(files))
        floor_seconds = min(floor_seconds, seconds)
        if attempt:
            shutil.rmtree(workdir / "pooled")  # keep one library at a time: 500 slices are 260 MB
        report, store, blobs, seconds = import_into(workdir / "pooled", source, workers=None)
        cold_seconds = cold_seconds or seconds  # the first also starts the fork server
        import_seconds = min(import_seconds, seconds)
        _, _, _, seconds = import_into(workdir / "in-process", source, workers=1)
        inprocess_seconds = min(inprocess_seconds, seconds)
        shutil.rmtree(workdir / "in-process")
    steps = [
        Step("floor: dcmread + dcmwrite", len(files), floor_seconds),
        Step(f"import_sources ({default_workers()} worker processes)", instances, import_seconds),
        Step("import_sources in-process (workers=1)", instances, inprocess_seconds),
    ]

    series = [
        asset
        for case_id in report.case_ids
        for asset in store.get_case(case_id).assets
        if asset.kind is AssetKind.DICOM_SERIES
    ]

    def thumbnails(instances_of: Callable[[Asset], list[Instance]]) -> int:
        count = 0
        for asset in series:
            for inst in instances_of(asset):
                ds = pydicom.dcmread(io.BytesIO(blobs.get(inst.blob)))
                thumbnail_png(ds)
                count += 1
        return count

    middle, middle_seconds = timed(lambda: thumbnails(lambda a: [a.instances[len(a.instances) // 2]]))
    steps.append(Step("thumbnail_png, middle frame per series", middle, middle_seconds))
    every, every_seconds = timed(lambda: thumbnails(lambda a: list(a.instances)))
    steps.append(Step("thumbnail_png, every instance", every, every_seconds))

    return {
        "benchmark": "import",
        "parameters": {"instances": instances, "size": size, "slice_thickness_mm": thickness},
        "machine": {
            "python": platform.python_version(),
            "pydicom": pydicom.__version__,
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "source": {"files": len(files), "bytes": source_bytes, "generate_seconds": round(gen_seconds, 3)},
        "steps": [{**asdict(s), "per_second": round(s.per_second, 2)} for s in steps],
        "repeat": repeat,
        "first_import_seconds": round(cold_seconds, 3),
        "workers": default_workers(),
        "import_speed_vs_floor": round(floor_seconds / import_seconds, 2),
        "ratio_import_to_floor": round(import_seconds / floor_seconds, 2),  # time, the inverse
        "in_process_speed_vs_floor": round(floor_seconds / inprocess_seconds, 2),
        "import": {
            "cases": len(report.case_ids),
            "series": len(series),
            "problems": len(report.problems),
            "burned_in_flagged": report.burned_in_flagged,
        },
    }


def print_table(result: dict[str, Any]) -> None:
    params = result["parameters"]
    print(
        f"CT {params['instances']} x {params['size']}x{params['size']} "
        f"({result['source']['bytes'] / 1e6:.0f} MB, generated in {result['source']['generate_seconds']:.1f} s)"
    )
    print(f"{'step':44} {'items':>6} {'seconds':>9} {'per s':>9}")
    for step in result["steps"]:
        print(f"{step['name']:44} {step['items']:>6} {step['seconds']:>9.3f} {step['per_second']:>9.1f}")
    print(f"import / floor (time): {result['ratio_import_to_floor']:.2f}x")
    print(
        f"import speed / floor speed: {result['import_speed_vs_floor']:.2f} "
        f"({result['workers']} workers; in-process {result['in_process_speed_vs_floor']:.2f}; "
        f"best of {result['repeat']})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_import", description=__doc__.split("\n")[0])
    parser.add_argument("--instances", type=int, default=500)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=3, help="runs of floor and imports; the fastest counts")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the JSON result")
    args = parser.parse_args(argv)
    if args.instances < 2 or args.size < 16 or args.repeat < 1:
        parser.error("--instances must be at least 2, --size at least 16 and --repeat at least 1")
    with tempfile.TemporaryDirectory(prefix="casedeck-bench-") as tmp:
        result = run(args.instances, args.size, Path(tmp), args.repeat)
    print_table(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
