"""Issue #6's round trip, format by format: import -> case -> PPTX, and what is in the deck.

Every image format becomes a key image whose picture in the deck has the source's colours and no
metadata; every video container becomes an H.264 clip embedded in the deck with the source's
duration; a PDF page and PowerPoint slides arrive too. Names planted in each file's metadata
appear nowhere in the deck.
"""

from __future__ import annotations

import io
import json
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image
from pptx import Presentation

from casefiles.config import Settings
from casefiles.imaging.cine import ffmpeg_exe
from casefiles.model import AssetKind
from casefiles.services import Services
from tests.dicom_factory import write_ct_study
from tests.helpers import require_tool

NAME = "ROUNDTRIP^PATIENT"
COLOUR = (40, 160, 90)


@pytest.fixture
def library(tmp_path: Path) -> Services:
    return Services(Settings(data_dir=tmp_path / "data", seed_samples=False))


def _exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x013B] = NAME  # Artist
    exif[0x010E] = NAME  # ImageDescription
    return exif


def _image(path: Path, fmt: str) -> Path:
    pixels = np.full((300, 400, 3), COLOUR, np.uint8)
    if fmt == "bigtiff-pyramid":
        big = np.full((4096, 4096, 3), COLOUR, np.uint8)
        with tifffile.TiffWriter(path, bigtiff=True) as tif:
            tif.write(big, tile=(256, 256), compression="jpeg", photometric="rgb", subifds=1, description=NAME)
            tif.write(big[::4, ::4], tile=(256, 256), compression="jpeg", photometric="rgb", subfiletype=1)
        return path
    if fmt == "heic":
        import pillow_heif

        pillow_heif.register_heif_opener()
    image = Image.fromarray(pixels)
    options: dict[str, object] = {
        "jpeg": {"exif": _exif(), "comment": NAME.encode()},
        "png": {"exif": _exif()},
        "tiff": {"exif": _exif(), "compression": "tiff_lzw"},
        "webp": {"exif": _exif(), "lossless": True},
        "heic": {"exif": _exif(), "quality": 95},
        "gif": {"comment": NAME.encode()},
    }[fmt]
    pil_format = {"jpeg": "JPEG", "png": "PNG", "tiff": "TIFF", "webp": "WEBP", "heic": "HEIF", "gif": "GIF"}[fmt]
    image.save(path, pil_format, **options)  # type: ignore[arg-type]
    return path


def _deck_pictures(pptx: Path) -> list[bytes]:
    prs = Presentation(str(pptx))
    return [s.image.blob for slide in prs.slides for s in slide.shapes if s.shape_type == 13]


def _names_absent(pptx: Path) -> None:
    with zipfile.ZipFile(pptx) as archive:
        for member in archive.namelist():
            assert NAME.encode() not in archive.read(member), f"{member} carries the planted name"


@pytest.mark.parametrize("fmt", ["jpeg", "png", "tiff", "bigtiff-pyramid", "webp", "heic", "gif"])
def test_each_image_format_reaches_the_deck_as_a_clean_key_image(library: Services, tmp_path: Path, fmt: str) -> None:
    case_id = library.import_dicom(write_ct_study(tmp_path / "ct", slices=2)).case_ids[0]
    report = library.import_media(case_id, [_image(tmp_path / f"IMG_{NAME}.{fmt}", fmt)])
    assert report.problems == (), report.problems
    asset = library.get_case(case_id).asset(report.asset_ids[0])
    assert asset.kind is AssetKind.IMAGE and asset.label == "Image 1"
    library.toggle_key_image(case_id, asset.id, 0, None)

    out = library.export(case_id, "pptx", tmp_path / "case.pptx")

    pictures = _deck_pictures(out)
    assert pictures, "the key image is on a slide"
    matching = []
    for blob in pictures:
        with Image.open(io.BytesIO(blob)) as picture:
            assert not picture.getexif(), "no EXIF in the deck's picture"
            rgb = np.asarray(picture.convert("RGB")).astype(int)
        centre = rgb[rgb.shape[0] // 2, rgb.shape[1] // 2]
        if np.abs(centre - COLOUR).max() <= 8:
            matching.append(blob)
    assert matching, "the image's colours survive import and export"
    _names_absent(out)


def _ffprobe(data: bytes, tmp_path: Path) -> dict[str, object]:
    ffprobe = require_tool("ffprobe")
    clip = tmp_path / "embedded.mp4"
    clip.write_bytes(data)
    done = subprocess.run(
        [ffprobe, "-v", "error", "-show_streams", "-show_format", "-of", "json", str(clip)],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize(
    ("container", "codec"), [("mp4", "libx264"), ("mov", "mpeg4"), ("avi", "mjpeg"), ("webm", "libvpx-vp9")]
)
def test_each_video_container_reaches_the_deck_as_an_h264_clip(
    library: Services, tmp_path: Path, container: str, codec: str
) -> None:
    source = tmp_path / f"scope_{NAME}.{container}"
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=10:duration=2",
         "-metadata", f"title={NAME}", "-metadata", "location=+48.85+002.35/", "-c:v", codec, str(source)],
        check=True, timeout=120,
    )  # fmt: skip
    case_id = library.import_dicom(write_ct_study(tmp_path / "ct", slices=2)).case_ids[0]
    report = library.import_media(case_id, [source])
    assert report.problems == (), report.problems
    conference = library.create_conference("Tumor board", case_ids=[case_id])

    out = library.export(conference.id, "pptx", tmp_path / "deck.pptx")

    prs = Presentation(str(out))
    videos = [p.blob for p in prs.part.package.iter_parts() if p.content_type == "video/mp4"]
    assert len(videos) == 1
    probe = _ffprobe(videos[0], tmp_path)
    streams = probe["streams"]
    assert isinstance(streams, list) and streams[0]["codec_name"] == "h264"
    fmt = probe["format"]
    assert isinstance(fmt, dict) and float(fmt["duration"]) == pytest.approx(2.0, abs=0.25)
    assert "creation_time" not in fmt.get("tags", {}) and "location" not in fmt.get("tags", {})
    _names_absent(out)
