"""IHE Teaching File and Clinical Trial Export (TCE): read a Key Object Selection document.

A radiologist at the PACS flags images "For Teaching" or "For Conference" and
sends a Key Object Selection (KOS, DICOM SR template 2010) with the study.
This module turns such a KOS, held in memory, into a :class:`TeachingSelection`:
the title (CID 7010), the sender's description and the selected instances.

The KOS holds the patient's identifiers and original UIDs: the selection keeps
UIDs in memory only (the inbox maps them through the de-identifier), and the
description is cleaned of this patient's identifiers before it leaves here.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass

from pydicom.dataset import Dataset

from casefiles.deid.access import encoding_of
from casefiles.deid.freetext import clean_free_text
from casefiles.deid.identifiers import clean_text, collect_identifiers
from casefiles.errors import ValidationError

#: Key Object Selection Document Storage.
KOS_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.88.59"
#: The longest description kept; a teaching note, not a report.
MAX_DESCRIPTION = 10_000
_MAX_DEPTH = 8  # content trees of TID 2010 are flat; deeper nesting is malformed input
_REFERENCE_TYPES = frozenset({"IMAGE", "COMPOSITE", "WAVEFORM"})
_KEY_OBJECT_DESCRIPTION = ("113012", "DCM")


class TceError(ValidationError):
    """A key object selection cannot be used (no title, no references, not a KOS)."""


class KosTitle(enum.StrEnum):
    """The document title of a KOS (CID 7010), as far as CaseDeck acts on it."""

    FOR_TEACHING = "for teaching"
    FOR_CONFERENCE = "for conference"
    OF_INTEREST = "of interest"
    OTHER = "other"


_TITLES = {
    ("113004", "DCM"): KosTitle.FOR_TEACHING,
    ("113005", "DCM"): KosTitle.FOR_CONFERENCE,
    ("113000", "DCM"): KosTitle.OF_INTEREST,
}


@dataclass(frozen=True, slots=True)
class TeachingSelection:
    """What one KOS selects. Holds original UIDs: memory only, never logged or stored."""

    title: KosTitle
    description: str
    study_uid: str
    referenced_sop_uids: tuple[str, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.title, KosTitle):
            raise TceError(f"A selection's title must be one of {[t.value for t in KosTitle]}.")
        if not isinstance(self.description, str):
            raise TceError("A selection's description must be text.")
        if not _is_uid(self.study_uid):
            raise TceError("A selection needs the Study Instance UID of the images it selects.")
        if not self.referenced_sop_uids or not all(_is_uid(u) for u in self.referenced_sop_uids):
            raise TceError("A selection needs at least one valid SOP Instance UID.")


def is_kos(ds: Dataset) -> bool:
    """True if ``ds`` claims to be a Key Object Selection document."""
    return str(ds.get("SOPClassUID", "")) == KOS_SOP_CLASS


def parse_kos(ds: Dataset) -> TeachingSelection:
    """The title, description, study and selected instances of a KOS.

    Raises :class:`TceError` (a :class:`~casefiles.errors.ValidationError`)
    when the document is not a KOS, has no title or selects nothing; any
    other trouble reading it is reported the same way, never as a crash.
    """
    if not isinstance(ds, Dataset):
        raise TceError(f"Only a DICOM dataset can be read as a key object selection, not {type(ds).__name__}.")
    try:
        return _parse(ds)
    except TceError:
        raise
    except Exception as exc:
        # The cause may hold values from the document (PHI): name only its type.
        raise TceError(
            f"The key object selection could not be read ({type(exc).__name__}); it is damaged or incomplete."
        ) from None


def _parse(ds: Dataset) -> TeachingSelection:
    if not is_kos(ds):
        raise TceError("This instance is not a Key Object Selection document.")
    title = _title(ds)
    content = ds.get("ContentSequence") or []
    texts: list[str] = []
    references: list[str] = []
    for item in _walk(content, 0):
        value_type = str(item.get("ValueType", "")).upper()
        if value_type == "TEXT" and _code(item) == _KEY_OBJECT_DESCRIPTION:
            text = str(item.get("TextValue", "") or "").strip()
            if text:
                texts.append(text)
        elif value_type in _REFERENCE_TYPES:
            references += _sop_uids(item.get("ReferencedSOPSequence") or [])
    evidence = list(_evidence(ds))
    if not references:
        # A KOS whose content lists no items still names its instances in the evidence sequence.
        references = [sop for _study, sop in evidence]
    selected = tuple(dict.fromkeys(u for u in references if _is_uid(u)))
    if not selected:
        raise TceError(
            "The key object selection references no images (no image items and no evidence); "
            "select the images again at the workstation and resend."
        )
    return TeachingSelection(
        title=title,
        description=_cleaned_description(ds, "\n\n".join(texts)),
        study_uid=_study_of(ds, evidence, selected),
        referenced_sop_uids=selected,
    )


def _title(ds: Dataset) -> KosTitle:
    code = _code(ds)
    if code is None:
        raise TceError(
            "The key object selection has no document title (Concept Name Code Sequence), so it is not "
            "known whether it is meant for teaching or for a conference."
        )
    return _TITLES.get(code, KosTitle.OTHER)


def _code(item: Dataset) -> tuple[str, str] | None:
    names = item.get("ConceptNameCodeSequence") or []
    if not names:
        return None
    first = names[0]
    value = str(first.get("CodeValue", "") or first.get("LongCodeValue", "") or "").strip()
    scheme = str(first.get("CodingSchemeDesignator", "") or "").strip()
    return (value, scheme) if value else None


def _walk(items: list[Dataset], depth: int) -> Iterator[Dataset]:
    if depth > _MAX_DEPTH:
        raise TceError("The key object selection's content is nested too deeply to be a valid selection.")
    for item in items:
        yield item
        children = item.get("ContentSequence") or []
        if children:
            yield from _walk(children, depth + 1)


def _sop_uids(items: list[Dataset]) -> list[str]:
    return [str(i.get("ReferencedSOPInstanceUID", "") or "").strip() for i in items]


def _evidence(ds: Dataset) -> Iterator[tuple[str, str]]:
    """(study UID, SOP instance UID) of every instance in the evidence sequences."""
    # (Identical Documents Sequence names copies of this KOS in other studies, not images: not read.)
    for study in ds.get("CurrentRequestedProcedureEvidenceSequence") or []:
        study_uid = str(study.get("StudyInstanceUID", "") or "").strip()
        for series in study.get("ReferencedSeriesSequence") or []:
            for sop in _sop_uids(series.get("ReferencedSOPSequence") or []):
                yield study_uid, sop


def _study_of(ds: Dataset, evidence: list[tuple[str, str]], selected: tuple[str, ...]) -> str:
    """The study the selected images belong to: from the evidence, else the KOS's own study.

    A KOS is normally part of the study it selects from; one made in a study of
    its own still names the images' study in its evidence.
    """
    own = str(ds.get("StudyInstanceUID", "") or "").strip()
    wanted = set(selected)
    studies = [study for study, sop in evidence if sop in wanted and _is_uid(study)]
    if own in studies or (not studies and _is_uid(own)):
        return own
    if studies:
        return max(set(studies), key=studies.count)
    raise TceError("The key object selection names no study (no Study Instance UID); it cannot be matched.")


def _cleaned_description(ds: Dataset, text: str) -> str:
    """The sender's free text, cleaned as the de-identifier cleans kept free text.

    The patient's names, IDs, birth date and the institution and staff named in
    this same KOS are cut out, then every word the free-text cleaner cannot vouch
    for (other people, places, dates, numbers); no retain options apply.
    """
    if not text:
        return ""
    identifiers = collect_identifiers(ds, encoding_of(ds), frozenset())
    cleaned = clean_free_text(clean_text(text, identifiers.cleaning_pattern()))
    return cleaned[:MAX_DESCRIPTION].strip()


def _is_uid(value: object) -> bool:
    return (
        isinstance(value, str)
        and 0 < len(value) <= 64
        and all(c in "0123456789." for c in value)
        and not value.startswith(".")
        and not value.endswith(".")
    )
