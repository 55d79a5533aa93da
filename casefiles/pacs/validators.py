"""Checks of DICOM network settings shared by the node settings and the receiver (as pynetdicom keeps
its own in ``pynetdicom.utils``): one low module both import, so neither imports the other."""

from __future__ import annotations

from casefiles.pacs.errors import InvalidNode

#: The largest single instance CaseDeck takes from a PACS, pushed or pulled (a whole-slide level or a long
#: cine can be large; anything beyond this is refused with a message rather than filling the disk).
MAX_INSTANCE_BYTES = 2 * 2**30


def check_ae_title(value: object, what: str) -> None:
    """Raise :class:`InvalidNode` unless ``value`` is a usable AE title; ``what`` names it in the message."""
    # PS3.5 AE VR: up to 16 characters, no backslash or control characters, not all spaces.
    if not isinstance(value, str) or not value.strip():
        raise InvalidNode(f"{what} must be a non-empty text of up to 16 characters.")
    if len(value) > 16:
        raise InvalidNode(f"{what} {value!r} is longer than the 16 characters DICOM allows.")
    if "\\" in value or any(ord(c) < 32 or ord(c) > 126 for c in value):
        raise InvalidNode(f"{what} {value!r} may hold only plain ASCII letters, digits and punctuation, no backslash.")


def check_port(value: object, what: str) -> None:
    """Raise :class:`InvalidNode` unless ``value`` is a TCP port number; ``what`` names it in the message."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise InvalidNode(f"{what} must be a whole number from 1 to 65535, not {value!r}.")
