"""Sign-in against the hospital directory: LDAP or Active Directory, through ldap3.

:class:`LdapDirectory` checks a user name and password by an LDAP simple bind and reads the
user's display name, e-mail and group names. Two ways to find the user's DN:

* **bind DN template** (``uid={username},ou=people,dc=hospital,dc=org``, or AD's
  ``{username}@hospital.org``): bind directly as the user; the user's entry is then read with
  the user filter under the user base (if one is set) or at the bound DN itself;
* **search, then bind**: a service account (or an anonymous bind, if no service DN is set)
  searches the user base with the user filter; exactly one entry must match; then a second
  connection binds as that entry's DN with the user's password.

The user name is escaped before it goes anywhere: RFC 4515 in filters (``*`` is not a wildcard),
RFC 4514 in a DN template. An empty password is refused before anything is sent (an LDAP bind
with a DN and no password is an "unauthenticated bind" that many servers accept). Unknown user
and wrong password give the same :class:`SignInRefused` message, so names cannot be probed. No
message and no log record contains a password, a bind credential or the typed user name (people
type their password into the name box); ldap3's own logging is told to hide sensitive data.

Groups come from the user's ``memberOf`` attribute (AD, OpenLDAP's memberof overlay) or from a
search for group entries whose ``member`` is the user's DN (plain ``groupOfNames``); either way
CaseDeck gets the groups' common names (``cn``), which its store maps to roles and groups.

Environment variables (:func:`settings_from_env`; LDAP sign-in is off unless the URL is set):

``CASEDECK_LDAP_URL``
    ``ldap://host[:port]`` or ``ldaps://host[:port]``.
``CASEDECK_LDAP_STARTTLS``
    ``1``/``true``/``yes``: upgrade an ``ldap://`` connection with StartTLS before binding.
``CASEDECK_LDAP_CA_FILE``
    PEM file of the CA(s) that signed the directory's certificate (default: the system's).
``CASEDECK_LDAP_BIND_DN_TEMPLATE``
    Direct bind: the DN (or AD user principal name) with ``{username}`` in it.
``CASEDECK_LDAP_SERVICE_DN``
    Search, then bind: the service account's DN (unset: search anonymously).
``CASEDECK_LDAP_SERVICE_PASSWORD_VAR``
    The *name* of the variable holding the service account's password (default
    ``CASEDECK_LDAP_SERVICE_PASSWORD``); it is read at each sign-in and never stored in settings.
``CASEDECK_LDAP_USER_BASE``
    Where users live, e.g. ``ou=people,dc=hospital,dc=org`` (required for search, then bind).
``CASEDECK_LDAP_USER_FILTER``
    Default ``(uid={username})``; Active Directory: ``(sAMAccountName={username})``.
``CASEDECK_LDAP_USERNAME_ATTRIBUTE``, ``CASEDECK_LDAP_DISPLAY_NAME_ATTRIBUTE``, ``CASEDECK_LDAP_EMAIL_ATTRIBUTE``
    Defaults ``uid``, ``displayName`` (then ``cn``), ``mail``.
``CASEDECK_LDAP_GROUPS``
    ``memberOf`` (default) or ``search``.
``CASEDECK_LDAP_MEMBER_OF_ATTRIBUTE``
    Default ``memberOf``.
``CASEDECK_LDAP_GROUP_BASE``, ``CASEDECK_LDAP_GROUP_FILTER``, ``CASEDECK_LDAP_GROUP_NAME_ATTRIBUTE``
    For ``search``: the base (required), the filter (default
    ``(&(objectClass=groupOfNames)(member={user_dn}))``; ``{username}`` also works, e.g. for
    ``posixGroup``'s ``memberUid``) and the attribute naming a group (default ``cn``).
``CASEDECK_LDAP_CONNECT_TIMEOUT``, ``CASEDECK_LDAP_RECEIVE_TIMEOUT``
    Seconds (defaults 5 and 10; the receive timeout in whole seconds): how long a sign-in waits
    before saying the directory cannot be reached.
"""

from __future__ import annotations

import logging
import os
import ssl
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any, Literal

import ldap3
from ldap3.core import exceptions as ldap_errors
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import escape_rdn, parse_dn
from ldap3.utils.log import set_library_log_hide_sensitive_data

from casefiles.errors import CaseDeckError, ValidationError

logger = logging.getLogger(__name__)

# ldap3 logs nothing unless asked to; if someone asks, it must still mask passwords.
set_library_log_hide_sensitive_data(True)

REFUSED_MESSAGE = "That user name and password were not accepted."
# Result codes that mean "the directory cannot serve you now", not "wrong name or password".
_UNAVAILABLE_CODES = frozenset({3, 11, 51, 52, 80})  # timeLimit, adminLimit, busy, unavailable, other
# Result codes of a bind the directory refuses to take over this connection (not a verdict on the
# password): strongerAuthRequired (AD's "LDAP signing required"), confidentialityRequired.
_NEEDS_TLS_CODES = frozenset({8, 13})
_MAX_USERNAME = 256


class DirectoryError(CaseDeckError):
    """Signing in through the hospital directory did not work."""


class SignInRefused(DirectoryError):
    """The user name and password were not accepted (unknown user and wrong password alike)."""

    def __init__(self) -> None:
        super().__init__(REFUSED_MESSAGE)


class DirectoryUnavailable(DirectoryError):
    """The directory cannot be reached or cannot answer; local accounts still work."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"The hospital directory (LDAP) cannot be reached: {reason} — a local administrator can still sign in."
        )


class DirectorySettingsError(ValidationError):
    """The LDAP settings (CASEDECK_LDAP_*) are incomplete or contradictory."""


@dataclass(frozen=True)
class DirectorySettings:
    """How to reach and read the directory; see the module docstring for each setting."""

    url: str
    start_tls: bool = False
    ca_file: str | None = None
    bind_dn_template: str | None = None
    service_dn: str | None = None
    service_password_var: str = "CASEDECK_LDAP_SERVICE_PASSWORD"  # noqa: S105 (a variable's name)
    user_base: str | None = None
    user_filter: str = "(uid={username})"
    username_attribute: str = "uid"
    display_name_attribute: str = "displayName"
    email_attribute: str = "mail"
    groups_from: Literal["memberOf", "search"] = "memberOf"
    member_of_attribute: str = "memberOf"
    group_base: str | None = None
    group_filter: str = "(&(objectClass=groupOfNames)(member={user_dn}))"
    group_name_attribute: str = "cn"
    connect_timeout: float = 5.0
    receive_timeout: int = 10  # whole seconds: ldap3 sets SO_RCVTIMEO from an integer

    def __post_init__(self) -> None:
        scheme = self.url.split("://", 1)[0].lower() if "://" in self.url else ""
        if scheme not in ("ldap", "ldaps"):
            raise DirectorySettingsError("The directory URL must start with ldap:// or ldaps://.")
        if self.start_tls and scheme == "ldaps":
            raise DirectorySettingsError("StartTLS is for ldap:// URLs; ldaps:// is already encrypted.")
        if self.bind_dn_template is None and self.user_base is None:
            raise DirectorySettingsError("Set either a bind DN template or a user base DN to search.")
        if self.bind_dn_template is not None and "{username}" not in self.bind_dn_template:
            raise DirectorySettingsError("The bind DN template must contain {username}.")
        if "{username}" not in self.user_filter:
            raise DirectorySettingsError("The user filter must contain {username}.")
        if self.groups_from not in ("memberOf", "search"):
            raise DirectorySettingsError("Groups come from 'memberOf' or 'search'.")
        if self.groups_from == "search" and not self.group_base:
            raise DirectorySettingsError("Searching for groups needs a group base DN.")
        if not (0 < self.connect_timeout <= 120 and 0 < self.receive_timeout <= 300):
            raise DirectorySettingsError("The directory timeouts must be positive numbers of seconds.")
        if not isinstance(self.receive_timeout, int) or isinstance(self.receive_timeout, bool):
            raise DirectorySettingsError("The directory's receive timeout must be a whole number of seconds.")


@dataclass(frozen=True)
class DirectoryUser:
    """Who signed in, as the directory knows them."""

    username: str
    display_name: str
    email: str | None
    groups: tuple[str, ...]


def settings_from_env(env: Mapping[str, str] | None = None) -> DirectorySettings | None:
    """The LDAP settings from ``CASEDECK_LDAP_*`` variables, or None when LDAP sign-in is off."""
    env = os.environ if env is None else env

    def get(name: str) -> str | None:
        value = env.get(f"CASEDECK_LDAP_{name}", "").strip()
        return value or None

    def seconds(name: str, default: float, kind: type[float] | type[int] = float) -> Any:
        raw = get(name)
        if raw is None:
            return default
        try:
            return kind(raw)
        except ValueError:
            whole = "a whole" if kind is int else "a"
            raise DirectorySettingsError(f"CASEDECK_LDAP_{name} must be {whole} number of seconds.") from None

    url = get("URL")
    if url is None:
        return None
    groups_from = (get("GROUPS") or "memberOf").lower()
    if groups_from not in ("memberof", "search"):
        raise DirectorySettingsError("CASEDECK_LDAP_GROUPS must be 'memberOf' or 'search'.")
    options: dict[str, Any] = {
        "start_tls": (get("STARTTLS") or "").lower() in ("1", "true", "yes", "on"),
        "groups_from": "search" if groups_from == "search" else "memberOf",
        "connect_timeout": seconds("CONNECT_TIMEOUT", 5.0),
        "receive_timeout": seconds("RECEIVE_TIMEOUT", 10, int),
    }
    for option, name in _TEXT_VARIABLES.items():
        value = get(name)
        if value is not None:
            options[option] = value
    return DirectorySettings(url=url, **options)


# DirectorySettings field → CASEDECK_LDAP_<name>, for the text settings (unset: the field's default).
_TEXT_VARIABLES = {
    "ca_file": "CA_FILE",
    "bind_dn_template": "BIND_DN_TEMPLATE",
    "service_dn": "SERVICE_DN",
    "service_password_var": "SERVICE_PASSWORD_VAR",
    "user_base": "USER_BASE",
    "user_filter": "USER_FILTER",
    "username_attribute": "USERNAME_ATTRIBUTE",
    "display_name_attribute": "DISPLAY_NAME_ATTRIBUTE",
    "email_attribute": "EMAIL_ATTRIBUTE",
    "member_of_attribute": "MEMBER_OF_ATTRIBUTE",
    "group_base": "GROUP_BASE",
    "group_filter": "GROUP_FILTER",
    "group_name_attribute": "GROUP_NAME_ATTRIBUTE",
}


@dataclass(frozen=True)
class _Entry:
    """One search result: its DN and its attributes (names lower-cased, values as text)."""

    dn: str
    attributes: dict[str, list[str]]

    def first(self, name: str) -> str | None:
        values = self.attributes.get(name.lower()) or []
        return values[0] if values else None


class _BindFailed(Exception):
    """A bind was answered with a refusal (result code kept for the caller to classify)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class LdapDirectory:
    """Signs users in against one directory (see the module docstring)."""

    def __init__(self, settings: DirectorySettings, env: Mapping[str, str] | None = None) -> None:
        self.settings = settings
        self._env = os.environ if env is None else env

    def authenticate(self, username: str, password: str) -> DirectoryUser:
        """The user, if the directory accepts ``password`` for ``username``.

        Raises :class:`SignInRefused` or :class:`DirectoryUnavailable`; neither names the user
        or quotes the password.
        """
        username = username.strip()
        if not username or not password or len(username) > _MAX_USERNAME or "\x00" in username + password:
            logger.info("directory sign-in refused before contacting the directory (empty or malformed input)")
            raise SignInRefused
        try:
            user = self._authenticate(username, password)
        except ldap_errors.LDAPException as error:
            reason = _reason(error, self.settings)
            logger.warning("directory sign-in failed: %s", reason)
            raise DirectoryUnavailable(reason) from None
        logger.info("directory sign-in accepted (%d groups)", len(user.groups))
        return user

    # -- the two ways to find and check the user --------------------------------------------------

    def _authenticate(self, username: str, password: str) -> DirectoryUser:
        settings = self.settings
        user_filter = settings.user_filter.replace("{username}", escape_filter_chars(username))
        if settings.bind_dn_template is not None:
            bind_dn = settings.bind_dn_template.replace("{username}", escape_rdn(username))
            with _closing(self._as_user(bind_dn, password)) as conn:
                if settings.user_base:
                    entry = self._one_user(conn, settings.user_base, user_filter)
                else:
                    entry = self._one_user(conn, bind_dn, "(objectClass=*)", base_scope=True)
                return self._user(conn, entry, username)
        assert settings.user_base is not None  # checked by DirectorySettings
        with _closing(self._service()) as conn:
            entry = self._one_user(conn, settings.user_base, user_filter)
        with _closing(self._as_user(entry.dn, password)) as conn:
            return self._user(conn, entry, username)

    def _one_user(self, conn: Any, base: str, search_filter: str, *, base_scope: bool = False) -> _Entry:
        attributes = [
            self.settings.username_attribute,
            self.settings.display_name_attribute,
            "cn",
            self.settings.email_attribute,
        ]
        if self.settings.groups_from == "memberOf":
            attributes.append(self.settings.member_of_attribute)
        entries = _search(conn, base, search_filter, attributes, scope=ldap3.BASE if base_scope else ldap3.SUBTREE)
        if len(entries) != 1:
            logger.info("directory sign-in refused: %d matching user entries", min(len(entries), 2))
            raise SignInRefused
        return entries[0]

    def _user(self, conn: Any, entry: _Entry, typed: str) -> DirectoryUser:
        settings = self.settings
        if settings.groups_from == "memberOf":
            groups = [_cn_of(dn) for dn in entry.attributes.get(settings.member_of_attribute.lower(), [])]
        else:
            assert settings.group_base is not None  # checked by DirectorySettings
            group_filter = settings.group_filter.replace("{user_dn}", escape_filter_chars(entry.dn)).replace(
                "{username}", escape_filter_chars(typed)
            )
            groups = [
                group.first(settings.group_name_attribute) or _cn_of(group.dn)
                for group in _search(conn, settings.group_base, group_filter, [settings.group_name_attribute])
            ]
        return DirectoryUser(
            username=entry.first(settings.username_attribute) or typed,
            display_name=entry.first(settings.display_name_attribute) or entry.first("cn") or typed,
            email=entry.first(settings.email_attribute),
            groups=tuple(sorted({group for group in groups if group})),
        )

    # -- connections ------------------------------------------------------------------------------

    def _service(self) -> Any:
        """A connection bound as the service account (or anonymously, without one)."""
        service_dn = self.settings.service_dn
        secret = None
        if service_dn is not None:
            secret = self._env.get(self.settings.service_password_var, "")
            if not secret:
                variable = self.settings.service_password_var
                raise DirectoryUnavailable(f"the service account's password ({variable}) is not set")
        try:
            return self._bound(service_dn, secret)
        except _BindFailed as failed:
            reason = f"the directory did not accept CaseDeck's service account (result {failed.code})"
            logger.warning("directory sign-in failed: %s", reason)
            raise DirectoryUnavailable(reason) from None

    def _as_user(self, dn: str, password: str) -> Any:
        try:
            return self._bound(dn, password)
        except _BindFailed as failed:
            logger.info("directory sign-in refused: the user's bind was refused (result %d)", failed.code)
            raise SignInRefused from None

    def _bound(self, dn: str | None, password: str | None) -> Any:
        """An open, bound ldap3 connection (anonymous without a DN); :class:`_BindFailed` if refused."""
        settings = self.settings
        tls = None
        if settings.url.lower().startswith("ldaps://") or settings.start_tls:
            tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=settings.ca_file)
        server = ldap3.Server(settings.url, connect_timeout=settings.connect_timeout, get_info=ldap3.NONE, tls=tls)
        conn = ldap3.Connection(
            server,
            user=dn,
            password=password,
            authentication=ldap3.SIMPLE if dn is not None else ldap3.ANONYMOUS,
            receive_timeout=settings.receive_timeout,
            raise_exceptions=False,
            read_only=True,
            auto_referrals=False,
            return_empty_attributes=False,
        )
        try:
            conn.open()
            if settings.start_tls and not conn.start_tls():
                raise DirectoryUnavailable("StartTLS was refused")
            if not conn.bind():
                code = int(conn.result.get("result", -1))
                if code in _UNAVAILABLE_CODES:
                    raise DirectoryUnavailable(f"the directory answered '{conn.result.get('description', code)}'")
                if code in _NEEDS_TLS_CODES:
                    reason = _needs_tls(code, encrypted=tls is not None)
                    logger.warning("directory sign-in failed: %s", reason)
                    raise DirectoryUnavailable(reason)
                raise _BindFailed(code)
        except BaseException:
            _close(conn)
            raise
        return conn


@contextmanager
def _closing(conn: Any) -> Iterator[Any]:
    try:
        yield conn
    finally:
        _close(conn)


def _close(conn: Any) -> None:
    with suppress(ldap_errors.LDAPException, OSError):
        conn.unbind()


def _search(conn: Any, base: str, search_filter: str, attributes: list[str], *, scope: Any = None) -> list[_Entry]:
    conn.search(
        base,
        search_filter,
        search_scope=ldap3.SUBTREE if scope is None else scope,
        attributes=attributes,
        size_limit=50,
    )
    code = int(conn.result.get("result", -1))
    if code in _UNAVAILABLE_CODES:
        raise DirectoryUnavailable(f"the directory answered '{conn.result.get('description', code)}'")
    entries = []
    for item in conn.response or []:
        if item.get("type") != "searchResEntry":
            continue  # Active Directory adds referrals (searchResRef) to other partitions
        raw: Mapping[str, list[bytes]] = item.get("raw_attributes") or {}
        entries.append(
            _Entry(
                dn=str(item.get("dn", "")),
                attributes={
                    name.lower(): [value.decode("utf-8", "replace") for value in values] for name, values in raw.items()
                },
            )
        )
    return entries


def _cn_of(dn: str) -> str:
    """A group's name from its DN: the value of the first RDN (``cn=radiology-gi,ou=…`` → ``radiology-gi``)."""
    try:
        parts = parse_dn(dn, escape=False, strip=True)
    except ldap_errors.LDAPInvalidDnError:
        return ""
    return str(parts[0][1]) if parts else ""


def _needs_tls(code: int, *, encrypted: bool) -> str:
    """Why a bind the directory would not take over this connection was refused."""
    if not encrypted:
        return (
            f"the directory only accepts sign-ins over an encrypted connection (result {code}): "
            "set CASEDECK_LDAP_STARTTLS=1 or use an ldaps:// URL"
        )
    return f"the directory asks for stronger protection than this encrypted connection has (result {code})"


def _certificate_problem(error: BaseException) -> str | None:
    """What was wrong with the directory's certificate, if that is why TLS failed (else None).

    ldap3 wraps the ssl error, sometimes only as text (ldaps:// reports it as a socket open error).
    """
    seen: BaseException | None = error
    for _depth in range(8):  # the chain of causes, not endlessly
        if seen is None:
            break
        if isinstance(seen, ssl.SSLCertVerificationError):
            return "not-trusted"
        if isinstance(seen, ldap_errors.LDAPCertificateError):
            return "wrong-name"
        seen = seen.__cause__ or seen.__context__
    text = str(error)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        return "not-trusted"
    if "doesn't match any name" in text:  # ldap3's own host name check
        return "wrong-name"
    return None


def _reason(error: Exception, settings: DirectorySettings) -> str:
    """Why the directory could not be used, in words that never quote a credential."""
    where = settings.url.split("://", 1)[1].split("/", 1)[0].rsplit("@", 1)[-1]
    problem = _certificate_problem(error)
    if problem == "not-trusted":
        trusted = "the CA file (CASEDECK_LDAP_CA_FILE)" if settings.ca_file else "the system's trusted CAs"
        return f"the certificate of {where} could not be verified against {trusted}"
    if problem == "wrong-name":
        return f"the certificate of {where} is for another host name"
    if isinstance(error, ldap_errors.LDAPStartTLSError | ldap_errors.LDAPSSLConfigurationError):
        return f"a secure (TLS) connection to {where} could not be made"
    if isinstance(error, ldap_errors.LDAPSocketOpenError):
        return f"no connection to {where} within {settings.connect_timeout:g} s"
    if isinstance(error, ldap_errors.LDAPSocketReceiveError | ldap_errors.LDAPResponseTimeoutError):
        return f"{where} did not answer within {settings.receive_timeout:g} s"
    if isinstance(error, ldap_errors.LDAPCommunicationError):
        return f"the connection to {where} was lost"
    return f"{where} could not be used ({type(error).__name__})"
