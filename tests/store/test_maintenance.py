"""Migrate, check, back up and restore a library: lossless, resumable, and refusing what would overwrite."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from casefiles.annotations.model import Arrow, Point, Ruler, Style
from casefiles.errors import Cancelled, StorageError
from casefiles.model import Asset, AssetKind, Case, CasePlan, Conference, Instance, KeyImage, Window, utcnow
from casefiles.progress import CancelToken
from casefiles.store import CaseStore, Record
from casefiles.store.blobs import LocalBlobStore
from casefiles.store.maintenance import check_library, copy_library, exclusive_job
from casefiles.store.tinydb_store import TinyDBCaseStore
from tests.helpers import ROOT
from tests.store.conftest import make_case


def case_with_files(case_id: str, blobs: LocalBlobStore, images: int = 5, minutes: int = 0) -> Case:
    instances = tuple(
        Instance(sop_instance_uid=f"2.25.{i + 1}", blob=blobs.put(f"{case_id}-{i}".encode()), instance_number=i)
        for i in range(images)
    )
    series = Asset(
        id="s1",
        kind=AssetKind.DICOM_SERIES,
        label="Axial",
        modality="CT",
        instances=instances,
        thumbnail=blobs.put(f"{case_id}-thumb".encode()),
        study_uid=f"2.25.{case_id}",
    )
    base = make_case(case_id, series=0, created_minutes=minutes)
    return replace(base, assets=(series,), key_images=(KeyImage(asset_id="s1", frame=2),))


def annotated(case: Case) -> Case:
    """``case`` with key images a presenter set up: window, caption, arrow, ruler and a hidden note."""
    first, second = case.assets[0].id, case.assets[-1].id
    keys = (
        KeyImage(
            asset_id=first,
            frame=min(7, case.assets[0].frame_count - 1),
            window=Window(center=-600.0, width=1500.0),
            caption="Spiculated margin",
            annotations=(
                Arrow(id="a1", start=Point(12.5, 40.25), end=Point(100.0, 80.0), text="nodule"),
                Ruler(id="a2", start=Point(1.0, 2.0), end=Point(3.5, 4.75), style=Style(color="#00ff00", width=3.0)),
            ),
        ),
        KeyImage(
            asset_id=second, frame=1, annotations=(Arrow(id="a3", start=Point(0, 0), end=Point(5, 5), visible=False),)
        ),
    )
    return case.edited(key_images=keys)


def fill(store: CaseStore, count: int = 6) -> None:
    for n in range(count):
        store.save_case(annotated(make_case(f"c{n}", series=2, images=20, created_minutes=n)))
    store.save_conference(Conference(id="k1", title="Board", items=(CasePlan("c1"), CasePlan("c0", reveal=True))))
    store.set_meta("samples_seeded", "1")
    store.save_record(Record("user", "ana", {"role": "presenter"}))
    store.save_record(Record("share", "h1", {"case": "c1", "expires": "2026-12-14"}))
    for n in range(3):
        store.append_audit({"action": "case.view", "actor": "ana", "case": f"c{n}"})


def same_library(first: CaseStore, second: CaseStore) -> None:
    assert [s.id for s in first.summaries()] == [s.id for s in second.summaries()]
    for summary in first.summaries():
        assert replace(first.get_case(summary.id), version=0) == replace(second.get_case(summary.id), version=0)
    assert [replace(k, version=0) for k in first.list_conferences()] == [
        replace(k, version=0) for k in second.list_conferences()
    ]
    assert first.meta_items() == second.meta_items()
    assert first.record_kinds() == second.record_kinds()
    for kind in first.record_kinds():
        assert [(r.key, r.data) for r in first.list_records(kind)] == [
            (r.key, r.data) for r in second.list_records(kind)
        ]
    assert [e.hash for e in first.audit_entries()] == [e.hash for e in second.audit_entries()]
    # the store's own blob references (PostgreSQL: blob_refs rows; TinyDB: reference logs) came along
    files = {d for s in first.summaries() for a in first.get_case(s.id).assets for d in a.blob_ids}
    assert second.blobs_in_use(files) == first.blobs_in_use(files) == files
    for digest in sorted(files)[:: max(1, len(files) // 25)]:
        assert second.cases_using_blob(digest) == first.cases_using_blob(digest)


def test_migrate_to_postgresql_round_trips_and_resumes(tmp_path: Path, postgres_url) -> None:
    from casefiles.store.postgres_store import PostgresCaseStore

    source = TinyDBCaseStore(tmp_path / "library")
    fill(source)
    target = PostgresCaseStore(postgres_url("migrate"))
    cancel = CancelToken()
    seen: list[int] = []

    def stop_after_three(done: int, total: int, message: str) -> None:
        seen.append(done)
        if done == 3:
            cancel.cancel()

    with pytest.raises(Cancelled):
        copy_library(source, target, progress=stop_after_three, cancel=cancel)
    assert target.count_cases() == 4  # what was copied stays; the rest comes on the next run
    report = copy_library(source, target)
    assert (report.cases_copied, report.cases_unchanged) == (2, 4)
    same_library(source, target)
    # and back: every case, conference, annotation and blob reference equal
    back = TinyDBCaseStore(tmp_path / "back")
    copy_library(target, back)
    same_library(source, back)
    target.close()


def test_two_migrations_at_once_are_refused(tmp_path: Path) -> None:
    lock = tmp_path / "maintenance.lock"
    entered = threading.Event()
    release = threading.Event()

    def first() -> None:
        with exclusive_job(lock, "migration"):
            entered.set()
            release.wait(10)

    thread = threading.Thread(target=first)
    thread.start()
    entered.wait(10)
    try:
        with pytest.raises(StorageError, match="Another migration"), exclusive_job(lock, "migration"):
            pass
    finally:
        release.set()
        thread.join()


def test_check_finds_missing_and_orphaned_files(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "blobs")
    store = TinyDBCaseStore(tmp_path / "library")
    case = store.save_case(case_with_files("c1", blobs))
    store.save_case(case_with_files("c2", blobs, minutes=1))
    orphan = blobs.put(b"left by an interrupted import")
    fresh = blobs.put(b"written by an import that is still running")
    old = 10_000.0
    os.utime(blobs.path(orphan), (old, old))
    blobs.delete(case.assets[0].instances[1].blob)

    report = check_library(store, blobs, now=old + 7200)
    assert (report.missing, report.missing_files, report.orphans) == (("c1",), 1, 1)
    assert "1 file(s) are missing, in 1 case(s): c1" in report.summary()

    cleaned = check_library(store, blobs, remove_orphans=True, now=old + 7200)
    assert cleaned.orphans_removed == 1
    assert not blobs.exists(orphan) and blobs.exists(fresh)


def run_cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CASEDECK_DATA": str(data_dir), "CASEDECK_SAMPLES": "0"}
    env.pop("CASEDECK_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "casefiles", *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_backup_and_restore_on_a_fresh_machine(tmp_path: Path) -> None:
    data = tmp_path / "data"
    blobs = LocalBlobStore(data / "blobs")
    store = TinyDBCaseStore(data / "library")
    for n in range(3):
        store.save_case(case_with_files(f"c{n}", blobs, minutes=n))
    store.save_conference(Conference(id="k1", title="Board", items=(CasePlan("c2"),)))
    (data / "secret.key").write_bytes(os.urandom(32))
    os.chmod(data / "secret.key", 0o600)

    backup = tmp_path / "backup"
    done = run_cli(data, "store", "backup", str(backup), "--key-to", str(tmp_path / "key" / "installation.key"))
    assert done.returncode == 0, done.stderr
    assert "3 case(s) copied" in done.stdout

    fresh = tmp_path / "fresh"
    refused = run_cli(fresh, "store", "restore", str(backup))
    assert refused.returncode != 0 and "installation key was not found" in refused.stderr
    restored = run_cli(fresh, "store", "restore", str(backup), "--key-from", str(tmp_path / "key" / "installation.key"))
    assert restored.returncode == 0, restored.stderr
    same_library(store, TinyDBCaseStore(fresh / "library"))
    for summary in store.summaries():
        for asset in store.get_case(summary.id).assets:
            for digest in asset.blob_ids:
                assert LocalBlobStore(fresh / "blobs").get(digest) == blobs.get(digest)
    assert (fresh / "secret.key").read_bytes() == (data / "secret.key").read_bytes()
    again = run_cli(fresh, "store", "restore", str(backup), "--key-from", str(tmp_path / "key" / "installation.key"))
    assert again.returncode != 0 and "not empty" in again.stderr
    checked = run_cli(fresh, "store", "check")
    assert checked.returncode == 0 and "No file is missing." in checked.stdout


# -- a target that is busy, holds another library, or was used after the copy (issue #15, bad input) ----
def snapshot(store: CaseStore) -> tuple[object, ...]:
    """Everything a store holds, versions included: equal before and after means nothing was written."""
    return (
        [(s.id, s.version, store.get_case(s.id)) for s in store.summaries()],
        store.list_conferences(),
        store.meta_items(),
        [store.list_records(kind) for kind in store.record_kinds()],
        [e.hash for e in store.audit_entries()],
    )


def test_a_second_copy_into_a_busy_target_is_refused_at_once(tmp_path: Path, postgres_url) -> None:
    """Two migrations from two machines into one PostgreSQL (or two backups into one folder): the
    data-folder lock cannot see the other machine, the target's own lock does."""
    from casefiles.store.postgres_store import PostgresCaseStore

    url = postgres_url("busy")
    first, second = TinyDBCaseStore(tmp_path / "first"), TinyDBCaseStore(tmp_path / "second")
    fill(first)
    fill(second, 2)
    targets = [PostgresCaseStore(url), TinyDBCaseStore(tmp_path / "backup")]
    for target in targets:
        running = PostgresCaseStore(url) if isinstance(target, PostgresCaseStore) else TinyDBCaseStore(target.root)
        before = snapshot(target)
        # the other machine's migration, still running
        with running.exclusive("migration"), pytest.raises(StorageError, match=r"Another copy into .* is running"):
            copy_library(second, target)
        assert snapshot(target) == before
        copy_library(first, target)  # once it is done, a copy goes in
        same_library(first, target)
        if isinstance(running, PostgresCaseStore):
            running.close()
    targets[0].close()


def test_a_target_holding_another_library_is_refused_and_left_alone(tmp_path: Path, postgres_url) -> None:
    from casefiles.store.postgres_store import PostgresCaseStore

    first, second = TinyDBCaseStore(tmp_path / "first"), TinyDBCaseStore(tmp_path / "second")
    fill(first)
    second.save_case(make_case("c1", title="Another department's c1", series=1, images=2))
    second.set_meta("pacs_nodes", '[{"name": "theirs"}]')
    target = PostgresCaseStore(postgres_url("another"))
    copy_library(first, target)
    before = snapshot(target)
    with pytest.raises(StorageError, match=r"already holds another CaseDeck library.*nothing was copied"):
        copy_library(second, target)
    assert snapshot(target) == before

    in_use = TinyDBCaseStore(tmp_path / "in_use")  # an installation already used, never a copy
    in_use.save_case(make_case("c1", title="Made here", series=1, images=2))
    in_use.save_record(Record("user", "ana", {"role": "admin"}))
    before = snapshot(in_use)
    with pytest.raises(StorageError, match=r"already holds 1 case\(s\), 1 account or link record"):
        copy_library(first, in_use)
    assert snapshot(in_use) == before
    target.close()


def test_a_migration_run_again_keeps_what_was_edited_in_the_target_since(tmp_path: Path, postgres_url) -> None:
    """migrate, the department edits in PostgreSQL, someone runs migrate again from the old folder:
    the newer edits stay; a case edited in the folder since the first run is brought over."""
    from casefiles.store.postgres_store import PostgresCaseStore

    source = TinyDBCaseStore(tmp_path / "library")
    fill(source)
    target = PostgresCaseStore(postgres_url("again"))
    copy_library(source, target)
    later = utcnow() + dt.timedelta(minutes=5)  # times are kept to the second: no edit in the same one
    target.update_case("c1", lambda c: c.edited(diagnosis="Edited in PostgreSQL", updated=later))
    target.update_conference("k1", lambda k: k.edited(title="Board, renamed in PostgreSQL", updated=later))
    source.update_case("c2", lambda c: c.edited(diagnosis="Edited in the folder", updated=later))

    report = copy_library(source, target)
    assert target.get_case("c1").diagnosis == "Edited in PostgreSQL"
    assert target.get_conference("k1").title == "Board, renamed in PostgreSQL"
    assert target.get_case("c2").diagnosis == "Edited in the folder"
    assert set(report.kept_newer) == {"c1", "k1"}
    assert "kept as they are there: " in report.summary()

    target.append_audit({"action": "case.view", "actor": "ana", "case": "c1"})  # the department at work
    source.update_case("c3", lambda c: c.edited(diagnosis="Folder edit", updated=later + dt.timedelta(minutes=1)))
    before = snapshot(target)
    with pytest.raises(StorageError, match=r"audit log is not the beginning.*nothing was copied"):
        copy_library(source, target)
    assert snapshot(target) == before  # refused before the first case, not after the last
    target.close()


def run_cli_with(data_dir: Path, env_extra: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CASEDECK_DATA": str(data_dir), "CASEDECK_SAMPLES": "0"}
    env.pop("CASEDECK_DATABASE_URL", None)
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "-m", "casefiles", *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_store_migrate_command_copies_and_names_a_refusing_server(tmp_path: Path, postgres_server) -> None:
    """`store migrate --to URL` end to end: a refused password or a busy target is said without the
    password and copies nothing; the copy then serves the app's `list` through CASEDECK_DATABASE_URL."""
    from casefiles.store.postgres_store import PostgresCaseStore

    data = tmp_path / "data"
    blobs = LocalBlobStore(data / "blobs")
    store = TinyDBCaseStore(data / "library")
    for n in range(3):
        store.save_case(case_with_files(f"c{n}", blobs, minutes=n))
    url = postgres_server.create_database("migrate_cli")
    database = url.split("@/", 1)[1].split("?", 1)[0]

    wrong = "Wr0ng-migrate-password"
    refused = run_cli(data, "store", "migrate", "--to", postgres_server.url(database, password=wrong))
    assert refused.returncode != 0
    assert "refused the user name or password" in refused.stderr and "nothing was changed" in refused.stderr
    assert wrong not in refused.stderr + refused.stdout
    assert postgres_server.password not in refused.stderr + refused.stdout

    holder = PostgresCaseStore(url)
    with holder.exclusive("migration"):
        busy = run_cli(data, "store", "migrate", "--to", url)
    assert busy.returncode != 0 and "Another copy into" in busy.stderr
    assert holder.count_cases() == 0

    done = run_cli(data, "store", "migrate", "--to", url)
    assert done.returncode == 0, done.stderr
    assert "3 case(s) copied" in done.stdout
    same_library(store, holder)
    listed = run_cli_with(data, {"CASEDECK_DATABASE_URL": url}, "list")
    assert listed.returncode == 0, listed.stderr
    assert sorted(line.split("\t")[0] for line in listed.stdout.splitlines()) == ["c0", "c1", "c2"]
    again = run_cli(data, "store", "migrate", "--to", url)
    assert again.returncode == 0 and "0 case(s) copied, 3 already there unchanged" in again.stdout
    holder.close()


class FilesEditedWhileRead:
    """The library's files, with the app acting (``act``) the moment the backup first reads ``digest``."""

    def __init__(self, blobs: LocalBlobStore, digest: str, act: Callable[[], None]) -> None:
        self._blobs, self._digest, self._act = blobs, digest, act

    def path(self, digest: str) -> Path:
        if digest == self._digest and self._act is not None:
            act, self._act = self._act, None
            act()
        return self._blobs.path(digest)

    def __getattr__(self, name: str) -> object:
        return getattr(self._blobs, name)


def test_a_backup_taken_while_images_are_replaced_and_cases_deleted_holds_every_file(tmp_path: Path) -> None:
    """A case edited (an image replaced by its blacked-out copy, the old file deleted as nothing uses
    it) or deleted while the backup copies its files is read again: the backup holds each case with
    the files it refers to, and only files the library itself lacks are counted missing."""
    blobs = LocalBlobStore(tmp_path / "blobs")
    live = TinyDBCaseStore(tmp_path / "library")
    for n in range(3):
        live.save_case(case_with_files(f"c{n}", blobs, minutes=n))
    c1, c2 = live.get_case("c1"), live.get_case("c2")
    replaced = c1.assets[0].instances[2].blob

    def black_out() -> None:  # what Services does for a black-out: new file, case edited, old file dropped
        redacted = blobs.put(b"c1-2 blacked out")
        series = c1.assets[0]
        instances = (*series.instances[:2], replace(series.instances[2], blob=redacted), *series.instances[3:])
        live.update_case("c1", lambda c: c.edited(assets=(replace(series, instances=instances),)))
        blobs.delete(replaced)

    def delete_c2() -> None:
        live.delete_case("c2")
        for digest in c2.assets[0].blob_ids:
            blobs.delete(digest)

    backup_blobs = LocalBlobStore(tmp_path / "backup" / "blobs")
    backup = TinyDBCaseStore(tmp_path / "backup" / "library")
    source_files = FilesEditedWhileRead(blobs, replaced, black_out)
    report = copy_library(live, backup, files=(source_files, backup_blobs))  # type: ignore[arg-type]
    assert report.files_missing == 0
    assert replace(backup.get_case("c1"), version=0) == replace(live.get_case("c1"), version=0)

    again = TinyDBCaseStore(tmp_path / "backup2" / "library")
    again_blobs = LocalBlobStore(tmp_path / "backup2" / "blobs")
    source_files = FilesEditedWhileRead(blobs, sorted(c2.assets[0].blob_ids)[0], delete_c2)
    report = copy_library(live, again, files=(source_files, again_blobs))  # type: ignore[arg-type]
    assert report.files_missing == 0 and not again.exists("c2")
    for copy, copy_blobs_ in ((backup, backup_blobs), (again, again_blobs)):
        for summary in copy.summaries():
            for asset in copy.get_case(summary.id).assets:
                assert all(copy_blobs_.exists(d) for d in asset.blob_ids), summary.id

    lost = live.get_case("c0").assets[0].instances[0].blob
    blobs.delete(lost)  # gone from the library itself (a disk error): said, and the case still backed up
    third = TinyDBCaseStore(tmp_path / "backup3" / "library")
    report = copy_library(live, third, files=(blobs, LocalBlobStore(tmp_path / "backup3" / "blobs")))
    assert report.files_missing == 1 and third.exists("c0")


def test_check_goes_on_past_a_damaged_case_and_removes_none_of_its_files(tmp_path: Path) -> None:
    """`store check` on a library with one case whose image records were damaged: that case is named
    with the reason, the others are still checked, and its files, which now look like orphans, are
    not removed (they are all it has until it is restored)."""
    blobs = LocalBlobStore(tmp_path / "blobs")
    store = TinyDBCaseStore(tmp_path / "library")
    damaged = store.save_case(case_with_files("c1", blobs))
    other = store.save_case(case_with_files("c2", blobs, minutes=1))
    blobs.delete(other.assets[0].instances[0].blob)
    old = 10_000.0
    for digest in blobs.digests():
        os.utime(blobs.path(digest), (old, old))
    first_image = damaged.assets[0].instances[0].blob.encode()
    (records,) = [p for p in (tmp_path / "library" / "manifests").rglob("*.json") if first_image in p.read_bytes()]
    records.write_bytes(records.read_bytes()[:-30])  # c1's series records, cut short
    reopened = TinyDBCaseStore(tmp_path / "library")
    with pytest.raises(StorageError):
        reopened.get_case("c1")

    report = check_library(reopened, blobs, remove_orphans=True, now=old + 7200)
    assert [case_id for case_id, _ in report.damaged] == ["c1"]
    assert "damaged" in report.damaged[0][1]
    assert (report.missing, report.missing_files) == (("c2",), 1)
    assert report.problems and report.orphans_removed == 0
    assert all(blobs.exists(d) for d in damaged.assets[0].blob_ids)
    assert "1 case(s) cannot be read:\n  c1: " in report.summary()


_MIGRATOR = """
import sys
from casefiles.store.maintenance import copy_library
from casefiles.store.postgres_store import PostgresCaseStore
from casefiles.store.tinydb_store import TinyDBCaseStore

def said(done, total, message):
    print(done, flush=True)

copy_library(TinyDBCaseStore(sys.argv[1]), PostgresCaseStore(sys.argv[2]), progress=said)
"""


def test_a_migration_killed_midway_runs_again_at_once_and_completes(tmp_path: Path, postgres_url) -> None:
    """kill -9 of `store migrate` in the middle: what it committed stays, its lock on the target went
    with it (the next run is not refused as 'another copy'), and the next run completes the copy."""
    from casefiles.store.postgres_store import PostgresCaseStore

    source = TinyDBCaseStore(tmp_path / "library")
    fill(source, 40)
    url = postgres_url("killed_migration")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _MIGRATOR, str(source.root), url],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if int(line) >= 5:
            proc.send_signal(signal.SIGKILL)
            break
    proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL
    target = PostgresCaseStore(url)
    assert 0 < target.count_cases() < 40
    report = copy_library(source, target)
    assert report.cases_copied + report.cases_unchanged == 40
    same_library(source, target)
    target.close()


def test_backup_of_a_postgresql_library_restores_into_a_fresh_postgresql(tmp_path: Path, postgres_url) -> None:
    """`store backup` and `store restore` with CASEDECK_DATABASE_URL set: a department's library goes
    to a folder and comes back into another server's empty database, files and key included."""
    from casefiles.store.postgres_store import PostgresCaseStore

    data, fresh = tmp_path / "data", tmp_path / "fresh"
    blobs = LocalBlobStore(data / "blobs")
    first_url, second_url = postgres_url("backup_from"), postgres_url("restore_into")
    live = PostgresCaseStore(first_url)
    for n in range(3):
        live.save_case(annotated(case_with_files(f"c{n}", blobs, minutes=n)))
    live.save_conference(Conference(id="k1", title="Board", items=(CasePlan("c2"), CasePlan("c0"))))
    live.save_record(Record("user", "ana", {"role": "admin"}))
    live.append_audit({"action": "case.view", "actor": "ana", "case": "c1"})
    (data / "secret.key").write_bytes(os.urandom(32))

    backup = tmp_path / "backup"
    done = run_cli_with(data, {"CASEDECK_DATABASE_URL": first_url}, "store", "backup", str(backup))
    assert done.returncode == 0, done.stderr
    restored = run_cli_with(fresh, {"CASEDECK_DATABASE_URL": second_url}, "store", "restore", str(backup))
    assert restored.returncode == 0, restored.stderr
    copy = PostgresCaseStore(second_url)
    same_library(live, copy)
    fresh_blobs = LocalBlobStore(fresh / "blobs")
    assert sorted(fresh_blobs.digests()) == sorted(blobs.digests())
    assert (fresh / "secret.key").read_bytes() == (data / "secret.key").read_bytes()
    checked = run_cli_with(fresh, {"CASEDECK_DATABASE_URL": second_url}, "store", "check")
    assert checked.returncode == 0 and "No file is missing." in checked.stdout, checked.stdout + checked.stderr
    live.close()
    copy.close()


def test_store_check_on_the_command_line_fails_for_a_case_that_cannot_be_read(tmp_path: Path) -> None:
    """A damaged case is a problem for a person even when no file is missing: the command exits 1."""
    import subprocess
    import sys

    from casefiles.config import Settings

    settings = Settings(data_dir=tmp_path / "data", seed_samples=False)
    blobs = LocalBlobStore(settings.blob_dir)
    store = TinyDBCaseStore(settings.library_dir)
    damaged = store.save_case(case_with_files("c1", blobs))
    first_image = damaged.assets[0].instances[0].blob.encode()
    (records,) = [p for p in (settings.library_dir / "manifests").rglob("*.json") if first_image in p.read_bytes()]
    records.write_bytes(records.read_bytes()[:-30])

    done = subprocess.run(
        [sys.executable, "-m", "casefiles", "store", "check"],
        check=False,
        env={**os.environ, "CASEDECK_DATA": str(settings.data_dir), "CASEDECK_SAMPLES": "0"},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 case(s) cannot be read" in done.stdout
