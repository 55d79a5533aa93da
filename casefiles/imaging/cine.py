"""Image stacks as H.264 MP4 clips that PowerPoint, Keynote and browsers play.

OpenCV's writer cannot write H.264 and Chromium does not play its mp4v, so
frames are piped raw into ffmpeg (the binary shipped by the ``imageio-ffmpeg``
wheel, else the system one) and encoded with libx264 as yuv420p with the index
first (``+faststart``) so a clip starts playing before it has fully loaded.
The output carries no creation time and no muxer tags (only the encoder's
settings), and the same frames give the same bytes with the same ffmpeg, so
decks that deduplicate media by hash do not grow on re-export.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from casefiles.errors import RenderError, ValidationError
from casefiles.progress import NEVER_CANCELLED, CancelToken

__all__ = ["encode_mp4", "ffmpeg_exe", "sample_indices"]

_SYSTEM_FFMPEG = "/usr/bin/ffmpeg"
_MAX_FPS = 120.0
_STDERR_TAIL = 300  # characters of ffmpeg's complaint worth showing

# BT.709 limited range, tagged, so players convert colour frames back to RGB the same way.
_COLOUR = (
    "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p,"
    "setparams=range=tv:colorspace=bt709:color_primaries=bt709:color_trc=bt709"
)


def ffmpeg_exe() -> str:
    """The ffmpeg binary to run: imageio-ffmpeg's (works without a system ffmpeg), else the system's."""
    try:
        import imageio_ffmpeg

        path = str(imageio_ffmpeg.get_ffmpeg_exe())
        if os.access(path, os.X_OK):
            return path
    except (ImportError, RuntimeError):
        pass
    for candidate in (shutil.which("ffmpeg"), _SYSTEM_FFMPEG):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise RenderError(
        "Video clips cannot be made: ffmpeg was not found. Install the Python package imageio-ffmpeg "
        "(or the system ffmpeg) and try again."
    )


def _whole(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValidationError(f"{name} must be a whole number ≥ {minimum} (got {value!r}).")
    return value


def sample_indices(total: int, max_frames: int) -> list[int]:
    """At most ``max_frames`` evenly spaced indices into ``total`` frames, first and last always included.

    A 1,000-slice stack becomes a clip of a few hundred frames that still spans the whole
    volume; a stack that already fits is kept whole. With ``max_frames == 1`` the middle
    frame is returned (the most representative single slice).
    """
    total = _whole("The number of frames", total, 1)
    max_frames = _whole("The maximum number of frames", max_frames, 1)
    if total <= max_frames:
        return list(range(total))
    if max_frames == 1:
        return [total // 2]
    steps = max_frames - 1
    # Integer rounding of i * (total - 1) / steps: exact, strictly increasing since total > max_frames.
    return [(i * (total - 1) + steps // 2) // steps for i in range(max_frames)]


def _check_fps(fps: object) -> Fraction:
    if isinstance(fps, bool) or not isinstance(fps, int | float) or not math.isfinite(fps) or not 0 < fps <= _MAX_FPS:
        raise ValidationError(f"Frames per second must be a number above 0 and at most {_MAX_FPS:g} (got {fps!r}).")
    return Fraction(fps).limit_denominator(1001)


def _check_frame(frame: Any, index: int) -> npt.NDArray[np.uint8]:
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8:
        raise ValidationError(f"Frame {index + 1} is not an 8-bit display image (render frames before encoding).")
    if frame.ndim == 2 or (frame.ndim == 3 and frame.shape[2] == 3):
        if frame.shape[0] == 0 or frame.shape[1] == 0:
            raise ValidationError(f"Frame {index + 1} is empty.")
        return frame
    raise ValidationError(f"Frame {index + 1} is neither grey (H×W) nor RGB (H×W×3).")


def _output_size(height: int, width: int, max_side: int) -> tuple[int, int]:
    """Even (height, width) — yuv420p needs both — with the longest side within ``max_side``."""
    longest = max(height, width)
    if longest <= max_side:
        return height + height % 2, width + width % 2
    scale = (max_side - max_side % 2) / longest
    return max(2, 2 * round(height * scale / 2)), max(2, 2 * round(width * scale / 2))


def _prepare(frame: npt.NDArray[np.uint8], size: tuple[int, int]) -> bytes:
    """Shrink (area-averaged) or pad by one edge pixel to ``size``; never blur a frame that fits."""
    height, width = frame.shape[:2]
    out: npt.NDArray[Any] = frame
    if height > size[0] or width > size[1]:
        out = cv2.resize(frame, (size[1], size[0]), interpolation=cv2.INTER_AREA)
    elif (height, width) != size:
        pad = ((0, size[0] - height), (0, size[1] - width)) + (((0, 0),) if frame.ndim == 3 else ())
        out = np.pad(frame, pad, mode="edge")
    return np.ascontiguousarray(out, dtype=np.uint8).tobytes()


def _command(exe: str, *, pix_fmt: str, size: tuple[int, int], fps: Fraction, out: Path) -> list[str]:
    rate = f"{fps.numerator}/{fps.denominator}"
    keyint = str(max(1, round(fps)))  # a key frame every second keeps scrubbing through a clip responsive
    return [
        exe, "-hide_banner", "-nostdin", "-loglevel", "error",
        "-f", "rawvideo", "-pix_fmt", pix_fmt, "-s", f"{size[1]}x{size[0]}", "-r", rate, "-i", "-",
        "-map", "0:v:0", "-map_metadata", "-1", "-map_chapters", "-1", "-an", "-sn", "-dn",
        "-fflags", "+bitexact", "-flags:v", "+bitexact",
        "-vf", _COLOUR,
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p", "-g", keyint,
        "-movflags", "+faststart", "-f", "mp4", "-y", str(out),
    ]  # fmt: skip


def _plain_stderr(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][-_STDERR_TAIL:] if lines else ""


def encode_mp4(
    frames: Iterable[npt.NDArray[np.uint8]],
    *,
    fps: float = 10.0,
    max_side: int = 1024,
    timeout: float = 300.0,
    cancel: CancelToken = NEVER_CANCELLED,
) -> bytes:
    """An H.264 MP4 (yuv420p, faststart, no metadata) of uint8 grey or RGB frames of one size.

    Frames are consumed lazily and streamed to ffmpeg, so a long stack is never held
    in memory twice. Odd sizes are padded by one edge pixel; frames larger than
    ``max_side`` are shrunk keeping their aspect ratio. Raises ValidationError for
    unusable input, RenderError if ffmpeg is missing, fails or runs longer than
    ``timeout`` seconds (rendering the frames included), and Cancelled when
    ``cancel`` is set between frames.
    """
    rate = _check_fps(fps)
    max_side = _whole("The maximum clip side", max_side, 2)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise ValidationError(f"The encoding timeout must be a number of seconds above 0 (got {timeout!r}).")
    iterator: Iterator[npt.NDArray[np.uint8]] = iter(frames)
    first = next(iterator, None)
    if first is None:
        raise ValidationError("A clip needs at least one frame; this stack has none.")
    first = _check_frame(first, 0)
    size = _output_size(first.shape[0], first.shape[1], max_side)
    exe = ffmpeg_exe()
    with tempfile.TemporaryDirectory(prefix="casedeck-cine-") as tmp:
        out = Path(tmp) / "clip.mp4"
        command = _command(exe, pix_fmt="gray" if first.ndim == 2 else "rgb24", size=size, fps=rate, out=out)
        _run(command, _raw_frames(first, iterator, size, cancel), timeout=timeout, log=Path(tmp) / "ffmpeg.log")
        data = out.read_bytes()
    if data[4:8] != b"ftyp":
        raise RenderError("ffmpeg did not produce an MP4 file; the clip cannot be used.")
    return data


def _raw_frames(
    first: npt.NDArray[np.uint8], rest: Iterator[npt.NDArray[np.uint8]], size: tuple[int, int], cancel: CancelToken
) -> Iterator[bytes]:
    """Raw frame bytes for ffmpeg's stdin, each frame checked against the first as it arrives."""
    cancel.raise_if_cancelled()
    yield _prepare(first, size)
    for index, item in enumerate(rest, start=1):
        cancel.raise_if_cancelled()
        frame = _check_frame(item, index)
        if frame.shape != first.shape:
            raise ValidationError(
                f"Frame {index + 1} is {_describe(frame.shape)} but the first frame is "
                f"{_describe(first.shape)}; all frames of a clip must have one size."
            )
        yield _prepare(frame, size)


def _run(command: list[str], chunks: Iterator[bytes], *, timeout: float, log: Path) -> None:
    """Feed ``chunks`` to ffmpeg's stdin; ffmpeg is always gone when this returns or raises."""
    with log.open("wb") as stderr:
        try:
            proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=stderr)
        except OSError as exc:
            raise RenderError(f"Video clips cannot be made: ffmpeg could not be started ({exc.strerror}).") from exc
    timed_out = threading.Event()

    def stop() -> None:
        timed_out.set()
        proc.kill()

    timer = threading.Timer(timeout, stop)
    timer.daemon = True
    timer.start()
    try:
        stdin = proc.stdin
        if stdin is None:  # never with stdin=PIPE; keeps the type checker honest
            raise RenderError("Video clips cannot be made: ffmpeg's input could not be opened.")
        with contextlib.suppress(BrokenPipeError):  # ffmpeg stopped reading: its exit status and log say why
            for chunk in chunks:
                stdin.write(chunk)
            stdin.close()
        returncode = proc.wait()
    finally:
        timer.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
    if timed_out.is_set():
        raise RenderError(f"Encoding the clip took longer than {timeout:g} s and was stopped; try fewer frames.")
    if returncode != 0:
        detail = _plain_stderr(log)
        raise RenderError(
            f"The image stack could not be encoded as a video (ffmpeg exit status {returncode}"
            + (f": {detail})." if detail else ").")
        )


def _describe(shape: tuple[int, ...]) -> str:
    kind = "grey" if len(shape) == 2 else "RGB"
    return f"{shape[1]}×{shape[0]} {kind}"
