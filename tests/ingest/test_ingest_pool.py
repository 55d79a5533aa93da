"""Large imports run in worker processes: same cases as in-process, same problems, same cancel rules."""

from __future__ import annotations

import functools
import io
import multiprocessing
import operator
import os
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pydicom
import pytest
from pydicom.data import get_testdata_file

from casefiles.deid import Deidentifier
from casefiles.errors import Cancelled, ValidationError
from casefiles.ingest import ImportReport, Upload, import_sources, pipeline
from casefiles.ingest.pool import KeptPool, PoolPlan, WorkerPool, map_in_order
from casefiles.ingest.reading import encode, is_raw_explicit_little, read_dataset, source_syntax, write_explicit_little
from casefiles.model import Case, Review
from casefiles.progress import CancelToken
from tests.support.phi_paths import folder_position
from tests.support.pool_tasks import KILLS_ITS_WORKER, negate_slowly, word_lists_loaded

if TYPE_CHECKING:
    from conftest import Library, Study

    MakeStudy = Callable[..., Study]

POOLED = {"workers": 2, "pool_threshold": 0}


@pytest.fixture
def deid(secret: bytes) -> Deidentifier:
    return Deidentifier(secret)


def run(lib: Library, deid: Deidentifier, sources: list[Path | Upload], **kwargs: object) -> ImportReport:
    return import_sources(
        sources,
        store=lib.store,
        blobs=lib.blobs,
        deidentifier=deid,
        quarantine_dir=lib.quarantine,
        review_area=lib.review_area,
        **kwargs,  # type: ignore[arg-type]
    )


def shape(case: Case) -> list[tuple[object, ...]]:
    """What a user sees of a case, without its random ids."""
    return [
        (
            a.label,
            a.modality,
            a.study_uid,
            a.series_uid,
            a.thumbnail,
            a.default_window,
            tuple((i.sop_instance_uid, i.blob, i.position, i.instance_number, i.review) for i in a.instances),
        )
        for a in case.assets
    ]


def test_pooled_import_gives_the_same_cases_and_files_as_in_process(
    tmp_path: Path,
    make_study: MakeStudy,
    make_library: Callable[[Path], Library],
    deid: Deidentifier,
    assert_no_phi: Callable[[Library], None],
) -> None:
    study = make_study(tmp_path / "in", slices=30, second_series_slices=10)
    flagged = pydicom.dcmread(study.files[7])
    flagged.BurnedInAnnotation = "YES"
    flagged.save_as(study.files[7], enforce_file_format=True)
    here, pooled = make_library(tmp_path / "here"), make_library(tmp_path / "pooled")
    workers_seen: list[int] = []

    first = run(here, deid, [tmp_path / "in"], workers=1)
    second = run(
        pooled,
        deid,
        [tmp_path / "in"],
        **POOLED,
        progress=lambda *_: workers_seen.append(len(multiprocessing.active_children())),
    )

    assert max(workers_seen) >= 1  # the files really went through worker processes
    assert (second.instances_imported, second.problems, second.deid) == (40, (), first.deid)
    (case_here,), (case_pooled,) = here.store.list_cases(), pooled.store.list_cases()
    assert case_pooled.title == case_here.title
    assert shape(case_pooled) == shape(case_here)
    assert [len(a.instances) for a in case_pooled.assets] == [30, 10]
    reviews = [i.review for a in case_pooled.assets for i in a.instances]
    assert reviews.count(Review.NEEDS_REVIEW) == 1 and second.burned_in_flagged == 1
    assert list(pooled.blobs.digests()) == list(here.blobs.digests())
    assert list(pooled.quarantine.iterdir()) == []
    assert_no_phi(pooled)


def test_the_workers_wait_for_the_next_import_of_the_library_and_stop_when_told(
    tmp_path: Path, library: Library, deid: Deidentifier, make_study: MakeStudy
) -> None:
    make_study(tmp_path / "one", slices=30, second_series_slices=0)
    make_study(tmp_path / "two", slices=30, second_series_slices=0)
    run(library, deid, [tmp_path / "one"], **POOLED)
    kept = {p.pid for p in multiprocessing.active_children()}
    assert kept, "the workers wait for the library's next import"

    second = run(library, deid, [tmp_path / "two"], **POOLED)

    assert second.instances_imported == 30
    assert {p.pid for p in multiprocessing.active_children()} == kept, "the next import used the same workers"
    pipeline._KEPT.close()
    assert multiprocessing.active_children() == []


def test_a_kept_pool_stops_when_idle_and_gives_way_to_another_library() -> None:
    plan = PoolPlan(task=operator.call, crashed=lambda item: "crashed", size_of=lambda item: 1, workers=1)
    kept: KeptPool[functools.partial[int], int] = KeptPool(idle_seconds=0.3)
    items = [functools.partial(abs, -n) for n in range(3)]
    with kept.lease(("library A",), lambda: plan) as pool:
        assert [r for _, r in pool.map(items)] == [0, 1, 2]
        first = {p.pid for p in multiprocessing.active_children()}
    with kept.lease(("library B",), lambda: plan) as pool:  # the idle pool of A is stopped first
        assert [r for _, r in pool.map(items)] == [0, 1, 2]
        assert not first & {p.pid for p in multiprocessing.active_children()}
    deadline = time.monotonic() + 10
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert multiprocessing.active_children() == [], "an idle pool stops by itself"


def test_pooled_import_reports_bad_files_and_imports_the_rest(
    tmp_path: Path, library: Library, deid: Deidentifier, make_study: MakeStudy
) -> None:
    study = make_study(tmp_path / "in", slices=12, second_series_slices=0)
    good = study.files[0].read_bytes()
    (tmp_path / "in" / "notes.txt").write_text("Patient history: see chart\n")
    (tmp_path / "in" / "corrupt.dcm").write_bytes(good[:132] + bytes(range(256)) * 4)
    (tmp_path / "in" / "truncated.dcm").write_bytes(good[: len(good) - 300])

    report = run(library, deid, [tmp_path / "in"], **POOLED)

    assert report.instances_imported == 12
    folder = tmp_path / "in"
    assert {p.item: p.reason for p in report.problems} == {
        folder_position(folder, folder / "notes.txt"): "not a DICOM file",
        folder_position(folder, folder / "corrupt.dcm"): (
            "damaged or incomplete DICOM file (it has no SOP Class or SOP Instance UID)"
        ),
        folder_position(folder, folder / "truncated.dcm"): "truncated DICOM file (its pixel data is cut short)",
    }


def test_pooled_reimport_counts_duplicates_and_keeps_other_encodings(
    tmp_path: Path, library: Library, deid: Deidentifier, make_study: MakeStudy
) -> None:
    make_study(tmp_path / "in", slices=6, second_series_slices=0)
    run(library, deid, [tmp_path / "in"], **POOLED)
    jpeg = get_testdata_file("SC_rgb_jpeg.dcm")
    assert jpeg is not None

    again = run(library, deid, [tmp_path / "in", Upload("sc.dcm", Path(jpeg).read_bytes())], **POOLED)

    assert (again.instances_imported, again.duplicates_skipped, again.problems) == (1, 6, ())
    stored = [a for c in library.store.list_cases() for a in c.assets if a.modality != "CT"]
    (sc,) = stored
    ds = pydicom.dcmread(io.BytesIO(library.blobs.get(sc.instances[0].blob)))
    assert ds.file_meta.TransferSyntaxUID == pydicom.uid.JPEGBaseline8Bit


def test_cancel_during_pooled_import_saves_nothing_and_stops_the_workers(
    tmp_path: Path, library: Library, deid: Deidentifier, make_study: MakeStudy
) -> None:
    make_study(tmp_path / "in", slices=20, second_series_slices=10)
    archive = tmp_path / "study.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted((tmp_path / "in").iterdir()):
            zf.write(path, path.name)
    token = CancelToken()
    seen: list[int] = []

    def cancel_after_five(done: int, total: int, message: str) -> None:
        seen.append(done)
        if done == 5:
            token.cancel()

    with pytest.raises(Cancelled):
        run(library, deid, [archive], progress=cancel_after_five, cancel=token, **POOLED)

    assert seen == [0, 1, 2, 3, 4, 5]
    assert library.store.list_cases() == []
    assert list(library.quarantine.iterdir()) == []
    again = run(library, deid, [archive], **POOLED)  # the kept workers are free again at once
    assert again.instances_imported == 30


def test_worker_settings_are_checked(tmp_path: Path, library: Library, deid: Deidentifier) -> None:
    for bad in ({"workers": 0}, {"workers": 1.5}, {"pool_threshold": -1}, {"workers": True}):
        with pytest.raises(ValidationError):
            run(library, deid, [tmp_path], **bad)


def test_a_file_that_kills_its_worker_is_given_up_alone() -> None:
    # Real worker processes; one item makes its worker exit as a crashing codec would.
    items = [functools.partial(abs, -n) for n in range(8)]
    items[3] = functools.partial(os._exit, 3)
    plan = PoolPlan(task=operator.call, crashed=lambda item: "crashed", size_of=lambda item: 1, workers=2)

    results = [result for _, result in map_in_order(plan, items)]

    assert results == [0, 1, 2, "crashed", 4, 5, 6, 7]
    assert multiprocessing.active_children() == []


@pytest.mark.filterwarnings("ignore:Expected explicit VR, but found implicit VR")
@pytest.mark.parametrize(
    "name",
    [
        "CT_small.dcm",
        "MR_small_RLE.dcm",
        "JPEG2000.dcm",
        "MR_small_jpeg_ls_lossless.dcm",
        "rtplan.dcm",  # nested sequences
        "rtstruct.dcm",
        "MR_small_bigendian.dcm",  # converted, so written by pydicom itself
        "SC_rgb_jpeg.dcm",  # claims explicit VR, holds implicit-VR elements
    ],
)
def test_fast_writer_writes_exactly_what_pydicom_writes(name: str, deid: Deidentifier) -> None:
    source = get_testdata_file(name)
    assert source is not None
    original = read_dataset(Path(source).read_bytes())
    result = deid.deidentify(original).dataset
    stored = encode(result, fallback_syntax=source_syntax(original))

    expected = io.BytesIO()
    pydicom.dcmwrite(expected, result, enforce_file_format=True)
    assert stored == expected.getvalue()
    if is_raw_explicit_little(result):
        assert write_explicit_little(result) == expected.getvalue()


_MAIN_SCRIPT = """
import os
with open(os.environ["CASEDECK_TEST_RUNS"], "a") as runs:
    runs.write(__name__ + "\\n")  # each time this script runs, in whichever process

if __name__ == "__main__":
    from casefiles.ingest import pool
    from casefiles.ingest.pool import PoolPlan, map_in_order

    pool.start_method = lambda: os.environ["CASEDECK_TEST_START_METHOD"]

    plan = PoolPlan(task=abs, crashed=lambda item: 0, size_of=lambda item: 1, workers=2)
    print(sorted(result for _item, result in map_in_order(plan, [-1, -2, -3, -4])))
"""


@pytest.mark.parametrize("start_method", ["forkserver", "spawn"])
def test_workers_do_not_run_the_main_script_again(tmp_path: Path, start_method: str) -> None:
    """A worker's start used to run the parent's main script once more (~1 s of CPU for the app's
    launcher or a benchmark): multiprocessing's fork server never preloads ``__main__``."""
    script = tmp_path / "launcher.py"
    script.write_text(_MAIN_SCRIPT)
    runs = tmp_path / "runs.txt"
    env = {
        **os.environ,
        "CASEDECK_TEST_RUNS": str(runs),
        "CASEDECK_TEST_START_METHOD": start_method,
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[1, 2, 3, 4]"
    assert runs.read_text().split() == ["__main__"]


def test_workers_start_with_the_free_text_word_lists_loaded() -> None:
    """The fork server loads them once; before, every worker spent ~0.3 s on them at its first file."""
    plan = PoolPlan(task=word_lists_loaded, crashed=lambda item: False, size_of=lambda item: 1, workers=2)
    assert [loaded for _item, loaded in map_in_order(plan, [1, 2])] == [True, True]


def test_two_imports_on_one_kept_pool_lose_nothing_when_a_file_kills_a_worker() -> None:
    """The receiver imports two senders' studies at once on the library's kept workers: a file that kills
    its worker in one import is given up alone; every file of the other import is still imported."""
    plan = PoolPlan(task=negate_slowly, crashed=lambda item: "crashed", size_of=lambda item: 1, workers=2)
    crashing = [1, 2, 3, KILLS_ITS_WORKER, 4, 5, 6]
    innocent = list(range(10, 50))
    results: dict[str, list[object]] = {}

    def run(name: str, items: list[int], pool: WorkerPool[int, object]) -> None:
        results[name] = [result for _item, result in pool.map(items)]

    with WorkerPool(plan) as pool:
        other = threading.Thread(target=run, args=("innocent", innocent, pool))
        other.start()
        time.sleep(0.1)  # the innocent import is under way when the crash comes
        run("crashing", crashing, pool)
        other.join(60)

    assert results["crashing"] == [-1, -2, -3, "crashed", -4, -5, -6]
    assert results["innocent"] == [-n for n in innocent]
