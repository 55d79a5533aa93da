"""``deidentify_tree`` in worker processes writes what it writes in one process (#18).

Same files, same bytes, same report (problems by their position in the sorted walk),
the same progress; a corrupt file among good ones is reported and the others written;
a cancel stops cleanly and no staging folder is ever left in the destination.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import generate_uid

from casefiles import batch_deid
from casefiles.batch_deid import deidentify_tree
from casefiles.deid import PROFILES, Deidentifier
from casefiles.errors import Cancelled
from casefiles.progress import CancelToken
from tests.dicom_factory import FAKE_PHI, ct_slice

SECRET = b"casedeck-test-secret-0123456789!"


def _tree(root: Path) -> Path:
    """Two series of CT slices with, among them: a damaged DICOM, a text file, an image whose
    pixel data is cut short (refused: its pixels cannot be screened), one without a Study
    Instance UID (unreadable as written), and a second copy of a slice (same UIDs: the later
    one's file replaces the first's)."""
    src = root / "QUIMBY_EUSTACE"
    study = generate_uid()
    for s in range(2):
        series = generate_uid()
        (src / f"series{s}").mkdir(parents=True)
        for i in range(16):
            ds = ct_slice(study, series, i, size=48 + 8 * s, series_number=s + 1)
            ds.save_as(src / f"series{s}" / f"im{i:03d}.dcm", enforce_file_format=True)
    (src / "series0" / "im005b.dcm").write_bytes(b"\0" * 128 + b"DICM" + bytes(range(256)) * 3)
    (src / "series1" / "notes.txt").write_text("QUIMBY EUSTACE follow-up")
    short = ct_slice(study, generate_uid(), 3)
    short.PixelData = short.PixelData[:100]
    short.save_as(src / "series1" / "im003b.dcm", enforce_file_format=True)
    no_study = ct_slice(study, generate_uid(), 4)
    del no_study.StudyInstanceUID
    no_study.save_as(src / "series1" / "im004b.dcm", enforce_file_format=False)
    twin = pydicom.dcmread(src / "series0" / "im002.dcm")
    twin.StudyDescription = "CT CHEST QUIMBY repeat"
    twin.save_as(src / "series1" / "zz-twin.dcm", enforce_file_format=True)
    return src


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _run(src: Path, dst: Path, workers: int, **kwargs):
    calls: list[tuple[int, int, str]] = []
    report = deidentify_tree(
        src,
        dst,
        Deidentifier(SECRET, PROFILES["teaching-file"]),
        workers=workers,
        pool_threshold=0,
        progress=lambda done, total, message: calls.append((done, total, message)),
        **kwargs,
    )
    return report, calls


def test_workers_write_the_same_tree_and_report_as_one_process(tmp_path, monkeypatch):
    src = _tree(tmp_path)
    alone, alone_calls = _run(src, tmp_path / "alone", workers=1)

    def not_here(*args: object) -> None:
        raise AssertionError("the pooled run de-identified a file in this process")

    monkeypatch.setattr(batch_deid, "_deidentified", not_here)  # the workers import their own
    pooled, pooled_calls = _run(src, tmp_path / "pooled", workers=2)

    files = sorted(p for p in src.rglob("*") if p.is_file())
    assert alone.files_seen == len(files) == 37
    assert alone.written == 33  # 32 slices and the twin, whose file replaced its first copy's
    assert [(files[p.ordinal - 1].name, p.quarantined) for p in alone.problems] == [
        ("im005b.dcm", True),  # damaged past its preamble: refused
        ("im003b.dcm", True),  # pixel data cut short: refused
        ("im004b.dcm", False),  # no Study Instance UID: not readable as written
        ("notes.txt", False),
    ]
    assert pooled.to_json() == alone.to_json()
    assert pooled.problems == alone.problems
    assert pooled_calls == alone_calls
    written = _files(tmp_path / "alone")
    assert len(written) == 32
    assert _files(tmp_path / "pooled") == written
    for name, data in written.items():
        assert "QUIMBY" not in name and "series" not in name.split("/")[-1]
        for phi in FAKE_PHI:
            assert phi.encode() not in data


def test_no_staging_folder_is_left_and_an_empty_run_leaves_no_destination(tmp_path):
    src = _tree(tmp_path)
    dst = tmp_path / "out"
    _run(src, dst, workers=2)
    assert not [p for p in dst.iterdir() if p.name.startswith(".")]
    junk = tmp_path / "junk"
    junk.mkdir()
    for i in range(4):
        (junk / f"{i}.txt").write_text("not dicom")
    report, _ = _run(junk, tmp_path / "nothing", workers=2)
    assert report.written == 0 and len(report.problems) == 4
    assert not (tmp_path / "nothing").exists()


@pytest.mark.parametrize("workers", [1, 2])
def test_a_cancel_stops_before_the_next_file_and_leaves_no_staging(tmp_path, workers):
    src = _tree(tmp_path)
    dst = tmp_path / "out"
    cancel = CancelToken()

    def progress(done: int, total: int, message: str) -> None:
        if done == 10:
            cancel.cancel()

    with pytest.raises(Cancelled):
        deidentify_tree(
            src,
            dst,
            Deidentifier(SECRET, PROFILES["teaching-file"]),
            workers=workers,
            pool_threshold=0,
            progress=progress,
            cancel=cancel,
        )
    placed = [p for p in dst.rglob("*") if p.is_file()]
    assert 9 <= len(placed) <= 11
    assert not [p for p in dst.iterdir() if p.name.startswith(".")]
    shutil.rmtree(dst)


def _pooled(monkeypatch, src: Path, dst: Path, **kwargs) -> bool:
    """Whether deidentify_tree used worker processes (the parent de-identified nothing itself)."""
    here: list[int] = []
    original = batch_deid._deidentified

    def counted(path: Path, deidentifier: Deidentifier) -> batch_deid._Outcome:
        here.append(1)
        return original(path, deidentifier)

    monkeypatch.setattr(batch_deid, "_deidentified", counted)
    deidentify_tree(src, dst, Deidentifier(SECRET, PROFILES["teaching-file"]), **kwargs)
    return not here


def test_workers_by_default_only_for_large_trees_on_three_cpus_or_more(tmp_path, monkeypatch):
    src = _tree(tmp_path)  # 37 files
    monkeypatch.setattr(batch_deid, "default_workers", lambda: 4)
    assert not _pooled(monkeypatch, src, tmp_path / "a")  # not more than POOL_THRESHOLD files
    monkeypatch.setattr(batch_deid, "POOL_THRESHOLD", 30)
    assert _pooled(monkeypatch, src, tmp_path / "b")
    monkeypatch.setattr(batch_deid, "default_workers", lambda: 2)
    assert not _pooled(monkeypatch, src, tmp_path / "c")  # two CPUs: measured no gain
    assert _pooled(monkeypatch, src, tmp_path / "d", workers=2)  # asked for: over 24 files
    assert not _pooled(monkeypatch, src, tmp_path / "e", workers=1)
