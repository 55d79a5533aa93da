"""De-identification of DICOM instances (PS3.15 Annex E), before anything reaches the store.

Table-driven (``annex_e.json``, the standard's attribute list) and option-aware:
a :class:`Profile` is the Basic Profile plus options, a :class:`Deidentifier`
applies it with the installation's secret, and every result has passed a leak
check against the input's identifiers.
"""

from casefiles.deid.engine import Deidentifier, DeidReport, DeidResult
from casefiles.deid.keys import load_or_create_secret
from casefiles.deid.profiles import PROFILES, TEACHING_FILE, Profile
from casefiles.deid.table import Option

__all__ = [
    "PROFILES",
    "TEACHING_FILE",
    "DeidReport",
    "DeidResult",
    "Deidentifier",
    "Option",
    "Profile",
    "load_or_create_secret",
]
