"""Burned-in text: find it with OCR, blank it in the pixels.

Tag cleaning cannot remove a patient's name stamped into an ultrasound banner
or a scanned form. ``likely_has_burned_in_text`` screens headers so OCR
(about a second a frame) runs only where it is needed; ``find_burned_in_text``
reads a sample of frames; ``redact`` blanks boxes in every frame of a copy.
Findings never carry the recognised text.
"""

from casefiles.redaction.detect import find_burned_in_text, sample_frames
from casefiles.redaction.geometry import Box, TextFinding
from casefiles.redaction.ocr import find_text
from casefiles.redaction.pixels import redact
from casefiles.redaction.screening import TEXT_PRONE_MODALITIES, likely_has_burned_in_text

__all__ = [
    "TEXT_PRONE_MODALITIES",
    "Box",
    "TextFinding",
    "find_burned_in_text",
    "find_text",
    "likely_has_burned_in_text",
    "redact",
    "sample_frames",
]
