"""Reading the gate's candidate lines with a small text recogniser (PP-OCRv6 small, ONNX).

The model is the PP-OCRv6 small recognition network (Apache-2.0) that the
``rapidocr`` wheel ships as ``rapidocr/models/PP-OCRv6_rec_small.onnx``, with
its character list inside the model's metadata. Only that file is used, run
through onnxruntime: rapidocr's own pipeline is never imported (its default
configuration may fetch models from the internet), and nothing is downloaded
at run time. Pre- and post-processing are the network's own, done here:
resize to 48 px high keeping the aspect ratio, scale to [-1, 1], pad to at
least 320 px wide; CTC greedy decoding (best class per step, repeats
collapsed, blanks dropped), the score being the mean probability of the kept
characters.

One inference session per process, with one intra-op thread (workers run in
parallel processes), created on first use and kept (about 60–260 ms to create).

What is read is usually the patient's name, ID or birth date: callers use it
to decide whether a box stays and must not log, keep or show it. Errors
raised here never carry it.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import os
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from casefiles.errors import DeidentificationError, ValidationError

# onnxruntime 1.32 writes a device id and an event queue for an outside collector unless
# this is set in the environment before it is first imported (disabling it later is too late).
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

MODEL_PACKAGE = "rapidocr"
MODEL_FILE = "PP-OCRv6_rec_small.onnx"
HEIGHT = 48
"""Input height of the network."""
MIN_WIDTH = 320
"""Narrower lines are padded to this width, as the network was trained."""
MAX_WIDTH = 2048
"""Longer lines are squeezed to this width (about 40 characters at 48 px)."""
BATCH = 8

MIN_SCORE = 0.5
"""A line is text when it reads with at least this mean character probability ..."""
MIN_CHARACTERS = 2
"""... and holds at least this many Latin letters or digits."""

_UNAVAILABLE = (
    "The burned-in text recogniser is not installed (the onnxruntime and rapidocr packages), "
    "so images cannot be screened for burned-in text."
)


@dataclass(frozen=True, slots=True)
class Reading:
    """What the recogniser read in one crop and how sure it is (0–1). ``text`` may be PHI."""

    text: str
    score: float

    def __repr__(self) -> str:  # never print what was read
        return f"Reading(<{len(self.text)} characters>, score={self.score:.2f})"

    @property
    def is_text(self) -> bool:
        """At least two Latin letters or digits, read with a score of 0.5 or more."""
        return self.score >= MIN_SCORE and latin_alnum_count(self.text) >= MIN_CHARACTERS


def latin_alnum_count(text: str) -> int:
    """Letters and digits of the Latin script (accented letters included) in ``text``."""
    return sum(
        1
        for character in text
        if character.isalnum() and (character.isascii() or "LATIN" in unicodedata.name(character, ""))
    )


def model_path() -> Path:
    """Where the recognition model is (inside the installed rapidocr package), without importing it."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        raise DeidentificationError(_UNAVAILABLE)
    path = Path(spec.origin).parent / "models" / MODEL_FILE
    if not path.is_file():
        raise DeidentificationError(_UNAVAILABLE)
    return path


@functools.cache
def _session() -> tuple[Any, str, tuple[str, ...]]:
    """The process's inference session, its input name and its classes (0 = CTC blank)."""
    path = model_path()
    try:
        import onnxruntime as ort
    except ImportError:
        raise DeidentificationError(_UNAVAILABLE) from None
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3  # errors only
    try:
        session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
        characters = session.get_modelmeta().custom_metadata_map["character"].splitlines()
    except (KeyError, RuntimeError, OSError, ValueError) as exc:
        raise DeidentificationError(
            "The burned-in text recogniser's model could not be loaded, so images cannot be screened."
        ) from exc
    classes = ("", *characters, " ")  # the blank first and the space last, as the model was trained
    return session, session.get_inputs()[0].name, classes


def warm_up() -> None:
    """Create the session now (at worker start) rather than on the first image."""
    _session()


def read_lines(crops: Sequence[npt.NDArray[np.uint8]]) -> list[Reading]:
    """Read one line of text from each 8-bit gray (H×W) or RGB (H×W×3) crop, in order."""
    if not crops:
        return []
    inputs = [_normalised(crop) for crop in crops]
    session, input_name, classes = _session()
    readings: list[Reading | None] = [None] * len(inputs)
    order = sorted(range(len(inputs)), key=lambda i: inputs[i].shape[2])  # similar widths batch together
    for start in range(0, len(order), BATCH):
        chunk = order[start : start + BATCH]
        width = max(MIN_WIDTH, *(inputs[i].shape[2] for i in chunk))
        batch = np.zeros((len(chunk), 3, HEIGHT, width), np.float32)
        for row, i in enumerate(chunk):
            batch[row, :, :, : inputs[i].shape[2]] = inputs[i]
        try:
            (probabilities,) = session.run(None, {input_name: batch})
        except Exception as exc:  # onnxruntime raises its own exception types
            raise DeidentificationError("The burned-in text recogniser failed on an image.") from exc
        for row, i in enumerate(chunk):
            readings[i] = _decoded(np.asarray(probabilities[row]), classes)
    return [reading for reading in readings if reading is not None]


def _normalised(crop: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    if not isinstance(crop, np.ndarray) or crop.dtype != np.uint8 or crop.ndim not in (2, 3) or min(crop.shape[:2]) < 1:
        raise ValidationError("The recogniser reads 8-bit gray or RGB crops of at least one pixel.")
    rgb = np.repeat(crop[..., None], 3, axis=2) if crop.ndim == 2 else np.ascontiguousarray(crop[..., :3])
    height, width = rgb.shape[:2]
    target = min(MAX_WIDTH, max(1, math.ceil(HEIGHT * width / height)))
    resized = cv2.resize(rgb, (target, HEIGHT), interpolation=cv2.INTER_LINEAR)
    scaled = resized.astype(np.float32) * (2.0 / 255.0) - 1.0
    return np.ascontiguousarray(scaled.transpose(2, 0, 1))


def _decoded(probabilities: npt.NDArray[np.float32], classes: tuple[str, ...]) -> Reading:
    """CTC greedy decoding of one line: (steps × classes) probabilities to text and mean score."""
    best = probabilities.argmax(axis=1)
    confidence = probabilities.max(axis=1)
    keep = best != 0
    keep[1:] &= best[1:] != best[:-1]
    kept = best[keep]
    if kept.size == 0:
        return Reading("", 0.0)
    text = "".join(classes[index] if index < len(classes) else "" for index in kept.tolist())
    return Reading(text, float(confidence[keep].mean()))
