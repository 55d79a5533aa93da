"""transcode: every clip becomes an H.264/AAC MP4 Chromium and PowerPoint play, with nothing identifying left."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from casefiles.errors import Cancelled, ValidationError
from casefiles.media.video import poster_frame, probe_video, transcode
from casefiles.progress import CancelToken
from tests.media.video.clips import PHI_KEYS, PHI_VALUES, all_tags, ffprobe, make_clip, run_ffmpeg

ALLOWED_TAGS = {"major_brand", "minor_version", "compatible_brands", "language", "handler_name", "vendor_id"}


def streams(probe: dict, kind: str) -> list[dict]:
    return [s for s in probe["streams"] if s["codec_type"] == kind]


def top_level_boxes(data: bytes) -> list[bytes]:
    boxes, offset = [], 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        boxes.append(data[offset + 4 : offset + 8])
        if size < 8:
            break
        offset += size
    return boxes


@pytest.mark.parametrize("container", ["mp4", "mov", "avi", "webm"])
def test_every_container_becomes_h264_aac_mp4_without_identifying_metadata(
    source: Callable[..., Path], place: Callable[..., Path], workdir: Path, tmp_path: Path, container: str
) -> None:
    data = transcode(place(source(container)), workdir=workdir)
    probe = ffprobe(data, tmp_path)
    (video,) = streams(probe, "video")
    (audio,) = streams(probe, "audio")
    assert (video["codec_name"], video["pix_fmt"], video["width"], video["height"]) == ("h264", "yuv420p", 320, 240)
    assert audio["codec_name"] == "aac"
    assert float(probe["format"]["duration"]) == pytest.approx(3.0, abs=0.1)
    tags = all_tags(probe)
    assert not set(tags) & set(PHI_KEYS), tags
    assert set(tags) <= ALLOWED_TAGS, tags  # only what the MP4 muxer always writes
    assert probe["chapters"] == []
    for value in PHI_VALUES:
        assert value.encode() not in data, f"{value!r} is still in the file"
    assert b"x264 - core" not in data  # the encoder's version-and-settings banner is dropped too


def test_the_index_comes_first_so_playback_starts_before_the_download_ends(
    source: Callable[..., Path], place: Callable[..., Path], workdir: Path
) -> None:
    boxes = top_level_boxes(transcode(place(source("mp4")), workdir=workdir))
    assert boxes[0] == b"ftyp"
    assert boxes.index(b"moov") < boxes.index(b"mdat")


def test_trimming_keeps_only_the_chosen_part(
    source: Callable[..., Path], place: Callable[..., Path], workdir: Path, tmp_path: Path
) -> None:
    data = transcode(place(source("mov")), workdir=workdir, start_s=0.5, end_s=2.0)
    probe = ffprobe(data, tmp_path)
    assert float(probe["format"]["duration"]) == pytest.approx(1.5, abs=0.1)
    assert float(streams(probe, "video")[0]["duration"]) == pytest.approx(1.5, abs=0.1)
    assert streams(probe, "audio")


def test_a_start_alone_runs_to_the_end_and_an_end_alone_starts_at_zero(
    source: Callable[..., Path], place: Callable[..., Path], workdir: Path, tmp_path: Path
) -> None:
    path = place(source("mp4"))
    tail = ffprobe(transcode(path, workdir=workdir, start_s=2.0), tmp_path)
    head = ffprobe(transcode(path, workdir=workdir, end_s=1.0), tmp_path)
    assert float(tail["format"]["duration"]) == pytest.approx(1.0, abs=0.1)
    assert float(head["format"]["duration"]) == pytest.approx(1.0, abs=0.1)


def test_mute_drops_the_sound(
    source: Callable[..., Path], place: Callable[..., Path], workdir: Path, tmp_path: Path
) -> None:
    probe = ffprobe(transcode(place(source("mp4")), workdir=workdir, mute=True), tmp_path)
    assert streams(probe, "audio") == []
    assert len(streams(probe, "video")) == 1


def test_a_silent_source_gives_a_silent_clip(
    source: Callable[..., Path], place: Callable[..., Path], workdir: Path, tmp_path: Path
) -> None:
    probe = ffprobe(transcode(place(source("avi", audio=False)), workdir=workdir), tmp_path)
    assert streams(probe, "audio") == []


def test_surround_sound_is_mixed_down_to_stereo(tmp_path: Path, place: Callable[..., Path], workdir: Path) -> None:
    clip = make_clip(tmp_path / "surround.mp4", seconds=1, extra=("-ac", "6"))
    probe = ffprobe(transcode(place(clip), workdir=workdir), tmp_path)
    assert streams(probe, "audio")[0]["channels"] == 2


def test_large_video_is_shrunk_to_max_side_keeping_its_shape(
    tmp_path: Path, place: Callable[..., Path], workdir: Path
) -> None:
    clip = make_clip(tmp_path / "hd.mp4", seconds=0.5, size="1920x1080", audio=False)
    path = place(clip)
    assert (ffprobe(transcode(path, workdir=workdir), tmp_path)["streams"][0]["width"]) == 1280
    small = ffprobe(transcode(path, workdir=workdir, max_side=480), tmp_path)["streams"][0]
    assert (small["width"], small["height"]) == (480, 270)


def test_odd_sizes_become_even(tmp_path: Path, place: Callable[..., Path], workdir: Path) -> None:
    clip = make_clip(tmp_path / "odd.avi", container="avi", seconds=0.5, size="321x241", audio=False)
    video = ffprobe(transcode(place(clip), workdir=workdir), tmp_path)["streams"][0]
    assert (video["width"], video["height"]) == (322, 242)


def test_a_phone_clip_comes_out_upright_with_no_rotation_flag(
    tmp_path: Path, place: Callable[..., Path], workdir: Path
) -> None:
    landscape = make_clip(tmp_path / "landscape.mp4", seconds=1)
    rotated = tmp_path / "rotated.mov"
    run_ffmpeg("-display_rotation", "90", "-i", str(landscape), "-c", "copy", str(rotated))
    data = transcode(place(rotated, "IMG_0001.MOV"), workdir=workdir)
    video = streams(ffprobe(data, tmp_path), "video")[0]
    assert (video["width"], video["height"]) == (240, 320)
    assert not any("rotation" in side for side in video.get("side_data_list", []))
    png = poster_frame(place(rotated, "IMG_0002.MOV"), workdir=workdir)
    from io import BytesIO

    from PIL import Image

    assert Image.open(BytesIO(png)).size == (240, 320)  # the poster matches the clip


def test_non_square_pixels_become_square(tmp_path: Path, place: Callable[..., Path], workdir: Path) -> None:
    clip = make_clip(tmp_path / "pal.mp4", seconds=0.5, size="720x576", audio=False, extra=("-vf", "setsar=16/15"))
    video = ffprobe(transcode(place(clip), workdir=workdir), tmp_path)["streams"][0]
    assert (video["width"], video["height"]) == (768, 576)
    assert video.get("sample_aspect_ratio", "1:1") == "1:1"


def test_slow_motion_is_capped_at_60_frames_per_second(
    tmp_path: Path, place: Callable[..., Path], workdir: Path
) -> None:
    clip = make_clip(tmp_path / "slomo.mp4", seconds=1, size="160x120", rate=120, audio=False)
    video = ffprobe(transcode(place(clip), workdir=workdir), tmp_path)["streams"][0]
    assert video["avg_frame_rate"] == "60/1"


def combing(path: Path) -> float:
    """Mean difference of each row from the average of its neighbours: high where fields are woven together."""
    import cv2
    import numpy as np

    capture = cv2.VideoCapture(str(path))
    values = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(float)
        values.append(float(np.mean(np.abs(grey[1:-1] - (grey[:-2] + grey[2:]) / 2))))
    capture.release()
    assert values, "no frames decoded"
    return sum(values) / len(values)


def test_interlaced_video_is_deinterlaced(tmp_path: Path, place: Callable[..., Path], workdir: Path) -> None:
    # Two fields 1/50 s apart woven into each frame, as an SD endoscopy tower records.
    clip = tmp_path / "interlaced.mp4"
    run_ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=50:duration=1,tinterlace=mode=interleave_top,setfield=tff",
        "-flags", "+ildct+ilme", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(clip),
    )  # fmt: skip
    woven = tmp_path / "woven.mp4"  # the same frames re-encoded progressive with no deinterlacing
    run_ffmpeg("-i", str(clip), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(woven))
    ours = tmp_path / "ours.mp4"
    ours.write_bytes(transcode(place(clip), workdir=workdir))
    assert combing(ours) < 0.7 * combing(woven)


def test_progress_runs_from_zero_to_the_clip_length(
    source: Callable[..., Path], place: Callable[..., Path], workdir: Path
) -> None:
    calls: list[tuple[int, int, str]] = []
    transcode(place(source("mp4")), workdir=workdir, start_s=1.0, progress=lambda *call: calls.append(call))
    assert calls[0][:2] == (0, 2000)
    assert calls[-1][:2] == (2000, 2000)
    done = [d for d, _, _ in calls]
    assert done == sorted(done)
    assert all(total == 2000 for _, total, _ in calls)


def ffmpeg_processes_using(folder: Path) -> list[int]:
    """Running processes whose command line mentions ``folder`` (ffmpeg writing there)."""
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if str(folder).encode() in cmdline:
                found.append(int(pid))
    return found


def test_cancelling_stops_ffmpeg_and_keeps_nothing(tmp_path: Path, place: Callable[..., Path], workdir: Path) -> None:
    clip = make_clip(tmp_path / "long.mp4", seconds=20, size="640x480")
    token = CancelToken()
    seen: list[int] = []

    def cancel_when_started(done: int, total: int, message: str) -> None:
        seen.append(done)
        token.cancel()

    with pytest.raises(Cancelled):
        transcode(place(clip), workdir=workdir, progress=cancel_when_started, cancel=token)
    assert seen == [0]
    assert ffmpeg_processes_using(workdir) == []


def test_an_already_cancelled_token_runs_nothing(
    source: Callable[..., Path], place: Callable[..., Path], workdir: Path
) -> None:
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        transcode(place(source("mp4")), workdir=workdir, cancel=token)


@pytest.mark.parametrize(
    ("start", "end", "words"),
    [
        (None, 3.5, "after the end of the video"),
        (3.0, None, "not before the end"),
        (2.0, 1.0, "must end"),
        (1.0, 1.05, "must end"),
        (-1.0, None, "≥ 0"),
        (float("nan"), None, "≥ 0"),
        (True, None, "≥ 0"),
        ("1", None, "≥ 0"),
    ],
)
def test_impossible_trims_are_refused_with_the_times(
    source: Callable[..., Path], place: Callable[..., Path], workdir: Path, start: object, end: object, words: str
) -> None:
    path = place(source("mp4"))
    with pytest.raises(ValidationError, match=words) as caught:
        transcode(path, workdir=workdir, start_s=start, end_s=end)  # type: ignore[arg-type]
    assert "DOE" not in str(caught.value)


def test_an_end_a_hair_past_the_duration_means_the_end(
    source: Callable[..., Path], place: Callable[..., Path], workdir: Path, tmp_path: Path
) -> None:
    path = place(source("mp4"))
    duration = probe_video(path).duration_s
    probe = ffprobe(transcode(path, workdir=workdir, start_s=2.0, end_s=round(duration + 0.04, 2)), tmp_path)
    assert float(probe["format"]["duration"]) == pytest.approx(1.0, abs=0.1)


@pytest.mark.parametrize(
    ("option", "value"), [("max_side", 1), ("max_side", 12.5), ("mute", "yes"), ("timeout", 0), ("workdir", "work")]
)
def test_unusable_options_are_refused(
    source: Callable[..., Path], place: Callable[..., Path], workdir: Path, option: str, value: object
) -> None:
    options: dict[str, object] = {"workdir": workdir, option: value}
    with pytest.raises(ValidationError):
        transcode(place(source("mp4")), **options)  # type: ignore[arg-type]


def test_a_missing_working_folder_is_refused(
    source: Callable[..., Path], place: Callable[..., Path], quarantine: Path
) -> None:
    with pytest.raises(ValidationError, match="working folder"):
        transcode(place(source("mp4")), workdir=quarantine / "missing")


def test_nothing_is_written_outside_the_working_folder(
    source: Callable[..., Path], place: Callable[..., Path], workdir: Path, quarantine: Path, empty_tmpdir: Path
) -> None:
    path = place(source("webm"))
    transcode(path, workdir=workdir, start_s=0.5, end_s=2.5)
    poster_frame(path, workdir=workdir)
    probe_video(path)
    assert list(empty_tmpdir.iterdir()) == []
    assert sorted(p.name for p in quarantine.iterdir()) == sorted([path.name, "work"])
    assert list(workdir.iterdir()) == []
