"""How fast CaseDeck converts a video clip, as a ratio to raw ffmpeg doing the same encode in the same run.

    python -m bench.bench_media_video [--seconds 120] [--size 1280x720] [--fps 30] [--repeat 3]
                                      [--out bench/results/media_video.json]

1. generates a ``seconds``-long ``size`` clip (ffmpeg's ``testsrc2`` pattern, which
   moves and compresses like real footage, plus a tone) as a phone would write it:
   H.264 + AAC in MOV with creation time, GPS and a title. Generation is not timed;
2. floor: the same ffmpeg binary (imageio-ffmpeg's) run directly on the file with
   exactly the output arguments CaseDeck uses (``casefiles.media.video.transcode_arguments``:
   libx264 veryfast CRF 20, AAC 128k, metadata stripped, faststart) to a file;
3. CaseDeck: ``casefiles.media.video.transcode`` of the same file: content check,
   probe, the same encode with progress parsed and cancel polled, the MP4 read back
   into memory and deleted;
4. also timed once each: ``probe_video`` and ``poster_frame`` (default time).

Floor and CaseDeck runs alternate ``repeat`` times and the fastest of each counts:
other work on the machine only ever slows a run down. The headline is
``transcode_speed_vs_ffmpeg`` = ffmpeg seconds ÷ CaseDeck seconds (1.0 = no cost for
the wrapper; higher is better) and its inverse ``ratio_transcode_to_ffmpeg``. Prints
a table and writes the numbers as JSON. Nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

from bench.bench_import import timed
from casefiles.imaging.cine import ffmpeg_exe
from casefiles.media.video import poster_frame, probe_video, transcode, transcode_arguments

RESULTS = Path(__file__).resolve().parent / "results" / "media_video.json"
T = TypeVar("T")


@dataclass(frozen=True)
class Step:
    name: str
    seconds: float
    media_seconds: float

    @property
    def realtime(self) -> float:
        """Seconds of video converted per second of wall time."""
        return self.media_seconds / self.seconds if self.seconds > 0 else float("inf")


def generate(out: Path, *, seconds: int, size: str, fps: int) -> Path:
    subprocess.run(
        [
            ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}:duration={seconds}",
            "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
            "-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "128k",
            "-metadata", "creation_time=2023-05-04T10:11:12Z", "-metadata", "location=+48.8577+002.2950/",
            "-metadata", "title=DOE^JOHN", str(out),
        ],
        check=True,
    )  # fmt: skip
    return out


def raw_ffmpeg(source: Path, out: Path, arguments: list[str]) -> int:
    """ffmpeg alone: same binary, same output arguments, no probe, no progress, output left on disk."""
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(source), *arguments, "-y", str(out)],
        check=True,
    )
    size = out.stat().st_size
    out.unlink()
    return size


def run(seconds: int, size: str, fps: int, workdir: Path, repeat: int) -> dict[str, Any]:
    source = workdir / "clip.mov"
    _, gen_seconds = timed(lambda: generate(source, seconds=seconds, size=size, fps=fps))
    source.read_bytes()  # warm the page cache
    scratch = workdir / "work"
    scratch.mkdir()

    info, probe_seconds = timed(lambda: probe_video(source))
    arguments = transcode_arguments(info, length_s=info.duration_s, mute=False, max_side=1280)
    ffmpeg_seconds = casedeck_seconds = float("inf")
    ffmpeg_bytes = casedeck_bytes = 0
    for _ in range(repeat):
        ffmpeg_bytes, elapsed = timed(lambda: raw_ffmpeg(source, workdir / "raw.mp4", arguments))
        ffmpeg_seconds = min(ffmpeg_seconds, elapsed)
        data, elapsed = timed(lambda: transcode(source, workdir=scratch))
        casedeck_seconds = min(casedeck_seconds, elapsed)
        casedeck_bytes = len(data)
        del data
    poster, poster_seconds = timed(lambda: poster_frame(source, workdir=scratch))

    steps = [
        Step("ffmpeg alone (same binary, same arguments)", ffmpeg_seconds, info.duration_s),
        Step("casefiles.media.video.transcode", casedeck_seconds, info.duration_s),
        Step("probe_video", probe_seconds, info.duration_s),
        Step("poster_frame (default time)", poster_seconds, 0.0),
    ]
    return {
        "benchmark": "media_video",
        "parameters": {"seconds": seconds, "size": size, "fps": fps},
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
        "ffmpeg": ffmpeg_exe(),
        "source": {
            "bytes": source.stat().st_size,
            "generate_seconds": round(gen_seconds, 3),
            "duration_s": info.duration_s,
            "codec": info.codec,
        },
        "arguments": arguments,
        "steps": [{**asdict(s), "realtime": round(s.realtime, 2)} for s in steps],
        "repeat": repeat,
        "output_bytes": {"ffmpeg": ffmpeg_bytes, "casedeck": casedeck_bytes, "poster_png": len(poster)},
        "transcode_speed_vs_ffmpeg": round(ffmpeg_seconds / casedeck_seconds, 3),
        "ratio_transcode_to_ffmpeg": round(casedeck_seconds / ffmpeg_seconds, 3),  # time, the inverse
    }


def print_table(result: dict[str, Any]) -> None:
    params, src = result["parameters"], result["source"]
    print(
        f"{params['size']} at {params['fps']} fps, {src['duration_s']:.0f} s "
        f"({src['bytes'] / 1e6:.0f} MB {src['codec']}, generated in {src['generate_seconds']:.1f} s)"
    )
    print(f"{'step':46} {'seconds':>9} {'x realtime':>11}")
    for step in result["steps"]:
        print(f"{step['name']:46} {step['seconds']:>9.3f} {step['realtime']:>11.2f}")
    print(f"transcode / ffmpeg (time): {result['ratio_transcode_to_ffmpeg']:.3f}x")
    print(f"transcode speed / ffmpeg speed: {result['transcode_speed_vs_ffmpeg']:.3f} (best of {result['repeat']})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_media_video", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--size", default="1280x720", help="WIDTHxHEIGHT of the generated clip")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3, help="runs of ffmpeg and CaseDeck; the fastest counts")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the JSON result")
    args = parser.parse_args(argv)
    width, _, height = args.size.partition("x")
    if args.seconds < 1 or args.fps < 1 or args.repeat < 1 or not (width.isdigit() and height.isdigit()):
        parser.error("--seconds, --fps and --repeat must be at least 1 and --size like 1280x720")
    with tempfile.TemporaryDirectory(prefix="casedeck-bench-") as tmp:
        result = run(args.seconds, args.size, args.fps, Path(tmp), args.repeat)
    print_table(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
