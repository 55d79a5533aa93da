"""Errors of notifications: what went wrong, in words an admin can act on.

No message ever holds the SMTP password, a message body, or anything a mail server
said back verbatim (only its numeric reply code).
"""

from __future__ import annotations

from casefiles.errors import CaseDeckError


class NotificationError(CaseDeckError):
    """A notification cannot be made or sent."""


class PhiInNotificationError(NotificationError):
    """A notification's text holds something that could be patient data; it was not sent."""


class MailError(NotificationError):
    """An e-mail could not be delivered to the mail server; nothing was sent."""


class MailServerUnavailable(MailError):
    """The mail server could not be reached, did not answer in time, or hung up."""


class MailTlsError(MailError):
    """The encrypted connection failed: no STARTTLS offered, or a certificate that is not trusted."""


class MailAuthError(MailError):
    """The mail server refused the configured user name and password (or offers no sign-in)."""


class MailRefused(MailError):
    """The mail server refused the sender or the message."""


class MailRecipientRefused(MailRefused):
    """The mail server refused the recipient's address."""
