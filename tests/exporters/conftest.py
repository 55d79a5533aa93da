"""Fixtures for exporter tests: DICOM-free cases and key images that carry planted fake PHI.

The cases hold no PHI by construction; the images do (in PNG text chunks, JPEG
comments/EXIF and bytes after the end marker), as a renderer that copied
metadata by mistake would produce. An exporter must let none of it through.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from casefiles.model import Asset, AssetKind, Case, Difficulty, Instance, KeyImage, Window

#: Fake identifiers planted in image metadata; none may reach a deck.
FAKE_PHI = ("DOE^JOHN", "Jane Roe", "MRN-884422", "1961-04-12")


def scene(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A grey test pattern with a bright disc in the middle (the 'lesion' a render test looks for)."""
    y, x = np.mgrid[0:height, 0:width]
    img: np.ndarray = (np.sin(x / 29.0 + seed) * np.cos(y / 31.0) * 40 + 90).astype(np.uint8)
    cv2.circle(img, (width // 2, height // 2), min(width, height) // 5, 250, -1)
    return img


def png_with_phi(pixels: np.ndarray) -> bytes:
    """PNG whose tEXt, zTXt, iTXt and eXIf chunks, and a trailer after IEND, hold fake PHI."""
    info = PngImagePlugin.PngInfo()
    info.add_text("PatientName", FAKE_PHI[0])
    info.add_text("PatientID", FAKE_PHI[2], zip=True)
    info.add_itxt("Comment", f"Referred by {FAKE_PHI[1]}, born {FAKE_PHI[3]}", lang="en", tkey="Comment")
    exif = Image.Exif()
    exif[0x010E] = f"{FAKE_PHI[0]} {FAKE_PHI[3]}"  # ImageDescription
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG", pnginfo=info, exif=exif.tobytes())
    return buf.getvalue() + FAKE_PHI[2].encode()


def jpeg_with_phi(pixels: np.ndarray, *, orientation: int = 1) -> bytes:
    """JPEG with a COM segment, EXIF (description, artist, orientation) and a trailer holding fake PHI."""
    exif = Image.Exif()
    exif[0x010E] = FAKE_PHI[0]  # ImageDescription
    exif[0x013B] = FAKE_PHI[1]  # Artist
    exif[0x0112] = orientation
    buf = io.BytesIO()
    Image.fromarray(pixels).save(
        buf, format="JPEG", quality=92, exif=exif.tobytes(), comment=f"{FAKE_PHI[2]} {FAKE_PHI[3]}".encode()
    )
    return buf.getvalue() + FAKE_PHI[3].encode()


def png_chunk_types(data: bytes) -> list[bytes]:
    """The chunk types of a PNG file, in order."""
    types, pos = [], 8
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        types.append(data[pos + 4 : pos + 8])
        pos += 12 + length
        if types[-1] == b"IEND":
            break
    return types


def make_case(
    *,
    images: int = 2,
    windows: bool = True,
    captions: tuple[str, ...] = (),
    title: str = "Right apical mass eroding the first rib",
    history: str = "58-year-old smoker with right shoulder pain for three months.",
    findings: str = "Apical soft-tissue mass invading the chest wall with destruction of the first rib.",
    diagnosis: str = "Superior sulcus (Pancoast) tumour",
    differential: tuple[str, ...] = ("Metastasis", "Lymphoma", "Neurogenic tumour"),
    teaching_points: tuple[str, ...] = ("Check the lung apices on every chest radiograph.",),
) -> Case:
    """A teaching case with ``images`` key images, all frames of one series asset."""
    instances = tuple(Instance(sop_instance_uid=f"2.25.{i + 1}", blob=f"{i:064x}") for i in range(max(images, 1)))
    asset = Asset(id="series1", kind=AssetKind.DICOM_SERIES, label="Axial CT", modality="CT", instances=instances)
    keys = tuple(
        KeyImage(
            asset_id="series1",
            frame=i,
            window=Window(center=40, width=400) if windows else None,
            caption=captions[i] if i < len(captions) else "",
        )
        for i in range(images)
    )
    return Case(
        id="case1",
        title=title,
        history=history,
        findings=findings,
        diagnosis=diagnosis,
        differential=differential,
        teaching_points=teaching_points,
        modality="CT",
        body_part="Chest",
        difficulty=Difficulty.INTERMEDIATE,
        author="Teaching Faculty",
        assets=(asset,),
        key_images=keys,
    )


ImageSource = Callable[[KeyImage], bytes]


@pytest.fixture
def phi_source() -> tuple[ImageSource, dict[int, np.ndarray]]:
    """An image source alternating PNG and JPEG (with planted PHI), and the pixels it encoded per frame.

    Frame ``i`` is ``(400 + 100 i) x 300`` pixels, so every key image has its own aspect ratio.
    """
    pixels: dict[int, np.ndarray] = {}

    def source(key: KeyImage) -> bytes:
        img = scene(400 + 100 * key.frame, 300, seed=key.frame)
        pixels[key.frame] = img
        return png_with_phi(img) if key.frame % 2 == 0 else jpeg_with_phi(img)

    return source, pixels


@pytest.fixture(scope="session")
def kit() -> SimpleNamespace:
    """The helpers above, for tests (conftest modules should not be imported directly)."""
    return SimpleNamespace(
        FAKE_PHI=FAKE_PHI,
        scene=scene,
        png_with_phi=png_with_phi,
        jpeg_with_phi=jpeg_with_phi,
        png_chunk_types=png_chunk_types,
        make_case=make_case,
    )


@pytest.fixture(scope="session")
def clip_mp4(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real 30-frame H.264 MP4 of test scenes, made once with Debian's ffmpeg; fake PHI in its metadata."""
    from tests.exporters.media_double import make_mp4
    from tests.helpers import require_tool

    ffmpeg = require_tool("ffmpeg")
    frames = [scene(160, 128, seed=i) for i in range(30)]
    out = tmp_path_factory.mktemp("clip") / "clip.mp4"
    return make_mp4(ffmpeg, frames, out, metadata={"title": FAKE_PHI[0], "comment": f"{FAKE_PHI[2]} {FAKE_PHI[3]}"})
