"""CASEDECK_SMTP_* and CASEDECK_PUBLIC_URL from the environment."""

from __future__ import annotations

import pytest

from casefiles.errors import ValidationError
from casefiles.notify.mail import mail_settings_from_env
from casefiles.notify.messages import public_url_from_env

BASE = {
    "CASEDECK_SMTP_HOST": "mail.example.org",
    "CASEDECK_SMTP_FROM": "casedeck@example.org",
    "CASEDECK_PUBLIC_URL": "https://casedeck.example.org/",
}


def test_no_host_means_mail_is_off() -> None:
    assert mail_settings_from_env({}) is None
    assert mail_settings_from_env({"CASEDECK_SMTP_HOST": "  "}) is None


def test_defaults() -> None:
    settings = mail_settings_from_env(BASE)
    assert settings is not None
    assert (settings.security, settings.port, settings.timeout) == ("starttls", 587, 10.0)
    assert settings.username is None and settings.password is None
    assert settings.public_url == "https://casedeck.example.org"


@pytest.mark.parametrize(("security", "port"), [("tls", 465), ("none", 25), ("STARTTLS", 587)])
def test_default_port_follows_security(security: str, port: int) -> None:
    settings = mail_settings_from_env({**BASE, "CASEDECK_SMTP_SECURITY": security})
    assert settings is not None and settings.port == port


def test_password_from_casedeck_smtp_password() -> None:
    settings = mail_settings_from_env({**BASE, "CASEDECK_SMTP_USERNAME": "u", "CASEDECK_SMTP_PASSWORD": "pw-123"})
    assert settings is not None and settings.password == "pw-123"
    assert "pw-123" not in repr(settings)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"CASEDECK_SMTP_SECURITY": "ssl3"}, "starttls, tls or none"),
        ({"CASEDECK_SMTP_PORT": "smtp"}, "port number"),
        ({"CASEDECK_SMTP_PORT": "70000"}, "port number"),
        ({"CASEDECK_SMTP_TIMEOUT": "soon"}, "seconds"),
        ({"CASEDECK_SMTP_TIMEOUT": "0"}, "seconds"),
        ({"CASEDECK_SMTP_FROM": ""}, "CASEDECK_SMTP_FROM"),
        ({"CASEDECK_SMTP_FROM": "not an address"}, "e-mail address"),
        ({"CASEDECK_PUBLIC_URL": ""}, "CASEDECK_PUBLIC_URL"),
        ({"CASEDECK_PUBLIC_URL": "casedeck.example.org"}, "CASEDECK_PUBLIC_URL"),
        ({"CASEDECK_SMTP_USERNAME": "u"}, "no password"),
        ({"CASEDECK_SMTP_PASSWORD": "p"}, "without CASEDECK_SMTP_USERNAME"),
        ({"CASEDECK_SMTP_USERNAME": "u", "CASEDECK_SMTP_PASSWORD_ENV": "MISSING_VAR"}, "MISSING_VAR"),
    ],
)
def test_bad_settings_are_clear(extra: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        mail_settings_from_env({**BASE, **extra})


def test_public_url() -> None:
    assert public_url_from_env({}) is None
    assert public_url_from_env({"CASEDECK_PUBLIC_URL": "http://127.0.0.1:8501/"}) == "http://127.0.0.1:8501"
    with pytest.raises(ValidationError):
        public_url_from_env({"CASEDECK_PUBLIC_URL": "https://x.org/?next=evil"})
