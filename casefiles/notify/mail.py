"""E-mail notifications over SMTP, configured from the environment.

Environment (read by :func:`mail_settings_from_env`):

``CASEDECK_SMTP_HOST``
    The mail server's host name or address. Unset or empty: e-mail is off (the in-app list still works).
``CASEDECK_SMTP_PORT``
    Its port; default 587 for ``starttls``, 465 for ``tls``, 25 for ``none``.
``CASEDECK_SMTP_SECURITY``
    ``starttls`` (default: plain connection upgraded with STARTTLS, never sent unencrypted if the
    server does not offer it), ``tls`` (implicit TLS from the first byte, "SMTPS") or ``none``
    (no encryption; credentials are then refused unless the server is on this machine).
``CASEDECK_SMTP_USERNAME``
    The user name to sign in with (AUTH); unset: no sign-in.
``CASEDECK_SMTP_PASSWORD_ENV``
    The *name* of another environment variable that holds the password (for secret managers that
    inject one under their own name); else ``CASEDECK_SMTP_PASSWORD`` holds it. Never in a file
    of CaseDeck's, never logged, never in an error message.
``CASEDECK_SMTP_FROM``
    The sender address (required when e-mail is on), e.g. ``casedeck@radiology.example.org``.
``CASEDECK_SMTP_TIMEOUT``
    Seconds to wait for the server at each step; default 10.
``CASEDECK_SMTP_CA_FILE``
    A PEM file of certificate authorities to trust for the server's certificate instead of the
    system's (a hospital's own CA). Certificates and host names are always verified.
``CASEDECK_PUBLIC_URL``
    The app's address for links in e-mails (required when e-mail is on).

Bodies are plain text (``text/plain; charset=utf-8``), never HTML, and pass the PHI guard of
:mod:`casefiles.notify.messages` before a connection is opened.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Literal

from casefiles.errors import ValidationError
from casefiles.notify.errors import (
    MailAuthError,
    MailError,
    MailRecipientRefused,
    MailRefused,
    MailServerUnavailable,
    MailTlsError,
)
from casefiles.notify.messages import Notification, check_email, check_public_url, render_mail

log = logging.getLogger(__name__)

Security = Literal["starttls", "tls", "none"]
SECURITIES: tuple[Security, ...] = ("starttls", "tls", "none")
DEFAULT_PORTS: dict[Security, int] = {"starttls": 587, "tls": 465, "none": 25}
_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


@dataclass(frozen=True, slots=True)
class MailSettings:
    """Where and how CaseDeck sends e-mail. The password is never shown in ``repr``."""

    host: str
    sender: str
    public_url: str
    port: int = 587
    security: Security = "starttls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 10.0
    ca_file: Path | None = None

    def __post_init__(self) -> None:
        if not self.host or any(c.isspace() for c in self.host):
            raise ValidationError("The mail server's host must be a host name or address.")
        if self.security not in SECURITIES:
            raise ValidationError("CASEDECK_SMTP_SECURITY must be starttls, tls or none.")
        if not 1 <= self.port <= 65535:
            raise ValidationError("CASEDECK_SMTP_PORT must be a port number from 1 to 65535.")
        if not 0 < self.timeout <= 300:
            raise ValidationError("CASEDECK_SMTP_TIMEOUT must be a number of seconds above 0 and at most 300.")
        check_email(self.sender)
        object.__setattr__(self, "public_url", check_public_url(self.public_url))
        if self.password is not None and not self.username:
            raise ValidationError("An SMTP password is set without CASEDECK_SMTP_USERNAME.")
        if self.username and self.password is None:
            raise ValidationError(
                "CASEDECK_SMTP_USERNAME is set but no password: set CASEDECK_SMTP_PASSWORD, or name the "
                "variable holding it in CASEDECK_SMTP_PASSWORD_ENV."
            )
        if self.username and self.security == "none" and self.host not in _LOOPBACK:
            raise ValidationError(
                "CASEDECK_SMTP_SECURITY=none would send the SMTP password unencrypted: use starttls or tls."
            )
        if self.ca_file is not None and not self.ca_file.is_file():
            raise ValidationError("CASEDECK_SMTP_CA_FILE does not name a readable file.")


def mail_settings_from_env(env: Mapping[str, str] | None = None) -> MailSettings | None:
    """Mail settings from ``CASEDECK_SMTP_*`` (see the module docstring); None when no host is set."""
    env = os.environ if env is None else env
    host = env.get("CASEDECK_SMTP_HOST", "").strip()
    if not host:
        return None
    security_text = env.get("CASEDECK_SMTP_SECURITY", "").strip().lower() or "starttls"
    security = next((s for s in SECURITIES if s == security_text), None)
    if security is None:
        raise ValidationError("CASEDECK_SMTP_SECURITY must be starttls, tls or none.")
    port_text = env.get("CASEDECK_SMTP_PORT", "").strip()
    if port_text and not port_text.isdigit():
        raise ValidationError("CASEDECK_SMTP_PORT must be a port number from 1 to 65535.")
    timeout_text = env.get("CASEDECK_SMTP_TIMEOUT", "").strip()
    try:
        timeout = float(timeout_text) if timeout_text else 10.0
    except ValueError:
        raise ValidationError("CASEDECK_SMTP_TIMEOUT must be a number of seconds.") from None
    password_env = env.get("CASEDECK_SMTP_PASSWORD_ENV", "").strip()
    if password_env:
        if password_env not in env:
            raise ValidationError(f"CASEDECK_SMTP_PASSWORD_ENV names {password_env}, which is not set.")
        password: str | None = env[password_env]
    else:
        password = env.get("CASEDECK_SMTP_PASSWORD") or None
    ca_text = env.get("CASEDECK_SMTP_CA_FILE", "").strip()
    sender = env.get("CASEDECK_SMTP_FROM", "").strip()
    if not sender:
        raise ValidationError("CASEDECK_SMTP_FROM (the sender address) must be set when CASEDECK_SMTP_HOST is.")
    public_url = env.get("CASEDECK_PUBLIC_URL", "").strip()
    if not public_url:
        raise ValidationError("CASEDECK_PUBLIC_URL (the app's address for links) must be set when e-mail is on.")
    return MailSettings(
        host=host,
        sender=sender,
        public_url=public_url,
        port=int(port_text) if port_text else DEFAULT_PORTS[security],
        security=security,
        username=env.get("CASEDECK_SMTP_USERNAME", "").strip() or None,
        password=password,
        timeout=timeout,
        ca_file=Path(ca_text) if ca_text else None,
    )


class Mailer:
    """Sends notifications as plain-text e-mail, one connection per message."""

    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings

    def __repr__(self) -> str:
        s = self.settings
        return f"Mailer({s.security}://{s.host}:{s.port})"

    def compose(self, notification: Notification) -> EmailMessage:
        """The e-mail for ``notification``; raises PhiInNotificationError before anything is sent."""
        mail = render_mail(notification, base_url=self.settings.public_url, sender=self.settings.sender)
        message = EmailMessage()
        message["From"] = self.settings.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = make_msgid(domain=self.settings.sender.rpartition("@")[2])
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to a notification
        message.set_content(mail.body, subtype="plain", charset="utf-8")
        return message

    def send(self, notification: Notification) -> None:
        """Compose, check and deliver ``notification`` to its recipient's address."""
        message = self.compose(notification)
        s = self.settings
        where = f"{s.host}:{s.port}"
        log.debug("Sending a %s notification through %s (%s)", notification.kind, where, s.security)
        try:
            self._deliver(message)
        except smtplib.SMTPAuthenticationError as exc:
            raise MailAuthError(
                f"The mail server {where} refused the sign-in of user {s.username!r} (reply {exc.smtp_code}): "
                "check CASEDECK_SMTP_USERNAME and the password. Nothing was sent."
            ) from None
        except smtplib.SMTPRecipientsRefused as exc:
            codes = sorted({code for code, _reply in exc.recipients.values()})
            raise MailRecipientRefused(
                f"The mail server {where} refused the recipient address {message['To']} (reply "
                f"{', '.join(map(str, codes))}). Nothing was sent."
            ) from None
        except smtplib.SMTPSenderRefused as exc:
            raise MailRefused(
                f"The mail server {where} refused the sender address {s.sender} (reply {exc.smtp_code}): "
                "check CASEDECK_SMTP_FROM. Nothing was sent."
            ) from None
        except smtplib.SMTPDataError as exc:
            raise MailRefused(
                f"The mail server {where} refused the message (reply {exc.smtp_code}). Nothing was sent."
            ) from None
        except (ssl.SSLCertVerificationError, ssl.CertificateError) as exc:
            raise MailTlsError(
                f"The mail server {where} showed a certificate that is not trusted for this host "
                f"({exc.__class__.__name__}): set CASEDECK_SMTP_CA_FILE to the CA that signed it. Nothing was sent."
            ) from None
        except ssl.SSLError as exc:
            raise MailTlsError(
                f"The encrypted connection to the mail server {where} failed ({exc.reason or 'TLS error'}): "
                "check CASEDECK_SMTP_SECURITY and the port. Nothing was sent."
            ) from None
        except smtplib.SMTPServerDisconnected as exc:
            # smtplib reports a read that timed out as a closed connection: tell the two apart.
            if isinstance(exc.__context__, TimeoutError):
                raise MailServerUnavailable(
                    f"The mail server {where} did not answer within {s.timeout:g} seconds. Nothing was sent."
                ) from None
            raise MailServerUnavailable(f"The mail server {where} closed the connection. Nothing was sent.") from None
        except TimeoutError:
            raise MailServerUnavailable(
                f"The mail server {where} did not answer within {s.timeout:g} seconds. Nothing was sent."
            ) from None
        except smtplib.SMTPException as exc:
            raise MailError(f"Mail to {where} failed ({exc.__class__.__name__}). Nothing was sent.") from None
        except OSError as exc:
            raise MailServerUnavailable(
                f"The mail server {where} cannot be reached ({exc.strerror or exc.__class__.__name__}): "
                "check CASEDECK_SMTP_HOST and CASEDECK_SMTP_PORT. Nothing was sent."
            ) from None
        log.info("Sent a %s notification through %s", notification.kind, where)

    def _context(self) -> ssl.SSLContext:
        ca = self.settings.ca_file
        return ssl.create_default_context(cafile=str(ca) if ca is not None else None)

    def _deliver(self, message: EmailMessage) -> None:
        s = self.settings
        smtp: smtplib.SMTP
        if s.security == "tls":
            smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=self._context())
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        with smtp:
            smtp.ehlo()
            if s.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise MailTlsError(
                        f"The mail server {s.host}:{s.port} does not offer STARTTLS; CaseDeck never falls back "
                        "to an unencrypted connection (use CASEDECK_SMTP_SECURITY=tls, or none on a trusted "
                        "local relay). Nothing was sent."
                    )
                smtp.starttls(context=self._context())
                smtp.ehlo()
            if s.username:
                if not smtp.has_extn("auth"):
                    raise MailAuthError(
                        f"The mail server {s.host}:{s.port} offers no sign-in (AUTH), but "
                        "CASEDECK_SMTP_USERNAME is set. Nothing was sent."
                    )
                smtp.login(s.username, s.password or "")
            smtp.send_message(message)
