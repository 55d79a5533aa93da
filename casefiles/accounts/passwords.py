"""Local account passwords: argon2id through argon2-cffi, never stored or compared in clear.

``verify`` runs argon2's own constant-time check; a hash made with weaker parameters than today's
is reported by ``needs_rehash`` so sign-in can upgrade it. ``check_new_password`` is the one
policy every way of setting a password goes through (sign-up, change, admin reset).
"""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from casefiles.errors import ValidationError

MIN_LENGTH = 12
MAX_LENGTH = 256

#: argon2id with argon2-cffi's RFC 9106 "low memory" defaults (64 MiB, 3 passes).
_hasher = PasswordHasher()

#: A hash of a random password: checking an unknown user costs as much as checking a known one.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(32))


def check_new_password(password: str, *, username: str = "") -> None:
    """Refuse a password too short, too long, or containing the user name."""
    if not isinstance(password, str) or len(password) < MIN_LENGTH:
        raise ValidationError(f"A password needs at least {MIN_LENGTH} characters (a short sentence works well).")
    if len(password) > MAX_LENGTH:
        raise ValidationError(f"A password may have at most {MAX_LENGTH} characters.")
    if username and username.lower() in password.lower():
        raise ValidationError("A password must not contain the user name.")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; with no stored hash the same work is done and False returned."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    try:
        return _hasher.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


def one_time_password() -> str:
    """A random password for a first admin or an admin reset (shown once, changed at first sign-in)."""
    return secrets.token_urlsafe(18)
