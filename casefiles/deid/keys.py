"""The installation secret and everything derived from it with HMAC-SHA256.

Deriving UIDs, pseudonyms and date offsets from one secret keeps them stable
across instances, series and separate imports, and unguessable without the
secret (a plain hash of a patient ID could be reversed by trying IDs).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from casefiles.errors import StorageError, ValidationError

MIN_SECRET_BYTES = 16
SECRET_BYTES = 32
# Offsets lie in [-MAX_SHIFT_DAYS, -MIN_SHIFT_DAYS]: at least a year back, never zero.
MIN_SHIFT_DAYS = 365
MAX_SHIFT_DAYS = 3650
#: Domain of the key that study keys are made with (:func:`study_key`): never the secret itself.
STUDY_KEY_DOMAIN = b"casedeck study key"


def validate_secret(secret: bytes) -> bytes:
    if not isinstance(secret, bytes | bytearray):
        raise ValidationError(f"The de-identification secret must be bytes, not {type(secret).__name__}.")
    if len(secret) < MIN_SECRET_BYTES:
        raise ValidationError(
            f"The de-identification secret is too short ({len(secret)} bytes; at least {MIN_SECRET_BYTES} are needed)."
        )
    return bytes(secret)


def load_or_create_secret(path: Path) -> bytes:
    """The installation's secret: created once with 32 random bytes (mode 0600), then only read.

    Losing it breaks UID and pseudonym continuity with earlier imports, so an
    existing file is never overwritten, and a damaged one is an error.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except OSError as exc:
        raise StorageError(f"The secret key file cannot be created in {path.parent}: {exc.strerror}.") from exc
    else:
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(SECRET_BYTES))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise StorageError(f"The secret key file {path} cannot be read: {exc.strerror}.") from exc
    if len(data) < MIN_SECRET_BYTES:
        raise StorageError(
            f"The secret key file {path} is damaged (too short). Restore it from a backup; "
            "a new key would give every patient new pseudonyms and UIDs."
        )
    return data


def _digest(secret: bytes, domain: bytes, *parts: str) -> bytes:
    message = domain + b"\x00" + b"\x00".join(p.encode("utf-8") for p in parts)
    return hmac.new(secret, message, hashlib.sha256).digest()


def remap_uid(secret: bytes, uid: str) -> str:
    """HMAC-SHA256(secret, uid) -> '2.25.<decimal of the first 16 bytes>' (at most 44 characters)."""
    digest = hmac.new(secret, uid.encode("ascii", "replace"), hashlib.sha256).digest()
    return f"2.25.{int.from_bytes(digest[:16], 'big')}"


def pseudonym(secret: bytes, patient_id: str, issuer: str = "") -> tuple[str, str]:
    """(PatientName, PatientID) for one original patient, e.g. ('CASEDECK^7F3A2C', 'CD7F3A2C91E0')."""
    code = _digest(secret, b"patient", patient_id, issuer).hex().upper()
    return f"CASEDECK^{code[:6]}", f"CD{code[:10]}"


def date_offset_days(secret: bytes, patient_id: str, issuer: str = "") -> int:
    """A per-patient shift in days, in [-3650, -365]: the same for all of a patient's studies."""
    value = int.from_bytes(_digest(secret, b"date-offset", patient_id, issuer)[:8], "big")
    return -(MIN_SHIFT_DAYS + value % (MAX_SHIFT_DAYS - MIN_SHIFT_DAYS + 1))


def study_key(secret: bytes, study_uid: str) -> str:
    """A keyed hash of an ORIGINAL Study Instance UID: how a re-imported study is recognised.

    HMAC-SHA256 under a key derived from the secret for this use alone
    (``HMAC(secret, "casedeck study key")``), as 64 hex digits. It is not the
    remapped UID (:func:`remap_uid` hashes under the secret itself), cannot be
    turned back into the UID without the secret, and differs between
    installations. Empty for an empty UID.
    """
    uid = study_uid.strip().rstrip("\x00").strip() if isinstance(study_uid, str) else ""
    if not uid:
        return ""
    key = hmac.new(secret, STUDY_KEY_DOMAIN, hashlib.sha256).digest()
    return hmac.new(key, uid.encode("ascii", "replace"), hashlib.sha256).hexdigest()
