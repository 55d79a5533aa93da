"""DICOM import: files, folders, zips, DICOMDIRs and uploads -> quarantine -> de-identify -> store -> cases.

Raw input only ever exists inside a fresh folder in the quarantine, removed
whatever happens; what reaches the library has been through the
de-identifier. Problems with single files are reported, never raised.
"""

from casefiles.ingest.pipeline import POOL_THRESHOLD, ImportWorkers, import_arriving, import_sources, import_workers
from casefiles.ingest.pool import warm_up_workers
from casefiles.ingest.quarantine import QuarantineFolder, wipe_quarantine
from casefiles.ingest.report import DuplicateStudy, ImportProblem, ImportReport, Upload
from casefiles.ingest.sources import Found
from casefiles.ingest.zipsafe import DEFAULT_ZIP_LIMITS, ZipLimits

__all__ = [
    "DEFAULT_ZIP_LIMITS",
    "POOL_THRESHOLD",
    "DuplicateStudy",
    "Found",
    "ImportProblem",
    "ImportReport",
    "ImportWorkers",
    "QuarantineFolder",
    "Upload",
    "ZipLimits",
    "import_arriving",
    "import_sources",
    "import_workers",
    "warm_up_workers",
    "wipe_quarantine",
]
