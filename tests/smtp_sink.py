"""A real SMTP server (aiosmtpd) that keeps every message it accepts, as pytest fixtures.

Variants, each on 127.0.0.1 and a free port, started in a thread by aiosmtpd's Controller:

- ``smtp_sink``: plain SMTP, no TLS, no sign-in;
- ``smtp_sink_starttls``: STARTTLS offered and required before MAIL;
- ``smtp_sink_tls``: implicit TLS from the first byte (SMTPS);
- ``smtp_sink_auth``: STARTTLS required, then AUTH PLAIN/LOGIN with ``SINK_USER``/``SINK_PASSWORD``.

The certificates are made at test time with ``cryptography``: a throw-away CA (``sink.ca_file``,
to trust through a CA-file setting) and a server certificate for 127.0.0.1 and localhost it
signed. Nothing is downloaded.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import logging
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

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


@dataclass(frozen=True)
class SinkCertificates:
    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def make_certificates(folder: Path) -> SinkCertificates:
    """A CA and a server certificate for 127.0.0.1/localhost it signed (EC P-256, valid for a day)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CaseDeck test SMTP CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    ca_file = folder / "ca.pem"
    cert_file = folder / "server.pem"
    key_file = folder / "server.key"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return SinkCertificates(ca_file, cert_file, key_file)


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
def smtp_certificates(tmp_path_factory: pytest.TempPathFactory) -> SinkCertificates:
    return make_certificates(tmp_path_factory.mktemp("smtp-certs"))


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
def smtp_sink_starttls(smtp_certificates: SinkCertificates) -> Iterator[SmtpSink]:
    """SMTP that offers STARTTLS and refuses MAIL before it."""
    yield from _run_sink(
        ca_file=smtp_certificates.ca_file,
        tls_context=smtp_certificates.server_context(),
        require_starttls=True,
    )


@pytest.fixture
def smtp_sink_tls(smtp_certificates: SinkCertificates) -> Iterator[SmtpSink]:
    """SMTPS: implicit TLS from the first byte."""
    yield from _run_sink(ca_file=smtp_certificates.ca_file, ssl_context=smtp_certificates.server_context())


@pytest.fixture
def smtp_sink_auth(smtp_certificates: SinkCertificates) -> Iterator[SmtpSink]:
    """STARTTLS required, then AUTH PLAIN or LOGIN as SINK_USER / SINK_PASSWORD."""
    yield from _run_sink(
        ca_file=smtp_certificates.ca_file,
        tls_context=smtp_certificates.server_context(),
        require_starttls=True,
        authenticate=True,
    )
