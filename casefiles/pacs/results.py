"""What a push to or a retrieve from a PACS achieved, shared by the DIMSE and DICOMweb paths (and the
errors, which carry what a stopped retrieve brought)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StoreResult:
    """Instances the PACS accepted (``sent``), refused (``failed``) or accepted with a warning."""

    sent: int
    failed: int
    warnings: int = 0

    @property
    def complete(self) -> bool:
        return self.failed == 0


@dataclass(frozen=True, slots=True)
class RetrieveResult:
    """How a retrieve went: instances handed to the caller, and those the PACS or we gave up on."""

    received: int
    failed: int
    warnings: int
    #: Positions, in the order instances reached us (1 = first), of those of another study or series
    #: than asked for: refused unread past their UIDs, named so the registrar can tell the PACS admin.
    strays: tuple[int, ...] = ()
