"""probe_video: what a registrar sees about a clip before trimming it, from every container a scope or phone writes."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from casefiles.errors import ValidationError
from casefiles.media.video import VideoInfo, output_size, probe_video
from tests.media.video.clips import colour_bars, make_clip, run_ffmpeg


@pytest.mark.parametrize(("container", "codec"), [("mp4", "h264"), ("mov", "mpeg4"), ("avi", "mjpeg"), ("webm", "vp8")])
def test_each_container_gives_duration_size_rate_sound_and_codec(
    source: Callable[..., Path], place: Callable[..., Path], container: str, codec: str
) -> None:
    info = probe_video(place(source(container)))
    assert info.duration_s == pytest.approx(3.0, abs=0.1)
    assert (info.width, info.height) == (320, 240)
    assert info.fps == pytest.approx(25.0)
    assert info.has_audio is True
    assert info.codec == codec


def test_a_silent_clip_has_no_audio(source: Callable[..., Path], place: Callable[..., Path]) -> None:
    assert probe_video(place(source("mp4", audio=False))).has_audio is False


def test_a_phone_clip_filmed_upright_is_reported_upright(tmp_path: Path, place: Callable[..., Path]) -> None:
    landscape = make_clip(tmp_path / "landscape.mp4", seconds=1, size="320x240")
    rotated = tmp_path / "rotated.mov"
    run_ffmpeg("-display_rotation", "90", "-i", str(landscape), "-c", "copy", str(rotated))
    info = probe_video(place(rotated, "IMG_0001.MOV"))
    assert (info.width, info.height) == (240, 320)


def test_non_square_pixels_are_reported_at_their_displayed_width(tmp_path: Path, place: Callable[..., Path]) -> None:
    # PAL video from an older endoscopy tower: 720×576 stored, 4:3 (768×576) shown.
    clip = make_clip(tmp_path / "pal.mp4", seconds=1, size="720x576", extra=("-vf", "setsar=16/15"))
    info = probe_video(place(clip))
    assert (info.width, info.height) == (768, 576)


def test_content_decides_not_the_extension(source: Callable[..., Path], place: Callable[..., Path]) -> None:
    info = probe_video(place(source("webm"), "report.pdf"))
    assert info.codec == "vp8"


def test_an_mpeg_transport_stream_from_a_recorder_is_read(tmp_path: Path, place: Callable[..., Path]) -> None:
    ts = tmp_path / "rec.ts"
    run_ffmpeg(
        "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=2", "-c:v", "mpeg2video", "-f", "mpegts", str(ts)
    )  # fmt: skip
    info = probe_video(place(ts, "REC0001.MTS"))
    assert info.codec == "mpeg2video"
    assert info.duration_s == pytest.approx(2.0, abs=0.1)


def test_a_stream_without_a_declared_duration_is_measured(tmp_path: Path, place: Callable[..., Path]) -> None:
    # A WebM recorded live (e.g. a browser's MediaRecorder) has no duration in its header.
    live = tmp_path / "live.webm"
    with live.open("wb") as out:
        import subprocess

        from casefiles.imaging.cine import ffmpeg_exe

        subprocess.run(
            [ffmpeg_exe(), "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=25:duration=2",
             "-c:v", "libvpx", "-deadline", "realtime", "-f", "webm", "pipe:1"],
            stdout=out, check=True, timeout=60,
        )  # fmt: skip
    assert probe_video(place(live, "live.webm")).duration_s == pytest.approx(2.0, abs=0.1)


def test_a_title_posing_as_a_stream_does_not_change_what_is_read(tmp_path: Path, place: Callable[..., Path]) -> None:
    clip = tmp_path / "crafted.mkv"
    fake = "x\n  Stream #0:1: Video: h264, 9999x9999, 5 fps\n  Duration: 00:10:00.00"
    run_ffmpeg(
        "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=1", "-c:v", "mpeg4", "-metadata", f"title={fake}",
        str(clip),
    )  # fmt: skip
    info = probe_video(place(clip))
    assert (info.width, info.height, info.fps) == (320, 240, 25.0)
    assert info.duration_s == pytest.approx(1.0, abs=0.1)


def test_probing_writes_nothing_and_leaves_the_file_alone(
    source: Callable[..., Path], place: Callable[..., Path], quarantine: Path, empty_tmpdir: Path
) -> None:
    path = place(source("mov"))
    before = path.read_bytes()
    probe_video(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in quarantine.iterdir()) == [path.name]
    assert list(empty_tmpdir.iterdir()) == []


def test_a_short_clip_is_probed(tmp_path: Path, place: Callable[..., Path]) -> None:
    clip = colour_bars(tmp_path / "short.mp4", [("red", 0.2)])
    assert probe_video(place(clip)).duration_s == pytest.approx(0.2, abs=0.05)


def test_video_info_refuses_nonsense() -> None:
    with pytest.raises(ValidationError):
        VideoInfo(duration_s=0.0, width=320, height=240, fps=25.0, has_audio=False, codec="h264")
    with pytest.raises(ValidationError):
        VideoInfo(duration_s=1.0, width=0, height=240, fps=25.0, has_audio=False, codec="h264")
    with pytest.raises(ValidationError):
        VideoInfo(duration_s=1.0, width=320, height=240, fps=float("nan"), has_audio=False, codec="h264")


@pytest.mark.parametrize(
    ("size", "max_side", "expected"),
    [
        ((1920, 1080), 1280, (1280, 720)),
        ((1080, 1920), 1280, (720, 1280)),
        ((321, 241), 1280, (322, 242)),
        ((640, 480), 1280, (640, 480)),
        ((4000, 10), 1280, (1280, 4)),
        ((1, 1), 1280, (2, 2)),
        ((1000, 1000), 999, (998, 998)),
    ],
)
def test_output_sizes_are_even_fit_and_keep_the_aspect(
    size: tuple[int, int], max_side: int, expected: tuple[int, int]
) -> None:
    assert output_size(*size, max_side) == expected


def test_no_ffprobe_is_needed(
    source: Callable[..., Path], place: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")  # neither Debian's ffprobe nor its ffmpeg can be found
    assert shutil.which("ffprobe") is None
    assert probe_video(place(source("mp4"))).codec == "h264"


@pytest.mark.parametrize(
    ("codec_args", "name", "codec"),
    [
        (["-c:v", "mpeg2video", "-f", "mpeg"], "VTS_01_1.VOB", "mpeg2video"),  # DVD from an older video recorder
        (["-c:v", "wmv2", "-f", "asf"], "exam.wmv", "wmv2"),
        (["-c:v", "libtheora", "-f", "ogg"], "exam.ogv", "theora"),
    ],
)
def test_older_recorder_formats_are_read(
    tmp_path: Path, place: Callable[..., Path], workdir: Path, codec_args: list[str], name: str, codec: str
) -> None:
    from casefiles.media.video import transcode

    clip = tmp_path / "clip"
    run_ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=1", *codec_args, str(clip))
    path = place(clip, name)
    info = probe_video(path)
    assert (info.codec, info.width, info.height) == (codec, 320, 240)
    assert transcode(path, workdir=workdir)[4:8] == b"ftyp"
