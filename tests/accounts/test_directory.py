"""LDAP sign-in (casefiles.accounts.directory) against a real OpenLDAP slapd (tests/ldap_server.py)."""

from __future__ import annotations

import logging
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import ldap3
import pytest
from ldap3.utils import log as ldap3_log

from casefiles.accounts.directory import (
    REFUSED_MESSAGE,
    DirectorySettings,
    DirectorySettingsError,
    DirectoryUnavailable,
    DirectoryUser,
    LdapDirectory,
    SignInRefused,
    settings_from_env,
)
from tests.ldap_server import LdapServer, start_server

SERVICE_VAR = "TEST_LDAP_SERVICE_SECRET"


def search_then_bind(server: LdapServer, **changes: object) -> LdapDirectory:
    settings = DirectorySettings(
        url=server.url,
        service_dn=server.service_dn,
        service_password_var=SERVICE_VAR,
        user_base=server.people_dn,
        connect_timeout=3,
        receive_timeout=3,
    )
    return LdapDirectory(replace(settings, **changes), env={SERVICE_VAR: server.service_password})


def direct_bind(server: LdapServer, **changes: object) -> LdapDirectory:
    settings = DirectorySettings(
        url=server.url,
        bind_dn_template=f"uid={{username}},{server.people_dn}",
        connect_timeout=3,
        receive_timeout=3,
    )
    return LdapDirectory(replace(settings, **changes), env={})


def group_search(server: LdapServer) -> dict[str, object]:
    return {"groups_from": "search", "group_base": server.groups_dn}


@pytest.fixture(params=["search-then-bind", "direct-bind"])
def directory(request: pytest.FixtureRequest, ldap_server: LdapServer) -> LdapDirectory:
    make = search_then_bind if request.param == "search-then-bind" else direct_bind
    return make(ldap_server)


def test_the_right_password_gives_name_email_and_groups(directory: LdapDirectory, ldap_server: LdapServer) -> None:
    alice = ldap_server.users["alice"]
    user = directory.authenticate("alice", alice.password)
    assert user == DirectoryUser("alice", "Alice Archer", "alice.archer@hospital.test", ("radiology-gi", "residents"))
    carol = ldap_server.users["carol"]
    assert directory.authenticate(" carol ", carol.password).groups == ("casedeck-admins", "radiology-gi")


@pytest.mark.parametrize("make", [search_then_bind, direct_bind])
def test_groups_by_searching_group_of_names(ldap_server: LdapServer, make: object) -> None:
    """memberOf-less directories: the groups are the groupOfNames entries whose member is the user."""
    directory = make(ldap_server, **group_search(ldap_server), member_of_attribute="noSuchAttribute")
    for uid, expected in (("alice", ("radiology-gi", "residents")), ("bob", ("residents",))):
        assert directory.authenticate(uid, ldap_server.users[uid].password).groups == expected


def test_wrong_password_and_unknown_user_get_the_same_message(
    directory: LdapDirectory, ldap_server: LdapServer
) -> None:
    messages = set()
    for username, password in (
        ("alice", "not-her-password"),
        ("alice", ldap_server.users["bob"].password),
        ("nobody", "whatever-1"),
        ("ALICE-", ldap_server.users["alice"].password),
    ):
        with pytest.raises(SignInRefused) as refused:
            directory.authenticate(username, password)
        messages.add(str(refused.value))
    assert messages == {REFUSED_MESSAGE}
    assert REFUSED_MESSAGE == "That user name and password were not accepted."


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("password", ["", None])
@pytest.mark.parametrize("username", ["alice", "", "   "])
def test_empty_password_or_name_is_refused_without_contacting_the_directory(
    username: str, password: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nothing listens there: if the directory were contacted the error would be DirectoryUnavailable.
    settings = DirectorySettings(url=f"ldap://127.0.0.1:{closed_port()}", bind_dn_template="uid={username},o=x")

    def no_connection(*args: object, **kwargs: object) -> None:
        raise AssertionError("an ldap3 connection was made")

    monkeypatch.setattr(ldap3, "Connection", no_connection)
    with pytest.raises(SignInRefused, match=REFUSED_MESSAGE):
        LdapDirectory(settings).authenticate(username, password or "")


def test_an_empty_password_is_not_an_unauthenticated_bind(ldap_server: LdapServer) -> None:
    """The real server would accept the empty-password bind as anonymous: CaseDeck must refuse first."""
    whoami = subprocess.run(
        ["ldapwhoami", "-x", "-H", ldap_server.url, "-D", ldap_server.users["alice"].dn, "-w", ""],
        capture_output=True,
        text=True,
        check=False,
    )
    # the directory says yes to alice's DN with no password (as anonymous)...
    assert whoami.returncode == 0, whoami.stderr
    assert whoami.stdout.strip() == "anonymous"
    with pytest.raises(SignInRefused):  # ...CaseDeck does not
        direct_bind(ldap_server).authenticate("alice", "")


@pytest.mark.parametrize("make", [search_then_bind, direct_bind])
@pytest.mark.parametrize("username", ["*)(uid=*", "*", "alic*", "a*e", "alice)(|(uid=*", "uid=alice,ou=people"])
def test_filter_metacharacters_in_the_name_are_not_wildcards(
    ldap_server: LdapServer, make: object, username: str
) -> None:
    # alice's real password: were the name a wildcard ("alic*" matches only alice), sign-in would succeed.
    directory = make(ldap_server)
    with pytest.raises(SignInRefused, match=REFUSED_MESSAGE):
        directory.authenticate(username, ldap_server.users["alice"].password)


def test_a_stopped_directory_is_unavailable_quickly_without_the_password() -> None:
    server = start_server(load_tree=False)
    url = server.url
    server.remove()
    password = "Sup3r-secret-for-the-down-test"
    settings = DirectorySettings(url=url, bind_dn_template="uid={username},o=x", connect_timeout=2, receive_timeout=2)
    started = time.monotonic()
    with pytest.raises(DirectoryUnavailable) as down:
        LdapDirectory(settings).authenticate("alice", password)
    assert time.monotonic() - started < 5
    message = str(down.value)
    assert message.startswith("The hospital directory (LDAP) cannot be reached: ")
    assert message.endswith("— a local administrator can still sign in.")
    assert f"127.0.0.1:{url.rsplit(':', 1)[1]}" in message
    assert password not in message
    assert "alice" not in message


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never answers (a hung directory)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


@pytest.mark.parametrize("mode", ["search-then-bind", "direct-bind"])
def test_a_hung_directory_times_out_as_unavailable(silent_server: int, mode: str) -> None:
    password = "hung-directory-password-9"
    settings = DirectorySettings(
        url=f"ldap://127.0.0.1:{silent_server}",
        bind_dn_template="uid={username},o=x" if mode == "direct-bind" else None,
        user_base="o=x",
        service_dn="cn=svc,o=x",
        service_password_var=SERVICE_VAR,
        connect_timeout=1,
        receive_timeout=2,
    )
    started = time.monotonic()
    with pytest.raises(DirectoryUnavailable, match="did not answer within 2 s") as down:
        LdapDirectory(settings, env={SERVICE_VAR: "service-secret-1"}).authenticate("alice", password)
    assert time.monotonic() - started < 5
    assert password not in str(down.value)
    assert "service-secret-1" not in str(down.value)


def test_a_refused_service_account_is_unavailable_not_a_wrong_password(ldap_server: LdapServer) -> None:
    directory = search_then_bind(ldap_server)
    directory = LdapDirectory(directory.settings, env={SERVICE_VAR: "not-the-service-password"})
    with pytest.raises(DirectoryUnavailable, match="service account") as down:
        directory.authenticate("alice", ldap_server.users["alice"].password)
    assert "not-the-service-password" not in str(down.value)
    with pytest.raises(DirectoryUnavailable, match="TEST_LDAP_SERVICE_SECRET"):
        LdapDirectory(directory.settings, env={}).authenticate("alice", ldap_server.users["alice"].password)


@pytest.fixture
def ldap3_debug_logging() -> Iterator[None]:
    """ldap3's own logging at its most detailed (it logs nothing by default)."""
    ldap3_log.set_library_log_activation_level(logging.DEBUG)
    ldap3_log.set_library_log_detail_level(ldap3_log.EXTENDED)
    yield
    ldap3_log.set_library_log_detail_level(ldap3_log.OFF)
    ldap3_log.set_library_log_activation_level(logging.ERROR)


def test_passwords_never_reach_a_message_or_a_log_record(
    ldap_server: LdapServer, caplog: pytest.LogCaptureFixture, ldap3_debug_logging: None
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="ldap3")
    alice = ldap_server.users["alice"]
    secrets = [alice.password, "wrong-Password-77", ldap_server.service_password]
    messages: list[str] = []
    for directory in (search_then_bind(ldap_server), direct_bind(ldap_server, **group_search(ldap_server))):
        directory.authenticate("alice", alice.password)
        with pytest.raises(SignInRefused) as refused:
            directory.authenticate("alice", "wrong-Password-77")
        messages.append(str(refused.value))
        # a password typed into the name box is not logged either
        with pytest.raises(SignInRefused):
            directory.authenticate(alice.password, alice.password)
    down = DirectorySettings(url=f"ldap://127.0.0.1:{closed_port()}", bind_dn_template="uid={username},o=x")
    with pytest.raises(DirectoryUnavailable) as unavailable:
        LdapDirectory(down).authenticate("alice", alice.password)
    messages.append(str(unavailable.value))
    records = [record.getMessage() for record in caplog.records]
    assert any(record.name.startswith("ldap3") for record in caplog.records), "ldap3 logged nothing: test is void"
    assert any(record.name == "casefiles.accounts.directory" for record in caplog.records)
    for text in [*messages, *records]:
        for secret in secrets:
            assert secret not in text
    assert not any(str(record.args) and alice.password in str(record.args) for record in caplog.records)


def test_settings_from_env() -> None:
    assert settings_from_env({}) is None
    settings = settings_from_env(
        {
            "CASEDECK_LDAP_URL": "ldaps://ad.hospital.example",
            "CASEDECK_LDAP_CA_FILE": "/etc/casedeck/ca.pem",
            "CASEDECK_LDAP_SERVICE_DN": "CN=casedeck,OU=Services,DC=hospital,DC=example",
            "CASEDECK_LDAP_SERVICE_PASSWORD_VAR": "AD_SVC_PASSWORD",
            "CASEDECK_LDAP_USER_BASE": "OU=Staff,DC=hospital,DC=example",
            "CASEDECK_LDAP_USER_FILTER": "(sAMAccountName={username})",
            "CASEDECK_LDAP_USERNAME_ATTRIBUTE": "sAMAccountName",
            "CASEDECK_LDAP_CONNECT_TIMEOUT": "2.5",
        }
    )
    assert settings is not None
    assert settings.url == "ldaps://ad.hospital.example"
    assert settings.service_password_var == "AD_SVC_PASSWORD"
    assert settings.user_filter == "(sAMAccountName={username})"
    assert settings.groups_from == "memberOf"
    assert settings.connect_timeout == 2.5
    assert settings.receive_timeout == 10
    starttls = settings_from_env(
        {
            "CASEDECK_LDAP_URL": "ldap://ldap.hospital.example",
            "CASEDECK_LDAP_STARTTLS": "true",
            "CASEDECK_LDAP_BIND_DN_TEMPLATE": "uid={username},ou=people,dc=hospital,dc=example",
            "CASEDECK_LDAP_GROUPS": "search",
            "CASEDECK_LDAP_GROUP_BASE": "ou=groups,dc=hospital,dc=example",
        }
    )
    assert starttls is not None
    assert starttls.start_tls
    assert starttls.groups_from == "search"


@pytest.mark.parametrize(
    "env",
    [
        {"CASEDECK_LDAP_URL": "http://ldap.example", "CASEDECK_LDAP_USER_BASE": "o=x"},
        {"CASEDECK_LDAP_URL": "ldap://ldap.example"},
        {"CASEDECK_LDAP_URL": "ldaps://ldap.example", "CASEDECK_LDAP_STARTTLS": "1", "CASEDECK_LDAP_USER_BASE": "o=x"},
        {"CASEDECK_LDAP_URL": "ldap://ldap.example", "CASEDECK_LDAP_BIND_DN_TEMPLATE": "uid=alice,o=x"},
        {"CASEDECK_LDAP_URL": "ldap://x", "CASEDECK_LDAP_USER_BASE": "o=x", "CASEDECK_LDAP_GROUPS": "search"},
        {"CASEDECK_LDAP_URL": "ldap://x", "CASEDECK_LDAP_USER_BASE": "o=x", "CASEDECK_LDAP_GROUPS": "nested"},
        {"CASEDECK_LDAP_URL": "ldap://x", "CASEDECK_LDAP_USER_BASE": "o=x", "CASEDECK_LDAP_RECEIVE_TIMEOUT": "soon"},
    ],
)
def test_incomplete_settings_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(DirectorySettingsError):
        settings_from_env(env)
