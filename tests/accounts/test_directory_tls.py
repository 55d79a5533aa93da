"""LDAP sign-in over StartTLS and ldaps:// against a real OpenLDAP slapd with a throw-away CA.

The servers (tests/ldap_server.py): ``ldap_server_tls`` offers StartTLS on its ldap:// port and
implicit TLS on an ldaps:// port; ``ldap_server_tls_only`` also refuses a simple bind over plain
ldap://. CaseDeck is configured only through its ``CASEDECK_LDAP_*`` variables, as in production.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from casefiles.accounts.directory import DirectoryUnavailable, LdapDirectory, settings_from_env
from casefiles.accounts.local import LocalAccounts
from casefiles.accounts.permissions import Role
from casefiles.accounts.signin import RoleMap, SignIn
from casefiles.audit import Audit
from casefiles.store.tinydb_store import TinyDBCaseStore
from tests import ldap_server as ldap_fixtures
from tests.accounts.test_local_accounts import PASSWORD, Clock
from tests.ldap_server import LdapServer
from tests.support.certificates import make_certificates

# The session fixtures of tests/ldap_server.py (only ldap_server is in tests/conftest.py).
ldap_server_tls = ldap_fixtures.ldap_server_tls
ldap_server_tls_only = ldap_fixtures.ldap_server_tls_only

ROLES = RoleMap.parse("casedeck-admins=admin, radiology-gi=presenter, residents=learner")
EXPECTED_ROLES = (("alice", Role.PRESENTER), ("bob", Role.LEARNER), ("carol", Role.ADMIN))
SERVICE_VAR = "TEST_LDAP_TLS_SERVICE_SECRET"
MODES = ["search-then-bind", "direct-bind"]


def ldap_env(server: LdapServer, url: str, mode: str, *, ca_file: Path | None, start_tls: bool) -> dict[str, str]:
    """The CASEDECK_LDAP_* variables an installation would set (and the service password)."""
    env = {"CASEDECK_LDAP_URL": url, "CASEDECK_LDAP_CONNECT_TIMEOUT": "3", "CASEDECK_LDAP_RECEIVE_TIMEOUT": "3"}
    if start_tls:
        env["CASEDECK_LDAP_STARTTLS"] = "1"
    if ca_file is not None:
        env["CASEDECK_LDAP_CA_FILE"] = str(ca_file)
    if mode == "direct-bind":
        env["CASEDECK_LDAP_BIND_DN_TEMPLATE"] = f"uid={{username}},{server.people_dn}"
    else:
        env |= {
            "CASEDECK_LDAP_USER_BASE": server.people_dn,
            "CASEDECK_LDAP_SERVICE_DN": server.service_dn,
            "CASEDECK_LDAP_SERVICE_PASSWORD_VAR": SERVICE_VAR,
            SERVICE_VAR: server.service_password,
        }
    return env


def directory_from(env: dict[str, str]) -> LdapDirectory:
    settings = settings_from_env(env)
    assert settings is not None
    return LdapDirectory(settings, env=env)


@pytest.fixture
def parts(tmp_path: Path) -> tuple[TinyDBCaseStore, LocalAccounts, Audit]:
    store = TinyDBCaseStore(tmp_path / "library")
    accounts = LocalAccounts(store, Clock())
    audit = Audit(store, bytes(range(32)), Clock())
    return store, accounts, audit


def count(pattern: str, server: LdapServer) -> int:
    return len(re.findall(pattern, server.log))


def binds_of(server: LdapServer, uid: str) -> int:
    """How many binds as ``uid`` reached slapd (a bind carries the password)."""
    return count(re.escape(f'BIND dn="{server.users[uid].dn}"'), server)


def assert_groups_become_roles(sign_in: SignIn, server: LdapServer) -> None:
    for uid, role in EXPECTED_ROLES:
        person = server.users[uid]
        user = sign_in(uid, person.password, where="10.0.0.7")
        assert (user.role, user.source, user.display_name) == (role, "ldap", person.display_name)
        assert set(user.groups) == set(person.groups)


@pytest.mark.parametrize("mode", MODES)
def test_starttls_sign_in_with_the_test_ca_maps_groups_to_roles(
    parts: tuple[TinyDBCaseStore, LocalAccounts, Audit], ldap_server_tls: LdapServer, mode: str
) -> None:
    store, accounts, audit = parts
    server = ldap_server_tls
    env = ldap_env(server, server.url, mode, ca_file=server.ca_file, start_tls=True)
    assert server.url.startswith("ldap://")
    starttls_before = count(r"op=0 STARTTLS\n", server)
    sign_in = SignIn(accounts, store, directory=directory_from(env), role_map=ROLES, audit=audit)
    assert_groups_become_roles(sign_in, server)
    # every connection (service and user, one per sign-in) was upgraded before anything else
    connections = 3 if mode == "direct-bind" else 6
    assert count(r"op=0 STARTTLS\n", server) - starttls_before == connections
    assert [e.data["action"] for e in audit.events()] == ["sign_in"] * 3


@pytest.mark.parametrize("mode", MODES)
def test_ldaps_sign_in_with_the_test_ca_maps_groups_to_roles(
    parts: tuple[TinyDBCaseStore, LocalAccounts, Audit], ldap_server_tls: LdapServer, mode: str
) -> None:
    store, accounts, audit = parts
    server = ldap_server_tls
    env = ldap_env(server, server.ldaps_url, mode, ca_file=server.ca_file, start_tls=False)
    accepted = re.escape("ACCEPT from IP=127.0.0.1:") + r"\d+ " + re.escape(f"(IP=127.0.0.1:{server.tls_port})")
    accepted_before = count(accepted, server)
    established_before = count(r"TLS established tls_ssf=\d+", server)
    sign_in = SignIn(accounts, store, directory=directory_from(env), role_map=ROLES, audit=audit)
    assert_groups_become_roles(sign_in, server)
    # every connection went to the ldaps:// port and was encrypted from its first byte
    connections = 3 if mode == "direct-bind" else 6
    assert count(accepted, server) - accepted_before == connections
    assert count(r"TLS established tls_ssf=\d+", server) - established_before == connections


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second throw-away CA: it did not sign the test slapd's certificate."""
    return make_certificates(tmp_path_factory.mktemp("other-ca"), ca_name="Some other CA").ca_file


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("transport", ["starttls", "ldaps"])
@pytest.mark.parametrize("trust", ["other CA file", "system CAs"])
def test_a_certificate_from_an_untrusted_ca_is_refused_and_a_local_admin_still_signs_in(
    parts: tuple[TinyDBCaseStore, LocalAccounts, Audit],
    ldap_server_tls: LdapServer,
    other_ca: Path,
    mode: str,
    transport: str,
    trust: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    store, accounts, audit = parts
    server = ldap_server_tls
    url = server.url if transport == "starttls" else server.ldaps_url
    ca_file = other_ca if trust == "other CA file" else None
    env = ldap_env(server, url, mode, ca_file=ca_file, start_tls=transport == "starttls")
    accounts.create_user("admin", Role.ADMIN, password=PASSWORD)
    sign_in = SignIn(accounts, store, directory=directory_from(env), role_map=ROLES, audit=audit)
    alice = server.users["alice"]
    binds_before = binds_of(server, "alice")

    with pytest.raises(DirectoryUnavailable) as refused:
        sign_in("alice", alice.password, where="10.0.0.7")

    message = str(refused.value)
    where = url.split("://", 1)[1]
    trusted = "the CA file (CASEDECK_LDAP_CA_FILE)" if ca_file else "the system's trusted CAs"
    assert message == (
        f"The hospital directory (LDAP) cannot be reached: the certificate of {where} could not be verified "
        f"against {trusted} — a local administrator can still sign in."
    )
    # nothing was sent over the untrusted connection: no bind (it would carry the password) reached slapd
    assert binds_of(server, "alice") == binds_before
    texts = [message, *(record.getMessage() for record in caplog.records), *(str(e.data) for e in audit.events())]
    for secret in (alice.password, server.service_password):
        assert not any(secret in text for text in texts)
    assert [r.getMessage() for r in caplog.records if r.name == "casefiles.accounts.directory"] == [
        f"directory sign-in failed: the certificate of {where} could not be verified against {trusted}"
    ]

    admin = sign_in("admin", PASSWORD, where="10.0.0.7")
    assert (admin.role, admin.source) == (Role.ADMIN, "local")
    assert [e.data["action"] for e in audit.events()] == ["sign_in_refused", "sign_in"]


@pytest.mark.parametrize("mode", MODES)
def test_a_certificate_for_another_host_name_is_refused(ldap_server_tls: LdapServer, mode: str) -> None:
    """127.1 reaches 127.0.0.1, but the certificate names 127.0.0.1 and localhost only."""
    server = ldap_server_tls
    alice = server.users["alice"]
    elsewhere = [
        (server.url.replace("127.0.0.1", "127.1"), True),
        (server.ldaps_url.replace("127.0.0.1", "127.1"), False),
    ]
    for url, start_tls in elsewhere:
        env = ldap_env(server, url, mode, ca_file=server.ca_file, start_tls=start_tls)
        with pytest.raises(DirectoryUnavailable, match=r"the certificate of 127\.1:[0-9]+ is for another host name"):
            directory_from(env).authenticate("alice", alice.password)
    # the same CA and the name the certificate carries: accepted
    env = ldap_env(
        server, server.ldaps_url.replace("127.0.0.1", "localhost"), mode, ca_file=server.ca_file, start_tls=False
    )
    assert directory_from(env).authenticate("alice", alice.password).groups == ("radiology-gi", "residents")


@pytest.mark.parametrize("mode", MODES)
def test_a_directory_that_requires_tls_refuses_a_plain_bind_and_casedeck_says_so(
    parts: tuple[TinyDBCaseStore, LocalAccounts, Audit], ldap_server_tls_only: LdapServer, mode: str
) -> None:
    store, accounts, audit = parts
    server = ldap_server_tls_only
    alice = server.users["alice"]
    plain = ldap_env(server, server.url, mode, ca_file=server.ca_file, start_tls=False)
    sign_in = SignIn(accounts, store, directory=directory_from(plain), role_map=ROLES, audit=audit)

    # not "wrong password" (the bind was never judged on it), but what to change
    with pytest.raises(DirectoryUnavailable) as refused:
        sign_in("alice", alice.password)
    message = str(refused.value)
    assert "only accepts sign-ins over an encrypted connection (result 13)" in message
    assert "set CASEDECK_LDAP_STARTTLS=1 or use an ldaps:// URL" in message
    assert alice.password not in message and server.service_password not in message
    assert "confidentiality required" in server.log  # slapd's own reason

    # the same directory with StartTLS, or over ldaps://: accepted, groups become roles
    for url, start_tls in ((server.url, True), (server.ldaps_url, False)):
        env = ldap_env(server, url, mode, ca_file=server.ca_file, start_tls=start_tls)
        sign_in = SignIn(accounts, store, directory=directory_from(env), role_map=ROLES, audit=audit)
        assert_groups_become_roles(sign_in, server)
