"""One face for every PACS, whatever it speaks: DIMSE (C-ECHO/C-FIND/C-GET/C-MOVE/C-STORE) or DICOMweb.

Pages, the CLI and the retrieval code call these functions with a node and
never branch on the protocol themselves. Wildcard name searches work over
C-FIND; over QIDO they depend on the server (Orthanc 1.10 does not URL-decode
QIDO values, so there they find nothing).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import date

from pydicom.dataset import Dataset

from casefiles.errors import ValidationError
from casefiles.pacs import dicomweb, dimse
from casefiles.pacs.dimse import OnEncoded, OnInstance, SeriesMatch, StudyMatch
from casefiles.pacs.nodes import PacsNode
from casefiles.pacs.results import RetrieveResult, StoreResult
from casefiles.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress


def echo(node: PacsNode) -> float:
    """C-ECHO, or a QIDO probe for a DICOMweb node; the round trip in seconds."""
    return dicomweb.echo(node) if node.protocol == "dicomweb" else dimse.echo(node)


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
    find = dicomweb.find_studies if node.protocol == "dicomweb" else dimse.find_studies
    return find(
        node,
        accession=accession,
        patient_id=patient_id,
        patient_name=patient_name,
        date_from=date_from,
        date_to=date_to,
        modality=modality,
    )


def find_series(node: PacsNode, study_uid: str) -> list[SeriesMatch]:
    """The series of one study, with their instance counts."""
    return dicomweb.find_series(node, study_uid) if node.protocol == "dicomweb" else dimse.find_series(node, study_uid)


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
    if node.protocol == "dicomweb":
        if on_encoded is not None:
            on_instance = _as_file_bytes(on_encoded)
        return dicomweb.get_study(node, study_uid, series_uids=series_uids, on_instance=on_instance, cancel=cancel)  # type: ignore[arg-type]
    fetch = dimse.move_study if node.retrieve == "move" else dimse.get_study
    return fetch(
        node, study_uid, series_uids=series_uids, on_instance=on_instance, on_encoded=on_encoded, cancel=cancel
    )


def _as_file_bytes(on_encoded: OnEncoded) -> OnInstance:
    def encode(ds: Dataset) -> None:
        buffer = io.BytesIO()
        ds.save_as(buffer, enforce_file_format=True)
        on_encoded(buffer.getvalue())

    return encode


def push(
    node: PacsNode,
    datasets: Iterable[Dataset],
    *,
    total: int | None = None,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> StoreResult:
    """Send de-identified instances to the node (C-STORE or STOW-RS)."""
    store = dicomweb.store_instances if node.protocol == "dicomweb" else dimse.store_instances
    return store(node, datasets, total=total, progress=progress, cancel=cancel)
