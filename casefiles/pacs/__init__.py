"""Talking to a PACS: node settings, C-ECHO, C-FIND, C-GET, C-MOVE and C-STORE (DICOMweb in ``dicomweb``,
either through ``client``).

Query results and retrieved datasets hold patient data; they stay in memory
and are handed to the caller, which decides what is written (the import
pipeline, with its quarantine).
"""

from casefiles.pacs.dimse import (
    SeriesMatch,
    StudyMatch,
    echo,
    find_series,
    find_studies,
    get_study,
    move_study,
    store_instances,
)
from casefiles.pacs.errors import (
    AssociationRejected,
    InvalidNode,
    PacsConnectionError,
    PacsError,
    PacsTimeout,
    QueryFailed,
    RetrieveInterrupted,
)
from casefiles.pacs.nodes import PacsNode, load_nodes, save_nodes
from casefiles.pacs.results import RetrieveResult

__all__ = [
    "AssociationRejected",
    "InvalidNode",
    "PacsConnectionError",
    "PacsError",
    "PacsNode",
    "PacsTimeout",
    "QueryFailed",
    "RetrieveInterrupted",
    "RetrieveResult",
    "SeriesMatch",
    "StudyMatch",
    "echo",
    "find_series",
    "find_studies",
    "get_study",
    "load_nodes",
    "move_study",
    "save_nodes",
    "store_instances",
]
