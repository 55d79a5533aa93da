"""Sign-in against a real OpenLDAP: directory groups become roles; a local admin gets in when it is down."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from casefiles.accounts.directory import DirectorySettings, DirectoryUnavailable, LdapDirectory
from casefiles.accounts.directory import SignInRefused as DirectoryRefused
from casefiles.accounts.local import LocalAccounts, SignInRefused
from casefiles.accounts.permissions import Role
from casefiles.accounts.signin import NoAccess, RoleMap, SignIn
from casefiles.audit import Audit
from casefiles.store.tinydb_store import TinyDBCaseStore
from tests.accounts.test_local_accounts import PASSWORD, Clock
from tests.ldap_server import LdapServer

ROLES = RoleMap.parse("casedeck-admins=admin, radiology-gi=presenter, residents=learner")


def directory(server: LdapServer, **changes: object) -> LdapDirectory:
    settings = DirectorySettings(
        url=server.url, bind_dn_template=f"uid={{username}},{server.people_dn}", connect_timeout=3, receive_timeout=3
    )
    return LdapDirectory(replace(settings, **changes))


@pytest.fixture
def parts(tmp_path: Path):
    store = TinyDBCaseStore(tmp_path / "library")
    accounts = LocalAccounts(store, Clock())
    audit = Audit(store, bytes(range(32)), Clock())
    return store, accounts, audit


def test_directory_groups_become_roles_and_the_user_is_kept(parts, ldap_server: LdapServer) -> None:
    store, accounts, audit = parts
    sign_in = SignIn(accounts, store, directory=directory(ldap_server), role_map=ROLES, audit=audit)
    for uid, role in (("alice", Role.PRESENTER), ("bob", Role.LEARNER), ("carol", Role.ADMIN)):
        person = ldap_server.users[uid]
        user = sign_in(uid, person.password, where="10.0.0.5")
        assert (user.role, user.source, user.display_name) == (role, "ldap", person.display_name)
        assert set(user.groups) == set(person.groups)
    stored = store.get_record("user", "alice")
    assert stored is not None and "password" not in stored.data
    assert [e.data["action"] for e in audit.events()] == ["sign_in"] * 3
    assert all(ldap_server.users[u].password not in str(e.data) for e in audit.events() for u in ldap_server.users)


def test_a_wrong_password_an_unmapped_group_and_a_disabled_user_stay_out(parts, ldap_server: LdapServer) -> None:
    store, accounts, audit = parts
    only_admins = SignIn(
        accounts, store, directory=directory(ldap_server), role_map=RoleMap.parse("casedeck-admins=admin"), audit=audit
    )
    with pytest.raises(DirectoryRefused):
        only_admins("alice", "not alice's password")
    with pytest.raises(NoAccess, match="not given access"):
        only_admins("bob", ldap_server.users["bob"].password)
    sign_in = SignIn(accounts, store, directory=directory(ldap_server), role_map=ROLES, audit=audit)
    sign_in("bob", ldap_server.users["bob"].password)
    accounts.set_disabled("bob")
    with pytest.raises(SignInRefused):
        sign_in("bob", ldap_server.users["bob"].password)
    refused = [e for e in audit.events() if e.data["action"] == "sign_in_refused"]
    assert len(refused) == 3 and all(e.data["actor"] == "" for e in refused)  # the typed name is not kept


def test_a_local_admin_signs_in_while_the_directory_is_down(parts, ldap_server: LdapServer) -> None:
    store, accounts, audit = parts
    accounts.create_user("admin", Role.ADMIN, password=PASSWORD)
    down = directory(ldap_server, url="ldap://127.0.0.1:9")  # nothing listens there
    sign_in = SignIn(accounts, store, directory=down, role_map=ROLES, audit=audit)
    assert sign_in("admin", PASSWORD).role is Role.ADMIN
    with pytest.raises(DirectoryUnavailable, match="local administrator can still sign in"):
        sign_in("alice", ldap_server.users["alice"].password)
