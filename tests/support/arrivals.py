"""What a pull hands its retrieved studies to, in a test: an import into a test library as they arrive."""

from __future__ import annotations

from collections.abc import Iterable

from casefiles.ingest import Found, ImportReport, import_arriving
from casefiles.pacs.retrieval import ImportArrivals
from casefiles.progress import NEVER_CANCELLED, CancelToken, ProgressFn
from casefiles.services import Services


def import_arrivals_into(services: Services, *, cancel: CancelToken = NEVER_CANCELLED) -> ImportArrivals:
    """``retrieve_studies``' ``import_arrivals`` for ``services``' library (what PacsService passes, unguarded)."""

    def import_arrivals(arrivals: Iterable[Found], expected: int, progress: ProgressFn) -> ImportReport:
        return import_arriving(
            arrivals,
            store=services.store,
            blobs=services.blobs,
            deidentifier=services.deidentifier,
            quarantine_dir=services.settings.quarantine_dir,
            expected=expected,
            progress=progress,
            cancel=cancel,
            review_area=services.review_area,
        )

    return import_arrivals
