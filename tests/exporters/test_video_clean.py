"""Stack clips go into decks with their free-text metadata blanked and their video intact."""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from casefiles.errors import ExportError
from exporters._video_clean import clean_mp4
from tests.helpers import require_tool


def test_metadata_is_blanked_and_the_clip_still_decodes_frame_for_frame(
    tmp_path: Path, kit: SimpleNamespace, clip_mp4: bytes
) -> None:
    assert kit.FAKE_PHI[0].encode() in clip_mp4  # ffmpeg really wrote the planted title
    cleaned = clean_mp4(clip_mp4)
    assert len(cleaned) == len(clip_mp4)  # boxes are blanked in place, never moved
    for phi in kit.FAKE_PHI:
        assert phi.encode() not in cleaned
    out = tmp_path / "clean.mp4"
    out.write_bytes(cleaned)
    ffprobe = require_tool("ffprobe")
    probe = subprocess.run(
        [
            ffprobe,
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=codec_name,nb_read_frames,pix_fmt:format_tags",
            "-of",
            "default=nw=1",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert "codec_name=h264" in probe.stdout and "pix_fmt=yuv420p" in probe.stdout
    assert "nb_read_frames=30" in probe.stdout
    assert "TAG:title" not in probe.stdout and "TAG:comment" not in probe.stdout


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"\x00\x00\x00\x10ftypisom\x00\x00\x02\x00", id="no-movie"),
        pytest.param(b"\x00\x00\x00\x20ftypisom", id="truncated-box"),
        pytest.param(b"GIF89a" + bytes(40), id="not-mp4"),
        pytest.param("a string", id="not-bytes"),
    ],
)
def test_anything_but_an_mp4_with_a_movie_is_refused(data: object) -> None:
    with pytest.raises(ExportError, match="not a readable MP4"):
        clean_mp4(data)
