"""Video clips from outside (endoscopy, ultrasound, phones) as scrubbed H.264/AAC MP4s.

Everything goes through the ffmpeg binary CaseDeck already uses for cine clips
(:func:`casefiles.imaging.cine.ffmpeg_exe`, normally imageio-ffmpeg's), so no
ffprobe or system ffmpeg is needed at run time. Three rules keep raw input safe:

* the container is recognised from its first bytes, never from the file name, and
  ffmpeg is told which demuxer to use and may open local files only, so a file
  posing as a video cannot make ffmpeg follow a playlist to other files or URLs;
* ffmpeg's description of the input (which includes titles, GPS and device tags)
  is parsed for the stream layout only and never logged, stored or quoted in an
  error; errors never name the file either (names often hold patient names);
* every file ffmpeg writes, and its working directory, is inside the caller's
  ``workdir``; output is read back into memory and deleted.

The MP4 carries no container metadata (no creation time, location, title, device
or encoder tags, no chapters, no x264 settings banner), has its index first
(``+faststart``) so Chromium and PowerPoint start playing before it has loaded,
square pixels, even dimensions and the picture upright (phone rotation applied).
"""

from __future__ import annotations

import math
import os
import queue
import re
import subprocess
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from casefiles.errors import ImportFailure, ValidationError
from casefiles.imaging.cine import ffmpeg_exe
from casefiles.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress

__all__ = [
    "ELEMENTARY_CODECS",
    "ElementaryStream",
    "VideoInfo",
    "default_poster_time",
    "output_size",
    "poster_frame",
    "probe_video",
    "transcode",
    "transcode_arguments",
]

#: Largest frame CaseDeck decodes (8K video is 7680×4320); larger declared sizes are refused
#: before ffmpeg allocates frames for them.
MAX_PIXELS = 8192 * 8192
#: Shortest clip worth keeping, in seconds (a few frames at any common rate).
MIN_CLIP_S = 0.1
#: Frame rates above this (slow-motion phone clips) are reduced: players and decks gain nothing.
MAX_OUTPUT_FPS = 60.0

_PROBE_TIMEOUT_S = 60.0
_POSTER_TIMEOUT_S = 120.0
_READ_AHEAD = 64  # bytes enough to recognise every container below
_POLL_S = 0.1  # how often a running ffmpeg is checked for cancel and timeout

#: A box to black out: x, y, width, height in the output's pixels.
Box = tuple[int, int, int, int]

_DAMAGED = (
    "The video could not be read: the file is damaged or incomplete. Export the clip again from "
    "the source device or program and import the new file."
)
_NOT_VIDEO = (
    "This file is not a video CaseDeck can read. Supported formats are MP4, MOV, M4V, 3GP, AVI, "
    "WebM, MKV, MPEG (PS/TS), WMV and Ogg; convert the clip to MP4 and import it again."
)


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """What a player shows: duration, upright size (rotation and pixel shape applied), rate, sound, codec."""

    duration_s: float
    width: int
    height: int
    fps: float
    has_audio: bool
    codec: str

    def __post_init__(self) -> None:
        if not (isinstance(self.duration_s, float) and math.isfinite(self.duration_s) and self.duration_s > 0):
            raise ValidationError(f"A video's duration must be a number of seconds above 0 (got {self.duration_s!r}).")
        for name, value in (("width", self.width), ("height", self.height)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValidationError(f"A video's {name} must be a whole number of pixels ≥ 1 (got {value!r}).")
        if not (isinstance(self.fps, float) and math.isfinite(self.fps) and self.fps > 0):
            raise ValidationError(f"A video's frame rate must be a number above 0 (got {self.fps!r}).")
        if not isinstance(self.has_audio, bool):
            raise ValidationError("has_audio must be True or False.")
        if not isinstance(self.codec, str) or not self.codec:
            raise ValidationError("A video's codec must be a non-empty name.")


#: Codecs of raw (container-less) video streams ffmpeg is told to read: H.264, HEVC, MPEG-1/2 video.
ELEMENTARY_CODECS = ("h264", "hevc", "mpegvideo")


@dataclass(frozen=True, slots=True)
class ElementaryStream:
    """A video stream with no container around it, as DICOM stores video: what the file cannot say itself.

    A raw stream has no index and often no timing, so ffmpeg is told its
    ``codec`` and ``fps`` instead of guessing them. ``frames``, when the
    source declares it (DICOM Number of Frames), lets a stream that stops
    early be recognised as damaged rather than converted short.
    """

    codec: str
    fps: float
    frames: int | None = None

    def __post_init__(self) -> None:
        if self.codec not in ELEMENTARY_CODECS:
            raise ValidationError(
                f"A raw video stream must be one of {', '.join(ELEMENTARY_CODECS)} (got {self.codec!r})."
            )
        if isinstance(self.fps, bool) or not isinstance(self.fps, int | float) or not (0 < self.fps <= 1000):
            raise ValidationError(
                f"A raw video stream's frame rate must be a number from 0 to 1000 (got {self.fps!r})."
            )
        if self.frames is not None and (
            isinstance(self.frames, bool) or not isinstance(self.frames, int) or self.frames < 1
        ):
            raise ValidationError(f"A raw video stream's frame count must be a whole number ≥ 1 (got {self.frames!r}).")

    @property
    def input_options(self) -> tuple[str, ...]:
        """ffmpeg options placed before ``-i``: the rate to time the frames by."""
        return ("-framerate", f"{float(self.fps):.6g}")


@dataclass(frozen=True, slots=True)
class _Probe:
    """VideoInfo plus what the encoding commands need but a caller does not."""

    info: VideoInfo
    demuxer: str
    interlaced: bool
    options: tuple[str, ...] = ()  # input options for a raw stream (its frame rate)


# --- recognising the container -------------------------------------------------------------

_MOV_BOXES = (b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot")
_ASF_GUID = bytes.fromhex("3026B2758E66CF11A6D900AA0062CE6C")


def _demuxer(head: bytes) -> str:
    """The ffmpeg demuxer for a file starting with ``head``, or "" if it starts like no container read here."""
    if head[4:8] in _MOV_BOXES:
        return "mov"  # MP4, MOV, M4V, 3GP (and M4A, rejected later for having no picture)
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "matroska"  # MKV and WebM
    if head[:4] == b"\x00\x00\x01\xba":
        return "mpeg"
    if head[:16] == _ASF_GUID:
        return "asf"
    if head[:4] == b"OggS":
        return "ogg"
    return ""


def _sniff(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            head = handle.read(_READ_AHEAD)
            if not head:
                raise ImportFailure("The video file is empty; export the clip again and import the new file.")
            demuxer = _demuxer(head)
            if demuxer:
                return demuxer
            # MPEG transport streams (camcorder .mts/.m2ts, recorders' .ts): a sync byte every 188 or 192 bytes.
            handle.seek(0)
            block = handle.read(192 * 3 + 4)
    except OSError as exc:
        raise ImportFailure(
            f"The video file could not be opened ({exc.strerror or 'read error'}); import it again."
        ) from None
    for size, offset in ((188, 0), (192, 4)):
        if len(block) >= offset + 2 * size + 1 and all(block[offset + k * size] == 0x47 for k in range(3)):
            return "mpegts"
    raise ImportFailure(_NOT_VIDEO)


# --- running ffmpeg --------------------------------------------------------------------------


def _check_input(path: object) -> Path:
    if not isinstance(path, Path):
        raise ValidationError("The video must be given as a pathlib.Path to a file in the quarantine folder.")
    if not path.is_file():
        raise ImportFailure("The video file is missing or is not a file; import it again.")
    return path


def _check_workdir(workdir: object) -> Path:
    if not isinstance(workdir, Path):
        raise ValidationError("workdir must be a pathlib.Path to a folder inside the quarantine.")
    if not workdir.is_dir():
        raise ValidationError("The working folder for video conversion does not exist; create it first.")
    return workdir


def _source(path: Path) -> str:
    # "file:" keeps ffmpeg from reading a name with a colon as a protocol (or a leading "-" as an option).
    return "file:" + str(path.absolute())


def _input_args(demuxer: str, path: Path, options: tuple[str, ...] = ()) -> list[str]:
    return ["-protocol_whitelist", "file", "-f", demuxer, *options, "-i", _source(path)]


def _environment(workdir: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    if workdir is not None:
        for name in ("TMPDIR", "TMP", "TEMP"):
            env[name] = str(workdir)
    return env


def _start(
    command: list[str], *, cwd: Path | None, stdout: int | IO[bytes], stderr: int | IO[bytes]
) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, cwd=cwd, env=_environment(cwd)
        )
    except OSError as exc:
        raise ImportFailure(f"Videos cannot be converted: ffmpeg could not be started ({exc.strerror}).") from None


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def _run_capture(command: list[str], *, timeout: float, cwd: Path | None = None) -> tuple[int, str]:
    """ffmpeg's exit status and its stderr (text) for short runs that write nothing but their log."""
    proc = _start(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(proc)
        raise ImportFailure(
            "Reading the video took too long and was stopped; the file may be damaged. Export it again and re-import."
        ) from None
    finally:
        _stop(proc)
    return proc.returncode, err.decode("utf-8", errors="replace")


def _run_with_progress(
    command: list[str],
    *,
    cwd: Path,
    total_us: int,
    progress: ProgressFn,
    cancel: CancelToken,
    timeout: float,
    message: str,
) -> int:
    """Run ffmpeg (with ``-progress pipe:1``), reporting progress and honouring cancel from this thread.

    Returns the microseconds of output ffmpeg reported writing. ffmpeg is killed on cancel,
    timeout or any error, and is always gone when this returns or raises.
    """
    log = cwd / f"ffmpeg-{uuid.uuid4().hex}.log"
    lines: queue.Queue[str | None] = queue.Queue()
    done_us = 0
    with log.open("wb") as errors:
        proc = _start(command, cwd=cwd, stdout=subprocess.PIPE, stderr=errors)
    stdout = proc.stdout
    if stdout is None:  # never with stdout=PIPE; keeps the type checker honest
        _stop(proc)
        raise ImportFailure("Videos cannot be converted: ffmpeg's output could not be read.")

    def pump() -> None:
        for raw in stdout:
            lines.put(raw.decode("ascii", errors="replace").strip())
        lines.put(None)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + timeout
        progress(0, total_us // 1000, message)
        while True:
            if cancel.cancelled:
                _stop(proc)
                cancel.raise_if_cancelled()
            if time.monotonic() > deadline:
                _stop(proc)
                raise ImportFailure(
                    f"Converting the video took longer than {timeout:g} s and was stopped; trim it to a shorter clip."
                )
            try:
                line = lines.get(timeout=_POLL_S)
            except queue.Empty:
                continue
            if line is None:
                break
            key, _, value = line.partition("=")
            if key == "out_time_us" and value.lstrip("-").isdigit():
                done_us = max(done_us, int(value))
                progress(min(done_us, total_us) // 1000, total_us // 1000, message)
        returncode = proc.wait()
        disk_full = returncode != 0 and b"No space left on device" in log.read_bytes()
    finally:
        _stop(proc)
        reader.join(timeout=5)  # the pipe is at its end once ffmpeg is gone
        stdout.close()
        log.unlink(missing_ok=True)  # its text may quote metadata from the input: never kept
    if disk_full:
        raise ImportFailure("The disk holding the import folder is full; free some space and import the video again.")
    if returncode != 0:
        raise ImportFailure(_DAMAGED)
    progress(total_us // 1000, total_us // 1000, message)
    return done_us


# --- probing ---------------------------------------------------------------------------------

_DURATION = re.compile(r"^Duration: (?:(\d+):(\d\d):(\d\d(?:\.\d+)?)|N/A)")
_STREAM = re.compile(
    r"^Stream #0:(\d+)(?:\[0x[0-9a-fA-F]+\])?(?:\([^)]*\))?: (Video|Audio|Subtitle|Data|Attachment): (.*)$"
)
_SIZE = re.compile(r"(?:^|[ ,])(\d{1,6})x(\d{1,6})(?=[ ,\[]|$)")
_SAR = re.compile(r"SAR (\d{1,6}):(\d{1,6}) DAR")
_RATE = re.compile(r", (\d+(?:\.\d+)?)(k?) (fps|tbr)(?=,|$| )")
_ROTATION = re.compile(r"^display ?matrix: rotation of (-?\d+(?:\.\d+)?) degrees", re.IGNORECASE)
_INTERLACED = re.compile(r"\((?:[^()]*, )?(?:top|bottom) (?:coded )?first(?: \(swapped\))?\)")


@dataclass
class _Video:
    codec: str
    width: int
    height: int
    sar: tuple[int, int]
    fps: float
    interlaced: bool
    rotation: float = 0.0


def _rate(details: str) -> float:
    rates = {kind: float(number) * (1000 if k else 1) for number, k, kind in _RATE.findall(details)}
    return rates.get("fps") or rates.get("tbr") or 0.0


def _parse_video(details: str) -> _Video:
    codec = details.split(" ", 1)[0].rstrip(",")
    size = _SIZE.search(details)
    if size is None:
        raise ImportFailure(_DAMAGED)
    sar = _SAR.search(details)
    num, den = (int(sar.group(1)), int(sar.group(2))) if sar else (1, 1)
    return _Video(
        codec=codec,
        width=int(size.group(1)),
        height=int(size.group(2)),
        sar=(num, den) if num > 0 and den > 0 else (1, 1),
        fps=_rate(details),
        interlaced=bool(_INTERLACED.search(details)),
    )


@dataclass
class _Listing:
    duration_s: float | None = None
    video: _Video | None = None
    has_audio: bool = False


def _parse_listing(stderr: str) -> _Listing:
    """The first input's layout from ``ffmpeg -i``'s description of it.

    Only lines indented by exactly two spaces are structural (Duration, Stream, the labels
    of metadata blocks); metadata values are indented deeper and multi-line values continue
    deeper still, so a title cannot pose as a stream. A listing that is not consistent
    (missing or repeated Duration, stream numbers out of order) is refused.
    """
    listing = _Listing()
    in_input = False
    durations = 0
    expected_stream = 0
    current: str | None = None  # the kind of the stream being described
    sub_block = ""
    for line in stderr.split("\n"):
        if line.startswith("Input #"):
            if in_input:
                break  # only input #0 exists; anything after is not ours
            in_input = line.startswith("Input #0,")
            continue
        if not in_input:
            continue
        indent = len(line) - len(line.lstrip(" "))
        text = line.strip()
        if indent == 2:
            current, sub_block = None, ""
            duration = _DURATION.match(text)
            if duration:
                durations += 1
                if duration.group(1) is not None:
                    hours, minutes, seconds = duration.groups()
                    listing.duration_s = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
                continue
            stream = _STREAM.match(text)
            if stream:
                if int(stream.group(1)) != expected_stream:
                    raise ImportFailure(_DAMAGED)
                expected_stream += 1
                kind, details = stream.group(2), stream.group(3)
                current = kind
                if kind == "Audio":
                    listing.has_audio = True
                elif kind == "Video" and listing.video is None and "(attached pic)" not in details:
                    listing.video = _parse_video(details)
                    current = "first video"
            continue
        if indent == 4 and current is not None:
            sub_block = text
            continue
        if indent == 6 and current == "first video" and sub_block == "Side data:" and listing.video is not None:
            rotation = _ROTATION.match(text)
            if rotation:
                listing.video.rotation = float(rotation.group(1))
    if not in_input or durations != 1:
        raise ImportFailure(_DAMAGED)
    return listing


def _display_size(video: _Video) -> tuple[int, int]:
    """(width, height) a player shows: non-square pixels stretched, quarter turns applied."""
    width = max(1, round(video.width * video.sar[0] / video.sar[1]))
    height = video.height
    if round(video.rotation / 90) % 2:
        width, height = height, width
    return width, height


def output_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """Even (width, height) with the longest side at most ``max_side`` and the aspect ratio kept.

    H.264 in yuv420p needs even sides; a frame that already fits is only rounded to even.
    """
    for name, value, minimum in (("width", width, 1), ("height", height, 1), ("max_side", max_side, 2)):
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValidationError(f"The video {name} must be a whole number ≥ {minimum} (got {value!r}).")
    scale = min(1.0, max_side / max(width, height))
    fit = max_side - max_side % 2

    def even(side: int) -> int:
        return min(fit, max(2, 2 * math.floor(side * scale / 2 + 0.5)))  # halves round up

    return even(width), even(height)


def _decode_through(exe: str, demuxer: str, path: Path, options: tuple[str, ...] = ()) -> tuple[float, int]:
    """(seconds, frames) of picture, by decoding the whole stream: for files whose header gives no duration."""
    command = [
        exe, "-hide_banner", "-nostdin", "-loglevel", "error", "-nostats", "-progress", "pipe:2",
        *_input_args(demuxer, path, options), "-map", "0:v:0", "-f", "null", "-",
    ]  # fmt: skip
    _, err = _run_capture(command, timeout=_PROBE_TIMEOUT_S * 5)
    times = [int(v) for v in re.findall(r"^out_time_us=(\d+)$", err, re.MULTILINE)]
    frames = [int(v) for v in re.findall(r"^frame=(\d+)$", err, re.MULTILINE)]
    return max(times, default=0) / 1e6, max(frames, default=0)


def _check_stream(stream: object) -> ElementaryStream | None:
    if stream is not None and not isinstance(stream, ElementaryStream):
        raise ValidationError("stream must be an ElementaryStream (or None for a file in a container).")
    return stream


def _probe(path: Path, stream: ElementaryStream | None = None) -> _Probe:
    path = _check_input(path)
    stream = _check_stream(stream)
    options: tuple[str, ...] = ()
    if stream is None:
        demuxer = _sniff(path)
    else:
        demuxer, options = stream.codec, stream.input_options
    exe = ffmpeg_exe()
    _, stderr = _run_capture(
        [exe, "-hide_banner", "-nostdin", *_input_args(demuxer, path, options)], timeout=_PROBE_TIMEOUT_S
    )
    listing = _parse_listing(stderr)
    video = listing.video
    if video is None:
        raise ImportFailure(
            "This file has no video picture (it is audio only, or a picture with sound). Import the video clip itself."
        )
    if video.width < 1 or video.height < 1 or video.width * video.height > MAX_PIXELS:
        raise ImportFailure(
            "The video's frame size is outside what CaseDeck handles (up to 8192×8192); "
            "export it at a smaller resolution and import it again."
        )
    duration = listing.duration_s
    decoded = 0
    if duration is None or duration <= 0 or stream is not None:  # a raw stream's "duration" is a guess
        duration, decoded = _decode_through(exe, demuxer, path, options)
    if not duration > 0:
        raise ImportFailure(_DAMAGED)
    if stream is not None:
        # The stream's own timing, when it has one, wins over the rate it was given: use what decoding saw.
        video.fps = decoded / duration if decoded > 0 else float(stream.fps)
        if stream.frames is not None:
            _check_complete_stream(decoded, stream)
    if not video.fps > 0:
        raise ImportFailure(_DAMAGED)
    width, height = _display_size(video)
    info = VideoInfo(
        duration_s=float(duration),
        width=width,
        height=height,
        fps=float(video.fps),
        has_audio=listing.has_audio,
        codec=video.codec,
    )
    return _Probe(info=info, demuxer=demuxer, interlaced=video.interlaced, options=options)


def _check_complete_stream(decoded: int, stream: ElementaryStream) -> None:
    """A raw stream holding clearly fewer frames than declared was cut short (a broken copy or export)."""
    declared = stream.frames or 0
    if declared - decoded > max(2, declared // 10):
        raise ImportFailure(
            f"The video stops after {decoded} of the {declared} frames it declares: it is damaged or "
            "incomplete. Export it again from the source and import the new copy."
        )


def probe_video(path: Path, *, stream: ElementaryStream | None = None) -> VideoInfo:
    """Duration, upright display size, frame rate, sound and codec of a video file.

    ``stream`` describes a raw video stream with no container (see
    :class:`ElementaryStream`); without it the container is recognised from
    the file's first bytes. Raises ImportFailure when the file is not a video
    CaseDeck reads, has no video stream (audio only), or is damaged (a raw
    stream also when it holds clearly fewer frames than ``stream.frames``);
    nothing is written anywhere.
    """
    return _probe(path, stream).info


# --- transcoding -----------------------------------------------------------------------------


def _seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ValidationError(f"The {name} must be a number of seconds ≥ 0 (got {value!r}).")
    return float(value)


def _trim(info: VideoInfo, start_s: float | None, end_s: float | None) -> tuple[float, float]:
    """(start, end) seconds of the clip, checked against the video's duration."""
    duration = info.duration_s
    start = 0.0 if start_s is None else _seconds("clip start", start_s)
    end = duration if end_s is None else _seconds("clip end", end_s)
    if end > duration:
        if end - duration > 0.05:  # a rounded display value just past the end means "to the end"
            raise ValidationError(f"The clip end ({end:.2f} s) is after the end of the video ({duration:.2f} s).")
        end = duration
    if start >= duration:
        raise ValidationError(f"The clip start ({start:.2f} s) is not before the end of the video ({duration:.2f} s).")
    if end - start < MIN_CLIP_S:
        raise ValidationError(
            f"The clip must end at least {MIN_CLIP_S:g} s after it starts (start {start:.2f} s, end {end:.2f} s)."
        )
    return start, end


def _picture_filters(probe: _Probe, size: tuple[int, int], black_boxes: Sequence[Box] = ()) -> str:
    """Deinterlace if needed, fit to ``size`` with square pixels, cap the frame rate (rotation is ffmpeg's).

    ``black_boxes`` (x, y, width, height in output pixels) are filled black in every frame.
    """
    filters = ["bwdif=mode=send_frame"] if probe.interlaced else []
    # Limited ("TV") range: full-range H.264 (from MJPEG scopes) shows washed out or crushed in some players.
    filters.append(f"scale={size[0]}:{size[1]}:flags=bicubic:out_range=tv")
    filters.append("setsar=1")
    filters += [f"drawbox=x={x}:y={y}:w={w}:h={h}:color=black:t=fill" for x, y, w, h in black_boxes]
    if probe.info.fps > MAX_OUTPUT_FPS:
        filters.append(f"fps={MAX_OUTPUT_FPS:g}")
    filters.append("format=yuv420p")
    return ",".join(filters)


def transcode_arguments(
    probe_info: VideoInfo,
    *,
    interlaced: bool = False,
    length_s: float,
    mute: bool,
    max_side: int,
    black_boxes: Sequence[Box] = (),
) -> list[str]:
    """The ffmpeg arguments after the input that make CaseDeck's MP4 (shared with the benchmark)."""
    probe = _Probe(info=probe_info, demuxer="", interlaced=interlaced)
    size = output_size(probe_info.width, probe_info.height, max_side)
    keyint = max(1, round(min(probe_info.fps, MAX_OUTPUT_FPS) * 2))  # a key frame every 2 s: quick scrubbing
    audio = probe_info.has_audio and not mute
    return [
        *(["-t", f"{length_s:.6f}"]),
        "-map", "0:v:0", *(["-map", "0:a:0"] if audio else []),
        "-map_metadata", "-1", "-map_metadata:s", "-1", "-map_chapters", "-1",
        "-sn", "-dn", *([] if audio else ["-an"]),
        "-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact",
        "-metadata:s:v:0", "encoder=",
        "-vf", _picture_filters(probe, size, black_boxes),
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p", "-g", str(keyint),
        "-bsf:v", "filter_units=remove_types=6",  # drop SEI: x264's banner of version and settings
        *(
            ["-c:a", "aac", "-b:a", "128k", "-af", "aformat=channel_layouts=mono|stereo", "-metadata:s:a:0", "encoder="]
            if audio
            else []
        ),
        "-movflags", "+faststart", "-f", "mp4",
    ]  # fmt: skip


def transcode(
    path: Path,
    *,
    workdir: Path,
    start_s: float | None = None,
    end_s: float | None = None,
    mute: bool = False,
    max_side: int = 1280,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
    timeout: float = 3600.0,
    stream: ElementaryStream | None = None,
    black_boxes: Sequence[Box] = (),
) -> bytes:
    """The clip from ``start_s`` to ``end_s`` as an H.264/AAC MP4 with no metadata, in memory.

    Sound is dropped when ``mute`` is set or the source has none. The picture is
    upright, square-pixelled, fitted within ``max_side`` and even-sized. ffmpeg's files
    live in ``workdir`` only and are deleted. Progress is reported in milliseconds of
    the clip. Raises ValidationError for a bad trim or option, ImportFailure for input
    that cannot be read (including a file that stops before the clip does) and
    Cancelled (ffmpeg stopped, nothing kept) when ``cancel`` is set. ``stream``
    describes a raw video stream with no container, as :func:`probe_video` takes it.
    ``black_boxes`` (x, y, width, height in the output's pixels) are blacked out in every frame.
    """
    workdir = _check_workdir(workdir)
    boxes = _check_boxes(black_boxes)
    if not isinstance(mute, bool):
        raise ValidationError("mute must be True or False.")
    output_size(2, 2, max_side)  # validates max_side before any work
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise ValidationError(f"The conversion timeout must be a number of seconds above 0 (got {timeout!r}).")
    cancel.raise_if_cancelled()
    probe = _probe(path, stream)
    start, end = _trim(probe.info, start_s, end_s)
    length = end - start
    out = workdir / f"casedeck-video-{uuid.uuid4().hex}.mp4"
    command = [
        ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-nostats", "-progress", "pipe:1",
        *(["-ss", f"{start:.6f}"] if start > 0 else []),
        *_input_args(probe.demuxer, path, probe.options),
        *transcode_arguments(
            probe.info, interlaced=probe.interlaced, length_s=length, mute=mute, max_side=max_side,
            black_boxes=boxes,
        ),
        "-y", _source(out),
    ]  # fmt: skip
    try:
        written_us = _run_with_progress(
            command,
            cwd=workdir,
            total_us=round(length * 1e6),
            progress=progress,
            cancel=cancel,
            timeout=float(timeout),
            message="Converting the video",
        )
        data = out.read_bytes() if out.is_file() else b""
    finally:
        out.unlink(missing_ok=True)
    if data[4:8] != b"ftyp" or written_us <= 0:
        raise ImportFailure(_DAMAGED)
    # A file cut short (copied while still recording, a broken download) declares more than it holds.
    if written_us / 1e6 < length - max(0.5, 0.1 * length):
        raise ImportFailure(
            f"Only {written_us / 1e6:.1f} s of the {length:.1f} s clip could be read: the file is damaged or "
            "incomplete. Export it again from the source, or trim the clip to the part that plays."
        )
    return data


def _check_boxes(boxes: Sequence[Box]) -> list[Box]:
    checked = []
    for box in boxes:
        if len(box) != 4 or any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in box) or 0 in box[2:]:
            raise ValidationError("Each black box is (x, y, width, height) in whole pixels inside the picture.")
        checked.append((box[0], box[1], box[2], box[3]))
    return checked


# --- poster frame ----------------------------------------------------------------------------


def default_poster_time(info: VideoInfo) -> float:
    """One second in (past fades from black), or the middle of clips shorter than two seconds."""
    return 1.0 if info.duration_s >= 2.0 else info.duration_s / 2


def poster_frame(
    path: Path,
    *,
    at_s: float | None = None,
    workdir: Path,
    max_side: int = 1280,
    stream: ElementaryStream | None = None,
) -> bytes:
    """A PNG of the frame shown at ``at_s`` seconds, upright and the size ``transcode`` gives the clip.

    Defaults to :func:`default_poster_time`. A time at or after the last frame gives the
    last frame. Raises ValidationError for a time outside the video and ImportFailure for
    unreadable input. ``stream`` describes a raw video stream, as :func:`probe_video` takes it.
    """
    workdir = _check_workdir(workdir)
    output_size(2, 2, max_side)
    probe = _probe(path, stream)
    info = probe.info
    at = default_poster_time(info) if at_s is None else _seconds("poster frame time", at_s)
    if at > info.duration_s:
        raise ValidationError(
            f"The poster frame time ({at:.2f} s) is after the end of the video ({info.duration_s:.2f} s)."
        )
    size = output_size(info.width, info.height, max_side)
    filters = ",".join(
        [*(["bwdif=mode=send_frame"] if probe.interlaced else []), f"scale={size[0]}:{size[1]}", "setsar=1"]
    )
    out = workdir / f"casedeck-poster-{uuid.uuid4().hex}.png"
    exe = ffmpeg_exe()
    attempts = [["-ss", f"{at:.6f}"], ["-sseof", "-2"]]  # the second: the last frame, for times past it
    try:
        for seek in attempts:
            command = [
                exe, "-hide_banner", "-nostdin", "-loglevel", "error", *seek,
                *_input_args(probe.demuxer, path, probe.options),
                "-map", "0:v:0", "-map_metadata", "-1", "-an", "-sn", "-dn", "-vf", filters,
                "-fflags", "+bitexact", "-flags:v", "+bitexact", "-c:v", "png", "-pix_fmt", "rgb24",
                *(["-frames:v", "1"] if seek[0] == "-ss" else []),
                "-update", "1", "-f", "image2", "-y", _source(out),
            ]  # fmt: skip
            returncode, _ = _run_capture(command, timeout=_POSTER_TIMEOUT_S, cwd=workdir)
            if returncode == 0 and out.is_file() and out.stat().st_size > 0:
                data = out.read_bytes()
                if data.startswith(b"\x89PNG\r\n\x1a\n"):
                    return data
    finally:
        out.unlink(missing_ok=True)
    raise ImportFailure(_DAMAGED)
