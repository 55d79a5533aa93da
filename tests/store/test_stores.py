import threading

import pytest

from casefiles.errors import NotFoundError, ValidationError
from casefiles.model import Case, CasePlan, Conference
from casefiles.store import BlobStore, CaseStore
from casefiles.store.blobs import LocalBlobStore
from casefiles.store.tinydb_store import TinyDBCaseStore, open_tinydb_store


def test_tinydb_store_implements_the_protocol(tmp_path):
    assert isinstance(open_tinydb_store(tmp_path / "db.json"), CaseStore)
    assert isinstance(LocalBlobStore(tmp_path / "b"), BlobStore)


def test_one_store_instance_per_file_per_process(tmp_path):
    assert open_tinydb_store(tmp_path / "db.json") is open_tinydb_store(tmp_path / "." / "db.json")


def test_cases_persist_across_reopen(tmp_path):
    path = tmp_path / "db.json"
    store = TinyDBCaseStore(path)
    case = Case(id="c1", title="Chest CT", tags=("nodule",))
    store.save_case(case)
    store.save_case(case.edited(diagnosis="Hamartoma"))
    reopened = TinyDBCaseStore(path)
    assert [c.diagnosis for c in reopened.list_cases()] == ["Hamartoma"]


def test_missing_case_raises_not_found(tmp_path):
    store = TinyDBCaseStore(tmp_path / "db.json")
    with pytest.raises(NotFoundError, match="no case"):
        store.get_case("missing")
    with pytest.raises(NotFoundError):
        store.delete_case("missing")


def test_conferences_and_meta(tmp_path):
    store = TinyDBCaseStore(tmp_path / "db.json")
    store.save_conference(Conference(id="k1", title="Grand rounds", items=(CasePlan("c2"), CasePlan("c1"))))
    assert store.get_conference("k1").case_ids == ("c2", "c1")
    assert store.get_meta("seeded") is None
    store.set_meta("seeded", "yes")
    assert store.get_meta("seeded") == "yes"


def test_concurrent_writers_lose_nothing(tmp_path):
    store = open_tinydb_store(tmp_path / "db.json")

    def write(worker: int) -> None:
        for i in range(25):
            store.save_case(Case(id=f"w{worker}-{i}", title=f"case {i}"))

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(TinyDBCaseStore(tmp_path / "db.json").list_cases()) == 100


def test_blobs_are_content_addressed_and_deduplicated(tmp_path):
    blobs = LocalBlobStore(tmp_path / "blobs")
    first = blobs.put(b"pixels")
    assert blobs.put(b"pixels") == first
    assert blobs.get(first) == b"pixels"
    assert list(blobs.digests()) == [first]
    source = tmp_path / "f.bin"
    source.write_bytes(b"pixels")
    assert blobs.put_file(source) == first
    assert not list((tmp_path / "blobs").rglob(".tmp-*"))


def test_blob_lookups_refuse_malformed_and_missing(tmp_path):
    blobs = LocalBlobStore(tmp_path / "blobs")
    with pytest.raises(ValidationError, match="malformed"):
        blobs.get("../../etc/passwd")
    with pytest.raises(NotFoundError, match="missing"):
        blobs.get("0" * 64)


def test_deleted_blob_is_gone_and_deleting_twice_is_harmless(tmp_path):
    blobs = LocalBlobStore(tmp_path / "blobs")
    digest = blobs.put(b"unredacted pixels")
    blobs.delete(digest)
    assert not blobs.exists(digest)
    blobs.delete(digest)
