"""The text gate after the #18 speed pass finds exactly what the code before it found.

``reference_gate`` is a frozen copy of the gate before the change (whole-frame labelling,
cores and peaks of every component). On a wide corpus — CT screen saves and phantoms,
ultrasound frames and cines, dose reports, photo textures, MONOCHROME1, signed 16-bit
images through the screening's stretch, odd sizes, text against every edge, noise — the
current gate must give the same boxes, and the same glyphs in the same order on each pass;
screening through it the same boxes and verdict counts.
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from casefiles.redaction import gate, screen
from casefiles.redaction.frames import iter_decoded, to_uint8
from tests.redaction import reference_gate as old
from tests.support.burned_in import (
    FONTS,
    ct_hu,
    ct_phantom,
    ct_screen_save,
    dicom_image,
    dose_report,
    draw_field,
    photo_texture,
    ultrasound_cine,
    ultrasound_frame,
)

Gray = npt.NDArray[np.uint8]
_WORDS = ("QUIMBY^EUSTACE", "MRN 77120934", "DOB 17/04/1953", "L", "5 cm", "W 400 L 40", "Harbourview", "12", "AB")


def _random_text(seed: int) -> Gray:
    """Text of random size, colour and font at random places (edges and corners included) on a
    random background, in a frame of random (often odd) size."""
    rng = np.random.default_rng(1000 + seed)
    height, width = int(rng.integers(9, 700)), int(rng.integers(9, 700))
    background = rng.choice(["flat", "noise", "gradient", "ct"])
    if background == "flat":
        image = np.full((height, width), int(rng.integers(0, 256)), np.uint8)
    elif background == "noise":
        image = rng.integers(0, 256, (height, width), dtype=np.uint8)
    elif background == "gradient":
        image = np.linspace(0, 255, width, dtype=np.float64)[None, :].repeat(height, 0).astype(np.uint8)
    else:
        image = cv2.resize(ct_phantom(int(seed), 256), (width, height))
    for _ in range(int(rng.integers(0, 6))):
        glyph_height = int(rng.integers(4, 48))
        x = int(rng.choice([0, width - 1, int(rng.integers(0, width))]))
        y = int(rng.choice([glyph_height, height - 1, int(rng.integers(0, height + glyph_height))]))
        draw_field(
            image,
            str(rng.choice(_WORDS)),
            (x - int(rng.integers(0, 30)), y),
            kind="random",
            height_px=glyph_height,
            font=FONTS[int(rng.integers(0, len(FONTS)))],
            colour=int(rng.choice([0, 255, int(rng.integers(0, 256))])),
            thickness=int(rng.integers(1, 4)),
        )
    return image


def _edges(seed: int) -> Gray:
    """Marks on the frame's first and last rows and columns (the labelling window's edges)."""
    rng = np.random.default_rng(seed)
    rows, columns = int(rng.integers(20, 300)) | int(seed % 2), int(rng.integers(20, 300)) | int(seed // 2 % 2)
    image = np.zeros((rows, columns), np.uint8)
    for y, x in ((0, 0), (rows - 1, columns - 1), (0, columns - 1), (rows - 1, 0)):
        image[max(0, y - 7) : y + 8, max(0, x - 2) : x + 3] = 255
    image[rows // 2 - 6 : rows // 2 + 6, 0:2] = 255
    image[0:2, columns // 2 : columns // 2 + 9] = 200
    return image


def _signed_ct(seed: int) -> Gray:
    """A signed 16-bit CT slice with a header burned in at -1024 and +3071, as screening stretches it."""
    hu = ct_hu(seed, 384)
    frame = np.clip(hu, -1024, 3071).astype(np.int16)
    text = np.zeros(frame.shape, np.uint8)
    draw_field(text, "QUIMBY^EUSTACE", (6, 20), kind="name", height_px=12)
    frame[text > 127] = 3071 if seed % 2 else -1024
    ds = dicom_image(frame, modality="CT", bits=16, signed=True)
    pixels, props = next(iter_decoded(ds))
    return to_uint8(pixels, props, ds)


def _monochrome1(seed: int) -> Gray:
    frame = ct_screen_save(seed).pixels
    ds = dicom_image(frame, photometric="MONOCHROME1")
    pixels, props = next(iter_decoded(ds))
    return to_uint8(pixels, props, ds)


def corpus() -> Iterator[tuple[str, Gray]]:
    for seed in range(10):
        yield f"ct-screen-save-{seed}", ct_screen_save(seed).pixels
    for seed in range(6):
        yield f"ct-phantom-{seed}", ct_phantom(seed)
        yield f"ct-phantom-lung-window-{seed}", ct_phantom(seed, center=-600.0, width=1500.0)
        yield f"ct-phantom-256-{seed}", ct_phantom(seed, 256)
    for seed in range(3):
        yield f"us-{seed}", gate.gray_frame(ultrasound_frame(seed).pixels)
        yield f"us-no-text-{seed}", gate.gray_frame(ultrasound_frame(seed, with_text=False).pixels)
        yield f"dose-report-{seed}", gate.gray_frame(dose_report(seed).pixels)
        yield f"photo-{seed}", gate.gray_frame(photo_texture(seed))
        yield f"monochrome1-{seed}", _monochrome1(seed)
    for index, frame in enumerate(ultrasound_cine(frames=6)):
        yield f"us-cine-{index}", gate.gray_frame(frame.pixels)
    for seed in range(4):
        yield f"signed-ct-{seed}", _signed_ct(seed)
    for seed in range(8):
        yield f"edges-{seed}", _edges(seed)
    for seed in range(60):
        yield f"random-{seed}", _random_text(seed)
    yield "blank", np.zeros((64, 64), np.uint8)
    yield "white", np.full((64, 65), 255, np.uint8)
    yield "noise", np.random.default_rng(3).integers(0, 256, (257, 255), dtype=np.uint8)
    yield "tiny", np.full((8, 9), 128, np.uint8)
    yield "one-row-of-marks", np.pad(np.full((1, 30), 255, np.uint8), ((7, 8), (3, 4)))


CORPUS = list(corpus())


@pytest.mark.parametrize(("name", "frame"), CORPUS, ids=[name for name, _ in CORPUS])
def test_the_gate_finds_what_it_found_before(name: str, frame: Gray) -> None:
    before = frame.copy()
    assert gate.candidate_lines(frame) == old.candidate_lines(frame)
    assert gate.candidate_lines(frame, pad=0) == old.candidate_lines(frame, pad=0)
    np.testing.assert_array_equal(frame, before)


@pytest.mark.parametrize(("name", "frame"), CORPUS, ids=[name for name, _ in CORPUS])
def test_each_pass_finds_the_same_glyphs_in_the_same_order(name: str, frame: Gray) -> None:
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (gate._KERNEL, gate._KERNEL))
    for image in (frame, np.asarray(cv2.bitwise_not(frame), np.uint8)):
        response = cv2.morphologyEx(image, cv2.MORPH_TOPHAT, kernel)
        _, marks = cv2.threshold(response, gate.MIN_CONTRAST - 1, 255, cv2.THRESH_BINARY)
        new = gate._glyphs_in_marks(np.asarray(marks, np.uint8), image)
        before = old._glyphs(np.asarray(marks, np.uint8), image)
        assert [(g.x, g.y, g.width, g.height, g.blob, g.peak) for g in new] == [
            (g.x, g.y, g.width, g.height, g.blob, g.peak) for g in before
        ]


def test_the_corpus_exercises_the_gate() -> None:
    """The corpus is not all blank: many frames have candidates, many have none."""
    found = [bool(old.candidate_lines(frame)) for _name, frame in CORPUS]
    assert sum(found) >= 40
    assert len(found) - sum(found) >= 20


@pytest.mark.parametrize(
    "make",
    [
        lambda: dicom_image(ct_screen_save(1).pixels, modality="CT"),
        lambda: dicom_image(np.stack([f.pixels for f in ultrasound_cine(frames=6)]), modality="US"),
        lambda: dicom_image(ultrasound_frame(2).pixels, modality="US"),
        lambda: dicom_image(dose_report(0).pixels, modality="CT"),
        lambda: dicom_image(ct_screen_save(3).pixels, photometric="MONOCHROME1"),
        lambda: dicom_image(np.clip(ct_hu(4, 256), -1024, 3071).astype(np.int16), modality="CT", bits=16, signed=True),
    ],
    ids=["ct-screen-save", "us-cine", "us-frame", "dose-report", "monochrome1", "signed-ct"],
)
@pytest.mark.parametrize("static_only", [False, True])
def test_screening_gives_the_same_boxes_and_verdicts(monkeypatch, make, static_only: bool) -> None:
    ds = make()
    monkeypatch.setattr(screen, "_VERDICTS", {})  # each run reads its regions itself
    now = screen.screen_dataset(ds, static_only=static_only)
    monkeypatch.setattr(screen, "_VERDICTS", {})
    monkeypatch.setattr(screen, "candidate_lines", old.candidate_lines)
    before = screen.screen_dataset(ds, static_only=static_only)
    assert now == before
    assert now.candidates > 0 or not now.has_text
