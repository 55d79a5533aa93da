"""Refuse to be open: which listening addresses serve this computer only, and the rule."""

from __future__ import annotations

import pytest

from casefiles.accounts.exposure import ExposedWithoutSignIn, check_exposure, is_loopback


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("localhost", True),
        ("127.0.0.2", True),
        ("0.0.0.0", False),
        ("", False),
        (None, False),
        ("10.1.2.3", False),
        ("casedeck.hospital.org", False),
        ("::", False),
    ],
)
def test_which_addresses_serve_this_computer_only(address: str | None, loopback: bool) -> None:
    assert is_loopback(address) is loopback


def test_the_network_needs_sign_in() -> None:
    check_exposure("127.0.0.1", sign_in_configured=False)
    check_exposure("0.0.0.0", sign_in_configured=True)
    with pytest.raises(ExposedWithoutSignIn, match="no sign-in is configured"):
        check_exposure("0.0.0.0", sign_in_configured=False)
