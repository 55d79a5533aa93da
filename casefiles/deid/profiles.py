"""Named de-identification profiles: the Basic Profile plus a chosen set of options."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from casefiles.deid.table import Option
from casefiles.errors import ValidationError


@dataclass(frozen=True, slots=True)
class Profile:
    """The Basic Application Level Confidentiality Profile with ``options`` (PS3.15 E.3)."""

    name: str
    options: frozenset[Option]
    description: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValidationError("A de-identification profile needs a name.")
        if not isinstance(self.options, frozenset) or not all(isinstance(o, Option) for o in self.options):
            raise ValidationError(f"Profile {self.name!r}: options must be a frozenset of Option values.")
        if {Option.RETAIN_LONG_FULL_DATES, Option.RETAIN_LONG_MODIFIED_DATES} <= self.options:
            raise ValidationError(
                f"Profile {self.name!r}: choose either full dates or modified dates to retain, not both."
            )


# CID 7050 "De-identification Method": code value and meaning per option (scheme DCM).
BASIC_PROFILE_CODE = ("113100", "Basic Application Confidentiality Profile")
OPTION_CODES: Mapping[Option, tuple[str, str]] = MappingProxyType(
    {
        Option.CLEAN_PIXEL_DATA: ("113101", "Clean Pixel Data Option"),
        Option.CLEAN_GRAPHICS: ("113103", "Clean Graphics Option"),
        Option.CLEAN_STRUCTURED_CONTENT: ("113104", "Clean Structured Content Option"),
        Option.CLEAN_DESCRIPTORS: ("113105", "Clean Descriptors Option"),
        Option.RETAIN_LONG_FULL_DATES: ("113106", "Retain Longitudinal Temporal Information Full Dates Option"),
        Option.RETAIN_LONG_MODIFIED_DATES: (
            "113107",
            "Retain Longitudinal Temporal Information Modified Dates Option",
        ),
        Option.RETAIN_PATIENT_CHARACTERISTICS: ("113108", "Retain Patient Characteristics Option"),
        Option.RETAIN_DEVICE_IDENTITY: ("113109", "Retain Device Identity Option"),
        Option.RETAIN_UIDS: ("113110", "Retain UIDs Option"),
        Option.RETAIN_SAFE_PRIVATE: ("113111", "Retain Safe Private Option"),
        Option.RETAIN_INSTITUTION_IDENTITY: ("113112", "Retain Institution Identity Option"),
    }
)

BASIC = Profile(
    name="basic",
    options=frozenset(),
    description="The Basic Profile alone: removes or blanks every listed identifier, descriptions and dates.",
)

_TEACHING_OPTIONS = frozenset(
    {
        Option.RETAIN_LONG_MODIFIED_DATES,
        Option.RETAIN_PATIENT_CHARACTERISTICS,
        Option.CLEAN_DESCRIPTORS,
        Option.CLEAN_STRUCTURED_CONTENT,
        Option.CLEAN_GRAPHICS,
    }
)
_TEACHING_DESCRIPTION = (
    "Keeps what teaching needs: modality, anatomy, sequence names, age, sex, size and weight, and the "
    "intervals between a patient's exams (dates shifted by a per-patient offset). Descriptions are kept "
    "with this patient's identifiers cut out. Overlays and curves are removed: they can hold burned-in text."
)

TEACHING_FILE = Profile(
    name="teaching-file",
    options=_TEACHING_OPTIONS | {Option.CLEAN_PIXEL_DATA},
    description=_TEACHING_DESCRIPTION
    + " Images likely to carry burned-in text (ultrasound, secondary captures, radiographs, Burned In "
    "Annotation YES) are read with OCR, the text is blanked in every frame, and each is flagged for review.",
)

TEACHING_FILE_NO_OCR = Profile(
    name="teaching-file-no-ocr",
    options=_TEACHING_OPTIONS,
    description=_TEACHING_DESCRIPTION
    + " No OCR: images likely to carry burned-in text are only flagged for review (faster, for studies "
    "known to have none).",
)

PROFILES: Mapping[str, Profile] = MappingProxyType({p.name: p for p in (BASIC, TEACHING_FILE, TEACHING_FILE_NO_OCR)})
