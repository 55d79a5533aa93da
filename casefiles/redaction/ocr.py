"""Finding text in an 8-bit image with Tesseract (its command-line program, through pipes).

Burned-in banners are small, light-on-dark, short and sit next to a large
textured picture, which is not what Tesseract's page layout analysis is tuned
for: it often files the whole frame as "image" and reads nothing. So each image
is read three ways (see ``_readings``) and what any of them finds counts. Word
boxes are joined into lines, lines from all readings are merged, and boxes are
padded so the anti-aliased edges of the glyphs are covered too.

The recognised text is used only to tell words from noise and is then
dropped: it is never returned, logged or kept.
"""

from __future__ import annotations

import math
import shlex
import subprocess
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from casefiles.errors import DeidentificationError, ValidationError
from casefiles.redaction.geometry import Box, TextFinding, merge_findings

PAD_PIXELS = 4
"""Grown onto every side of a finding so glyph edges and descenders are covered."""

_UPSCALE_MAX_PIXELS = 1_000_000  # sparse reading of images up to ~1 MP (1024×768 ultrasound) at 2×
_MIN_SIDE = 8  # smaller images cannot hold legible text
_TIMEOUT_SECONDS = 120
_LANGUAGE = "eng"


def find_text(image: npt.NDArray[Any], *, min_confidence: float = 40.0) -> list[TextFinding]:
    """Boxes around lines of text in an 8-bit gray (H×W) or RGB (H×W×3) image.

    A line counts when at least one of its words reaches ``min_confidence``
    (0-100) and it holds at least two letters or digits, so speckle read as
    stray punctuation or single characters is ignored. Boxes are in the
    image's own pixels, padded by a few pixels and clipped to the image.
    """
    gray = _grayscale(image)
    if isinstance(min_confidence, bool) or not isinstance(min_confidence, int | float):
        raise ValidationError("min_confidence must be a number from 0 to 100.")
    if not (math.isfinite(min_confidence) and 0.0 <= min_confidence <= 100.0):
        raise ValidationError(f"min_confidence must be from 0 to 100 (got {min_confidence}).")
    height, width = gray.shape
    if min(height, width) < _MIN_SIDE:
        return []
    textured = _textured_areas(gray)
    ink = np.asarray(cv2.Canny(gray, 50, 150), dtype=bool) & ~textured
    found: list[TextFinding] = []
    for variant, scale, options in _readings(gray, textured):
        for box, confidence in _lines(variant, options, float(min_confidence)):
            line = _along_ink(box.scaled_down(scale), ink)
            clipped = line.padded(PAD_PIXELS).clipped(width, height)
            if clipped is not None:
                found.append(TextFinding(clipped, confidence))
    return merge_findings(found)


def _grayscale(image: npt.NDArray[Any]) -> npt.NDArray[np.uint8]:
    if not isinstance(image, np.ndarray):
        raise ValidationError(f"find_text needs a numpy image, not {type(image).__name__}.")
    if image.dtype != np.uint8:
        raise ValidationError(f"find_text needs an 8-bit image (uint8), not {image.dtype}; render the frame first.")
    if image.ndim == 2:
        return np.ascontiguousarray(image)
    if image.ndim == 3 and image.shape[2] in (3, 4):
        return np.asarray(cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_RGB2GRAY), dtype=np.uint8)
    raise ValidationError(f"find_text needs a gray (H×W) or RGB (H×W×3) image, not shape {image.shape}.")


def _readings(
    gray: npt.NDArray[np.uint8], textured: npt.NDArray[np.bool_]
) -> Iterator[tuple[npt.NDArray[np.uint8], int, str]]:
    """The images Tesseract reads, with their scale and options; each catches text the others miss.

    1. Sparse-text mode on the image with large textured areas (the ultrasound
       fan, the anatomy) painted over and smooth gradients flattened, upscaled
       when small: finds the short labels and banners around the image that
       full-page layout analysis discards as part of a picture, without reading
       speckle or a thresholded gradient's ragged edge as words.
    2. Full-page layout analysis of the grayscale image: text over anatomy.
    3. The same on an Otsu-binarised copy with the text dark on light: faint or
       light-on-dark text whose edges blur into the background.
    """
    height, width = gray.shape
    scale = 2 if height * width <= _UPSCALE_MAX_PIXELS else 1
    yield _upscaled(_flattened(gray, textured), scale), scale, "--psm 11"
    yield gray, 1, "--psm 3"
    yield _dark_on_light(gray), 1, "--psm 3 -c tessedit_do_invert=0"


def _upscaled(gray: npt.NDArray[np.uint8], scale: int) -> npt.NDArray[np.uint8]:
    if scale == 1:
        return gray
    return np.asarray(cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC), dtype=np.uint8)


def _textured_areas(gray: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    """Large edge-dense regions (taller and wider than a text line can be): the picture, not labels."""
    edges = cv2.Canny(gray, 50, 150)
    closed = cv2.morphologyEx(edges, cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8))
    _, labels, stats, _ = cv2.connectedComponentsWithStats(closed)
    limit = max(48, min(gray.shape) // 10)
    large = (stats[:, cv2.CC_STAT_HEIGHT] > limit) & (stats[:, cv2.CC_STAT_WIDTH] > limit)
    large[0] = False  # label 0 is the space between edges
    return np.asarray(large[labels], dtype=bool)


def _flattened(gray: npt.NDArray[np.uint8], textured: npt.NDArray[np.bool_]) -> npt.NDArray[np.uint8]:
    """Textured areas painted with the background level, then the slowly varying background
    removed, so only marks with local contrast (glyphs) are left on an even mid-gray."""
    painted = gray.copy()
    if textured.any():
        painted[textured] = int(np.median(gray[~textured])) if not textured.all() else 0
    background = cv2.medianBlur(painted, 31).astype(np.int16)
    return np.clip(128 + painted.astype(np.int16) - background, 0, 255).astype(np.uint8)


def _along_ink(box: Box, ink: npt.NDArray[np.bool_]) -> Box:
    """The line box stretched sideways over ink that continues it (gaps under a character height).

    OCR often reads only part of a banner (a date it cannot parse, a name it reads at
    low confidence); the rest of the line is still text and must be blanked with it.
    """
    height, width = ink.shape
    inside = box.clipped(width, height)
    if inside is None:
        return box
    columns: npt.NDArray[np.bool_] = np.asarray(ink[inside.y : inside.bottom].any(axis=0), dtype=bool)
    gap = max(inside.height, 8)
    right = inside.right - 1
    for column in range(inside.right, width):
        if columns[column]:
            right = column
        elif column - right > gap:
            break
    left = inside.x
    for column in range(inside.x - 1, -1, -1):
        if columns[column]:
            left = column
        elif left - column > gap:
            break
    return box.union(Box(left, inside.y, right + 1 - left, inside.height))


def _dark_on_light(gray: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Otsu-binarised copy with the minority (the text) black on white: what Tesseract reads best."""
    _, binary = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    if np.count_nonzero(binary) < binary.size / 2:
        binary = cv2.bitwise_not(binary)
    return np.asarray(binary, dtype=np.uint8)


def _alnum_count(text: str) -> int:
    return sum(character.isalnum() for character in text)


def _lines(image: npt.NDArray[np.uint8], options: str, min_confidence: float) -> Iterator[tuple[Box, float]]:
    """Tesseract's lines that look like real text: (box, best word confidence)."""
    data = _tesseract(image, options)
    words: dict[tuple[int, int, int], list[tuple[Box, float, int]]] = defaultdict(list)
    for i, text in enumerate(data.get("text", [])):
        if int(data["level"][i]) != 5:  # 5 = word
            continue
        letters = _alnum_count(str(text))
        if letters == 0:
            continue
        box = Box(int(data["left"][i]), int(data["top"][i]), int(data["width"][i]), int(data["height"][i]))
        key = (int(data["block_num"][i]), int(data["par_num"][i]), int(data["line_num"][i]))
        words[key].append((box, max(float(data["conf"][i]), 0.0), letters))
    for line in words.values():
        best = max(confidence for _, confidence, _ in line)
        if best < min_confidence or sum(letters for _, _, letters in line) < 2:
            continue
        box = line[0][0]
        for other, _, _ in line[1:]:
            box = box.union(other)
        yield box, min(best, 100.0)


def _tesseract(image: npt.NDArray[np.uint8], config: str) -> dict[str, list[Any]]:
    """Tesseract's word table for ``image``, read through pipes.

    The frame goes to ``tesseract stdin stdout`` as PNG bytes, so identifiable
    pixels are never written to disk (wrappers such as pytesseract save each
    image to the system temp folder first).
    """
    ok, png = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise DeidentificationError("A frame could not be prepared for OCR, so burned-in text could not be checked.")
    command = ["tesseract", "stdin", "stdout", "-l", _LANGUAGE, *shlex.split(config), "tsv"]
    try:
        done = subprocess.run(command, input=png.tobytes(), capture_output=True, timeout=_TIMEOUT_SECONDS, check=True)
    except FileNotFoundError:
        raise DeidentificationError(
            "Tesseract OCR is not installed, so burned-in text cannot be checked; "
            "install the tesseract-ocr package (with English data) and try again."
        ) from None
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError):
        raise DeidentificationError(
            "Tesseract OCR failed or took too long on this image, so burned-in text could not be checked."
        ) from None
    return _parse_tsv(done.stdout.decode("utf-8", errors="replace"))


def _parse_tsv(text: str) -> dict[str, list[Any]]:
    """Tesseract's TSV as columns: numbers as int (conf as float), text as str."""
    lines = text.splitlines()
    if not lines:
        return {}
    header = lines[0].split("\t")
    columns: dict[str, list[Any]] = {name: [] for name in header}
    for line in lines[1:]:
        cells = line.split("\t")
        if len(cells) < len(header):
            cells += [""] * (len(header) - len(cells))
        for name, cell in zip(header, cells, strict=False):
            if name == "text":
                columns[name].append(cell)
            elif name == "conf":
                columns[name].append(float(cell) if cell else -1.0)
            else:
                columns[name].append(int(cell) if cell.lstrip("-").isdigit() else 0)
    return columns
