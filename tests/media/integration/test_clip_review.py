"""Clips and burned-in names: a DICOM video is held for review (its frames were never searched for text), and
black boxes drawn on a clip are burned into every frame of the stored file."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pydicom.uid import generate_uid

from casefiles.config import Settings
from casefiles.imaging.cine import ffmpeg_exe
from casefiles.model import AssetKind, KeyImage, Region, Review
from casefiles.services import Services
from tests.dicom_factory import write_ct_study
from tests.ingest.nonradiology.objects import h264_stream, video_dicom


@pytest.fixture
def library(tmp_path: Path) -> Services:
    return Services(Settings(data_dir=tmp_path / "data", seed_samples=False))


def _frame_at(data: bytes, seconds: float, tmp_path: Path) -> np.ndarray:
    clip = tmp_path / "stored.mp4"
    clip.write_bytes(data)
    png = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-ss", str(seconds), "-i", str(clip), "-frames:v", "1",
         "-f", "image2pipe", "-c:v", "png", "-"],
        capture_output=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def test_a_dicom_video_waits_for_review_until_someone_confirms(library: Services, tmp_path: Path) -> None:
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    study = generate_uid()
    video_dicom(h264_stream(tmp_path, seconds=1.0), study_uid=study, frames=25).save_as(
        incoming / "video.dcm", enforce_file_format=True
    )
    case_id = library.import_dicom([incoming]).case_ids[0]
    case = library.get_case(case_id)
    (clip,) = [a for a in case.assets if a.kind is AssetKind.VIDEO]
    assert clip.review is Review.NEEDS_REVIEW
    assert library.media_for_review(case) == [clip]

    case = library.confirm_media_reviewed(case_id, clip.id)

    assert case.asset(clip.id).review is Review.CONFIRMED and library.media_for_review(case) == []
    assert library.get_case(case_id).asset(clip.id).review is Review.CONFIRMED, "stored"


def test_a_confirmation_for_a_clip_changed_since_it_was_watched_is_refused(library: Services, tmp_path: Path) -> None:
    from casefiles.errors import StaleEditError

    incoming = tmp_path / "incoming"
    incoming.mkdir()
    video_dicom(h264_stream(tmp_path, seconds=1.0), study_uid=generate_uid(), frames=25).save_as(
        incoming / "video.dcm", enforce_file_format=True
    )
    case_id = library.import_dicom([incoming]).case_ids[0]
    watched = library.get_case(case_id)  # the page as the reviewer saw it
    (clip,) = [a for a in watched.assets if a.kind is AssetKind.VIDEO]
    # Another tab changed the item meanwhile (here its caption; a black-out or a trim replaces its file).
    library.set_asset_caption(case_id, clip.id, "edited in another tab")

    with pytest.raises(StaleEditError):
        library.confirm_media_reviewed(case_id, clip.id, loaded=watched)

    assert library.get_case(case_id).asset(clip.id).review is Review.NEEDS_REVIEW, "still held for review"
    fresh = library.get_case(case_id)
    assert library.confirm_media_reviewed(case_id, clip.id, loaded=fresh).asset(clip.id).review is Review.CONFIRMED


def test_black_boxes_on_a_clip_are_burned_into_every_frame(library: Services, tmp_path: Path) -> None:
    source = tmp_path / "scope.mp4"
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "color=c=white:size=320x240:rate=25:duration=3",
         "-c:v", "libx264", "-pix_fmt", "yuv420p", str(source)],
        check=True, timeout=60,
    )  # fmt: skip
    case_id = library.import_dicom(write_ct_study(tmp_path / "ct", slices=2)).case_ids[0]
    clip_id = library.import_media(case_id, [source]).asset_ids[0]
    before = library.get_case(case_id).asset(clip_id)
    assert before.review is Review.NOT_NEEDED, "an uploaded clip is the uploader's to check"
    canvas, width, height = library.annotation_canvas(library.get_case(case_id), KeyImage(asset_id=clip_id))
    assert (width, height) == (320, 240) and canvas.startswith(b"\x89PNG")

    case = library.black_out(case_id, clip_id, [Region(0, 0, 120, 60)])

    after = case.asset(clip_id)
    assert after.blob != before.blob and not library.blobs.exists(before.blob or "")
    for seconds in (0.2, 1.5, 2.8):
        frame = _frame_at(library.blobs.get(after.blob or ""), seconds, tmp_path)
        assert frame.shape[:2] == (240, 320)
        assert frame[5:55, 5:115].max() <= 24, f"the box is black at {seconds} s"
        assert frame[120:, 160:].min() >= 220, f"the rest is untouched at {seconds} s"
    info = library.video_info(case, clip_id)
    assert info.duration_s == pytest.approx(3.0, abs=0.2)
