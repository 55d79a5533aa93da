"""Screening every frame for burned-in text: the gate on each frame, the recogniser on its candidates.

:func:`screen_frames` runs :func:`casefiles.redaction.gate.candidate_lines` on
every frame and :func:`casefiles.redaction.recognise.read_lines` on the
candidates only. A candidate stays boxed when it reads as text (at least two
Latin letters or digits, score ≥ 0.5) unless every word of it is on a short
allow-list of harmless readouts (orientation letters, units, scale numbers of
up to three digits, window and technique labels). Anything else that reads
as text stays boxed: a box is always safer than a miss.

Cine loops: overlays are static, so a candidate is identified by its box and
a hash of its pixels, and each distinct region is read once however many
frames show it. Frames are taken one at a time from any iterable, so a long
cine never sits in memory decoded.

The result never holds what was read (it is usually the patient's name, ID
or birth date): only boxes and counts. Nothing here logs.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset

from casefiles.errors import ValidationError
from casefiles.redaction.frames import iter_decoded, to_uint8
from casefiles.redaction.gate import candidate_lines, gray_frame, same_row
from casefiles.redaction.geometry import Box
from casefiles.redaction.recognise import Reading, read_lines

#: Verdicts by (region key, modality), oldest first; the key is a hash of the region's pixels and place.
_VERDICTS: dict[tuple[bytes, str | None], str] = {}
_VERDICT_CACHE = 4096
_VERDICTS_LOCK = threading.Lock()

#: A cine has at least this many frames; in one, static text recurs in the same place on half of them.
MIN_CINE_FRAMES = 4
SAME_PLACE = 0.5

# Words that may stay on an image: orientation, units, technique and display labels.
_HARMLESS_WORDS: frozenset[str] = frozenset(
    {
        # orientation and projection
        *("L", "R", "A", "P", "H", "F", "S", "I", "LT", "RT", "SUP", "INF", "ANT", "POST", "LAT", "MED"),
        *("AP", "PA", "LAO", "RAO", "LPO", "RPO", "AXIAL", "SAG", "COR", "CORONAL", "SAGITTAL", "TRANS", "LONG"),
        # units and technique
        *("CM", "MM", "KV", "KVP", "MA", "MAS", "MS", "SEC", "HZ", "KHZ", "MHZ", "DB", "X", "%"),
        # display
        *("W", "C", "WL", "WW", "WC", "WL/WW", "WW/WL", "ZOOM", "IMG", "IM", "SE", "SL", "ST"),
    }
)
_MODALITY_WORDS: dict[str, frozenset[str]] = {
    "US": frozenset({"DEPTH", "GAIN", "FR", "FPS", "PRF", "MI", "TIS", "TIB", "TIC", "THI", "DR", "G", "D", "2D"}),
    "CT": frozenset({"FOV", "PITCH", "CTDIVOL", "DLP", "MGY", "KERNEL"}),
    "MR": frozenset({"TE", "TR", "TI", "FA", "FOV", "ET", "NEX", "T1", "T2", "FLAIR", "DWI", "ADC"}),
}
# A number of at most three digits (a scale mark, a depth, a gain), optionally with a unit.
_SCALE_NUMBER = re.compile(r"[+-]?\d{1,3}(?:[.,]\d{1,2})?(?:cm|mm|%|x|kv|kvp|mas|ma|ms|s|hz|mhz|db)?", re.IGNORECASE)
_SEPARATORS = re.compile(r"[\s:=]+")


@dataclass(frozen=True, slots=True)
class Screening:
    """What screening found in an image's frames: boxes to blank and counts, never the text.

    ``boxes[i]`` are the boxes for frame ``i`` (image pixels, padded, clipped).
    ``candidates`` counts the gate's lines over all frames, ``regions_read`` the
    distinct regions the recogniser read (a static overlay counts once),
    ``text_regions`` those that read as text and are boxed, ``harmless_regions``
    those that read only as allow-listed words and were left unboxed.
    """

    boxes: tuple[tuple[Box, ...], ...]
    candidates: int
    regions_read: int
    text_regions: int
    harmless_regions: int

    @property
    def frames(self) -> int:
        return len(self.boxes)

    @property
    def has_text(self) -> bool:
        """True when any frame has a box to blank."""
        return any(self.boxes)

    @property
    def frames_with_text(self) -> int:
        return sum(1 for frame in self.boxes if frame)

    def all_boxes(self) -> tuple[Box, ...]:
        """Every frame's boxes together (duplicates removed), for blanking each box in every frame."""
        return tuple(sorted({box for frame in self.boxes for box in frame}, key=lambda b: (b.y, b.x, b.height)))

    def __repr__(self) -> str:
        return (
            f"Screening(frames={self.frames}, frames_with_text={self.frames_with_text}, "
            f"candidates={self.candidates}, regions_read={self.regions_read}, "
            f"text_regions={self.text_regions}, harmless_regions={self.harmless_regions})"
        )


def is_harmless(text: str, modality: str | None = None) -> bool:
    """True when every word of ``text`` is an allow-listed readout (never for empty text)."""
    words = [word for word in _SEPARATORS.split(text.strip()) if word]
    if not words:
        return False
    allowed = _HARMLESS_WORDS | _MODALITY_WORDS.get((modality or "").strip().upper(), frozenset())
    return all(word.upper() in allowed or _SCALE_NUMBER.fullmatch(word) is not None for word in words)


def screen_frames(
    frames: Iterable[npt.NDArray[Any]], *, modality: str | None = None, static_only: bool = False
) -> Screening:
    """Screen 8-bit frames (gray H×W or RGB H×W×3, uint8) for burned-in text.

    ``frames`` may be a list, an N×H×W(×3) array or a generator (taken one at a
    time). ``modality`` (DICOM Modality, e.g. "US") adds that modality's
    readouts to the allow-list. ``static_only``: in a cine (``MIN_CINE_FRAMES`` or
    more), read only candidates found in the same place on at least half of the
    frames: burned-in overlays are static, speckle that looks like glyphs is not,
    and reading it would cost a recogniser call per frame. Raises ValidationError
    for frames that are not 8-bit images, DeidentificationError when the recogniser
    is unavailable or fails.
    """
    if modality is not None and not isinstance(modality, str):
        raise ValidationError("modality must be a DICOM Modality code such as 'US', or None.")
    per_frame: list[list[tuple[Box, bytes]]] = []
    pending: dict[bytes, npt.NDArray[np.uint8]] = {}
    candidates = 0
    for frame in frames:
        gray = gray_frame(frame)
        regions: list[tuple[Box, bytes]] = []
        for box in candidate_lines(gray):
            crop = gray[box.y : box.bottom, box.x : box.right]
            key = _region_key(box, crop)
            if key not in pending:
                pending[key] = np.array(crop)  # copy: the frame itself is not kept
            regions.append((box, key))
        candidates += len(regions)
        per_frame.append(regions)
    places: list[list[bytes]] | None = None
    if static_only and len(per_frame) >= MIN_CINE_FRAMES:
        places = _static_places(per_frame)
        steady = {key for place in places for key in place}
        per_frame = [[(box, key) for box, key in regions if key in steady] for regions in per_frame]
        # Each place is read on at most three of its crops (first, middle, last): a static overlay
        # looks the same on every frame, and text over moving anatomy is still text on any of them.
        keys = list(dict.fromkeys(k for place in places for k in (place[0], place[len(place) // 2], place[-1])))
    else:
        keys = list(pending)
    verdicts, crops_read = _verdicts(pending, keys, modality)
    for place in places or ():
        # Text if most of the samples read as text: static text reads the same on every frame,
        # while speckle that reads as glyphs on one frame does not on the next.
        read = [verdicts[k] for k in place if k in verdicts]
        if read.count("text") * 2 > len(read):
            verdict = "text"
        elif (read.count("text") + read.count("harmless")) * 2 > len(read):
            verdict = "harmless"
        else:
            verdict = "not text"
        verdicts.update(dict.fromkeys(place, verdict))
    boxes = tuple(_kept(regions, verdicts) for regions in per_frame)
    return Screening(
        boxes=boxes,
        candidates=candidates,
        regions_read=crops_read,
        text_regions=sum(1 for key in keys if verdicts[key] == "text"),
        harmless_regions=sum(1 for key in keys if verdicts[key] == "harmless"),
    )


def screen_dataset(ds: Dataset, *, static_only: bool = False) -> Screening:
    """Screen every frame of a DICOM image (single or multi-frame, gray or colour, any stored depth).

    Frames are decoded one at a time with :func:`casefiles.redaction.frames.iter_decoded`
    (YBR converted to RGB) and made 8-bit with :func:`casefiles.redaction.frames.to_uint8`:
    8-bit data as stored; deeper or signed grayscale stretched from its own minimum to its
    maximum (no clinical window, which could clip text drawn at an extreme value);
    MONOCHROME1 inverted; palette colour applied. Raises DeidentificationError when the
    pixels cannot be decoded.
    """
    modality = str(ds.get("Modality", "") or "") or None
    return screen_frames(_uint8_frames(ds), modality=modality, static_only=static_only)


def _static_places(per_frame: list[list[tuple[Box, bytes]]]) -> list[list[bytes]]:
    """The candidates' keys grouped by place (same_place), for places seen on at least half the frames."""
    places: list[tuple[Box, set[int], list[bytes]]] = []  # (first box seen there, frames, keys in order)
    for frame, regions in enumerate(per_frame):
        for box, key in regions:
            for anchor, seen, keys in places:
                if same_place(anchor, box):
                    seen.add(frame)
                    if key not in keys:
                        keys.append(key)
                    break
            else:
                places.append((box, {frame}, [key]))
    needed = len(per_frame) / 2
    return [keys for _anchor, seen, keys in places if len(seen) >= needed]


def same_place(a: Box, b: Box) -> bool:
    """Two boxes cover the same place: they overlap by at least ``SAME_PLACE`` of their union."""
    width = min(a.right, b.right) - max(a.x, b.x)
    height = min(a.bottom, b.bottom) - max(a.y, b.y)
    if width <= 0 or height <= 0:
        return False
    shared = width * height
    return shared >= SAME_PLACE * (a.width * a.height + b.width * b.height - shared)


def confirmed_text(ds: Dataset, boxes: Sequence[Box]) -> list[Box]:
    """Of ``boxes`` found on the first frame by another detector, those the recogniser reads as text.

    Another detector (whole-frame Tesseract) finds what the gate misses, and also boxes texture;
    the recogniser's verdict, the same one screening uses, tells the two apart.
    """
    if not boxes:
        return []
    gray = gray_frame(next(_uint8_frames(ds)))
    height, width = gray.shape[:2]
    kept_boxes = [b for b in (box.clipped(width, height) for box in boxes) if b is not None and not b.is_empty]
    if not kept_boxes:
        return []
    crops = [np.array(gray[b.y : b.bottom, b.x : b.right]) for b in kept_boxes]
    modality = str(ds.get("Modality", "") or "") or None
    return [
        b for b, reading in zip(kept_boxes, read_lines(crops), strict=True) if _verdict(reading, modality) == "text"
    ]


def _uint8_frames(ds: Dataset) -> Iterator[npt.NDArray[np.uint8]]:
    for pixels, props in iter_decoded(ds):
        yield to_uint8(pixels, props, ds)


def _region_key(box: Box, crop: npt.NDArray[np.uint8]) -> bytes:
    digest = hashlib.blake2b(digest_size=16)
    digest.update(np.array([box.x, box.y, box.width, box.height], np.int64).tobytes())
    digest.update(np.ascontiguousarray(crop).tobytes())
    return digest.digest()


def _verdicts(
    pending: dict[bytes, npt.NDArray[np.uint8]], keys: list[bytes], modality: str | None
) -> tuple[dict[bytes, str], int]:
    """The recogniser's verdict on each region, and how many it had to read for them.

    A region seen before in this process is not read again.

    Slices of one series repeat the same overlay at the same place (identical crops, identical
    keys), and a worker imports a series slice by slice: the verdict, never the text, is kept.
    """
    with _VERDICTS_LOCK:
        known = {key: _VERDICTS[(key, modality)] for key in keys if (key, modality) in _VERDICTS}
    unknown = [key for key in keys if key not in known]
    readings = read_lines([pending[key] for key in unknown]) if unknown else []
    fresh = {key: _verdict(reading, modality) for key, reading in zip(unknown, readings, strict=True)}
    with _VERDICTS_LOCK:
        for key, verdict in fresh.items():
            if len(_VERDICTS) >= _VERDICT_CACHE:
                _VERDICTS.pop(next(iter(_VERDICTS)))
            _VERDICTS[(key, modality)] = verdict
    return {**known, **fresh}, len(unknown)


def _kept(regions: list[tuple[Box, bytes]], verdicts: dict[bytes, str]) -> tuple[Box, ...]:
    """The frame's text boxes, plus harmless-looking ones in the same row as text: "12" beside
    "DOB 17/04/19" is part of a date, not a scale mark."""
    text = [box for box, key in regions if verdicts[key] == "text"]
    harmless = [box for box, key in regions if verdicts[key] == "harmless"]
    near = [box for box in harmless if any(same_row(box, other) for other in text)]
    return tuple(sorted([*text, *near], key=lambda b: (b.y, b.x)))


def _verdict(reading: Reading, modality: str | None) -> str:
    if not reading.is_text:
        return "not text"
    return "harmless" if is_harmless(reading.text, modality) else "text"
