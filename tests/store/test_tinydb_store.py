"""The embedded library under several processes, crashes, full disks and old or hand-edited files."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import pytest

from casefiles.errors import NotFoundError, StorageError
from casefiles.model import Asset, AssetKind, Instance
from casefiles.store import CaseQuery
from casefiles.store.tinydb_store import TinyDBCaseStore, open_tinydb_store
from tests.helpers import ROOT
from tests.store.conftest import make_case

WRITER = textwrap.dedent(
    """
    import sys
    from casefiles.store.tinydb_store import TinyDBCaseStore
    store = TinyDBCaseStore(sys.argv[1])
    name, edits = sys.argv[2], int(sys.argv[3])
    for i in range(edits):
        case_id = f"c{i % 5}"
        store.update_case(case_id, lambda c, t=f"{name}-{i}": c.edited(tags=(*c.tags, t)))
    """
)


def run_writers(root: Path, edits: int, names: tuple[str, ...]) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return [
        subprocess.Popen([sys.executable, "-c", WRITER, str(root), name, str(edits)], env=env, stderr=subprocess.PIPE)
        for name in names
    ]


def watch_while(writers: list[subprocess.Popen[bytes]], root: Path) -> tuple[int, list[str]]:
    """Parse every case file and open every case, over and over, while the writers run (a third process
    reading the library, as the app does): the files must parse every time, not only at the end."""
    store = TinyDBCaseStore(root)
    reads, unreadable = 0, []
    while any(proc.poll() is None for proc in writers):
        for path in sorted((root / "cases").glob("*.json")):
            try:
                json.loads(path.read_bytes())
            except ValueError as exc:
                unreadable.append(f"{path.name}: {exc}")
        try:
            for n in range(5):
                store.get_case(f"c{n}")
        except (StorageError, NotFoundError) as exc:  # a half-written file, or one that looked empty
            unreadable.append(str(exc))
        reads += 1
    return reads, unreadable


def test_two_processes_writing_the_same_cases_lose_nothing(tmp_path: Path) -> None:
    """Finding: the app and `casefiles receive` writing at once left NUL bytes, or "Document with ID 2
    already exists"; now 500 edits each on the same cases all arrive and every file still parses."""
    root = tmp_path / "library"
    store = TinyDBCaseStore(root)
    for n in range(5):
        store.save_case(make_case(f"c{n}", series=1, images=3, tags=()))
    writers = run_writers(root, 500, ("app", "receiver"))
    reads, unreadable = watch_while(writers, root)
    for proc in writers:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()[-2000:]
    assert unreadable == [], "a library file did not parse while the writers wrote"
    assert reads > 20, "the watcher did not read while the writers wrote"
    reopened = TinyDBCaseStore(root)
    tags = [t for n in range(5) for t in reopened.get_case(f"c{n}").tags]
    assert len(tags) == 1000
    assert {t.split("-")[0] for t in tags} == {"app", "receiver"}
    for path in (root / "cases").glob("*.json"):
        json.loads(path.read_bytes())


def test_another_processes_writes_are_seen_without_reopening(tmp_path: Path) -> None:
    root = tmp_path / "library"
    store = open_tinydb_store(root)
    store.save_case(make_case("c0", series=1, images=2, tags=()))
    assert store.get_case("c0").tags == ()
    (proc,) = run_writers(root, 1, ("receiver",))
    assert proc.wait(timeout=120) == 0
    assert store.get_case("c0").tags == ("receiver-0",)
    assert store.summaries()[0].version == 2


def test_a_kill_during_writes_leaves_every_committed_edit(tmp_path: Path) -> None:
    root = tmp_path / "library"
    store = TinyDBCaseStore(root)
    for n in range(5):
        store.save_case(make_case(f"c{n}", series=1, images=3, tags=()))
    (proc,) = run_writers(root, 100_000, ("doomed",))
    time.sleep(2.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    reopened = TinyDBCaseStore(root)
    cases = [reopened.get_case(f"c{n}") for n in range(5)]
    edits = sum(len(c.tags) for c in cases)
    assert edits > 0, "the writer made no edit before it was killed"
    assert all(c.version == len(c.tags) + 1 for c in cases)  # every committed edit, and only those
    reopened.update_case("c0", lambda c: c.edited(diagnosis="Still writable"))


def test_a_full_disk_refuses_the_save_and_keeps_the_library(tmp_path: Path) -> None:
    """A save on a full disk (a size-limited file here) says so; the library opens with every edit."""
    root = tmp_path / "library"
    store = TinyDBCaseStore(root)
    for n in range(40):
        store.save_case(make_case(f"c{n}", series=1, images=3))
    script = textwrap.dedent(
        """
        import resource, signal, sys
        from casefiles.errors import NotFoundError, StorageError
        from casefiles.store.tinydb_store import TinyDBCaseStore
        store = TinyDBCaseStore(sys.argv[1])
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))
        try:
            store.update_case("c1", lambda c: c.edited(findings="x" * 5000))
        except StorageError as exc:
            print(exc)
            sys.exit(3)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script, str(root)], check=False, env=env, capture_output=True, timeout=120
    )
    assert done.returncode == 3, done.stderr.decode()[-2000:]
    assert "nothing was changed" in done.stdout.decode()
    reopened = TinyDBCaseStore(root)
    assert reopened.count_cases() == 40
    assert reopened.get_case("c1").findings.startswith("Spiculated")
    assert not [p for p in root.rglob("*.tmp")], "a temporary file was left behind"


def test_files_are_private(tmp_path: Path) -> None:
    root = tmp_path / "library"
    TinyDBCaseStore(root).save_case(make_case("c1", series=1, images=2))
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path.relative_to(tmp_path)} is readable by others ({oct(mode)})"


def test_a_case_document_stays_small_whatever_its_size(tmp_path: Path) -> None:
    """Finding: 3 series x 150 images made every case ~130 KB of the one JSON file."""
    root = tmp_path / "library"
    store = TinyDBCaseStore(root)
    store.save_case(make_case("c1", series=3, images=150))
    (shard,) = (root / "cases").glob("*.json")
    assert shard.stat().st_size < 8_000
    store.update_case("c1", lambda c: c.edited(diagnosis="Hamartoma"))
    assert len(list((root / "manifests").rglob("*.json"))) == 3  # an edit of text writes no manifest


def test_a_damaged_file_is_named_and_left_alone(tmp_path: Path) -> None:
    root = tmp_path / "library"
    TinyDBCaseStore(root).save_case(make_case("c1", series=1, images=2))
    (shard,) = (root / "cases").glob("*.json")
    shard.write_bytes(shard.read_bytes()[:-40])  # hand-edited / truncated
    damaged = shard.read_bytes()
    with pytest.raises(StorageError, match="damaged or was edited by hand"):
        TinyDBCaseStore(root).get_case("c1")
    assert shard.read_bytes() == damaged


def test_a_library_from_a_newer_casedeck_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "library"
    TinyDBCaseStore(root)
    (root / "format.json").write_text('{"layout": 99}')
    with pytest.raises(StorageError, match="newer CaseDeck"):
        TinyDBCaseStore(root)
    assert json.loads((root / "format.json").read_text()) == {"layout": 99}


def test_a_document_from_a_newer_casedeck_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "library"
    store = TinyDBCaseStore(root)
    store.save_case(make_case("c1", series=1, images=2))
    (shard,) = (root / "cases").glob("*.json")
    data = json.loads(shard.read_bytes())
    for doc in data["cases"].values():
        doc["schema"] = 7
        doc["headline"] = doc.pop("history")  # a field renamed by that newer CaseDeck
    shard.write_text(json.dumps(data))
    written = shard.read_bytes()
    newer = TinyDBCaseStore(root)
    with pytest.raises(StorageError, match="newer CaseDeck"):
        newer.get_case("c1")
    with pytest.raises(StorageError, match="newer CaseDeck"):  # the list says so too, not "damaged"
        newer.summaries(CaseQuery(limit=50))
    with pytest.raises(StorageError, match="newer CaseDeck"):
        newer.update_case("c1", lambda c: c.edited(title="Overwritten by an older CaseDeck"))
    assert shard.read_bytes() == written


LIBRARY_FILES = {
    "format.json": lambda store: TinyDBCaseStore(store.root),
    "conferences.json": lambda store: store.list_conferences(),
    "settings.json": lambda store: store.get_meta("samples_seeded"),
    "records/user.json": lambda store: store.get_record("user", "ana"),
    "manifests": lambda store: store.get_case("c1"),
}


@pytest.mark.parametrize("name", list(LIBRARY_FILES))
def test_every_damaged_library_file_is_named_and_left_alone(tmp_path: Path, name: str) -> None:
    """A file of the library cut short (a disk error, a bad copy): what reads it says which file and to
    restore it; the file is not rewritten, and neither is anything else."""
    from casefiles.model import CasePlan, Conference
    from casefiles.store import Record

    root = tmp_path / "library"
    store = TinyDBCaseStore(root)
    store.save_case(make_case("c1", series=1, images=4))
    store.save_conference(Conference(id="k1", title="Board", items=(CasePlan("c1"),)))
    store.set_meta("samples_seeded", "1")
    store.save_record(Record("user", "ana", {"role": "admin"}))
    path = next((root / "manifests").rglob("*.json")) if name == "manifests" else root / name
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    with pytest.raises(StorageError, match=r"damaged|restore") as caught:
        LIBRARY_FILES[name](TinyDBCaseStore(root) if name != "format.json" else store)
    assert "nothing was changed" in str(caught.value).lower() or "store check" in str(caught.value)
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before


def test_a_first_layout_library_is_upgraded_and_kept(tmp_path: Path) -> None:
    """casedeck.json of CaseDeck ≤ 0.20 (instances inline, TinyDB's own ids) opens with every case."""
    legacy = tmp_path / "casedeck.json"
    case = make_case("c1", series=2, images=20)
    other = make_case("c2", series=1, images=5, created_minutes=5)
    legacy.write_text(
        json.dumps(
            {
                "cases": {"1": case.to_dict(), "2": other.to_dict()},
                "conferences": {
                    "1": {
                        "id": "k1",
                        "title": "Board",
                        "kind": "tumor_board",
                        "date": None,
                        "presenters": [],
                        "items": [{"case_id": "c1"}],
                        "created": "2026-01-01T00:00:00+00:00",
                        "updated": "2026-01-01T00:00:00+00:00",
                    }
                },
                "meta": {"1": {"key": "samples_seeded", "value": "1"}},
            }
        )
    )
    store = TinyDBCaseStore(tmp_path / "library", legacy=legacy)
    assert [s.id for s in store.summaries()] == ["c2", "c1"]
    assert store.get_case("c1").assets == case.assets
    assert store.get_conference("k1").case_ids == ("c1",)
    assert store.get_meta("samples_seeded") == "1"
    assert not legacy.exists() and (tmp_path / "casedeck.json.layout1-upgraded").exists()
    assert store.count_cases(CaseQuery(study_uid="2.25.91")) == 1


def test_an_edited_audit_log_is_detected_and_a_torn_end_refuses_appends(tmp_path: Path) -> None:
    from casefiles.store.records import first_broken

    root = tmp_path / "library"
    store = TinyDBCaseStore(root)
    for n in range(5):
        store.append_audit({"action": "case.view", "actor": "ana", "case": f"c{n}"})
    log = root / "audit.log"
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join([*lines[:2], lines[2].replace(b'"ana"', b'"bob"'), *lines[3:]]))
    assert first_broken(TinyDBCaseStore(root).audit_entries()) == 2
    log.write_bytes(b"".join(lines) + b'{"seq":6,"da')  # a crash in the middle of an append
    with pytest.raises(StorageError, match="audit log is damaged"):
        TinyDBCaseStore(root).append_audit({"action": "case.view"})


def _same_shard_as(case_id: str, skip: int = 0) -> str:
    """Another case id that lands in the same shard file as ``case_id`` (the ``skip``-th such id)."""
    prefix = hashlib.sha256(case_id.encode()).hexdigest()[:2]
    found = (f"n{n}" for n in itertools.count() if hashlib.sha256(f"n{n}".encode()).hexdigest()[:2] == prefix)
    return next(itertools.islice(found, skip, None))


def _first_doc(data: dict) -> dict:
    return next(doc for doc in data["cases"].values() if doc["id"] == "c1")


HAND_EDITS = {
    "created removed": lambda data: _first_doc(data).pop("created"),
    "created not a date": lambda data: _first_doc(data).__setitem__("created", "last Tuesday"),
    "title removed": lambda data: _first_doc(data).pop("title"),
    "id removed": lambda data: _first_doc(data).pop("id"),
    "version as text": lambda data: _first_doc(data).__setitem__("version", "two"),
    "assets removed": lambda data: _first_doc(data).pop("assets"),
    "key images not a list": lambda data: _first_doc(data).__setitem__("key_images", 7),
    "table made a list": lambda data: data.__setitem__("cases", list(data["cases"].values())),
    "document made a list": lambda data: data["cases"].__setitem__(
        next(k for k, d in data["cases"].items() if d["id"] == "c1"), ["c1"]
    ),
    "filed under a name": lambda data: data["cases"].__setitem__(
        "first", data["cases"].pop(next(k for k, d in data["cases"].items() if d["id"] == "c1"))
    ),
    "filed under a superscript two": lambda data: data["cases"].__setitem__(
        "\u00b2", data["cases"].pop(next(k for k, d in data["cases"].items() if d["id"] == "c1"))
    ),
}


#: Edits that leave a shape CaseDeck never writes: the whole file is refused, for reading and writing.
FILE_SHAPE = {"created removed", "title removed", "id removed", "version as text", "table made a list"}
FILE_SHAPE |= {"document made a list", "filed under a name", "filed under a superscript two"}


def _stored_c1(shard: Path) -> object:
    data = json.loads(shard.read_bytes())
    table = data["cases"]
    docs = table.values() if isinstance(table, dict) else table
    return [d for d in docs if not isinstance(d, dict) or d.get("id") in ("c1", None)]


@pytest.mark.parametrize("edit", list(HAND_EDITS))
def test_a_hand_edited_case_is_named_and_nothing_is_overwritten(tmp_path: Path, edit: str) -> None:
    """Valid JSON a person changed by hand: opening the case, the Library's list and any write of it
    say the file or case is damaged (not a KeyError/TypeError from deep inside); the edited document
    stays as it was, and once the file is restored nothing is lost."""
    root = tmp_path / "library"
    store = TinyDBCaseStore(root)
    neighbour = _same_shard_as("c1")
    store.save_case(make_case("c1", series=1, images=2))
    store.save_case(make_case(neighbour, series=1, images=2, title="Neighbour", created_minutes=1))
    (shard,) = (root / "cases").glob("*.json")
    original = shard.read_bytes()
    data = json.loads(original)
    HAND_EDITS[edit](data)
    shard.write_text(json.dumps(data))
    edited = shard.read_bytes()
    damaged_doc = _stored_c1(shard)

    damaged = "damaged or was edited by hand"
    opened = TinyDBCaseStore(root)
    with pytest.raises(StorageError, match=damaged):
        opened.get_case("c1")
    if edit == "assets removed":  # a summary reads no assets: the list shows the case, opening it says why not
        assert len(opened.summaries(CaseQuery(limit=50))) == 2
    else:
        with pytest.raises(StorageError, match=damaged):
            opened.summaries(CaseQuery(limit=50))
    with pytest.raises(StorageError, match=damaged):
        opened.update_case("c1", lambda c: c.edited(title="Overwritten"))
    if edit in FILE_SHAPE:
        with pytest.raises(StorageError, match=damaged):
            opened.update_case(neighbour, lambda c: c.edited(title="Overwritten"))
        with pytest.raises(StorageError, match=damaged):
            opened.save_case(make_case(_same_shard_as("c1", skip=1), title="New in the same file"))
        assert shard.read_bytes() == edited, "a write went into the damaged file"
    else:  # one unreadable document: the other cases of its file can still be edited, it is kept as it is
        opened.update_case(neighbour, lambda c: c.edited(title="Neighbour, edited"))
        assert _stored_c1(shard) == damaged_doc

    shard.write_bytes(original)  # restored from a backup: nothing was lost
    assert TinyDBCaseStore(root).get_case("c1").title == "Right upper lobe nodule"
    assert [s.id for s in TinyDBCaseStore(root).summaries()] == [neighbour, "c1"]


def _series_with_blobs(prefix: str, first: int, count: int) -> Asset:
    """A series whose files' digests all start with ``prefix`` (they share one reference log)."""
    return Asset(
        id=f"s{first}",
        kind=AssetKind.DICOM_SERIES,
        label="Axial",
        modality="CT",
        instances=tuple(
            Instance(sop_instance_uid=f"2.25.{first + i}", blob=f"{prefix}{first + i:063x}", instance_number=i + 1)
            for i in range(count)
        ),
    )


def test_a_full_disk_during_a_reference_append_loses_no_later_reference(tmp_path: Path) -> None:
    """A save cut short by a full disk while it appends to a reference log must neither pass for a
    whole append nor swallow the next save's first line: that line is how blob clean-up knows the
    next case still uses its first image (otherwise the image would be deleted)."""
    root = tmp_path / "library"
    TinyDBCaseStore(root).save_case(replace(make_case("c0", series=0), assets=()))
    script = textwrap.dedent(
        """
        import resource, signal, sys
        from dataclasses import replace
        from casefiles.errors import NotFoundError, StorageError
        from casefiles.store.tinydb_store import TinyDBCaseStore
        from tests.store.conftest import make_case
        from tests.store.test_tinydb_store import _series_with_blobs
        store = TinyDBCaseStore(sys.argv[1])
        case = replace(make_case("c1", series=0), assets=(_series_with_blobs("a", 0, 20),), key_images=())
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))  # 7 of its 20 reference lines fit
        try:
            store.save_case(case)
        except StorageError as exc:
            print(exc)
            sys.exit(3)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script, str(root)], check=False, env=env, capture_output=True, timeout=120, cwd=ROOT
    )
    assert done.returncode == 3, (done.stdout + done.stderr).decode()[-2000:]
    assert "disk is full" in done.stdout.decode() and "nothing was changed" in done.stdout.decode()
    log = root / "refs" / "a.log"
    assert log.stat().st_size % 130 > 0, "the cut-short append should have left a torn line"

    store = TinyDBCaseStore(root)
    assert not store.exists("c1")
    later = _series_with_blobs("a", 100, 5)
    store.save_case(replace(make_case("c2", series=0), assets=(later,), key_images=()))
    blobs = {i.blob for i in later.instances}
    assert store.blobs_in_use(blobs) == blobs
    assert all(store.cases_using_blob(b) == {"c2"} for b in blobs)


INSERTER = textwrap.dedent(
    """
    import sys
    from casefiles.store.tinydb_store import TinyDBCaseStore
    from tests.store.conftest import make_case
    store = TinyDBCaseStore(sys.argv[1])
    name, count = sys.argv[2], int(sys.argv[3])
    for i in range(count):
        store.save_case(make_case(f"{name}-{i}", series=1, images=2, created_minutes=i))
    """
)


def test_two_processes_adding_cases_at_once_keep_them_all(tmp_path: Path) -> None:
    """Finding: TinyDB caches its next document id per process, so strictly alternating writers failed
    with "Document with ID 2 already exists". Two processes adding 300 cases each (the receiver filing
    studies while someone imports) keep all 600, each once."""
    root = tmp_path / "library"
    TinyDBCaseStore(root)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    adders = [
        subprocess.Popen(
            [sys.executable, "-c", INSERTER, str(root), name, "300"], env=env, stderr=subprocess.PIPE, cwd=ROOT
        )
        for name in ("import", "receiver")
    ]
    for proc in adders:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()[-2000:]
    store = TinyDBCaseStore(root)
    ids = [s.id for s in store.summaries()]
    assert len(ids) == len(set(ids)) == 600 == store.count_cases()
    assert {i.split("-")[0] for i in ids} == {"import", "receiver"}
    assert all(store.get_case(f"receiver-{i}").version == 1 for i in range(0, 300, 37))
