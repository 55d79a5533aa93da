"""Burned-in text: find it with OCR, blank it in the pixels.

Tag cleaning cannot remove a patient's name stamped into an ultrasound banner
or a scanned form. The header rules that decide which images are read live in
``casefiles.deid.burned_in``; ``find_burned_in_text``
reads a sample of frames; ``redact`` blanks boxes in every frame of a copy.
Findings never carry the recognised text.
"""

from casefiles.redaction.detect import find_burned_in_text, sample_frames
from casefiles.redaction.geometry import Box, TextFinding
from casefiles.redaction.ocr import find_text
from casefiles.redaction.pixels import redact

__all__ = [
    "Box",
    "TextFinding",
    "find_burned_in_text",
    "find_text",
    "redact",
    "sample_frames",
]
