"""The CT case's shipped media: small, named without PHI, the fake patient only in their metadata."""

from __future__ import annotations

import io
import json
import subprocess

import pytest
from PIL import Image
from pptx import Presentation
from pypdf import PdfReader

from casefiles.imaging.cine import ffmpeg_exe
from sample_data.media_synth import MEDIA, PLANTED
from sample_data.synth import FAKE_PHI, SMITH_JOHN
from tests.helpers import ROOT

SAMPLE_ROOT = ROOT / "sample_data"
MEDIA_DIR = SAMPLE_ROOT / "media"


def _listed() -> list[dict]:
    manifest = json.loads((SAMPLE_ROOT / "cases.json").read_text(encoding="utf-8"))
    return [m for case in manifest["cases"] for m in case.get("media", ())]


def test_media_are_listed_small_and_named_without_phi() -> None:
    files = sorted(MEDIA_DIR.iterdir())
    assert (
        sorted(m["file"] for m in _listed())
        == sorted(f"media/{p.name}" for p in files)
        == sorted(f"media/{name}" for name in MEDIA)
    )
    assert sum(p.stat().st_size for p in files) < 1_500_000
    names = " ".join(p.name for p in files).upper()
    assert not [s for s in FAKE_PHI if s.upper() in names]
    assert "SMITH" not in names
    for item in _listed():
        assert item["caption"].strip() and not [s for s in FAKE_PHI if s in item["caption"]]


def test_the_kinds_are_what_the_manifest_asks_of_them() -> None:
    by_file = {m["file"]: m for m in _listed()}
    assert [f for f, m in by_file.items() if m["key_image"]] == ["media/lung_core_he.jpg"]
    pdf = PdfReader(MEDIA_DIR / "referral_letter.pdf")
    assert all(0 <= n < len(pdf.pages) for n in by_file["media/referral_letter.pdf"]["pages"])
    deck = Presentation(str(MEDIA_DIR / "mdt_summary.pptx"))
    assert by_file["media/mdt_summary.pptx"]["slides"] == list(range(len(deck.slides))) == [0, 1]


def test_photos_carry_the_patient_in_exif_and_the_phone_photo_a_position() -> None:
    with Image.open(MEDIA_DIR / "lung_core_he.jpg") as micrograph:
        exif = micrograph.getexif()
        assert exif[0x013B] == SMITH_JOHN.display_name  # Artist
        assert SMITH_JOHN.patient_id in exif[0x010E]  # ImageDescription
        assert SMITH_JOHN.display_name.encode() in micrograph.info["xmp"]
    with Image.open(MEDIA_DIR / "biopsy_cores_photo.jpg") as photo:
        exif = photo.getexif()
        assert exif[0x013B] == SMITH_JOHN.display_name and exif[0x0112] == 6
        gps = exif.get_ifd(0x8825)
        assert gps[1] == "N" and gps[3] == "W" and float(gps[2][0]) == 42.0


def test_the_letter_and_slides_name_the_patient_only_in_metadata() -> None:
    """The scrubber keeps what a reader sees, so that must be free of identifiers for the demo to hold."""
    pdf = PdfReader(MEDIA_DIR / "referral_letter.pdf")
    assert pdf.metadata.author == SMITH_JOHN.display_name
    assert SMITH_JOHN.patient_id in pdf.metadata.title
    text = "".join(page.extract_text() for page in pdf.pages)
    assert "adenocarcinoma" in text
    assert [s for s in FAKE_PHI if s.lower() in text.lower()] == []

    deck = Presentation(str(MEDIA_DIR / "mdt_summary.pptx"))
    assert deck.core_properties.author == SMITH_JOHN.display_name
    shown = " ".join(s.text_frame.text for slide in deck.slides for s in slide.shapes if s.has_text_frame)
    notes = " ".join(slide.notes_slide.notes_text_frame.text for slide in deck.slides)
    assert "Thoracic MDT" in shown and [s for s in FAKE_PHI if s in shown] == []
    assert SMITH_JOHN.display_name in notes


def test_the_clip_is_a_short_video_with_a_title_date_and_place() -> None:
    result = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-i", str(MEDIA_DIR / "pet_mip_rotating.mp4")],
        capture_output=True,
        text=True,
        check=False,
    )
    described = result.stderr  # ffmpeg -i with no output describes the input, then exits 1
    assert "Video: h264" in described
    duration = described.split("Duration: ")[1].split(",")[0]
    assert duration.startswith("00:00:03")
    for expected in ("title", "creation_time   : 2024-07-10", "location", SMITH_JOHN.display_name):
        assert expected in described


@pytest.mark.parametrize("name", sorted(MEDIA))
def test_every_file_plants_several_identifiers(name: str) -> None:
    data = (MEDIA_DIR / name).read_bytes()
    if name.endswith(".pptx"):
        import zipfile

        with zipfile.ZipFile(io.BytesIO(data)) as package:
            data = b"".join(package.read(n) for n in package.namelist())
    assert len([s for s in PLANTED if s.encode() in data]) >= 2
