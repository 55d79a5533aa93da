"""Blobs written by import workers without a flush each are made durable at once before a case refers to them.

A crash before that flush can leave a blob's file short under its digest: the next write of the same
content must replace it, never take it for the blob (issue #18, scope 3).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from casefiles.config import Settings
from casefiles.services import Services
from casefiles.store.blobs import LocalBlobStore
from tests.dicom_factory import write_ct_study


def test_a_blob_left_short_by_a_crash_is_written_again(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "blobs", sync_each=False)
    data = b"DICM" * 10_000
    digest = blobs.put(data)
    blobs.path(digest).write_bytes(b"")  # what a power cut before the sync can leave: the name, no content

    assert blobs.put(data) == digest
    assert blobs.get(digest) == data

    source = tmp_path / "again.bin"
    source.write_bytes(data)
    blobs.path(digest).write_bytes(data[:100])
    assert blobs.put_file(source) == digest
    assert blobs.get(digest) == data


def test_sync_flushes_the_blob_store(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "blobs", sync_each=False)
    digest = blobs.put(b"x" * 1000)
    blobs.sync()  # syncfs(2) on Linux; raises StorageError if the disk refuses
    assert blobs.get(digest) == b"x" * 1000


def test_an_import_makes_its_blobs_durable_before_it_saves_a_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_ct_study(tmp_path / "study", slices=30)  # more than an in-process import takes: worker processes
    services = Services(Settings(data_dir=tmp_path / "data", seed_samples=False))
    events: list[str] = []
    real_sync, real_save = LocalBlobStore.sync, services.store.save_case

    def sync(self: LocalBlobStore) -> None:
        events.append("sync")
        real_sync(self)

    def save_case(case: object) -> object:
        events.append("save")
        return real_save(case)  # type: ignore[arg-type]

    monkeypatch.setattr(LocalBlobStore, "sync", sync)
    monkeypatch.setattr(services.store, "save_case", save_case)

    report = services.import_dicom([tmp_path / "study"])

    assert report.instances_imported == 30
    assert events[:2] == ["sync", "save"], events


def test_stored_files_and_their_folders_are_the_owners_only(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "blobs")
    digest = blobs.put(b"pixels")
    path = blobs.path(digest)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert blobs.root.stat().st_mode & 0o777 == 0o700
