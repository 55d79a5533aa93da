"""poster_frame: the still a case thumbnail and a PowerPoint movie show before playing."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from casefiles.errors import ValidationError
from casefiles.media.video import default_poster_time, poster_frame, probe_video
from tests.media.video.clips import colour_bars

COLOURS = {"red": (255, 0, 0), "lime": (0, 255, 0), "blue": (0, 0, 255)}


def dominant(png: bytes) -> str:
    """The name of the colour nearest the middle pixel of a PNG."""
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    pixel = image.convert("RGB").getpixel((image.width // 2, image.height // 2))
    return min(COLOURS, key=lambda name: sum((a - b) ** 2 for a, b in zip(COLOURS[name], pixel, strict=True)))


@pytest.fixture(scope="module")
def bars(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Red for 0.8 s, lime until 2.2 s, blue until 3 s."""
    return colour_bars(tmp_path_factory.mktemp("bars") / "bars.mp4", [("red", 0.8), ("lime", 1.4), ("blue", 0.8)])


def test_the_default_poster_is_one_second_in(bars: Path, place: Callable[..., Path], workdir: Path) -> None:
    assert dominant(poster_frame(place(bars), workdir=workdir)) == "lime"  # past the red lead-in


def test_a_short_clip_defaults_to_its_middle(tmp_path: Path, place: Callable[..., Path], workdir: Path) -> None:
    clip = colour_bars(tmp_path / "short.mp4", [("red", 0.4), ("lime", 0.4), ("blue", 0.4)])
    path = place(clip)
    assert default_poster_time(probe_video(path)) == pytest.approx(0.6, abs=0.02)
    assert dominant(poster_frame(path, workdir=workdir)) == "lime"


@pytest.mark.parametrize(("at", "colour"), [(0.0, "red"), (0.5, "red"), (1.5, "lime"), (2.5, "blue")])
def test_the_chosen_time_is_the_frame_shown(
    bars: Path, place: Callable[..., Path], workdir: Path, at: float, colour: str
) -> None:
    assert dominant(poster_frame(place(bars), at_s=at, workdir=workdir)) == colour


def test_the_very_end_gives_the_last_frame(bars: Path, place: Callable[..., Path], workdir: Path) -> None:
    path = place(bars)
    assert dominant(poster_frame(path, at_s=probe_video(path).duration_s, workdir=workdir)) == "blue"


def test_a_time_after_the_end_is_refused(bars: Path, place: Callable[..., Path], workdir: Path) -> None:
    with pytest.raises(ValidationError, match="after the end"):
        poster_frame(place(bars), at_s=10.0, workdir=workdir)


@pytest.mark.parametrize("at", [-0.5, float("inf"), "1"])
def test_a_nonsense_time_is_refused(bars: Path, place: Callable[..., Path], workdir: Path, at: object) -> None:
    with pytest.raises(ValidationError):
        poster_frame(place(bars), at_s=at, workdir=workdir)  # type: ignore[arg-type]


def test_the_poster_carries_no_metadata_and_matches_the_clip_size(
    source: Callable[..., Path], place: Callable[..., Path], workdir: Path
) -> None:
    png = poster_frame(place(source("mov")), workdir=workdir, max_side=160)
    image = Image.open(io.BytesIO(png))
    assert image.size == (160, 120)
    assert image.mode == "RGB"
    assert not getattr(image, "text", {})
    assert "exif" not in image.info
    assert b"DOE" not in png
