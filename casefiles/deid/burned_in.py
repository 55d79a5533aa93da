"""Why an instance may carry text burned into its pixels (no OCR yet: a later issue adds it).

The reasons name only the rule that fired (a modality code, the SOP class), never a value.
"""

from __future__ import annotations

from pydicom.dataset import Dataset

from casefiles.deid.access import Encoding, text_values

# Modalities whose images routinely carry burned-in annotation (patient banners, measurements).
ROUTINE_BURN_IN_MODALITIES = frozenset(
    {"CR", "DX", "ES", "GM", "IO", "MG", "OP", "OT", "PX", "RF", "SC", "SM", "US", "XA", "XC", "DOC"}
)
SECONDARY_CAPTURE_PREFIX = "1.2.840.10008.5.1.4.1.1.7"  # SC and the multi-frame SC classes (.7.1 - .7.4)

BURNED_IN_ANNOTATION = 0x00280301
MODALITY = 0x00080060
SOP_CLASS_UID = 0x00080016


def burned_in_reasons(ds: Dataset, encoding: Encoding) -> tuple[str, ...]:
    """The reasons to suspect burned-in text in ``ds`` (empty when none applies)."""
    reasons: list[str] = []
    if any(v.strip().upper() == "YES" for v in text_values(ds, BURNED_IN_ANNOTATION, encoding)):
        reasons.append("Burned In Annotation is YES")
    for modality in text_values(ds, MODALITY, encoding):
        code = modality.strip().upper()
        if code in ROUTINE_BURN_IN_MODALITIES:
            reasons.append(f"modality {code} often carries burned-in text")
    for sop_class in text_values(ds, SOP_CLASS_UID, encoding):
        uid = sop_class.strip()
        if uid == SECONDARY_CAPTURE_PREFIX or uid.startswith(SECONDARY_CAPTURE_PREFIX + "."):
            reasons.append("Secondary Capture images are often screenshots with text")
    return tuple(reasons)
