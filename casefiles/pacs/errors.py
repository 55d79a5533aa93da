"""PACS errors, each worded for the registrar who has to fix the setup.

Messages name the node, host, port and AE titles (configuration, not patient
data) and never a patient, accession or study identifier.
"""

from __future__ import annotations

from casefiles.errors import CaseDeckError, ValidationError
from casefiles.pacs.results import RetrieveResult


class PacsError(CaseDeckError):
    """Talking to a PACS failed."""


class InvalidNode(PacsError, ValidationError):
    """A PACS node's settings (AE title, port, protocol...) are not usable."""


class PacsConnectionError(PacsError):
    """No network connection could be made (refused, unreachable, unknown host)."""


class PacsTimeout(PacsError):
    """The PACS did not answer in time."""


class AssociationRejected(PacsError):
    """The PACS refused or aborted the DICOM association (AE titles, contexts)."""


class QueryFailed(PacsError):
    """A C-FIND was answered with a failure status."""


class RetrieveInterrupted(PacsError):
    """A C-GET or C-MOVE stopped part-way; ``partial`` says what did arrive intact."""

    def __init__(self, message: str, partial: RetrieveResult) -> None:
        super().__init__(message)
        self.partial = partial
