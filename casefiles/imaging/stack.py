"""A whole series as one binary message for the browser stack viewer.

The viewer scrolls, plays and windows on the client, so the server sends a
series' frames once per (series, window): every frame rendered to 8-bit with
that window and encoded (JPEG for big stacks, PNG for small ones), plus what
the viewer needs to label and scale them. The message is plain bytes because
Streamlit's component API hands bytes to JavaScript as a ``Uint8Array`` with
no base64 or JSON parsing, and hashes bytes cheaply on every rerun.

Layout (little-endian)::

    b"CDSV" | uint32 header length | UTF-8 JSON header | frame 0 | frame 1 | ...

The header lists each frame's offset and length relative to the first frame.
Rendering is delegated to a ``render(frame_index) -> uint8 image`` callable, so
this module knows nothing of stores or services.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import struct
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset

from casefiles.errors import RenderError, ValidationError
from casefiles.imaging._header import first_number, functional_item, photometric
from casefiles.imaging.encode import encode_jpeg, encode_png
from casefiles.imaging.presets import Preset, presets_for, resolve_presets
from casefiles.model import Window

__all__ = [
    "MAGIC",
    "SeriesHeader",
    "StackPayload",
    "build_stack_payload",
    "cine_frame_rate",
    "pixel_spacing_mm",
    "read_stack_payload",
    "series_header",
]

MAGIC = b"CDSV"
FORMAT_VERSION = 1
Encoding = Literal["auto", "jpeg", "png"]

#: Below this many pixels in the whole stack, lossless PNG costs little: use it.
PNG_MAX_PIXELS = 8 * 2**20
#: The most frames one payload may hold; longer cine loops should be sampled by the caller.
MAX_FRAMES = 5000
#: A payload must stay well under Streamlit's 200 MB websocket message limit.
MAX_PAYLOAD_BYTES = 150 * 2**20
_MAX_FPS = 120.0
_PREFIX = struct.Struct("<4sI")


@dataclass(frozen=True, slots=True)
class SeriesHeader:
    """What the viewer needs from a series' header: modality, spacing, cine rate, grey inversion."""

    modality: str = ""
    pixel_spacing: tuple[float, float] | None = None
    frame_rate: float | None = None
    inverted: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.modality, str):
            raise ValidationError("The modality must be text such as 'CT'.")
        if self.pixel_spacing is not None:
            spacing = tuple(self.pixel_spacing)
            if len(spacing) != 2 or not all(_positive(v) for v in spacing):
                raise ValidationError("Pixel spacing must be two positive numbers of millimetres (row, column).")
            object.__setattr__(self, "pixel_spacing", (float(spacing[0]), float(spacing[1])))
        if self.frame_rate is not None and not (_positive(self.frame_rate) and self.frame_rate <= _MAX_FPS):
            raise ValidationError(f"A frame rate must be above 0 and at most {_MAX_FPS:g} frames per second.")


@dataclass(frozen=True, slots=True, eq=False)
class StackPayload:
    """One series, rendered with one window, ready for the stack viewer.

    ``data`` is the message the viewer reads; ``digest`` identifies it, so
    equality and hashing look at the digest only (cheap for caches and for
    the viewer, which skips a payload it already shows).
    """

    digest: str
    data: bytes
    frames: int
    rows: int
    cols: int
    color: bool
    start_frame: int
    mime: str
    window: Window | None
    default_window: Window | None
    presets: tuple[tuple[str, Window], ...]
    header: SeriesHeader

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StackPayload) and other.digest == self.digest

    def __hash__(self) -> int:
        return hash(self.digest)

    def __repr__(self) -> str:
        return f"StackPayload({self.frames} frames {self.cols}×{self.rows} {self.mime}, {len(self.data)} bytes)"

    @property
    def nbytes(self) -> int:
        return len(self.data)


def _positive(value: object) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value) and float(value) > 0


# -- header values ----------------------------------------------------------------------


def cine_frame_rate(ds: Dataset) -> float | None:
    """Frames per second to play a multi-frame object at, or None when the header gives none.

    Tries Recommended Display Frame Rate (0008,2144), then Cine Rate
    (0018,0040), then Frame Time (0018,1063, ms per frame), then the mean of
    Frame Time Vector (0018,1065). A value that is missing, not a number,
    zero, negative or above 120 frames/s is skipped in favour of the next.
    """
    if not isinstance(ds, Dataset):
        raise RenderError("Only a DICOM dataset has a frame rate.")
    for keyword in ("RecommendedDisplayFrameRate", "CineRate"):
        rate = first_number(ds.get(keyword))
        if rate is not None and 0 < rate <= _MAX_FPS:
            return rate
    frame_time = first_number(ds.get("FrameTime"))
    if frame_time is not None and frame_time > 0 and 1000.0 / frame_time <= _MAX_FPS:
        return 1000.0 / frame_time
    vector = ds.get("FrameTimeVector")
    if vector:
        try:
            times = [float(v) for v in vector][1:]  # the first entry is 0 by definition
        except (TypeError, ValueError):
            times = []
        usable = [t for t in times if math.isfinite(t) and t > 0]
        if usable:
            rate = 1000.0 * len(usable) / sum(usable)
            if rate <= _MAX_FPS:
                return rate
    return None


def pixel_spacing_mm(ds: Dataset) -> tuple[float, float] | None:
    """(row, column) spacing in mm: Pixel Spacing, the enhanced Pixel Measures, else Imager Pixel Spacing."""
    if not isinstance(ds, Dataset):
        raise RenderError("Only a DICOM dataset has a pixel spacing.")
    measures = functional_item(ds, 0, "PixelMeasuresSequence")
    for source, keyword in ((ds, "PixelSpacing"), (measures, "PixelSpacing"), (ds, "ImagerPixelSpacing")):
        if source is None:
            continue
        value = source.get(keyword)
        try:
            pair = (float(value[0]), float(value[1])) if value is not None and len(value) >= 2 else None
        except (TypeError, ValueError):
            pair = None
        if pair is not None and all(math.isfinite(v) and v > 0 for v in pair):
            return pair
    return None


def series_header(ds: Dataset) -> SeriesHeader:
    """The viewer's header values read from one (de-identified) instance of the series."""
    if not isinstance(ds, Dataset):
        raise RenderError("Only a DICOM dataset can describe a series.")
    return SeriesHeader(
        modality=str(ds.get("Modality", "") or "").strip().upper(),
        pixel_spacing=pixel_spacing_mm(ds),
        frame_rate=cine_frame_rate(ds),
        inverted=photometric(ds) == "MONOCHROME1",
    )


# -- building ---------------------------------------------------------------------------


def default_workers() -> int:
    """Render threads: the machine's cores, at most 4 (decode and encode release the GIL in part)."""
    return max(1, min(os.cpu_count() or 1, 4))


def build_stack_payload(
    render: Callable[[int], npt.NDArray[Any]],
    frame_count: int,
    *,
    window: Window | None,
    header: SeriesHeader | None = None,
    default_window: Window | None = None,
    presets: Mapping[str, Preset] | None = None,
    encoding: Encoding = "auto",
    quality: int = 90,
    start_frame: int | None = None,
    workers: int | None = None,
) -> StackPayload:
    """Render frames ``0 .. frame_count-1`` with ``render`` and pack them for the viewer.

    ``render(i)`` must return frame ``i`` as display-ready uint8 (H×W grey or
    H×W×3 RGB) drawn with ``window`` (``Services.render_frame`` does). All
    frames must share one size. ``encoding="auto"`` picks PNG when the stack
    is small (under ``PNG_MAX_PIXELS`` in all) and JPEG at ``quality``
    otherwise. ``presets`` defaults to the modality's (``presets_for``);
    ``default_window`` is what the viewer's reset returns to (``window`` if
    None), and is also the image's own window that relative presets (MR, CR,
    DX, MG) are resolved against: without one they are left out, since
    ``window`` may be any the user chose and presets must not move with it.
    Frames render in ``workers`` threads (``default_workers()`` if None).
    """
    if not callable(render):
        raise ValidationError("render must be a function of the frame index that returns an image.")
    if isinstance(frame_count, bool) or not isinstance(frame_count, int) or not 1 <= frame_count <= MAX_FRAMES:
        raise ValidationError(f"A stack must have between 1 and {MAX_FRAMES} frames (got {frame_count!r}).")
    for name, value in (("window", window), ("default_window", default_window)):
        if value is not None and not isinstance(value, Window):
            raise ValidationError(f"{name} must be a Window (centre and width) or None.")
    header = header if header is not None else SeriesHeader()
    if not isinstance(header, SeriesHeader):
        raise ValidationError("header must be a SeriesHeader (see series_header).")
    if encoding not in ("auto", "jpeg", "png"):
        raise ValidationError(f"encoding must be 'auto', 'jpeg' or 'png' (got {encoding!r}).")
    if isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 100:
        raise ValidationError(f"JPEG quality must be a whole number from 1 to 100 (got {quality!r}).")
    start = frame_count // 2 if start_frame is None else start_frame
    if isinstance(start, bool) or not isinstance(start, int) or not 0 <= start < frame_count:
        raise ValidationError(f"The start frame must be between 0 and {frame_count - 1} (got {start_frame!r}).")
    threads = default_workers() if workers is None else workers
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValidationError(f"workers must be a whole number ≥ 1 (got {workers!r}).")
    chosen_presets = _presets(presets, header, default_window)

    first = _checked(render(start), None)
    rows, cols = int(first.shape[0]), int(first.shape[1])
    color = first.ndim == 3
    if color:
        window = default_window = None  # windows apply to grey images only
        chosen_presets = ()
    if encoding == "auto":
        encoding = "png" if rows * cols * frame_count <= PNG_MAX_PIXELS else "jpeg"
    encode: Callable[[npt.NDArray[Any]], bytes] = (
        encode_png if encoding == "png" else lambda image: encode_jpeg(image, quality=quality)
    )

    def one(index: int) -> bytes:
        image = first if index == start else _checked(render(index), first)
        return encode(image)

    if threads == 1 or frame_count == 1:
        encoded = [one(i) for i in range(frame_count)]
    else:
        with ThreadPoolExecutor(max_workers=min(threads, frame_count), thread_name_prefix="stack-render") as pool:
            encoded = list(pool.map(one, range(frame_count)))

    offsets: list[int] = []
    position = 0
    for blob in encoded:
        offsets.append(position)
        position += len(blob)
    if position > MAX_PAYLOAD_BYTES:
        raise RenderError(
            f"This series is too large to send to the viewer at once ({position / 2**20:.0f} MB encoded); "
            "open fewer frames or a smaller size."
        )
    body = b"".join(encoded)
    mime = "image/png" if encoding == "png" else "image/jpeg"
    reset = default_window or window
    meta: dict[str, Any] = {
        "version": FORMAT_VERSION,
        "frames": frame_count,
        "rows": rows,
        "cols": cols,
        "color": color,
        "mime": mime,
        "offsets": offsets,
        "lengths": [len(blob) for blob in encoded],
        "window": window.to_dict() if window is not None else None,
        "default_window": reset.to_dict() if reset is not None else None,
        "presets": [{"name": name, **preset.to_dict()} for name, preset in chosen_presets],
        "modality": header.modality,
        "pixel_spacing": list(header.pixel_spacing) if header.pixel_spacing else None,
        "frame_rate": header.frame_rate,
        "inverted": header.inverted,
        "start_frame": start,
    }
    digest = hashlib.blake2b(json.dumps(meta, sort_keys=True).encode(), digest_size=16)
    digest.update(body)
    meta["digest"] = digest.hexdigest()
    head = json.dumps(meta, separators=(",", ":")).encode("utf-8")
    data = _PREFIX.pack(MAGIC, len(head)) + head + body
    return StackPayload(
        digest=meta["digest"],
        data=data,
        frames=frame_count,
        rows=rows,
        cols=cols,
        color=color,
        start_frame=start,
        mime=mime,
        window=window,
        default_window=reset,
        presets=chosen_presets,
        header=header,
    )


def _presets(
    presets: Mapping[str, Preset] | None, header: SeriesHeader, own: Window | None
) -> tuple[tuple[str, Window], ...]:
    chosen = presets_for(header.modality) if presets is None else presets
    return resolve_presets(chosen, own, inverted=header.inverted)


def _checked(image: object, like: npt.NDArray[Any] | None) -> npt.NDArray[Any]:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.size == 0:
        raise RenderError("A frame of the series did not render to an 8-bit image.")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise RenderError("A frame of the series did not render to a grey or RGB image.")
    if like is not None and image.shape != like.shape:
        raise RenderError(
            "The frames of this series differ in size or colour, so they cannot be scrolled as one stack."
        )
    return image


# -- reading (tests, benchmarks, tools) -------------------------------------------------


def read_stack_payload(data: bytes) -> tuple[dict[str, Any], list[bytes]]:
    """Split a payload message into its JSON header and its encoded frames (what the viewer does)."""
    if not isinstance(data, bytes | bytearray | memoryview) or len(data) < _PREFIX.size:
        raise RenderError("This is not a stack viewer payload (too short).")
    raw = bytes(data)
    magic, length = _PREFIX.unpack_from(raw)
    if magic != MAGIC or _PREFIX.size + length > len(raw):
        raise RenderError("This is not a stack viewer payload (bad signature or header length).")
    try:
        meta = json.loads(raw[_PREFIX.size : _PREFIX.size + length].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise RenderError("The stack viewer payload header is damaged.") from None
    body = memoryview(raw)[_PREFIX.size + length :]
    offsets: Sequence[int] = meta.get("offsets", [])
    lengths: Sequence[int] = meta.get("lengths", [])
    if len(offsets) != len(lengths) or any(o + n > len(body) for o, n in zip(offsets, lengths, strict=True)):
        raise RenderError("The stack viewer payload is truncated.")
    return meta, [bytes(body[o : o + n]) for o, n in zip(offsets, lengths, strict=True)]
