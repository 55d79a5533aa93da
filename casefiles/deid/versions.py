"""Versions of the rules that make stored data safe to show, stamped on what they cleaned.

Each stored instance records the free-text and pixel rules it went through, and each case the
free-text rules of the text it took from DICOM. When a rule improves, its number goes up: the
release gate then holds back everything cleaned by older rules until ``python -m casefiles
recheck`` has run the current rules over it. 0 means "never" (stored before versions existed).
"""

from __future__ import annotations

#: Free text (descriptions, histories, SR text, titles and labels made from them).
#: 1: this patient's own identifiers and generic patterns only. 2: fail-closed safe-list cleaner.
TEXT_RULES = 2

#: Burned-in text in pixels. 1: modality, SOP class and Burned In Annotation decide which images
#: are read with OCR and held for review. 2: also screen saves and captures without Burned In
#: Annotation (Image Type, Conversion Type, colour from a grey modality, dose-report series).
#: 3: every frame of every image screened (OpenCV gate + recogniser); text blanked on every frame;
#: held for review only when it could not be cleared (casefiles.redaction.clean).
PIXEL_RULES = 3
