"""A real PostgreSQL for the tests, from Debian's packages: one server per test process.

The server lives in a private temp directory, listens only on a Unix socket there (no TCP) and
runs as an unprivileged user: PostgreSQL refuses to run as root, so under root (CI) it runs as
Debian's ``postgres`` user via ``runuser``. Each test gets a fresh, empty database. Connections
need a password (scram-sha-256), so a wrong password is really refused.

Without PostgreSQL the tests that need it are skipped on a developer's machine and fail in CI
(``CI`` set): ``scripts/test`` installs Debian's ``postgresql``.
"""

from __future__ import annotations

import atexit
import itertools
import os
import re
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest

SUPERUSER = "casedeck_test"
PORT = 5432


def _bin_dir() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
    return found[-1].parent if found else None


@dataclass
class PostgresServer:
    """A running test server; :meth:`url` names a database on it."""

    root: Path
    socket_dir: Path
    password: str
    bin_dir: Path
    run_as: list[str]
    options: str = ""
    databases: list[str] = field(default_factory=list)
    _names: Iterator[int] = field(default_factory=itertools.count)

    def url(self, database: str, *, user: str = SUPERUSER, password: str | None = None) -> str:
        secret = self.password if password is None else password
        return f"postgresql://{quote(user)}:{quote(secret, safe='')}@/{database}?host={quote(str(self.socket_dir))}"

    def create_database(self, name: str) -> str:
        """A fresh, empty database (its name made from ``name`` and unique); its URL."""
        import psycopg

        stem = re.sub(r"[^a-z0-9_]", "_", name.lower())[:40] or "db"
        database = f"{stem}_{next(self._names)}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            fast = " STRATEGY = FILE_COPY" if conn.info.server_version >= 150000 else ""
            conn.execute(f'CREATE DATABASE "{database}"{fast}')
        self.databases.append(database)
        return self.url(database)

    def drop_databases(self) -> None:
        """Drop the databases made so far (a test's, when it ends), even with connections still open."""
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            while self.databases:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.databases.pop()}" WITH (FORCE)')

    def pg_ctl(self, action: str, *args: str) -> None:
        """Run ``pg_ctl ACTION`` on this server (``start`` with its options and log)."""
        argv = [*self.run_as, str(self.bin_dir / "pg_ctl"), action, "-D", str(self.root / "data"), *args]
        if action == "start":
            argv += ["-t", "60", "-l", str(self.root / "server.log"), "-o", self.options]
        _run(argv)

    def stop(self) -> None:
        if (self.root / "data" / "postmaster.pid").exists():
            subprocess.run(
                [*self.run_as, str(self.bin_dir / "pg_ctl"), "stop", "-D", str(self.root / "data"), "-m", "immediate"],
                capture_output=True,
                check=False,
                timeout=60,
            )
        shutil.rmtree(self.root, ignore_errors=True)


def _scratch_dir() -> str | None:
    """Where the server keeps its files: memory (/dev/shm) when there is room, as CREATE DATABASE is 10x faster."""
    chosen = os.environ.get("CASEDECK_TEST_PG_DIR")
    if chosen:
        return chosen
    try:
        usage = shutil.disk_usage("/dev/shm")
    except OSError:
        return None
    return "/dev/shm" if usage.free > 2 * 1024**3 and os.access("/dev/shm", os.W_OK) else None


def start_server() -> PostgresServer:
    """Start a private PostgreSQL; raise RuntimeError saying why it cannot."""
    bin_dir = _bin_dir()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed (Debian package postgresql: /usr/lib/postgresql/*/bin)")
    run_as: list[str] = []
    # A short path: a Unix socket's path is limited to 107 bytes.
    root = Path(tempfile.mkdtemp(prefix="casedeck-pg-", dir=_scratch_dir()))
    if os.geteuid() == 0:
        import pwd

        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            raise RuntimeError("running as root and there is no 'postgres' user to run PostgreSQL as") from None
        os.chown(root, user.pw_uid, user.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    password = secrets.token_urlsafe(16)
    server = PostgresServer(root=root, socket_dir=root, password=password, bin_dir=bin_dir, run_as=run_as)
    pwfile = root / "pwfile"
    pwfile.write_text(password + "\n")
    if run_as:
        shutil.chown(pwfile, "postgres")
    try:
        _run(
            [
                *run_as,
                str(bin_dir / "initdb"),
                "-D",
                str(root / "data"),
                "-U",
                SUPERUSER,
                f"--pwfile={pwfile}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ]
        )
        pwfile.unlink()
        server.options = (
            f"-c listen_addresses='' -c unix_socket_directories='{root}' -c port={PORT} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        server.pg_ctl("start", "-w")
    except BaseException:
        log = root / "server.log"
        detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        server.stop()
        if detail:
            raise RuntimeError(f"PostgreSQL did not start; its log ends:\n{detail}") from None
        raise
    atexit.register(server.stop)
    return server


def _run(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
    if done.returncode != 0:
        program = next((Path(a).name for a in argv if "/postgresql/" in a), argv[0])
        raise RuntimeError(f"{program} failed: {done.stderr.strip()[-2000:]}")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL per test process (each pytest-xdist worker starts its own)."""
    try:
        server = start_server()
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs a real PostgreSQL for the store tests and it could not start: {exc}")
        pytest.skip(f"no PostgreSQL for the store tests: {exc}")
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[Callable[[str], str]]:
    """A callable: name -> the URL of a fresh, empty database on the test server (dropped after the test)."""
    yield postgres_server.create_database
    postgres_server.drop_databases()
