"""Imported once by the import workers' fork server, before it starts any worker.

What is loaded here every worker has from its first file on, shared copy-on-write:
the worker's module with pydicom and the de-identifier, and the free-text
cleaner's word lists, which cost each worker ~0.3 s of CPU at its first file
(a tenth of a 600-image tumor board's de-identification on two cores).
"""

from casefiles.deid import freetext
from casefiles.ingest import prepare

__all__ = ["prepare"]

freetext.warm_up()
