"""Each sample is seeded exactly once (issue #14, finding 2): across processes, by the import's fork
server re-running the app's main script, and when a start is interrupted at any point."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap

from casefiles.model import AssetKind
from casefiles.samples import seed_samples
from casefiles.store.tinydb_store import TinyDBCaseStore
from tests.helpers import ROOT

SEED_TIMEOUT_S = 240


def library(data_dir):
    """The cases the app stored, read by a store of this process (it reads the files afresh)."""
    store = TinyDBCaseStore(data_dir / "library")
    try:
        return [{"id": s.id, "title": s.title, "modality": s.modality} for s in store.summaries()]
    finally:
        store.close()


def test_an_unguarded_main_script_seeds_once(data_dir, tmp_path):
    """app.py seeds at top level; the import's fork server imports the main script again (as
    ``__mp_main__``). That copy used to seed too, so the CT case came twice (2 of 2 starts)."""
    script = tmp_path / "start.py"
    script.write_text(
        textwrap.dedent(
            f"""
            from pathlib import Path
            from casefiles.config import Settings
            from casefiles.samples import seed_samples
            from casefiles.services import open_services

            print(len(seed_samples(open_services(Settings(data_dir=Path({str(data_dir)!r}))))))
            """
        ),
        encoding="utf-8",
    )
    run = subprocess.run(
        [sys.executable, str(script)],
        check=False,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=SEED_TIMEOUT_S,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert sorted(run.stdout.split())[-1:] == ["4"], "the script seeded"
    assert set(run.stdout.split()[:-1]) <= {"0"}, "its copies in the fork server added nothing"
    assert sorted(c["modality"] for c in library(data_dir)) == ["CR", "CT", "MR", "US"]


def test_two_processes_seeding_at_once_add_each_sample_once(data_dir):
    command = [sys.executable, "-m", "casefiles", "--data", str(data_dir), "seed"]
    procs = [
        subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)
    ]
    outs = [p.communicate(timeout=SEED_TIMEOUT_S) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _out, err in outs]
    assert sorted(len(out.split()) for out, _err in outs) == [0, 4], "one seeds, the other finds them in"
    assert len(library(data_dir)) == 4


def test_a_start_interrupted_while_adding_the_ct_media_resumes_with_one_ct_case(services, monkeypatch):
    real = services.import_media
    calls = {"n": 0}

    def import_then_die(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # the terminal was closed while the clip was being scrubbed
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "import_media", import_then_die)
    with contextlib.suppress(KeyboardInterrupt):
        seed_samples(services)
    assert len(services.list_cases()) == 1, "the CT case, half-way through its media"
    half_done = services.list_cases()[0].id
    monkeypatch.setattr(services, "import_media", real)

    assert len(seed_samples(services)) == 4
    cases = services.list_cases()
    assert len(cases) == 4 and half_done not in {c.id for c in cases}
    ct = next(c for c in cases if c.modality == "CT")
    assert [a.kind for a in ct.assets].count(AssetKind.DICOM_SERIES) == 2
    assert len(ct.assets) == 8, "two series and six media items, none twice"
    assert seed_samples(services) == []


def test_a_start_interrupted_right_after_an_import_resumes_without_a_duplicate(services, monkeypatch):
    store = services.store
    real = store.set_meta

    def die_before_noting_the_case(key, value):
        if key.startswith("samples_pending:") and value:
            raise KeyboardInterrupt
        return real(key, value)

    monkeypatch.setattr(store, "set_meta", die_before_noting_the_case)
    with contextlib.suppress(KeyboardInterrupt):
        seed_samples(services)
    assert len(services.list_cases()) == 1
    monkeypatch.setattr(store, "set_meta", real)
    seed_samples(services)
    cases = services.list_cases()
    assert sorted(c.modality for c in cases) == ["CR", "CT", "MR", "US"]
    ct = next(c for c in cases if c.modality == "CT")
    assert len(ct.assets) == 8 and len(ct.key_images) == 3


def test_multiprocessing_s_copy_of_the_main_script_never_seeds(services, monkeypatch):
    import multiprocessing

    monkeypatch.setattr(multiprocessing.current_process(), "_inheriting", True, raising=False)
    assert seed_samples(services) == []
    assert services.list_cases() == []
