"""What a push to a PACS achieved, shared by the DIMSE (C-STORE) and DICOMweb (STOW-RS) paths."""

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
