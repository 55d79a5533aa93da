"""Bad input: a clear message a registrar can act on, never a crash, never the file's name, nothing left behind."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from casefiles.errors import ImportFailure, ValidationError
from casefiles.media.video import poster_frame, probe_video, transcode
from tests.media.video.clips import run_ffmpeg

PATIENT_FILE = "DOE_JOHN 1961-02-03 scope.mp4"


def every_entry_point_fails(path: Path, workdir: Path, match: str) -> None:
    """probe, transcode and poster all refuse ``path`` with ``match``, and never name the file."""
    for call in (
        lambda: probe_video(path),
        lambda: transcode(path, workdir=workdir),
        lambda: poster_frame(path, workdir=workdir),
    ):
        with pytest.raises(ImportFailure, match=match) as caught:
            call()
        message = str(caught.value)
        assert "DOE" not in message
        assert "1961" not in message
        assert str(path.parent) not in message


def test_an_audio_only_file_says_it_has_no_picture(tmp_path: Path, place: Callable[..., Path], workdir: Path) -> None:
    audio = tmp_path / "dictation.m4a"  # an MP4 container, so it passes the content check
    run_ffmpeg("-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", str(audio))
    every_entry_point_fails(place(audio, PATIENT_FILE), workdir, "no video picture")


def test_audio_with_cover_art_is_not_a_video(tmp_path: Path, place: Callable[..., Path], workdir: Path) -> None:
    cover = tmp_path / "cover.png"
    run_ffmpeg("-f", "lavfi", "-i", "color=c=red:size=64x64", "-frames:v", "1", str(cover))
    song = tmp_path / "song.m4a"
    run_ffmpeg(
        "-f", "lavfi", "-i", "sine=duration=1", "-i", str(cover), "-map", "0", "-map", "1",
        "-c:a", "aac", "-c:v", "png", "-disposition:v:0", "attached_pic", str(song),
    )  # fmt: skip
    every_entry_point_fails(place(song, PATIENT_FILE), workdir, "no video picture")


def test_an_mp3_is_not_a_video(tmp_path: Path, place: Callable[..., Path], workdir: Path) -> None:
    mp3 = tmp_path / "voice.mp3"
    run_ffmpeg("-f", "lavfi", "-i", "sine=duration=1", "-c:a", "libmp3lame", str(mp3))
    every_entry_point_fails(place(mp3, PATIENT_FILE), workdir, "not a video CaseDeck can read")


@pytest.mark.parametrize(
    "content",
    [
        b"\x00" * 4096,
        b"This is not a video at all, whatever its name says.\n" * 40,
        b"\xff\xd8\xff\xe0" + b"\x00" * 2000,  # a JPEG
        b"%PDF-1.7\n" + b"\x00" * 2000,
    ],
)
def test_garbage_named_like_a_video_is_refused(
    place: Callable[..., Path], workdir: Path, tmp_path: Path, content: bytes
) -> None:
    fake = tmp_path / "fake"
    fake.write_bytes(content)
    every_entry_point_fails(place(fake, PATIENT_FILE), workdir, "not a video CaseDeck can read")


def test_an_empty_file_is_refused(place: Callable[..., Path], workdir: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    every_entry_point_fails(place(empty, PATIENT_FILE), workdir, "empty")


def test_a_playlist_posing_as_a_video_reads_nothing_else(
    place: Callable[..., Path], workdir: Path, tmp_path: Path, source: Callable[..., Path]
) -> None:
    # The classic trick: an HLS playlist or ffconcat list named .avi that points ffmpeg at other files.
    secret = place(source("mp4"), "other patient.mp4")
    for text in (
        f"#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:3.0,\nfile://{secret}\n#EXT-X-ENDLIST\n",
        f"ffconcat version 1.0\nfile '{secret}'\n",
    ):
        playlist = tmp_path / "playlist"
        playlist.write_text(text)
        every_entry_point_fails(place(playlist, "DOE_JOHN.avi"), workdir, "not a video CaseDeck can read")


def test_a_video_cut_off_before_its_index_is_damaged(
    source: Callable[..., Path], place: Callable[..., Path], workdir: Path, tmp_path: Path
) -> None:
    whole = source("mp4").read_bytes()  # index (moov) at the end, as cameras write while recording
    cut = tmp_path / "cut"
    cut.write_bytes(whole[: len(whole) // 2])
    every_entry_point_fails(place(cut, PATIENT_FILE), workdir, "damaged or incomplete")


def test_a_video_cut_off_after_its_index_says_how_much_could_be_read(
    tmp_path: Path, place: Callable[..., Path], workdir: Path
) -> None:
    whole = tmp_path / "whole.mp4"
    run_ffmpeg(
        "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=6", "-c:v", "libx264", "-preset", "ultrafast",
        "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(whole),
    )  # fmt: skip
    data = whole.read_bytes()
    cut = place(tmp_path / "whole.mp4", PATIENT_FILE)
    cut.write_bytes(data[: len(data) // 3])
    assert probe_video(cut).duration_s == pytest.approx(6.0, abs=0.1)  # the index still claims 6 s
    with pytest.raises(ImportFailure, match=r"Only \d+\.\d s of the 6\.0 s clip could be read") as caught:
        transcode(cut, workdir=workdir)
    assert "DOE" not in str(caught.value)
    transcode(cut, workdir=workdir, end_s=1.0)  # the part that plays can still be kept


def test_random_bytes_after_a_valid_header_are_damaged(
    place: Callable[..., Path], workdir: Path, tmp_path: Path
) -> None:
    import random

    rng = random.Random(7)
    junk = tmp_path / "junk"
    junk.write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(rng.randrange(256) for _ in range(20000)))
    every_entry_point_fails(place(junk, PATIENT_FILE), workdir, "damaged or incomplete")


def test_a_missing_file_is_reported(quarantine: Path, workdir: Path) -> None:
    every_entry_point_fails(quarantine / PATIENT_FILE, workdir, "missing")


def test_a_folder_is_not_a_video(quarantine: Path, workdir: Path) -> None:
    folder = quarantine / "DOE_JOHN"
    folder.mkdir()
    every_entry_point_fails(folder, workdir, "missing or is not a file")


def test_a_path_must_be_a_path(source: Callable[..., Path], workdir: Path) -> None:
    with pytest.raises(ValidationError, match=r"pathlib\.Path"):
        probe_video(str(source("mp4")))  # type: ignore[arg-type]


def test_an_unreadable_file_is_reported(source: Callable[..., Path], place: Callable[..., Path], workdir: Path) -> None:
    import os

    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    path = place(source("mp4"), PATIENT_FILE)
    path.chmod(0)
    every_entry_point_fails(path, workdir, "could not be opened")
