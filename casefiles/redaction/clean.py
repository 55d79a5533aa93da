"""Clean burned-in text out of one image: screen every frame, blank what reads as text, decide who must look.

The policy (issue #13), applied to every image that enters CaseDeck:

1. :func:`casefiles.redaction.screen.screen_dataset` screens every frame (an
   OpenCV gate, then a small recogniser on the gate's candidates only).
2. Boxes that read as text are blanked on every frame.
3. The cleaned image is screened again, and what is found is blanked too, up
   to ``CLEARING_ROUNDS`` times. Text still found then could not be cleared:
   the image is held for a person's review.
4. Captures whose text is the point of the image (screen saves, dose screens,
   secondary captures, scanned pages: ``suspicious``) get a second, independent
   opinion when they are single frames: whole-frame Tesseract on the cleaned image. The gate
   misses tall glyphs and faint text; when Tesseract finds something, its
   boxes are blanked too and the image is held.

An image is held when screening found text it could not clear, or when its
header declares burned-in text (Burned In Annotation YES) that screening could
not find. Until a person has looked, a held image enters the library as a
placeholder with every pixel blanked; its unblanked original is returned for
the encrypted review area, where the reviewer sees the proposed boxes over it,
removes wrong ones, adds missing ones and confirms. Only then is the cleaned
image made from the original and stored. Nothing read is returned or logged.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydicom.dataset import Dataset

from casefiles.redaction.detect import find_burned_in_text
from casefiles.redaction.frames import frame_total
from casefiles.redaction.geometry import Box
from casefiles.redaction.pixels import redact
from casefiles.redaction.screen import (
    MIN_CINE_FRAMES,
    Screening,
    confirmed_text,
    same_place,
    screen_dataset,
)

#: Screen-and-blank rounds before text that keeps being found is left to a person.
CLEARING_ROUNDS = 3


@dataclass(frozen=True, slots=True)
class PixelOutcome:
    """What screening did to one image."""

    dataset: Dataset  # the image to store: text blanked, or every pixel blanked while held
    boxes: tuple[Box, ...]  # blanked (cleared) or proposed to the reviewer (held), in image pixels
    held: bool  # text could not be cleared with confidence: a person must look
    original: Dataset | None  # the unblanked image of a held one, for the encrypted review area
    second_opinion: bool  # whether Tesseract was asked too


def clean_pixels(ds: Dataset, *, suspicious: bool, declared: bool = False) -> PixelOutcome:
    """Screen ``ds`` (de-identified header, original pixels) and blank its burned-in text.

    ``suspicious``: the header rules fired (casefiles.deid.burned_in); ``declared``: the
    header says Burned In Annotation YES. Raises DeidentificationError when the pixels
    cannot be decoded: an image that cannot be screened cannot be vouched for.
    """
    boxes = persistent_boxes(screen_dataset(ds, static_only=True))
    cleaned = redact(ds, boxes) if boxes else ds
    held = False
    for _round in range(CLEARING_ROUNDS if boxes else 0):
        # text a box cut in half, or seen on other frames
        left = persistent_boxes(screen_dataset(cleaned, static_only=True))
        held = bool(left)
        if not left:
            break
        boxes.extend(left)
        cleaned = redact(ds, boxes)
    second_opinion = suspicious and frame_total(ds) == 1
    if second_opinion and not held:
        missed = confirmed_text(cleaned, [finding.box for finding in find_burned_in_text(cleaned)])
        if missed:
            boxes.extend(missed)
            held = True
    held = held or (declared and not boxes)  # the device says there is text, and none was found
    if held:
        return PixelOutcome(redact(ds, [_whole(ds)]), tuple(boxes), True, ds, second_opinion)
    if boxes:
        cleaned.BurnedInAnnotation = "NO"  # found, blanked, and nothing readable is left
    return PixelOutcome(cleaned, tuple(boxes), False, None, second_opinion)


def persistent_boxes(screening: Screening) -> list[Box]:
    """The boxes that are text: all of them on a still, only those found in most frames of a cine.

    Burned-in overlays are static: a banner sits in the same place on every frame. Speckle and
    moving anatomy that the recogniser happens to read as text on a frame or two move or vanish
    on the next; boxing them would black out anatomy for nothing.
    """
    if screening.frames < MIN_CINE_FRAMES:
        return list(screening.all_boxes())
    places: list[tuple[Box, Box, set[int]]] = []  # (first box seen there, all boxes there, frames)
    for frame, frame_boxes in enumerate(screening.boxes):
        for box in frame_boxes:
            for index, (anchor, area, seen) in enumerate(places):
                if same_place(anchor, box):
                    places[index] = (anchor, area.union(box), seen | {frame})
                    break
            else:
                places.append((box, box, {frame}))
    needed = screening.frames / 2
    return [area for _anchor, area, seen in places if len(seen) >= needed]


def _whole(ds: Dataset) -> Box:
    return Box(0, 0, int(ds.Columns), int(ds.Rows))
