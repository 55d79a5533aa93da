"""H.264 clips from image stacks: what PowerPoint and Chromium need, checked with ffprobe, OpenCV and Chromium."""

from __future__ import annotations

import functools
import json
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import pytest

from casefiles.errors import Cancelled, RenderError, ValidationError
from casefiles.imaging import cine
from casefiles.imaging.cine import encode_mp4, ffmpeg_exe, sample_indices
from casefiles.progress import CancelToken
from tests.helpers import CHROMIUM_ARGS, require_tool

MARKER = 24  # side of the bright square that moves across the stack


def marker_x(index: int, count: int, width: int) -> int:
    """Left edge of the marker in frame ``index``: from the left margin to the right margin."""
    return 16 + (index * (width - 32 - MARKER)) // max(1, count - 1)


def moving_marker(count: int, height: int = 512, width: int = 512, *, rgb: bool = False) -> Iterator[np.ndarray]:
    """A dark stack with a bright square sliding left to right (RGB: a red square on blue)."""
    top = height // 2 - MARKER // 2
    for i in range(count):
        x = marker_x(i, count, width)
        if rgb:
            frame = np.zeros((height, width, 3), np.uint8)
            frame[..., 2] = 160
            frame[top : top + MARKER, x : x + MARKER] = (230, 20, 20)
        else:
            frame = np.full((height, width), 30, np.uint8)
            frame[top : top + MARKER, x : x + MARKER] = 240
        yield frame


def ffprobe(path: Path) -> dict:
    exe = require_tool("ffprobe")
    result = subprocess.run(
        [exe, "-v", "error", "-count_frames", "-show_format", "-show_streams", "-of", "json", str(path)],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return json.loads(result.stdout)


def top_level_boxes(data: bytes) -> list[str]:
    """The MP4's top-level box types in file order."""
    boxes, offset = [], 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        elif size == 0:
            size = len(data) - offset
        boxes.append(kind.decode("latin-1"))
        offset += size
    return boxes


def decode(path: Path) -> list[np.ndarray]:
    """Every frame as OpenCV reads it back (BGR)."""
    capture = cv2.VideoCapture(str(path))
    assert capture.isOpened()
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


def brightest_column(frame: np.ndarray) -> int:
    """Centre column of the marker in a decoded frame (the bright square's middle)."""
    gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    columns = np.flatnonzero(gray.max(axis=0) > 128)
    assert columns.size, "no marker in the decoded frame"
    return int(columns.mean())


@pytest.fixture(scope="module")
def clip30(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """30 grey 512×512 frames at 10 fps: a 3 s clip."""
    path = tmp_path_factory.mktemp("cine") / "clip.mp4"
    path.write_bytes(encode_mp4(moving_marker(30), fps=10.0))
    return path


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Send the encoder's temporary files here, to see what it leaves behind."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    return scratch


# --- the clip PowerPoint and Chromium receive -------------------------------------------------


def test_clip_is_an_mp4_with_the_index_first(clip30: Path) -> None:
    data = clip30.read_bytes()
    assert data[4:8] == b"ftyp"
    boxes = top_level_boxes(data)
    assert "moov" in boxes and "mdat" in boxes
    assert boxes.index("moov") < boxes.index("mdat"), f"not faststart: {boxes}"


def test_ffprobe_sees_h264_yuv420p_30_frames_3_seconds(clip30: Path) -> None:
    info = ffprobe(clip30)
    (stream,) = info["streams"]  # video only: no audio, subtitle or data tracks
    assert stream["codec_name"] == "h264"
    assert stream["pix_fmt"] == "yuv420p"
    assert (stream["width"], stream["height"]) == (512, 512)
    assert int(stream["nb_read_frames"]) == 30
    assert float(info["format"]["duration"]) == pytest.approx(3.0, abs=0.05)


def test_clip_carries_no_creation_time_or_other_metadata(clip30: Path) -> None:
    info = ffprobe(clip30)
    assert set(info["format"].get("tags", {})) <= {"major_brand", "minor_version", "compatible_brands"}
    assert "creation_time" not in info["streams"][0].get("tags", {})
    data = clip30.read_bytes()
    mvhd = data.index(b"mvhd") + 4
    assert data[mvhd] == 0  # version 0: 32-bit times follow the flags
    assert data[mvhd + 4 : mvhd + 12] == bytes(8)  # creation and modification time both zero
    assert b"Lavf" not in data  # no muxer signature either


def test_marker_moves_from_first_to_last_frame_when_decoded(clip30: Path) -> None:
    frames = decode(clip30)
    assert len(frames) == 30
    first, last = brightest_column(frames[0]), brightest_column(frames[-1])
    assert first == pytest.approx(marker_x(0, 30, 512) + MARKER / 2, abs=3)
    assert last == pytest.approx(marker_x(29, 30, 512) + MARKER / 2, abs=3)
    assert first < brightest_column(frames[15]) < last


def test_rgb_frames_keep_their_colours(tmp_path: Path) -> None:
    path = tmp_path / "rgb.mp4"
    path.write_bytes(encode_mp4(moving_marker(12, 256, 320, rgb=True), fps=12.0))
    stream = ffprobe(path)["streams"][0]
    assert (stream["codec_name"], stream["pix_fmt"]) == ("h264", "yuv420p")
    assert (stream["width"], stream["height"]) == (320, 256)
    # Tagged, so PowerPoint, Keynote and browsers all turn it back into the same RGB.
    assert (stream["color_space"], stream["color_range"]) == ("bt709", "tv")
    frame = decode(path)[0]
    top, x = 128 - MARKER // 2, marker_x(0, 12, 320)
    marker = frame[top + 6 : top + MARKER - 6, x + 6 : x + MARKER - 6].reshape(-1, 3).mean(axis=0)
    background = frame[20:60, 200:300].reshape(-1, 3).mean(axis=0)
    np.testing.assert_allclose(marker[::-1], (230, 20, 20), atol=20)  # BGR -> RGB
    np.testing.assert_allclose(background[::-1], (0, 0, 160), atol=20)


def test_odd_sizes_are_padded_not_distorted(tmp_path: Path) -> None:
    path = tmp_path / "odd.mp4"
    path.write_bytes(encode_mp4(moving_marker(5, height=333, width=511)))
    stream = ffprobe(path)["streams"][0]
    assert (stream["width"], stream["height"]) == (512, 334)
    frames = decode(path)
    assert len(frames) == 5
    assert brightest_column(frames[-1]) == pytest.approx(marker_x(4, 5, 511) + MARKER / 2, abs=3)


def test_padding_an_odd_size_adds_no_dark_edge(tmp_path: Path) -> None:
    path = tmp_path / "white.mp4"
    path.write_bytes(encode_mp4([np.full((31, 33), 235, np.uint8)] * 2))
    (frame, _) = decode(path)
    assert frame.shape[:2] == (32, 34)
    assert frame.min() > 215  # the extra row and column repeat the edge, not black


def test_large_frames_are_shrunk_to_max_side_keeping_aspect(tmp_path: Path) -> None:
    path = tmp_path / "big.mp4"
    path.write_bytes(encode_mp4(moving_marker(3, height=600, width=1200), max_side=400))
    stream = ffprobe(path)["streams"][0]
    assert (stream["width"], stream["height"]) == (400, 200)
    assert brightest_column(decode(path)[0]) == pytest.approx((marker_x(0, 3, 1200) + MARKER / 2) / 3, abs=3)


def test_a_single_frame_makes_a_playable_clip(tmp_path: Path) -> None:
    path = tmp_path / "one.mp4"
    path.write_bytes(encode_mp4(moving_marker(1)))
    stream = ffprobe(path)["streams"][0]
    assert stream["codec_name"] == "h264"
    assert int(stream["nb_read_frames"]) == 1
    assert len(decode(path)) == 1


def test_same_frames_give_the_same_bytes() -> None:
    """Decks deduplicate media by hash: re-exporting a conference must not grow it."""
    assert encode_mp4(moving_marker(6, 64, 96)) == encode_mp4(moving_marker(6, 64, 96))


# --- bad input and failures ------------------------------------------------------------------


def test_frames_of_different_sizes_are_refused(private_tmp: Path) -> None:
    frames = [np.zeros((64, 64), np.uint8), np.zeros((64, 64), np.uint8), np.zeros((64, 80), np.uint8)]
    with pytest.raises(ValidationError, match=r"Frame 3 .*one size"):
        encode_mp4(frames)
    assert list(private_tmp.iterdir()) == []  # ffmpeg stopped and the private temp dir removed


def test_grey_and_colour_frames_cannot_be_mixed() -> None:
    with pytest.raises(ValidationError, match="one size"):
        encode_mp4([np.zeros((32, 32), np.uint8), np.zeros((32, 32, 3), np.uint8)])


@pytest.mark.parametrize(
    ("frames", "message"),
    [
        ([], "at least one frame"),
        ([np.zeros((32, 32), np.uint16)], "8-bit"),
        ([np.zeros((32, 32), np.float32)], "8-bit"),
        ([np.zeros((32, 32, 4), np.uint8)], r"grey .* nor RGB"),
        ([np.zeros((0, 32), np.uint8)], "empty"),
        (["not an image"], "8-bit"),
    ],
)
def test_unusable_frames_are_refused(frames: list, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        encode_mp4(frames)


@pytest.mark.parametrize(("option", "value"), [("fps", 0), ("fps", -5.0), ("fps", float("nan")), ("max_side", 1)])
def test_unusable_options_are_refused(option: str, value: float) -> None:
    with pytest.raises(ValidationError):
        encode_mp4(moving_marker(2, 32, 32), **{option: value})


def test_an_error_while_rendering_frames_leaves_nothing_behind(private_tmp: Path) -> None:
    def frames() -> Iterator[np.ndarray]:
        yield from moving_marker(3, 64, 64)
        raise RenderError("This slice cannot be displayed.")

    with pytest.raises(RenderError, match="slice cannot be displayed"):
        encode_mp4(frames())
    assert list(private_tmp.iterdir()) == []


def test_cancelling_stops_the_encoding(private_tmp: Path) -> None:
    token = CancelToken()

    def frames() -> Iterator[np.ndarray]:
        for i, frame in enumerate(moving_marker(50, 64, 64)):
            if i == 10:
                token.cancel()
            yield frame

    with pytest.raises(Cancelled):
        encode_mp4(frames(), cancel=token)
    assert list(private_tmp.iterdir()) == []


def fake_ffmpeg(tmp_path: Path, script: str) -> str:
    """A stand-in executable (a real process) for failures a working ffmpeg will not produce on demand."""
    path = tmp_path / "ffmpeg"
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)
    return str(path)


def test_ffmpeg_failure_becomes_a_render_error_with_its_reason(
    tmp_path: Path, private_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exe = fake_ffmpeg(tmp_path, "echo 'Unknown encoder libx264' >&2; exit 1")
    monkeypatch.setattr(cine, "ffmpeg_exe", lambda: exe)
    with pytest.raises(RenderError, match=r"could not be encoded as a video .*status 1: Unknown encoder libx264"):
        encode_mp4(moving_marker(30, 256, 256))
    assert list(private_tmp.iterdir()) == []


def test_a_hung_ffmpeg_is_stopped_by_the_timeout(
    tmp_path: Path, private_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exe = fake_ffmpeg(tmp_path, "exec sleep 60")
    monkeypatch.setattr(cine, "ffmpeg_exe", lambda: exe)
    with pytest.raises(RenderError, match="longer than 1 s"):
        encode_mp4(moving_marker(2, 16, 16), timeout=1)
    assert list(private_tmp.iterdir()) == []


# --- which ffmpeg ----------------------------------------------------------------------------


def test_ffmpeg_exe_runs_and_encodes_h264() -> None:
    result = subprocess.run([ffmpeg_exe(), "-hide_banner", "-encoders"], capture_output=True, check=True, timeout=30)
    assert b"libx264" in result.stdout


def test_without_the_wheel_the_system_ffmpeg_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    system = require_tool("ffmpeg")
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # import now fails, as if not installed
    assert Path(ffmpeg_exe()).resolve() == Path(system).resolve()


def test_without_any_ffmpeg_the_error_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(cine, "_SYSTEM_FFMPEG", str(tmp_path / "no-ffmpeg"))
    with pytest.raises(RenderError, match="imageio-ffmpeg"):
        ffmpeg_exe()
    assert shutil.which("ffmpeg") is None


# --- sampling long stacks --------------------------------------------------------------------


def test_a_1000_slice_stack_is_sampled_evenly_end_to_end() -> None:
    picked = sample_indices(1000, 300)
    assert len(picked) == 300
    assert (picked[0], picked[-1]) == (0, 999)
    gaps = np.diff(picked)
    assert gaps.min() >= 3 and gaps.max() <= 4


@pytest.mark.parametrize(("total", "max_frames"), [(2, 2), (3, 2), (7, 3), (10, 9), (301, 300), (12345, 17)])
def test_sampled_indices_are_increasing_and_include_both_ends(total: int, max_frames: int) -> None:
    picked = sample_indices(total, max_frames)
    assert len(picked) == min(total, max_frames)
    assert picked == sorted(set(picked))
    assert (picked[0], picked[-1]) == (0, total - 1)


def test_a_stack_that_fits_is_kept_whole() -> None:
    assert sample_indices(5, 300) == [0, 1, 2, 3, 4]
    assert sample_indices(1, 1) == [0]


def test_a_single_sample_is_the_middle_slice() -> None:
    assert sample_indices(9, 1) == [4]


@pytest.mark.parametrize(("total", "max_frames"), [(0, 10), (-1, 10), (10, 0), (True, 10), (10, 2.5)])
def test_sampling_refuses_nonsense(total: int, max_frames: int) -> None:
    with pytest.raises(ValidationError):
        sample_indices(total, max_frames)


# --- a real browser plays it -----------------------------------------------------------------


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """``tmp_path`` over HTTP on 127.0.0.1: a file:// page may neither fetch nor read a video's pixels."""
    handler = functools.partial(QuietHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.mark.browser
def test_chromium_plays_the_clip(clip30: Path, tmp_path: Path, served: str) -> None:
    chromium = require_tool("chromium")
    from playwright.sync_api import sync_playwright

    shutil.copy(clip30, tmp_path / "clip.mp4")
    (tmp_path / "index.html").write_text(
        '<!doctype html><meta charset="utf-8"><video id="v" src="clip.mp4" autoplay muted playsinline></video>'
    )
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(30_000)
            page.goto(f"{served}/index.html")
            page.wait_for_function("document.getElementById('v').readyState >= 2")
            state = page.evaluate(
                """() => { const v = document.getElementById('v');
                    return {ready: v.readyState, duration: v.duration, width: v.videoWidth,
                            height: v.videoHeight, error: v.error && v.error.code}; }"""
            )
            # Scrub to the last frame, as a viewer dragging through the stack would, and look at it.
            # (A blob URL: seekable whatever the server, and its pixels readable by the page.)
            column = page.evaluate(
                """async () => { const v = document.getElementById('v'); v.pause(); v.autoplay = false;
                    const blob = await (await fetch('clip.mp4')).blob();
                    await new Promise(done => { v.onloadeddata = done; v.src = URL.createObjectURL(blob); });
                    v.pause();
                    await new Promise(done => { v.onseeked = done; v.currentTime = 2.95; });
                    // Under load the seeked frame can reach the compositor a little later: let it land.
                    await new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)));
                    await new Promise(done => setTimeout(done, 300));
                    const c = document.createElement('canvas'); c.width = v.videoWidth; c.height = v.videoHeight;
                    const g = c.getContext('2d'); g.drawImage(v, 0, 0);
                    const row = g.getImageData(0, c.height / 2, c.width, 1).data;
                    const bright = []; for (let x = 0; x < c.width; x++) if (row[4 * x] > 128) bright.push(x);
                    return bright.length ? bright.reduce((a, b) => a + b) / bright.length : -1; }"""
            )
        finally:
            browser.close()
    assert state["error"] is None
    assert state["ready"] >= 2
    assert state["duration"] == pytest.approx(3.0, abs=0.1)
    assert (state["width"], state["height"]) == (512, 512)
    assert column == pytest.approx(marker_x(29, 30, 512) + MARKER / 2, abs=3)
