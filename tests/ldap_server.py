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

With TLS (``start_server(tls=True)``, fixtures ``ldap_server_tls`` and ``ldap_server_tls_only``)
the server gets a throw-away CA and a certificate for 127.0.0.1/localhost from
``tests/support/certificates.py`` (``server.ca_file`` is the CA to trust), offers StartTLS on its
``ldap://`` port and also listens on ``ldaps://127.0.0.1:<another free port>``. The key is
readable by its owner only, who is also the user slapd runs as. ``ldap_server_tls_only`` also
has ``security ssf=1``: a simple bind over plain ``ldap://`` is refused with
``confidentialityRequired``, while StartTLS, ldaps:// and the local ``ldapi://`` socket (which
the fixtures use to load the tree) are accepted.

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

from tests.support.certificates import Certificates, make_certificates

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
    tls_port: int | None = None  # the ldaps:// port, when started with TLS
    ca_file: Path | None = None  # the throw-away CA that signed the server's certificate (TLS only)
    users: dict[str, LdapTestUser] = field(default_factory=lambda: {user.uid: user for user in USERS})
    base_dn: str = BASE_DN
    people_dn: str = PEOPLE_DN
    groups_dn: str = GROUPS_DN
    service_dn: str = SERVICE_DN

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        if self.tls_port is None:
            raise RuntimeError("this test slapd was started without TLS")
        return f"ldaps://127.0.0.1:{self.tls_port}"

    @property
    def listen_urls(self) -> str:
        """slapd's ``-h``: ldap://, ldaps:// with TLS, and the ldapi:// socket."""
        urls = [f"{self.url}/"]
        if self.tls_port is not None:
            urls.append(f"{self.ldaps_url}/")
        return " ".join([*urls, self.ldapi_url])

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


def _tls_config(certificates: Certificates, *, require_tls: bool) -> str:
    """The global TLS directives: the server's certificate and key, and the CA that signed it."""
    lines = [
        f"TLSCACertificateFile {certificates.ca_file}",
        f"TLSCertificateFile {certificates.cert_file}",
        f"TLSCertificateKeyFile {certificates.key_file}",
        "TLSVerifyClient never",
    ]
    if require_tls:
        # ssf (any protection), not tls=1: the local ldapi:// socket has an ssf but no TLS, and
        # the fixture loads the tree through it. (transport=1 would refuse TLS: slapd counts
        # only ldapi:// as a protected transport.)
        lines.append("security ssf=1")
    return "\n".join(lines) + "\n"


def _config(root: Path, root_hash: str, tls: str = "") -> str:
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
{tls}
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


def start_server(
    parent: Path | None = None, *, load_tree: bool = True, tls: bool = False, require_tls: bool = False
) -> LdapServer:
    """Start a slapd in a fresh directory under ``parent`` (or the system temp dir).

    ``tls``: StartTLS on the ldap:// port and an ldaps:// port, with a throw-away CA
    (``server.ca_file``); ``require_tls`` (implies ``tls``): refuse binds over plain ldap://.
    """
    tls = tls or require_tls
    root = Path(tempfile.mkdtemp(prefix="casedeck-slapd-", dir=parent))
    (root / "data").mkdir()
    server = LdapServer(
        root=root, port=0, root_password=os.urandom(12).hex(), service_password="svc-" + os.urandom(8).hex()
    )
    tls_config = ""
    if tls:
        certificates = make_certificates(root / "tls", ca_name="CaseDeck test LDAP CA")
        server.ca_file = certificates.ca_file
        tls_config = _tls_config(certificates, require_tls=require_tls)
    (root / "slapd.conf").write_text(_config(root, _hash(server.root_password, root), tls_config))
    (root / "rootpw").write_text(server.root_password)
    for _attempt in range(5):
        server.port = _free_port()
        if tls:
            server.tls_port = _free_port()
        with (root / "slapd.log").open("wb") as log:
            server.process = subprocess.Popen(
                [SLAPD, "-f", str(root / "slapd.conf"), "-h", server.listen_urls, "-d", "stats"],
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


def _serve(*, tls: bool = False, require_tls: bool = False) -> Iterator[LdapServer]:
    if not slapd_available():
        message = "OpenLDAP's slapd and ldap-utils are not installed (Debian: apt-get install slapd ldap-utils)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    server = start_server(tls=tls, require_tls=require_tls)
    atexit.register(server.remove)
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture(scope="session")
def ldap_server() -> Iterator[LdapServer]:
    """One real slapd per test process (per xdist worker), stopped and removed at the end."""
    yield from _serve()


@pytest.fixture(scope="session")
def ldap_server_tls() -> Iterator[LdapServer]:
    """A slapd with TLS: StartTLS on ``server.url``, implicit TLS on ``server.ldaps_url``; trust ``server.ca_file``."""
    yield from _serve(tls=True)


@pytest.fixture(scope="session")
def ldap_server_tls_only() -> Iterator[LdapServer]:
    """Like ``ldap_server_tls``, but a simple bind over plain ldap:// (no StartTLS) is refused."""
    yield from _serve(require_tls=True)
