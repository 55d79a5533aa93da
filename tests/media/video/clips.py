"""Video clips made in the test with ffmpeg, carrying the identifying extras phones and scopes write,
and Debian ffprobe's view of what CaseDeck made of them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from casefiles.imaging.cine import ffmpeg_exe
from tests.helpers import require_tool

NAME = "DOE^JOHN"
GPS = "+48.8577+002.2950/"
#: Values that must not survive into anything CaseDeck keeps.
PHI_VALUES = (NAME, "DOE", GPS, "48.8577", "2023-05-04", "Olympus", "CV-190", "iPhone", "Bob's scope")
#: Tags that must not survive either, whatever their value.
PHI_KEYS = ("creation_time", "location", "title", "comment", "make", "model", "encoder", "artist", "date")

#: Container -> (file name, codec arguments). Names lie about nothing here; tests that need lies rename.
CONTAINERS: dict[str, tuple[str, list[str]]] = {
    "mp4": ("clip.mp4", ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"]),
    "mov": ("clip.mov", ["-c:v", "mpeg4", "-q:v", "5", "-c:a", "pcm_s16le", "-movflags", "use_metadata_tags"]),
    "avi": ("clip.avi", ["-c:v", "mjpeg", "-q:v", "5", "-pix_fmt", "yuvj420p", "-c:a", "pcm_s16le"]),
    "webm": (
        "clip.webm",
        ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-pix_fmt", "yuv420p", "-c:a", "libopus"],
    ),
}

IDENTIFYING_METADATA = [
    "-metadata", "creation_time=2023-05-04T10:11:12Z",
    "-metadata", f"location={GPS}",
    "-metadata", f"title={NAME}",
    "-metadata", f"comment={NAME} colonoscopy",
    "-metadata", "make=Olympus",
    "-metadata", "model=CV-190",
    "-metadata", "artist=Bob's scope",
    "-metadata:s:v:0", f"title={NAME}",
    "-metadata:s:v:0", "handler_name=iPhone camera",
    "-metadata:s:v:0", "creation_time=2023-05-04T10:11:12Z",
]  # fmt: skip


def run_ffmpeg(*args: str) -> None:
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args],
        check=True,
        capture_output=True,
        timeout=120,
    )


def make_clip(
    out: Path,
    *,
    container: str = "mp4",
    seconds: float = 3.0,
    size: str = "320x240",
    rate: int = 25,
    audio: bool = True,
    metadata: bool = True,
    extra: tuple[str, ...] = (),
) -> Path:
    """A test-pattern clip (and a 440 Hz tone) with identifying metadata, in the given container."""
    _, codecs = CONTAINERS[container]
    inputs = ["-f", "lavfi", "-i", f"testsrc=size={size}:rate={rate}:duration={seconds}"]
    if audio:
        inputs += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
    else:
        codecs = [arg for arg in codecs if arg not in {"-c:a", "aac", "pcm_s16le", "libopus"}]
    run_ffmpeg(*inputs, *codecs, *(IDENTIFYING_METADATA if metadata else []), *extra, str(out))
    return out


def colour_bars(out: Path, segments: list[tuple[str, float]], *, size: str = "320x240", rate: int = 25) -> Path:
    """A silent H.264 MP4 showing solid colours one after another, e.g. [("red", 0.8), ("lime", 1.4)]."""
    inputs: list[str] = []
    for colour, seconds in segments:
        inputs += ["-f", "lavfi", "-i", f"color=c={colour}:size={size}:rate={rate}:duration={seconds}"]
    chain = "".join(f"[{i}:v]" for i in range(len(segments))) + f"concat=n={len(segments)}:v=1:a=0"
    run_ffmpeg(
        *inputs, "-filter_complex", chain, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(out)
    )
    return out


def ffprobe(data_or_path: bytes | Path, tmp: Path) -> dict:
    """Debian's ffprobe's view of an MP4: streams, format and every tag."""
    exe = require_tool("ffprobe")
    path = data_or_path if isinstance(data_or_path, Path) else tmp / "probe-me.mp4"
    if isinstance(data_or_path, bytes):
        path.write_bytes(data_or_path)
    result = subprocess.run(
        [exe, "-v", "error", "-show_format", "-show_streams", "-show_chapters", "-of", "json", str(path)],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return json.loads(result.stdout)


def all_tags(probe: dict) -> dict[str, str]:
    """Container and stream tags together, keys lower-cased."""
    tags = {k.lower(): v for k, v in probe["format"].get("tags", {}).items()}
    for stream in probe["streams"]:
        tags.update({k.lower(): v for k, v in stream.get("tags", {}).items()})
    return tags
