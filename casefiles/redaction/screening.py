"""Which images are worth the cost of OCR: a header-only screen.

OCR costs about a second per frame, so it runs only on images whose header
suggests text may be burned into the pixels: the modalities and SOP classes
where consoles, scanners and capture devices routinely stamp the patient's
name, ID and dates onto the image.
"""

from __future__ import annotations

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.uid import UID

# Modalities whose devices commonly burn text in (ultrasound banners, fluoroscopy
# overlays, endoscopy and photo captions, scanned documents, digital X-ray labels).
TEXT_PRONE_MODALITIES: frozenset[str] = frozenset(
    {"US", "SC", "OT", "XA", "XRF", "ES", "DX", "CR", "MG", "IO", "PX", "GM", "SM", "DOC"}
)

_SECONDARY_CAPTURE_ROOT = "1.2.840.10008.5.1.4.1.1.7"  # SC and its multi-frame family (.7.1 to .7.4)
_ENCAPSULATED_DOCUMENT_ROOT = "1.2.840.10008.5.1.4.1.1.104."  # PDF, CDA, STL, OBJ, MTL


def _sop_class_reason(sop_class: str) -> str | None:
    if sop_class == _SECONDARY_CAPTURE_ROOT or sop_class.startswith(_SECONDARY_CAPTURE_ROOT + "."):
        return f"SOP class is {UID(sop_class).name} (screen captures and scans)"
    if sop_class.startswith(_ENCAPSULATED_DOCUMENT_ROOT):
        return f"SOP class is {UID(sop_class).name} (a document)"
    return None


def _values(ds: Dataset, keyword: str) -> tuple[str, ...]:
    value = ds.get(keyword)
    if value is None:
        return ()
    items = value if isinstance(value, MultiValue | list | tuple) else [value]
    return tuple(str(item).strip().upper() for item in items)


def likely_has_burned_in_text(ds: Dataset) -> tuple[bool, tuple[str, ...]]:
    """Whether the image should be OCR-checked, and why (header facts only, never patient data).

    True when any of these holds: Burned In Annotation is YES; the modality is one
    whose devices commonly stamp text; the SOP class is Secondary Capture or an
    encapsulated document; Image Type contains SECONDARY. A "NO" in Burned In
    Annotation does not clear an image on its own, because devices set it wrongly.
    """
    reasons: list[str] = []
    if "YES" in _values(ds, "BurnedInAnnotation"):
        reasons.append("Burned In Annotation is YES")
    modality = next(iter(_values(ds, "Modality")), "")
    if modality in TEXT_PRONE_MODALITIES:
        reasons.append(f"modality {modality} often has text burned into the image")
    sop_reason = _sop_class_reason(str(ds.get("SOPClassUID", "")).strip())
    if sop_reason is not None:
        reasons.append(sop_reason)
    if "SECONDARY" in _values(ds, "ImageType"):
        reasons.append("Image Type is SECONDARY (a derived capture)")
    return bool(reasons), tuple(reasons)
