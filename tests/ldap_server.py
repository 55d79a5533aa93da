"""A real OpenLDAP ``slapd`` for the tests, from Debian's packages: one server per test process.

The server lives in a private temp directory (slapd.conf, mdb database, pid file, log), listens
only on ``ldap://127.0.0.1:<free port>`` and on an ``ldapi://`` socket in that directory, and
holds a small hospital tree loaded with ``ldapadd``::

    dc=hospital,dc=test
      ou=people    alice, bob, carol (inetOrgPerson; passwords hashed with slappasswd {SSHA})
      ou=services  cn=casedeck-svc (the service account for search-then-bind)
      ou=groups    radiology-gi, residents, casedeck-admins (groupOfNames)

Anonymous clients may only bind; the people and groups are readable by any bound user. The
``memberof`` overlay is loaded, so users carry ``memberOf`` as Active Directory's do, and the
groups can also be searched by ``member`` (the memberOf-less way).

As root (CI) slapd runs as root; as a normal user it runs as that user (it needs no privilege on
a port above 1024). Without slapd the tests that need it are skipped on a developer's machine and
fail in CI (``CI`` set): ``scripts/test`` installs Debian's ``slapd`` and ``ldap-utils``.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest

SLAPD = "/usr/sbin/slapd"
SLAPPASSWD = "/usr/sbin/slappasswd"
SCHEMA_DIR = Path("/etc/ldap/schema")
MODULE_DIR = Path("/usr/lib/ldap")
BASE_DN = "dc=hospital,dc=test"
PEOPLE_DN = f"ou=people,{BASE_DN}"
GROUPS_DN = f"ou=groups,{BASE_DN}"
ROOT_DN = f"cn=admin,{BASE_DN}"
SERVICE_DN = f"cn=casedeck-svc,ou=services,{BASE_DN}"


@dataclass(frozen=True)
class LdapTestUser:
    uid: str
    password: str
    display_name: str
    email: str
    groups: tuple[str, ...]

    @property
    def dn(self) -> str:
        return f"uid={self.uid},{PEOPLE_DN}"


# Passwords with characters that must survive LDAP, shell and log handling untouched.
USERS = (
    LdapTestUser(
        "alice", "Alice-pw 7!$ünï", "Alice Archer", "alice.archer@hospital.test", ("radiology-gi", "residents")
    ),
    LdapTestUser("bob", "b0b:secret\\(x)*", "Bob Baker", "bob.baker@hospital.test", ("residents",)),
    LdapTestUser(
        "carol", "Carol#pass-2026", "Carol Chen", "carol.chen@hospital.test", ("casedeck-admins", "radiology-gi")
    ),
)
GROUPS = ("radiology-gi", "residents", "casedeck-admins")


@dataclass
class LdapServer:
    """A running test slapd (see the module docstring for its tree)."""

    root: Path
    port: int
    root_password: str
    service_password: str
    process: subprocess.Popen[bytes] | None = None
    users: dict[str, LdapTestUser] = field(default_factory=lambda: {user.uid: user for user in USERS})
    base_dn: str = BASE_DN
    people_dn: str = PEOPLE_DN
    groups_dn: str = GROUPS_DN
    service_dn: str = SERVICE_DN

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldapi_url(self) -> str:
        return "ldapi://" + quote(str(self.root / "ldapi"), safe="")

    @property
    def log(self) -> str:
        path = self.root / "slapd.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def slapd_available() -> bool:
    return all(Path(tool).exists() for tool in (SLAPD, SLAPPASSWD)) and shutil.which("ldapadd") is not None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _hash(password: str, root: Path) -> str:
    """An {SSHA} hash from slappasswd, the password passed in a file (never on a command line)."""
    secret = root / "secret"
    secret.write_text(password)
    try:
        out = subprocess.run([SLAPPASSWD, "-h", "{SSHA}", "-T", str(secret)], capture_output=True, check=True)
    finally:
        secret.unlink()
    return out.stdout.decode().strip()


def _config(root: Path, root_hash: str) -> str:
    schemas = "\n".join(f"include {SCHEMA_DIR / name}.schema" for name in ("core", "cosine", "inetorgperson", "nis"))
    return f"""{schemas}
pidfile {root / "slapd.pid"}
argsfile {root / "slapd.args"}
modulepath {MODULE_DIR}
moduleload back_mdb
moduleload memberof
loglevel stats
# Like Active Directory, accept a DN with an empty password as an anonymous ("unauthenticated") bind:
# CaseDeck must refuse empty passwords itself.
allow bind_anon_dn

database mdb
maxsize 67108864
suffix "{BASE_DN}"
rootdn "{ROOT_DN}"
rootpw {root_hash}
directory {root / "data"}
index objectClass eq
index uid eq
index member eq
overlay memberof
access to attrs=userPassword by self =xw by anonymous auth by * none
access to * by users read by * none
"""


def _tree(server: LdapServer) -> str:
    root = server.root
    entries = [
        f"dn: {BASE_DN}\nobjectClass: dcObject\nobjectClass: organization\ndc: hospital\no: Test Hospital\n",
        f"dn: {PEOPLE_DN}\nobjectClass: organizationalUnit\nou: people\n",
        f"dn: ou=services,{BASE_DN}\nobjectClass: organizationalUnit\nou: services\n",
        f"dn: {GROUPS_DN}\nobjectClass: organizationalUnit\nou: groups\n",
        f"dn: {SERVICE_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n"
        f"cn: casedeck-svc\nuserPassword: {_hash(server.service_password, root)}\n",
    ]
    for user in USERS:
        given, surname = user.display_name.split(" ", 1)
        entries.append(
            f"dn: {user.dn}\nobjectClass: inetOrgPerson\nuid: {user.uid}\ncn: {user.display_name}\n"
            f"givenName: {given}\nsn: {surname}\ndisplayName: {user.display_name}\nmail: {user.email}\n"
            f"userPassword: {_hash(user.password, root)}\n"
        )
    for group in GROUPS:
        members = "".join(f"member: {user.dn}\n" for user in USERS if group in user.groups)
        entries.append(f"dn: cn={group},{GROUPS_DN}\nobjectClass: groupOfNames\ncn: {group}\n{members}")
    return "\n".join(entries)


def _wait_ready(server: LdapServer, deadline: float) -> None:
    while time.monotonic() < deadline:
        if server.process is not None and server.process.poll() is not None:
            raise RuntimeError(f"slapd exited with {server.process.returncode}:\n{server.log[-4000:]}")
        probe = subprocess.run(
            ["ldapsearch", "-x", "-H", server.ldapi_url, "-b", "", "-s", "base", "-LLL", "1.1"],
            capture_output=True,
            check=False,
        )
        if probe.returncode == 0:
            return
        time.sleep(0.05)
    raise RuntimeError(f"slapd did not answer within the time allowed:\n{server.log[-4000:]}")


def start_server(parent: Path | None = None, *, load_tree: bool = True) -> LdapServer:
    """Start a slapd in a fresh directory under ``parent`` (or the system temp dir)."""
    root = Path(tempfile.mkdtemp(prefix="casedeck-slapd-", dir=parent))
    (root / "data").mkdir()
    server = LdapServer(
        root=root, port=0, root_password=os.urandom(12).hex(), service_password="svc-" + os.urandom(8).hex()
    )
    (root / "slapd.conf").write_text(_config(root, _hash(server.root_password, root)))
    (root / "rootpw").write_text(server.root_password)
    for _attempt in range(5):
        server.port = _free_port()
        with (root / "slapd.log").open("wb") as log:
            server.process = subprocess.Popen(
                [SLAPD, "-f", str(root / "slapd.conf"), "-h", f"{server.url}/ {server.ldapi_url}", "-d", "stats"],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        try:
            _wait_ready(server, time.monotonic() + 20)
            break
        except RuntimeError:
            server.stop()
            if "Address already in use" not in server.log:
                raise
    else:
        raise RuntimeError("slapd could not get a free port")
    if load_tree:
        (root / "tree.ldif").write_text(_tree(server))
        subprocess.run(
            [
                "ldapadd",
                "-x",
                "-H",
                server.ldapi_url,
                "-D",
                ROOT_DN,
                "-y",
                str(root / "rootpw"),
                "-f",
                str(root / "tree.ldif"),
            ],
            capture_output=True,
            check=True,
        )
    return server


@pytest.fixture(scope="session")
def ldap_server() -> Iterator[LdapServer]:
    """One real slapd per test process (per xdist worker), stopped and removed at the end."""
    if not slapd_available():
        message = "OpenLDAP's slapd and ldap-utils are not installed (Debian: apt-get install slapd ldap-utils)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    server = start_server()
    atexit.register(server.remove)
    try:
        yield server
    finally:
        server.remove()
