"""From de-identified instances to series and cases: ordering, labels and titles.

Pure functions over small records, so the rules (how slices are ordered, how
a case is named) can be read and tested without any files.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset

from casefiles.deid.freetext import clean_label
from casefiles.ingest.nonradiology import ObjectKind
from casefiles.ingest.reading import peek
from casefiles.model import Instance, Region, Review

_SPACES = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_BODY_PARTS = {
    "ABDOMENPELVIS": "Abdomen/Pelvis",
    "CHESTABDOMEN": "Chest/Abdomen",
    "CHESTABDPELVIS": "Chest/Abdomen/Pelvis",
    "HEADNECK": "Head/Neck",
    "CSPINE": "C-spine",
    "TSPINE": "T-spine",
    "LSPINE": "L-spine",
    "WHOLEBODY": "Whole body",
}

_KEYWORDS = (
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "SOPInstanceUID",
    "Modality",
    "BodyPartExamined",
    "StudyDescription",
    "SeriesDescription",
    "SeriesNumber",
    "InstanceNumber",
    "NumberOfFrames",
    "ImagePositionPatient",
    "ImageOrientationPatient",
    "SliceLocation",
    "Rows",
    "Columns",
    "TotalPixelMatrixRows",
    "TotalPixelMatrixColumns",
)
_TAGS: dict[str, int] = {k: int(tag_for_keyword(k) or 0) for k in _KEYWORDS}


@dataclass(frozen=True, slots=True)
class Summary:
    """What the import keeps of one stored, de-identified instance (the dataset itself is dropped)."""

    study_uid: str
    series_uid: str
    sop_uid: str
    blob: str
    modality: str = ""
    body_part: str = ""
    study_description: str = ""
    series_description: str = ""
    series_number: int | None = None
    instance_number: int | None = None
    normal_position: float | None = None
    slice_location: float | None = None
    frames: int = 1
    review: Review = Review.NOT_NEEDED  # burned-in text suspected: a person must look before it is shown
    redacted: tuple[Region, ...] = ()  # text boxes the de-identifier blanked in the pixels
    kind: ObjectKind = ObjectKind.STACK  # what it becomes in a case (casefiles.ingest.nonradiology)
    total_size: tuple[int, int] | None = None  # (columns, rows) of the whole picture: a slide's tiles assembled
    text_rules: int = 0  # versions of the rules its text and pixels went through (casefiles.deid.versions)
    pixel_rules: int = 0
    review_original: str = ""  # while held: the review area's item with the unblanked original
    #: The keyed hash of the ORIGINAL Study Instance UID (casefiles.deid.keys.study_key): how the
    #: library recognises a study imported again. Never the UID itself.
    study_key: str = ""

    def to_instance(self) -> Instance:
        position = self.normal_position if self.normal_position is not None else self.slice_location
        return Instance(
            sop_instance_uid=self.sop_uid,
            blob=self.blob,
            instance_number=self.instance_number,
            position=position,
            frames=self.frames,
            review=self.review,
            redacted=self.redacted,
            text_rules=self.text_rules,
            pixel_rules=self.pixel_rules,
            review_original=self.review_original,
        )


def summarize(ds: Dataset, blob: str) -> Summary:
    """Read the fields grouping needs from a de-identified dataset; bad values become "unknown"."""
    return Summary(
        study_uid=str(_get(ds, "StudyInstanceUID") or ""),
        series_uid=str(_get(ds, "SeriesInstanceUID") or ""),
        sop_uid=str(_get(ds, "SOPInstanceUID") or ""),
        blob=blob,
        modality=clean_text(_get(ds, "Modality"), 16).upper(),
        body_part=body_part_name(_get(ds, "BodyPartExamined")),
        study_description=_description(_get(ds, "StudyDescription")),
        series_description=_description(_get(ds, "SeriesDescription")),
        series_number=_as_int(_get(ds, "SeriesNumber")),
        instance_number=_as_int(_get(ds, "InstanceNumber")),
        normal_position=normal_position(ds),
        slice_location=_as_float(_get(ds, "SliceLocation")),
        frames=max(1, _as_int(_get(ds, "NumberOfFrames")) or 1),
        total_size=_picture_size(ds),
    )


def study_uid_of(ds: Dataset) -> str:
    """The Study Instance UID as written in ``ds`` ("" if absent or unreadable); for the study key only."""
    return str(_get(ds, "StudyInstanceUID") or "")


def _picture_size(ds: Dataset) -> tuple[int, int] | None:
    """(columns, rows) of the whole picture: the Total Pixel Matrix of a tiled image, else one frame's."""
    for columns_key, rows_key in (("TotalPixelMatrixColumns", "TotalPixelMatrixRows"), ("Columns", "Rows")):
        columns, rows = _as_int(_get(ds, columns_key)), _as_int(_get(ds, rows_key))
        if columns and rows and columns > 0 and rows > 0:
            return columns, rows
    return None


def normal_position(ds: Dataset) -> float | None:
    """Where a slice lies along its stack normal: ImagePositionPatient · (row × column direction)."""
    ipp = _as_floats(_get(ds, "ImagePositionPatient"), 3)
    iop = _as_floats(_get(ds, "ImageOrientationPatient"), 6)
    if ipp is None or iop is None:
        return None
    r, c = iop[:3], iop[3:]
    normal = (r[1] * c[2] - r[2] * c[1], r[2] * c[0] - r[0] * c[2], r[0] * c[1] - r[1] * c[0])
    if not any(normal):
        return None
    return sum(p * n for p, n in zip(ipp, normal, strict=True))


def order_summaries(items: Iterable[Summary]) -> list[Summary]:
    """Slice order: position along the normal, then SliceLocation, then InstanceNumber, then SOP UID."""
    return sorted(
        items,
        key=lambda s: (
            *_missing_last(s.normal_position),
            *_missing_last(s.slice_location),
            *_missing_last(s.instance_number),
            s.sop_uid,
        ),
    )


def order_instances(items: Iterable[Instance]) -> list[Instance]:
    """The same order for instances already in a case (their position is normal or slice location)."""
    return sorted(
        items, key=lambda i: (*_missing_last(i.position), *_missing_last(i.instance_number), i.sop_instance_uid)
    )


def _missing_last(value: float | None) -> tuple[bool, float]:
    return (value is None, 0.0 if value is None else value)


def series_label(description: str, modality: str, number: int | None, ordinal: int) -> str:
    """The series' own description, or "CT series 3" when it has none."""
    if description:
        return description
    return f"{modality or 'Unknown'} series {number if number is not None else ordinal}"


def joined_modalities(modalities: Iterable[str]) -> str:
    """The distinct modalities of a study in the order first met: "PT/CT"."""
    return "/".join(dict.fromkeys(m for m in modalities if m))


def case_title(modality: str, body_part: str, study_description: str) -> str:
    """ "CT Chest" from modality and body part (or the study description)."""
    subject = body_part or study_description
    if modality and subject:
        return f"{modality} {subject}"
    if modality:
        return f"{modality} study"
    return subject or "Imported study"


def batch_titles(from_images: Sequence[str], title: str | None, *, max_len: int) -> list[str]:
    """The titles of the cases one import creates, in order.

    The user's ``title`` is for one study: it is used as it is when the import
    makes one case. Several new cases keep their own titles from their images
    ("CT Chest"), after the user's title when there is one, and each says which
    of the batch it is: "Teaching set (2 of 4): CT Chest" (the user's part cut
    to fit ``max_len``). Without a title, only cases whose image titles are the
    same get "(2 of 4)".
    """
    count = len(from_images)
    if count == 1 and title:
        return [title]
    if count <= 1:
        return list(from_images)
    titles = []
    for number, own in enumerate(from_images, start=1):
        if title:
            tail = f" ({number} of {count}): {own}"
            titles.append((title[: max(0, max_len - len(tail))].rstrip() + tail)[:max_len].strip())
        elif from_images.count(own) > 1:
            titles.append(f"{own} ({number} of {count})")
        else:
            titles.append(own)
    return titles


def first_nonempty(values: Sequence[str]) -> str:
    return next((v for v in values if v), "")


def clean_text(value: object, max_len: int) -> str:
    """A header text fit for a label: one line, no control characters, "^" read as a space."""
    if value is None:
        return ""
    text = _CONTROL.sub(" ", str(value)).replace("^", " ")
    text = _SPACES.sub(" ", text).strip()
    return text[:max_len].rstrip()


def _description(value: object) -> str:
    """A description for titles and series labels, through the free-text cleaner.

    The engine has cleaned the de-identified dataset's descriptions already; instances that
    came in another way (a CaseDeck package, a store written by older rules) may not have been,
    and cleaning twice changes nothing.
    """
    return clean_label(clean_text(value, 1024), 64)


def body_part_name(value: object) -> str:
    """ "CHEST" -> "Chest"; "ABDOMENPELVIS" -> "Abdomen/Pelvis"."""
    code = clean_text(value, 32).upper().replace(" ", "")
    if not code:
        return ""
    if code in _BODY_PARTS:
        return _BODY_PARTS[code]
    return code.replace("_", " ").capitalize()


def _get(ds: Dataset, keyword: str) -> object:
    """A header value, or ``None`` if it is absent or cannot be decoded (the element stays raw)."""
    try:
        return peek(ds, _TAGS[keyword])
    except Exception:  # a malformed value must not stop the import of a stored instance
        return None


def _as_int(value: object) -> int | None:
    try:
        if value is None or value == "":
            return None
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return None


def _as_float(value: object) -> float | None:
    try:
        if value is None or value == "":
            return None
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _as_floats(value: object, count: int) -> tuple[float, ...] | None:
    if value is None or isinstance(value, str | bytes):
        return None
    try:
        numbers = tuple(float(v) for v in value)  # type: ignore[attr-defined]
    except (TypeError, ValueError, OverflowError):
        return None
    if len(numbers) != count or not all(math.isfinite(n) for n in numbers):
        return None
    return numbers
