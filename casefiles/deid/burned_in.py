"""Why an instance may carry text burned into its pixels: the header rules.

One rule set for the whole application (the de-identifier applies it to every
instance; the release gate trusts only instances screened by the current
version, ``casefiles.deid.versions.PIXEL_RULES``). A rule that fires sends the
image to OCR and holds it for a person's review.

Real screen captures rarely say so: Burned In Annotation is usually absent.
So besides the modalities and SOP classes where devices stamp text, the rules
look for what a capture looks like from its header: a SECONDARY or screen-save
Image Type, a Conversion Type (anything converted or captured), colour pixels
from a modality that scans in grey, and series named like dose reports or
screen saves. The reasons name only the rule that fired (a modality code, the
SOP class), never a value that could identify anyone.
"""

from __future__ import annotations

import re

from pydicom.dataset import Dataset

from casefiles.deid.access import Encoding, text_values

# Modalities whose images routinely carry burned-in annotation (patient banners, measurements).
ROUTINE_BURN_IN_MODALITIES = frozenset(
    {"CR", "DX", "ES", "GM", "IO", "MG", "OP", "OT", "PX", "RF", "SC", "SM", "US", "XA", "XC", "DOC"}
)
# Modalities that acquire in grey: a colour image from them is a rendering or a screenshot.
GREY_MODALITIES = frozenset({"CT", "MR", "PT", "NM", "CR", "DX", "MG", "RF", "XA"})
SECONDARY_CAPTURE_PREFIX = "1.2.840.10008.5.1.4.1.1.7"  # SC and the multi-frame SC classes (.7.1 - .7.4)
ENCAPSULATED_DOCUMENT_PREFIX = "1.2.840.10008.5.1.4.1.1.104."  # PDF, CDA, STL, OBJ, MTL
# Image Type values vendors write on screen saves, dose screens and report pages.
CAPTURE_IMAGE_TYPES = frozenset({"SECONDARY", "SCREEN SAVE", "SCREENSHOT", "CSA REPORT", "REPORT", "DOSE_INFO"})
# Words in a series description that mark a page of text rather than an acquisition.
CAPTURE_SERIES_WORDS = re.compile(
    r"\b(dose|screen ?saves?|screen ?shots?|screen ?captures?|captures?|report|protocol|summary|exam ?info)\b",
    re.IGNORECASE,
)

BURNED_IN_ANNOTATION = 0x00280301
MODALITY = 0x00080060
SOP_CLASS_UID = 0x00080016
IMAGE_TYPE = 0x00080008
CONVERSION_TYPE = 0x00080064
PHOTOMETRIC_INTERPRETATION = 0x00280004
SERIES_DESCRIPTION = 0x0008103E


def burned_in_reasons(ds: Dataset, encoding: Encoding) -> tuple[str, ...]:
    """The reasons to suspect burned-in text in ``ds`` (empty when none applies).

    A "NO" in Burned In Annotation does not clear an image: devices set it wrongly.
    """

    def values(tag: int) -> list[str]:
        return [v.strip().upper() for v in text_values(ds, tag, encoding)]

    reasons: list[str] = []
    if "YES" in values(BURNED_IN_ANNOTATION):
        reasons.append("Burned In Annotation is YES")
    modalities = values(MODALITY)
    for code in modalities:
        if code in ROUTINE_BURN_IN_MODALITIES:
            reasons.append(f"modality {code} often carries burned-in text")
    for uid in values(SOP_CLASS_UID):
        if uid == SECONDARY_CAPTURE_PREFIX or uid.startswith(SECONDARY_CAPTURE_PREFIX + "."):
            reasons.append("Secondary Capture images are often screenshots with text")
        elif uid.startswith(ENCAPSULATED_DOCUMENT_PREFIX):
            reasons.append("an encapsulated document is a page of text")
    if CAPTURE_IMAGE_TYPES.intersection(values(IMAGE_TYPE)):
        reasons.append("Image Type marks a secondary capture or screen save")
    if values(CONVERSION_TYPE):
        reasons.append("Conversion Type marks a converted or captured image")
    colour = any(not p.startswith("MONOCHROME") for p in values(PHOTOMETRIC_INTERPRETATION))
    if colour and GREY_MODALITIES.intersection(modalities):
        reasons.append("a colour image from a greyscale modality is a rendering or a screenshot")
    if any(CAPTURE_SERIES_WORDS.search(d) for d in values(SERIES_DESCRIPTION)):
        reasons.append("the series is named like a dose report or screen save")
    return tuple(reasons)


def looks_like_capture(ds: Dataset, encoding: Encoding) -> bool:
    """A screen capture, dose screen or scanned page: text is the point of the image, not an overlay.

    These get a second, independent text detector (whole-frame Tesseract) on top of screening;
    a modality that merely often carries labels (US, CR) does not.
    """
    return is_capture(burned_in_reasons(ds, encoding))


def is_capture(reasons: tuple[str, ...]) -> bool:
    """:func:`looks_like_capture` from the :func:`burned_in_reasons` already found for the image."""
    return any(not r.startswith("modality ") for r in reasons)


def declares_burned_in(ds: Dataset, encoding: Encoding) -> bool:
    """Whether the header itself says text is burned in (then screening that finds none is not believed)."""
    return any(v.strip().upper() == "YES" for v in text_values(ds, BURNED_IN_ANNOTATION, encoding))
