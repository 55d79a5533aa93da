"""Video clips and a case's own PowerPoint slides in the PDF handout, read back with poppler."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from casefiles.model import CasePlan
from exporters.pdf_handout import LAYOUTS, export_conference_pdf, format_duration, mp4_duration_s
from tests.exporters.html_media import bundle_of
from tests.exporters.mixed_media import CLIP_CAPTION, CLIP_SECONDS, DECK_LABEL, MixedMedia, make_clip, mixed_case
from tests.helpers import require_tool


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return make_clip(require_tool("ffmpeg"), tmp_path_factory.mktemp("clip") / "clip.mp4")


@pytest.fixture(autouse=True)
def _poppler() -> None:
    require_tool("pdftotext")
    require_tool("pdfimages")


def handout(
    tmp_path: Path, source: MixedMedia, *, layout: str = "case-per-page", name: str = "h.pdf", **case: object
) -> Path:
    mixed = mixed_case(**case)  # type: ignore[arg-type]
    return export_conference_pdf(bundle_of((mixed, CasePlan(mixed.id))), source, tmp_path / name, layout=layout)


def text_of(pdf: Path) -> str:
    out = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    return " ".join(out.split())


def image_count(pdf: Path) -> int:
    out = subprocess.run(["pdfimages", "-list", str(pdf)], check=True, capture_output=True, text=True).stdout
    return len(out.splitlines()) - 2  # two header lines


@pytest.mark.parametrize("layout", LAYOUTS)
def test_videos_and_chosen_slides_print_with_their_captions(tmp_path: Path, clip: bytes, layout: str) -> None:
    pdf = handout(tmp_path, MixedMedia(clip), layout=layout)
    text = text_of(pdf)

    assert f"Video 1 — {CLIP_CAPTION}, 0:02 — clip, plays in the PowerPoint/HTML show" in text
    assert f"Slide 1 of {DECK_LABEL}" in text and f"Slide 3 of {DECK_LABEL}" in text
    assert f"Slide 2 of {DECK_LABEL}" not in text
    # two key images, the clip's poster frame and the two chosen slides' pictures
    assert image_count(pdf) == 5
    assert "Referral letter" not in text  # the PDF in the case is not printed


def test_without_slide_pictures_a_line_says_the_slides_are_in_the_powerpoint(tmp_path: Path, clip: bytes) -> None:
    text = text_of(handout(tmp_path, MixedMedia(clip, previews=[])))

    assert f"The 2 chosen slides of {DECK_LABEL} are in the PowerPoint export." in text
    assert "Slide 1 of" not in text


def test_a_clip_that_cannot_be_read_still_prints_its_poster_without_a_duration(tmp_path: Path, clip: bytes) -> None:
    pdf = handout(tmp_path, MixedMedia(clip, failing_video=True))

    assert f"Video 1 — {CLIP_CAPTION} — clip, plays in the PowerPoint/HTML show" in text_of(pdf)
    assert image_count(pdf) == 5


def test_the_duration_is_read_from_the_clip_itself(clip: bytes) -> None:
    duration = mp4_duration_s(clip)
    assert duration is not None and abs(duration - CLIP_SECONDS) < 0.1
    assert mp4_duration_s(b"\x00\x00\x00\x08free") is None
    assert [format_duration(s) for s in (0.4, 59.6, 61, 3725)] == ["0:01", "1:00", "1:01", "1:02:05"]
