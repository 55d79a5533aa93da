"""E-mail notifications delivered to a real SMTP server (aiosmtpd, tests/smtp_sink.py)."""

from __future__ import annotations

import base64
import datetime as dt
import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from casefiles.errors import CaseDeckError
from casefiles.notify.errors import (
    MailAuthError,
    MailRecipientRefused,
    MailServerUnavailable,
    MailTlsError,
    PhiInNotificationError,
)
from casefiles.notify.mail import Mailer, MailSettings
from casefiles.notify.messages import (
    CaseShared,
    ConferenceChanged,
    Recipient,
    UploadArrived,
    check_no_phi,
    render_mail,
)
from tests.smtp_sink import SINK_PASSWORD, SINK_USER, SmtpSink, free_port

SENDER = "casedeck@radiology.example.org"
PUBLIC_URL = "https://casedeck.example.org"
ALICE = Recipient("alice", "Alice Martin", "alice@example.org")


def settings_for(sink: SmtpSink, **overrides: object) -> MailSettings:
    base = MailSettings(
        host=sink.host, port=sink.port, security="none", sender=SENDER, public_url=PUBLIC_URL, timeout=5
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def shared() -> CaseShared:
    return CaseShared(ALICE, "Bob Jones", "a1b2c3d4e5f6")


def assert_shared_case_mail(sink: SmtpSink) -> None:
    assert len(sink.received) == 1
    got = sink.received[0]
    assert got.rcpt_tos == ["alice@example.org"]
    assert got.mail_from == SENDER
    message = got.message
    assert message["To"] == "alice@example.org"
    assert message["From"] == SENDER
    assert message["Subject"] == "CaseDeck: Bob Jones shared a case with you"
    assert message["Auto-Submitted"] == "auto-generated"
    # Plain text only: one part, text/plain, no HTML anywhere.
    assert not message.is_multipart()
    assert message.get_content_type() == "text/plain"
    assert [part.get_content_type() for part in message.walk()] == ["text/plain"]
    body = message.get_content()
    assert "<html" not in body.lower() and "<a " not in body.lower()
    assert "https://casedeck.example.org/case?case=a1b2c3d4e5f6" in body
    assert "Hello Alice Martin," in body
    # What arrived passes the PHI guard with only the notification's own vouched values masked.
    vouched = (*shared().vouched(), PUBLIC_URL + shared().path, PUBLIC_URL, SENDER)
    check_no_phi(body, vouched=vouched)
    check_no_phi(str(message["Subject"]), vouched=vouched)


def test_shared_case_arrives_plain(smtp_sink: SmtpSink) -> None:
    Mailer(settings_for(smtp_sink)).send(shared())
    assert_shared_case_mail(smtp_sink)


def test_starttls_delivers_with_the_test_ca_trusted(smtp_sink_starttls: SmtpSink) -> None:
    settings = settings_for(smtp_sink_starttls, security="starttls", ca_file=smtp_sink_starttls.ca_file)
    Mailer(settings).send(shared())
    assert_shared_case_mail(smtp_sink_starttls)


def test_implicit_tls_delivers_with_the_test_ca_trusted(smtp_sink_tls: SmtpSink) -> None:
    settings = settings_for(smtp_sink_tls, security="tls", ca_file=smtp_sink_tls.ca_file)
    Mailer(settings).send(shared())
    assert_shared_case_mail(smtp_sink_tls)


def test_untrusted_certificate_is_refused(smtp_sink_tls: SmtpSink) -> None:
    """Without the CA file the self-signed chain is not trusted: a clear TLS error, nothing sent."""
    with pytest.raises(MailTlsError, match="not trusted"):
        Mailer(settings_for(smtp_sink_tls, security="tls")).send(shared())
    assert smtp_sink_tls.received == []


def test_starttls_never_falls_back_to_plain(smtp_sink: SmtpSink) -> None:
    with pytest.raises(MailTlsError, match="does not offer STARTTLS"):
        Mailer(settings_for(smtp_sink, security="starttls")).send(shared())
    assert smtp_sink.received == []


def test_auth_with_the_right_password_delivers(smtp_sink_auth: SmtpSink) -> None:
    settings = settings_for(
        smtp_sink_auth,
        security="starttls",
        ca_file=smtp_sink_auth.ca_file,
        username=SINK_USER,
        password=SINK_PASSWORD,
    )
    Mailer(settings).send(shared())
    assert smtp_sink_auth.auth_attempts == [SINK_USER]
    assert_shared_case_mail(smtp_sink_auth)


def test_wrong_password_is_a_clear_error_without_the_password(
    smtp_sink_auth: SmtpSink, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "Wr0ng-but-Secret-Pa55!"
    settings = settings_for(
        smtp_sink_auth, security="starttls", ca_file=smtp_sink_auth.ca_file, username=SINK_USER, password=wrong
    )
    caplog.set_level(logging.DEBUG)
    with pytest.raises(MailAuthError) as caught:
        Mailer(settings).send(shared())
    error = caught.value
    assert isinstance(error, CaseDeckError)
    assert "refused the sign-in" in str(error) and SINK_USER in str(error)
    assert set(smtp_sink_auth.auth_attempts) == {SINK_USER}  # smtplib tries PLAIN, then LOGIN
    assert smtp_sink_auth.received == []
    secrets = {wrong, SINK_PASSWORD, base64.b64encode(wrong.encode()).decode()}
    secrets.add(base64.b64encode(f"\0{SINK_USER}\0{wrong}".encode()).decode())  # AUTH PLAIN's blob
    shown = [str(error), repr(error), repr(settings), repr(Mailer(settings))]
    shown += [str(error.__cause__), str(error.__context__)]
    shown += [record.getMessage() for record in caplog.records]
    shown += [caplog.text]
    for text in shown:
        for secret in secrets:
            assert secret not in text
    assert any(r.name == "casefiles.notify.mail" for r in caplog.records)  # the capture did see our log


def test_password_comes_from_a_named_environment_variable(smtp_sink_auth: SmtpSink) -> None:
    from casefiles.notify.mail import mail_settings_from_env

    env = {
        "CASEDECK_SMTP_HOST": smtp_sink_auth.host,
        "CASEDECK_SMTP_PORT": str(smtp_sink_auth.port),
        "CASEDECK_SMTP_SECURITY": "starttls",
        "CASEDECK_SMTP_USERNAME": SINK_USER,
        "CASEDECK_SMTP_PASSWORD_ENV": "VAULT_SMTP_SECRET",
        "VAULT_SMTP_SECRET": SINK_PASSWORD,
        "CASEDECK_SMTP_PASSWORD": "not-this-one",
        "CASEDECK_SMTP_FROM": SENDER,
        "CASEDECK_SMTP_CA_FILE": str(smtp_sink_auth.ca_file),
        "CASEDECK_SMTP_TIMEOUT": "5",
        "CASEDECK_PUBLIC_URL": PUBLIC_URL + "/",
    }
    settings = mail_settings_from_env(env)
    assert settings is not None
    assert settings.password == SINK_PASSWORD
    assert SINK_PASSWORD not in repr(settings)
    Mailer(settings).send(shared())
    assert_shared_case_mail(smtp_sink_auth)


def test_server_down_is_a_clear_error_at_once() -> None:
    port = free_port()  # nothing listens there
    settings = MailSettings(host="127.0.0.1", port=port, security="none", sender=SENDER, public_url=PUBLIC_URL)
    start = time.monotonic()
    with pytest.raises(MailServerUnavailable, match=rf"127\.0\.0\.1:{port} cannot be reached"):
        Mailer(settings).send(shared())
    assert time.monotonic() - start < settings.timeout


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never says a word (a hung mail server)."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        server.close()


def test_hung_server_is_a_clear_error_within_the_timeout(silent_server: int) -> None:
    settings = MailSettings(
        host="127.0.0.1", port=silent_server, security="none", sender=SENDER, public_url=PUBLIC_URL, timeout=1
    )
    start = time.monotonic()
    with pytest.raises(MailServerUnavailable, match="did not answer within 1 seconds"):
        Mailer(settings).send(shared())
    assert time.monotonic() - start < 3


def test_recipient_refused_is_a_clear_error(smtp_sink: SmtpSink) -> None:
    """aiosmtpd refuses an address it cannot parse; a refusal by the server maps to its own error."""
    from aiosmtpd.handlers import Sink

    class Refusing(Sink):
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
            return "550 5.1.1 No such user here"

    from aiosmtpd.controller import Controller

    port = free_port()
    controller = Controller(Refusing(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings = MailSettings(host="127.0.0.1", port=port, security="none", sender=SENDER, public_url=PUBLIC_URL)
        with pytest.raises(
            MailRecipientRefused, match=r"refused the recipient address alice@example\.org \(reply 550\)"
        ):
            Mailer(settings).send(shared())
    finally:
        controller.stop()


def test_phi_in_a_body_is_refused_before_anything_is_sent(smtp_sink: SmtpSink) -> None:
    """A kind whose body carries a patient-like name and a date is stopped by the guard: no connection."""

    class Leaky(CaseShared):
        def body(self, base_url: str) -> str:
            return CaseShared.body(self, base_url) + "\nHistory: John Smith, born 1962-03-04.\n"

    with pytest.raises(PhiInNotificationError) as caught:
        Mailer(settings_for(smtp_sink)).send(Leaky(ALICE, "Bob Jones", "a1b2c3d4e5f6"))
    assert "Smith" not in str(caught.value) and "1962" not in str(caught.value)
    assert smtp_sink.received == []


def test_phi_refused_with_the_server_down_too() -> None:
    """The guard runs before the connection: a refused body never reaches even a dead server."""

    class Leaky(UploadArrived):
        def subject(self) -> str:
            return "Upload for Mrs Rose Tyler 12/03/1950"

    settings = MailSettings(host="127.0.0.1", port=free_port(), security="none", sender=SENDER, public_url=PUBLIC_URL)
    with pytest.raises(PhiInNotificationError):
        Mailer(settings).send(Leaky(ALICE, "case", "a1b2c3d4e5f6"))


def test_every_kind_is_delivered_as_plain_text(smtp_sink: SmtpSink) -> None:
    kinds = [
        shared(),
        UploadArrived(ALICE, "conference", "c0ffee123456"),
        ConferenceChanged(ALICE, "Bob Jones", "c0ffee123456", "GI tumor board", dt.date(2026, 12, 10)),
    ]
    mailer = Mailer(settings_for(smtp_sink))
    for notification in kinds:
        mailer.send(notification)
    assert len(smtp_sink.messages) == 3
    for notification, message in zip(kinds, smtp_sink.messages, strict=True):
        assert message.get_content_type() == "text/plain"
        assert not message.is_multipart()
        expected = render_mail(notification, base_url=PUBLIC_URL, sender=SENDER)
        assert message.get_content().rstrip("\n") == expected.body.rstrip("\n")


def test_settings_are_checked(tmp_path: Path) -> None:
    from casefiles.errors import ValidationError

    with pytest.raises(ValidationError, match="unencrypted"):
        MailSettings(
            host="mail.example.org",
            security="none",
            port=25,
            sender=SENDER,
            public_url=PUBLIC_URL,
            username="u",
            password="p",
        )
    with pytest.raises(ValidationError, match="CA_FILE"):
        MailSettings(host="mail.example.org", sender=SENDER, public_url=PUBLIC_URL, ca_file=tmp_path / "none.pem")
