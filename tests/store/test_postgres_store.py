"""What only the PostgreSQL store has: migrations, a server that is down or refuses, processes, row sizes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from casefiles.errors import StorageError
from casefiles.store import CaseQuery
from casefiles.store.documents import split_case, summary_of
from casefiles.store.postgres_store import PostgresCaseStore, migrations
from tests.postgres import PostgresServer, start_server
from tests.store.conftest import make_case

ROOT = Path(__file__).resolve().parents[2]


def test_a_database_from_a_newer_casedeck_is_refused_and_left_alone(postgres_url: Callable[[str], str]) -> None:
    url = postgres_url("newer")
    store = PostgresCaseStore(url)
    store.save_case(make_case("c1", series=1, images=3))
    store.close()
    newer = len(migrations()) + 1
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, 'from the future')", (newer,))
    with pytest.raises(StorageError, match=rf"newer CaseDeck .*migration {newer}.*nothing was changed"):
        PostgresCaseStore(url)
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT max(version) FROM schema_migrations").fetchone() == (newer,)
        assert conn.execute("SELECT id, version FROM cases").fetchall() == [("c1", 1)]


def test_a_case_document_from_a_newer_casedeck_is_refused(postgres_url: Callable[[str], str]) -> None:
    url = postgres_url("newer_doc")
    store = PostgresCaseStore(url)
    try:
        store.save_case(make_case("c1", series=1, images=3))
        with psycopg.connect(url) as conn:
            conn.execute("UPDATE cases SET doc = jsonb_set(doc, '{schema}', '99')")
        with pytest.raises(StorageError, match="newer CaseDeck"):
            store.get_case("c1")
        with pytest.raises(StorageError, match="newer CaseDeck"):
            store.update_case("c1", lambda c: c.edited(title="Overwritten"))
    finally:
        store.close()


def test_two_openings_of_a_fresh_database_migrate_it_once(postgres_url: Callable[[str], str]) -> None:
    url = postgres_url("two_migrations")
    barrier = threading.Barrier(4)
    opened: list[PostgresCaseStore] = []
    errors: list[BaseException] = []

    def open_it() -> None:
        barrier.wait()
        try:
            opened.append(PostgresCaseStore(url))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
    assert [r[0] for r in rows] == [m.version for m in migrations()]
    opened[0].save_case(make_case("c1", series=1, images=2))
    assert all(s.exists("c1") for s in opened)
    for s in opened:
        s.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_server_that_is_down_is_named_without_the_password(tmp_path: Path) -> None:
    secret = "Sup3r-secret-pw"
    port = _free_port()
    for url, where in (
        (f"postgresql://casedeck:{secret}@127.0.0.1:{port}/teaching", f"127.0.0.1:{port}"),
        (f"postgresql://casedeck:{secret}@/teaching?host={tmp_path}", f"Unix socket in {tmp_path}"),
    ):
        with pytest.raises(StorageError) as caught:
            PostgresCaseStore(url)
        message = str(caught.value)
        assert "Cannot reach PostgreSQL" in message
        assert "'teaching'" in message and where in message
        assert "nothing was changed" in message.lower()
        assert secret not in message and secret not in repr(caught.value.__cause__)


def test_a_refused_password_is_said_without_either_password(postgres_server: PostgresServer) -> None:
    url = postgres_server.create_database("refused")
    database = url.split("@/", 1)[1].split("?", 1)[0]
    wrong = "Wr0ng-password-given"
    with pytest.raises(StorageError) as caught:
        PostgresCaseStore(postgres_server.url(database, password=wrong))
    message = str(caught.value)
    assert "refused the user name or password" in message
    assert f"'{database}'" in message and str(postgres_server.socket_dir) in message
    assert wrong not in message and postgres_server.password not in message


def test_a_malformed_url_is_refused_without_its_password() -> None:
    secret = "Sup3r-secret-pw"
    with pytest.raises(StorageError, match="not a PostgreSQL URL") as caught:
        PostgresCaseStore(f"postgresql://casedeck:{secret}@/teaching?bogus=1")
    assert secret not in str(caught.value)


def test_a_store_says_when_the_server_went_away_and_recovers_when_it_is_back() -> None:
    server = start_server()  # its own server: this test stops it
    try:
        store = PostgresCaseStore(server.create_database("restart"))
        store.save_case(make_case("c1", series=1, images=2))
        server.pg_ctl("stop", "-m", "fast")
        with pytest.raises(StorageError, match="Cannot reach PostgreSQL") as caught:
            store.get_case("c1")
        assert server.password not in str(caught.value)
        server.pg_ctl("start", "-w")
        assert store.get_case("c1").version == 1
        store.close()
    finally:
        server.stop()


_EDITOR = textwrap.dedent(
    """
    import sys
    from casefiles.store.postgres_store import PostgresCaseStore

    url, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    store = PostgresCaseStore(url)
    for i in range(count):
        store.update_case("c1", lambda c, t=f"{name}-{i}": c.edited(teaching_points=(*c.teaching_points, t)))
    store.close()
    """
)


def test_two_processes_editing_one_case_lose_nothing(postgres_url: Callable[[str], str]) -> None:
    url = postgres_url("two_processes")
    store = PostgresCaseStore(url)
    store.save_case(make_case("c1", series=3, images=150))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    editors = [
        subprocess.Popen([sys.executable, "-c", _EDITOR, url, name, "200"], cwd=ROOT, env=env, stderr=subprocess.PIPE)
        for name in ("app", "receiver")
    ]
    for editor in editors:
        _, err = editor.communicate(timeout=300)
        assert editor.returncode == 0, err.decode(errors="replace")[-2000:]
    case = store.get_case("c1")
    points = case.teaching_points
    assert len(points) == 400
    for name in ("app", "receiver"):
        mine = [p for p in points if p.startswith(name + "-")]
        assert mine == [f"{name}-{i}" for i in range(200)]  # each process's edits in its order
    assert case.version == 401
    assert [len(a.instances) for a in case.assets] == [150, 150, 150]
    store.close()


def test_a_case_document_stays_small(postgres_url: Callable[[str], str]) -> None:
    url = postgres_url("small")
    store = PostgresCaseStore(url)
    store.save_case(make_case("c1", series=3, images=150))
    store.update_case("c1", lambda c: c.edited(findings="Edited findings."))
    store.close()
    with psycopg.connect(url) as conn:
        (size,) = conn.execute("SELECT pg_column_size(doc) FROM cases WHERE id = 'c1'").fetchone() or (0,)
        assert 0 < size < 8 * 1024
        (manifests,) = conn.execute("SELECT count(*) FROM manifests").fetchone() or (0,)
        assert manifests == 3  # an edit of the text wrote no new image records
        (refs,) = conn.execute("SELECT count(*) FROM blob_refs WHERE case_id = 'c1'").fetchone() or (0,)
        assert refs == 3 * 150 + 3  # every image and thumbnail, once


def test_lists_read_summaries_equal_to_those_of_the_whole_document(postgres_url: Callable[[str], str]) -> None:
    """Lists leave the long teaching text on the server: summary_of must not need it."""
    store = PostgresCaseStore(postgres_url("summaries"))
    case = make_case(
        "c1",
        series=2,
        images=4,
        history="A long history. " * 200,
        differential=("Granuloma", "Hamartoma"),
        teaching_points=("Look for the halo sign",),
        body_part="Chest",
        author="Dr. A",
    )
    stored = store.save_case(case)
    assert store.summaries() == [summary_of(split_case(stored).doc, 1)]
    assert store.summaries(CaseQuery(text="halo", limit=1)) == [summary_of(split_case(stored).doc, 1)]
    store.close()


def test_a_hand_edited_case_row_is_named_and_left_alone(postgres_url: Callable[[str], str]) -> None:
    """A document changed by hand in psql: the list and opening the case say which case is damaged
    (not a KeyError from deep inside); the row stays as edited and the other cases stay usable."""
    url = postgres_url("hand_edited")
    store = PostgresCaseStore(url)
    try:
        store.save_case(make_case("c1", series=1, images=3))
        store.save_case(make_case("c2", series=1, images=3, created_minutes=1))
        with psycopg.connect(url) as conn:
            conn.execute("UPDATE cases SET doc = doc - 'title' || '{\"key_images\": 7}' WHERE id = 'c1'")
            (edited,) = conn.execute("SELECT doc FROM cases WHERE id = 'c1'").fetchone() or (None,)
        for read in (store.summaries, lambda: store.get_case("c1")):
            with pytest.raises(StorageError, match="Case c1 in the library is damaged or was edited by hand"):
                read()
        with pytest.raises(StorageError, match=r"Case c1 .* damaged"):
            store.update_case("c1", lambda c: c.edited(title="Overwritten"))
        assert store.update_case("c2", lambda c: c.edited(title="Still editable")).version == 2
        assert [s.id for s in store.summaries(CaseQuery(ids=("c2",)))] == ["c2"]
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT version, doc FROM cases WHERE id = 'c1'").fetchone() == (1, edited)
    finally:
        store.close()


_TAGGER = textwrap.dedent(
    """
    import sys
    from casefiles.store.postgres_store import PostgresCaseStore

    url, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    store = PostgresCaseStore(url)
    i = 0
    while count < 0 or i < count:
        case_id = f"c{i % 5}"
        store.update_case(case_id, lambda c, t=f"{name}-{i}": c.edited(tags=(*c.tags, t)))
        print(case_id, f"{name}-{i}", flush=True)  # said only once the edit is committed
        i += 1
    """
)


def _tagger(url: str, name: str, count: int) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", _TAGGER, url, name, str(count)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _five_cases(url: str) -> None:
    store = PostgresCaseStore(url)
    for n in range(5):
        store.save_case(make_case(f"c{n}", series=1, images=3, tags=()))
    store.close()


def _every_edit_whole(url: str) -> list[str]:
    store = PostgresCaseStore(url)
    try:
        cases = [store.get_case(f"c{n}") for n in range(5)]
        assert all(c.version == len(c.tags) + 1 for c in cases), "an edit was half kept or its version lost"
        store.update_case("c0", lambda c: c.edited(diagnosis="Still writable"))
        return [t for c in cases for t in c.tags]
    finally:
        store.close()


def test_two_processes_making_500_edits_each_on_the_same_cases_lose_none(postgres_url: Callable[[str], str]) -> None:
    url = postgres_url("five_hundred")
    _five_cases(url)
    writers = [_tagger(url, name, 500) for name in ("app", "receiver")]
    for writer in writers:
        _, err = writer.communicate(timeout=600)
        assert writer.returncode == 0, err[-2000:]
    tags = _every_edit_whole(url)
    assert len(tags) == 1000 and len(set(tags)) == 1000


def test_a_killed_writer_and_a_crashed_server_keep_every_committed_edit() -> None:
    """kill -9 of a writer mid-edit, then the server itself killed (immediate shutdown: no checkpoint,
    the WAL replayed at the next start, as after a power cut of the server's process): every edit a
    writer saw committed is there, and each stored case holds whole edits only."""
    server = start_server()  # its own server: this test crashes it
    try:
        server.pg_ctl("stop", "-m", "fast")
        server.options = server.options.replace("synchronous_commit=off", "synchronous_commit=on")
        server.pg_ctl("start", "-w")
        url = server.create_database("crash")
        _five_cases(url)
        committed: list[str] = []
        for name in ("killed", "crashed"):
            writer = _tagger(url, name, -1)
            assert writer.stdout is not None
            for _ in range(60):
                line = writer.stdout.readline()
                assert line, writer.stderr.read() if writer.stderr else ""
                committed.append(line.split()[1])
            if name == "killed":
                writer.send_signal(signal.SIGKILL)
            else:
                server.pg_ctl("stop", "-m", "immediate")
            rest, _ = writer.communicate(timeout=120)
            committed += [line.split()[1] for line in rest.splitlines() if line.strip()]
            if name == "crashed":
                assert writer.returncode != 0
                server.pg_ctl("start", "-w")
        tags = _every_edit_whole(url)
        assert set(committed) <= set(tags), sorted(set(committed) - set(tags))[:5]
        assert len(tags) >= 120
    finally:
        server.stop()


@pytest.fixture
def small_disk() -> Iterator[Path]:
    """A 96 MB tmpfs of its own (grown later by remounting); skipped where mounting is not allowed.

    Mounted under the system temp dir, not pytest's (private to root): the server runs as ``postgres``."""
    import tempfile

    where = Path(tempfile.mkdtemp(prefix="casedeck-small-disk-"))
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=96m,mode=0755", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        where.rmdir()
        pytest.skip(f"a small file system for a full disk cannot be mounted here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, check=False)
        where.rmdir()


def _opened_once_recovered(url: str, wait_s: float = 120) -> PostgresCaseStore:
    import time

    deadline = time.monotonic() + wait_s
    while True:
        try:
            return PostgresCaseStore(url)
        except StorageError as exc:
            if time.monotonic() > deadline or not any(w in str(exc) for w in ("recovery", "starting up", "reach")):
                raise
            time.sleep(0.5)


def test_a_full_disk_under_postgresql_keeps_every_committed_case(
    small_disk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The department server's disk fills while cases are saved: the save that cannot be made fails with
    a StorageError that names the library (never the password) and leaves nothing half saved; once there
    is room again (and the server restarted, if it stopped) every case whose save returned is there."""
    monkeypatch.setenv("CASEDECK_TEST_PG_DIR", str(small_disk))
    server = start_server()
    try:
        server.pg_ctl("stop", "-m", "fast")
        server.options = server.options.replace("synchronous_commit=off", "synchronous_commit=on")
        server.pg_ctl("start", "-w")
        url = server.create_database("full_disk")
        store = PostgresCaseStore(url)
        saved: list[str] = []
        with pytest.raises(StorageError) as caught:
            for n in range(5000):
                store.save_case(make_case(f"c{n}", series=2, images=150, history=f"Case {n}. " * 200))
                saved.append(f"c{n}")
        store.close()
        message = str(caught.value)
        assert server.password not in message and "CaseDeck's library" in message, message
        assert "run out of disk space" in message and "nothing was changed" in message, message
        assert len(saved) > 5, "the disk filled before any case was saved"

        subprocess.run(["mount", "-o", "remount,size=512m", str(small_disk)], check=True, capture_output=True)
        alive = subprocess.run(
            [*server.run_as, str(server.bin_dir / "pg_ctl"), "status", "-D", str(server.root / "data")],
            capture_output=True,
            check=False,
        )
        if alive.returncode != 0:  # the server stopped; it recovers from its WAL when started
            server.pg_ctl("start", "-w")
        store = _opened_once_recovered(url)  # after a PANIC the server restarts itself and replays its WAL
        present = [s.id for s in store.summaries()]
        assert set(saved) <= set(present), sorted(set(saved) - set(present))[:5]
        assert len(present) <= len(saved) + 1  # at most the one whose commit was not acknowledged
        for case_id in present[:: max(1, len(present) // 10)]:
            assert [len(a.instances) for a in store.get_case(case_id).assets] == [150, 150]
        store.save_case(make_case("after", series=1, images=3))
        store.close()
    finally:
        server.stop()
