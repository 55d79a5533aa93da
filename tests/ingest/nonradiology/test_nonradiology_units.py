"""The pieces under the import: sorting raw instances, choosing and assembling a slide level, raw video streams."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import generate_uid

from casefiles.errors import ImportFailure, RenderError, ValidationError
from casefiles.imaging.wsi import LevelSize, choose_level, total_pixel_matrix
from casefiles.ingest.nonradiology import LABEL_LEFT_OUT, ObjectKind, triage
from casefiles.media.video import ElementaryStream, probe_video
from tests.ingest.nonradiology import objects


def _levels(*sides: int) -> list[LevelSize]:
    return [LevelSize(side, side // 2) for side in sides]


@pytest.mark.parametrize(
    ("sides", "expected"),
    [
        ((100_000, 25_000, 6_250, 1_562), 2),  # the smallest level reaching 2048 px
        ((1_562, 6_250, 25_000, 100_000), 1),  # whatever order the levels come in
        ((1_024, 512), 0),  # all smaller: the largest
        ((100_000, 40_000, 900), 2),  # 40 000 is over the pixel budget: the largest that fits
    ],
)
def test_choose_level(sides: tuple[int, ...], expected: int) -> None:
    assert choose_level(_levels(*sides)) == expected


def test_a_slide_without_a_usable_level_is_refused() -> None:
    with pytest.raises(RenderError, match="too large"):
        choose_level(_levels(100_000, 50_000))
    with pytest.raises(ValidationError):
        choose_level([])


def test_tiles_placed_by_position_give_the_same_picture_as_tiles_in_order(tmp_path: Path) -> None:
    study = generate_uid()
    full = objects.write_slide(tmp_path / "full", study_uid=study, sides=(640,), tile=256, with_label=False)
    sparse = objects.write_slide(
        tmp_path / "sparse", study_uid=study, sides=(640,), tile=256, with_label=False, tiled_full=False
    )
    in_order = total_pixel_matrix(pydicom.dcmread(full.files[0]))
    by_position = total_pixel_matrix(pydicom.dcmread(sparse.files[0]))
    assert in_order.shape == (640, 640, 3)  # 3 × 3 tiles, the last row and column cut to size
    assert np.array_equal(in_order, by_position)
    expected = np.asarray(objects.slide_picture(640), dtype=np.int16)
    assert np.abs(in_order.astype(np.int16) - expected).mean() < 3


def test_a_level_over_the_budget_is_not_assembled(tmp_path: Path) -> None:
    slide = objects.write_slide(tmp_path, study_uid=generate_uid(), sides=(512,), with_label=False)
    with pytest.raises(RenderError, match="too large"):
        total_pixel_matrix(pydicom.dcmread(slide.files[0]), max_pixels=512 * 511)


def test_triage_sorts_raw_instances(tmp_path: Path, h264: bytes) -> None:
    study = generate_uid()
    slide = objects.write_slide(tmp_path, study_uid=study, sides=(256,))
    level, label, overview = (pydicom.dcmread(p) for p in slide.files)
    assert triage(objects.encapsulated_pdf(b"%PDF-1.4", study_uid=study)).kind is ObjectKind.PDF
    assert triage(objects.video_dicom(h264, study_uid=study, frames=25)).kind is ObjectKind.VIDEO
    assert triage(objects.vl_photograph(study_uid=study)).kind is ObjectKind.STACK
    assert triage(level) == triage(level) and triage(level).kind is ObjectKind.SLIDE and not triage(level).left_out
    assert triage(label).left_out == triage(overview).left_out == LABEL_LEFT_OUT
    assert triage(label).once_per == triage(overview).once_per != ""
    assert "STL" in triage(objects.encapsulated_stl(study_uid=study)).left_out


def test_a_raw_h264_stream_is_probed_and_a_short_one_refused(tmp_path: Path, h264: bytes) -> None:
    path = tmp_path / "stream.bin"
    path.write_bytes(h264)
    # The stream carries its own timing (x264 writes it); that wins over the rate the header gave.
    info = probe_video(path, stream=ElementaryStream("h264", fps=12.5, frames=25))
    assert (info.width, info.height, info.codec) == (160, 120, "h264")
    assert info.fps == pytest.approx(25.0) and info.duration_s == pytest.approx(1.0, abs=0.05)
    with pytest.raises(ImportFailure, match="stops after 25 of the 100 frames"):
        probe_video(path, stream=ElementaryStream("h264", fps=25.0, frames=100))
    with pytest.raises(ImportFailure):
        probe_video(path)  # with no container and no description, it is not a video CaseDeck reads


@pytest.mark.parametrize("bad", [{"codec": "vp9"}, {"fps": 0}, {"fps": True}, {"frames": 0}])
def test_elementary_stream_checks_its_arguments(bad: dict[str, object]) -> None:
    arguments: dict[str, object] = {"codec": "h264", "fps": 25.0, "frames": None, **bad}
    with pytest.raises(ValidationError):
        ElementaryStream(**arguments)  # type: ignore[arg-type]
