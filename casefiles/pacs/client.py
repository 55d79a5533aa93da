"""One face for every PACS, whatever it speaks: DIMSE (C-ECHO/C-FIND/C-GET/C-MOVE/C-STORE) or DICOMweb.

:class:`PacsClient` is what a PACS does for CaseDeck; ``dimse.DimseClient`` and
``dicomweb.DicomwebClient`` are its two implementations, and :func:`client_for`
is the one place that picks one by the node's protocol. Pages, the CLI and the
retrieval code call the functions below with a node and never branch on the
protocol themselves. Wildcard name searches work over C-FIND; over QIDO they
depend on the server (Orthanc 1.10 does not URL-decode QIDO values, so there
they find nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import Protocol

from pydicom.dataset import Dataset

from casefiles.errors import ValidationError
from casefiles.pacs.dicomweb import DicomwebClient
from casefiles.pacs.dimse import DimseClient, OnEncoded, OnInstance, SeriesMatch, StudyMatch
from casefiles.pacs.nodes import PacsNode
from casefiles.pacs.results import RetrieveResult, StoreResult
from casefiles.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress


class PacsClient(Protocol):
    """Talking to one PACS node: test, search, retrieve, push."""

    def echo(self) -> float:
        """The round trip of a connection test, in seconds."""
        ...

    def find_studies(
        self,
        *,
        accession: str | None = None,
        patient_id: str | None = None,
        patient_name: str | None = None,
        date_from: date | str | None = None,
        date_to: date | str | None = None,
        modality: str | None = None,
    ) -> list[StudyMatch]: ...

    def find_series(self, study_uid: str) -> list[SeriesMatch]: ...

    def retrieve(
        self,
        study_uid: str,
        *,
        series_uids: Sequence[str] | None = None,
        on_instance: OnInstance | None = None,
        on_encoded: OnEncoded | None = None,
        cancel: CancelToken = NEVER_CANCELLED,
    ) -> RetrieveResult:
        """Each instance to ``on_instance`` as a dataset or to ``on_encoded`` as DICOM file bytes (one is given)."""
        ...

    def push(
        self,
        datasets: Iterable[Dataset],
        *,
        total: int | None = None,
        progress: ProgressFn = no_progress,
        cancel: CancelToken = NEVER_CANCELLED,
    ) -> StoreResult: ...


#: The client for each protocol a node may speak (``PacsNode.protocol``).
CLIENTS: Mapping[str, Callable[[PacsNode], PacsClient]] = {"dimse": DimseClient, "dicomweb": DicomwebClient}


def client_for(node: PacsNode) -> PacsClient:
    """The client that speaks ``node``'s protocol to it."""
    return CLIENTS[node.protocol](node)


def echo(node: PacsNode) -> float:
    """C-ECHO, or a QIDO probe for a DICOMweb node; the round trip in seconds."""
    return client_for(node).echo()


def find_studies(
    node: PacsNode,
    *,
    accession: str | None = None,
    patient_id: str | None = None,
    patient_name: str | None = None,
    date_from: date | str | None = None,
    date_to: date | str | None = None,
    modality: str | None = None,
) -> list[StudyMatch]:
    """Studies matching every given filter (C-FIND or QIDO-RS)."""
    return client_for(node).find_studies(
        accession=accession,
        patient_id=patient_id,
        patient_name=patient_name,
        date_from=date_from,
        date_to=date_to,
        modality=modality,
    )


def find_series(node: PacsNode, study_uid: str) -> list[SeriesMatch]:
    """The series of one study, with their instance counts."""
    return client_for(node).find_series(study_uid)


def retrieve(
    node: PacsNode,
    study_uid: str,
    *,
    series_uids: Sequence[str] | None = None,
    on_instance: OnInstance | None = None,
    on_encoded: OnEncoded | None = None,
    cancel: CancelToken = NEVER_CANCELLED,
) -> RetrieveResult:
    """A study (or some of its series) by WADO-RS, C-GET or C-MOVE, as the node is set up.

    Each instance goes to ``on_instance`` as a dataset or to ``on_encoded`` as
    DICOM file bytes (give one). Over DIMSE the bytes are the ones that came,
    never decoded, which is what makes a retrieval into the quarantine fast.
    """
    if (on_instance is None) == (on_encoded is None):
        raise ValidationError("Give exactly one of on_instance or on_encoded to receive the instances.")
    return client_for(node).retrieve(
        study_uid, series_uids=series_uids, on_instance=on_instance, on_encoded=on_encoded, cancel=cancel
    )


def push(
    node: PacsNode,
    datasets: Iterable[Dataset],
    *,
    total: int | None = None,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> StoreResult:
    """Send de-identified instances to the node (C-STORE or STOW-RS)."""
    return client_for(node).push(datasets, total=total, progress=progress, cancel=cancel)
