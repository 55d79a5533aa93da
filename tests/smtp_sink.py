"""A real SMTP server (aiosmtpd) that keeps every message it accepts, as pytest fixtures.

Variants, each on 127.0.0.1 and a free port, started in a thread by aiosmtpd's Controller:

- ``smtp_sink``: plain SMTP, no TLS, no sign-in;
- ``smtp_sink_starttls``: STARTTLS offered and required before MAIL;
- ``smtp_sink_tls``: implicit TLS from the first byte (SMTPS);
- ``smtp_sink_auth``: STARTTLS required, then AUTH PLAIN/LOGIN with ``SINK_USER``/``SINK_PASSWORD``.

The certificates are made at test time by ``tests/support/certificates.py`` (``cryptography``):
a throw-away CA (``sink.ca_file``, to trust through a CA-file setting) and a server certificate
for 127.0.0.1 and localhost it signed. Nothing is downloaded.
"""

from __future__ import annotations

import email
import email.policy
import logging
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tests.support.certificates import Certificates, make_certificates

SINK_USER = "casedeck-mailer"
SINK_PASSWORD = "s3cret-Sink-Passw0rd!"  # a test credential of the sink only


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class SmtpSink:
    host: str
    port: int
    ca_file: Path | None = None
    received: list[Received] = field(default_factory=list)
    auth_attempts: list[str] = field(default_factory=list)  # user names tried, successful or not

    @property
    def messages(self) -> list[EmailMessage]:
        return [r.message for r in self.received]


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = (envelope.original_content or envelope.content).replace(b"\r\n", b"\n")
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.sink.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _authenticator(sink: SmtpSink) -> Any:
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user = auth_data.login.decode()
        sink.auth_attempts.append(user)
        ok = user == SINK_USER and auth_data.password == SINK_PASSWORD.encode()
        return AuthResult(success=ok, handled=False)

    return authenticate


@pytest.fixture(scope="session")
def smtp_certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("smtp-certs"), ca_name="CaseDeck test SMTP CA")


def _run_sink(
    *,
    ssl_context: ssl.SSLContext | None = None,
    ca_file: Path | None = None,
    authenticate: bool = False,
    **smtp_kwargs: Any,
) -> Iterator[SmtpSink]:
    from aiosmtpd.controller import Controller

    # The sink's own protocol log quotes every line a client sends, AUTH included: keep it out of
    # the tests' log capture, which checks what CaseDeck logs.
    sink_log = logging.getLogger("mail.log")
    was_propagating, sink_log.propagate = sink_log.propagate, False
    sink = SmtpSink("127.0.0.1", free_port(), ca_file)
    if authenticate:
        smtp_kwargs.update(authenticator=_authenticator(sink), auth_required=True, auth_require_tls=True)
    controller = Controller(
        _Handler(sink), hostname=sink.host, port=sink.port, ssl_context=ssl_context, ready_timeout=10, **smtp_kwargs
    )
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()
        sink_log.propagate = was_propagating


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """Plain SMTP on 127.0.0.1: no TLS, no sign-in."""
    yield from _run_sink()


@pytest.fixture
def smtp_sink_starttls(smtp_certificates: Certificates) -> Iterator[SmtpSink]:
    """SMTP that offers STARTTLS and refuses MAIL before it."""
    yield from _run_sink(
        ca_file=smtp_certificates.ca_file,
        tls_context=smtp_certificates.server_context(),
        require_starttls=True,
    )


@pytest.fixture
def smtp_sink_tls(smtp_certificates: Certificates) -> Iterator[SmtpSink]:
    """SMTPS: implicit TLS from the first byte."""
    yield from _run_sink(ca_file=smtp_certificates.ca_file, ssl_context=smtp_certificates.server_context())


@pytest.fixture
def smtp_sink_auth(smtp_certificates: Certificates) -> Iterator[SmtpSink]:
    """STARTTLS required, then AUTH PLAIN or LOGIN as SINK_USER / SINK_PASSWORD."""
    yield from _run_sink(
        ca_file=smtp_certificates.ca_file,
        tls_context=smtp_certificates.server_context(),
        require_starttls=True,
        authenticate=True,
    )
