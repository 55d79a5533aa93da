"""Everything a department installation adds around the library, put together once (issue #16).

Accounts and sessions, the sign-in (local, then the hospital directory), share and upload links,
the audit trail, in-app notifications and e-mail all live in the same store as the cases; this
module builds them from that store, the installation's secret and the environment, so the app,
the CLI and the tests assemble them the same way.

Sign-in is *required* when ``CASEDECK_SIGN_IN`` is on or a directory (``CASEDECK_LDAP_URL``)
is configured. Without it CaseDeck serves this computer only (see ``accounts.exposure``) and the
person at the keyboard acts as the local admin.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from casefiles.accounts.directory import LdapDirectory
from casefiles.accounts.directory import settings_from_env as directory_settings_from_env
from casefiles.accounts.local import LocalAccounts
from casefiles.accounts.permissions import Actor, Role
from casefiles.accounts.ratelimit import Attempts
from casefiles.accounts.shares import Links
from casefiles.accounts.signin import RoleMap, SignIn
from casefiles.audit import Audit
from casefiles.config import Settings
from casefiles.deid.keys import load_or_create_secret
from casefiles.errors import CaseDeckError
from casefiles.notify.errors import NotificationError
from casefiles.notify.inbox import new_in_app
from casefiles.notify.mail import Mailer, mail_settings_from_env
from casefiles.notify.messages import Notification
from casefiles.notify.shelf import NotificationShelf
from casefiles.store import CaseStore

log = logging.getLogger("casedeck.department")

#: Who acts when nobody signs in: the person at this computer (loopback only).
LOCAL_OPERATOR = Actor("local", Role.ADMIN)


def sign_in_required(env: Mapping[str, str] | None = None) -> bool:
    """Whether people must sign in: ``CASEDECK_SIGN_IN=1`` or a directory is configured."""
    env = os.environ if env is None else env
    on = env.get("CASEDECK_SIGN_IN", "").strip().lower() in ("1", "true", "yes", "on")
    return on or bool(env.get("CASEDECK_LDAP_URL", "").strip())


@dataclass(frozen=True)
class Department:
    """The installation's accounts, links, audit and notifications over one store."""

    accounts: LocalAccounts
    sign_in: SignIn
    links: Links
    audit: Audit
    notifications: NotificationShelf
    mailer: Mailer | None
    #: Refused link opens per address (share and upload links), to slow a scanner down.
    link_attempts: Attempts = field(default_factory=Attempts)

    def notify(self, notification: Notification) -> None:
        """Keep ``notification`` in the recipient's in-app list and e-mail it when mail is set up.

        A mail that cannot be sent is logged (its kind, never its text) and the in-app copy stays:
        the action that caused it has happened and is not undone by a mail server being down.
        """
        self.notifications.keep(new_in_app(notification))
        if self.mailer is None or not notification.recipient.email:
            return
        try:
            self.mailer.send(notification)
        except NotificationError as exc:
            log.warning("A %s notification could not be e-mailed (%s)", notification.kind, type(exc).__name__)


def open_department(store: CaseStore, settings: Settings, env: Mapping[str, str] | None = None) -> Department:
    """Build the department's parts over ``store``; configuration errors name the variable to fix."""
    env = os.environ if env is None else env
    audit = Audit(store, load_or_create_secret(settings.secret_path))
    accounts = LocalAccounts(store)
    directory_settings = directory_settings_from_env(env)
    directory = LdapDirectory(directory_settings, env) if directory_settings is not None else None
    role_map = RoleMap.parse(env.get("CASEDECK_LDAP_ROLES", ""))
    sign_in = SignIn(accounts, store, directory=directory, role_map=role_map, audit=audit)
    mail_settings = mail_settings_from_env(env)
    return Department(
        accounts=accounts,
        sign_in=sign_in,
        links=Links(store),
        audit=audit,
        notifications=NotificationShelf(store),
        mailer=Mailer(mail_settings) if mail_settings is not None else None,
    )


def first_admin_password(department: Department) -> str | None:
    """Create the first admin on an installation without one; its one-time password, else None."""
    try:
        return department.accounts.ensure_first_admin()
    except CaseDeckError:
        log.warning("The first admin account could not be created.")
        return None
