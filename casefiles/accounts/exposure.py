"""Refuse to be open: CaseDeck serves other computers only when people must sign in (issue #16).

A teaching library holds de-identified, but still sensitive, material; an app listening on the
hospital network without sign-in would show it to anyone who finds the port. Until sign-in is
configured, CaseDeck serves this computer only.
"""

from __future__ import annotations

import ipaddress

from casefiles.errors import CaseDeckError


class ExposedWithoutSignIn(CaseDeckError):
    """The app was asked to listen beyond this computer with no sign-in configured."""


def is_loopback(address: str | None) -> bool:
    """Whether a listening address serves this computer only ("" and 0.0.0.0 mean every address)."""
    if address is None or not address.strip():
        return False
    text = address.strip().strip("[]")
    if text == "localhost":
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to the network card


def check_exposure(address: str | None, *, sign_in_configured: bool) -> None:
    """Raise :class:`ExposedWithoutSignIn` unless the address is loopback or sign-in is configured."""
    if sign_in_configured or is_loopback(address):
        return
    raise ExposedWithoutSignIn(
        "CaseDeck is set to listen on the network, but no sign-in is configured, so anyone who reaches this "
        "port could see the library. Start it on this computer only (ADDRESS=127.0.0.1 scripts/run-app), "
        "or configure sign-in first."
    )
