"""Frames with and without burned-in text, for the text screening tests and benchmark.

Every builder is a pure function of its seed. Frames with text come with the
ink of each planted field (a boolean mask of every pixel ``cv2.putText``
touched, anti-aliased edges included), so a test can ask how much of a field
a set of boxes covers.

- :func:`ct_screen_save`: a CT slice (soft-tissue window, body with fat, lungs,
  spine, contrast-filled vessels, noise) with a 3-line header (name, MRN, DOB)
  in a corner, 12–18 px high, light on dark, as scanner consoles save them;
- :func:`ct_phantom`: the same slice without text;
- :func:`ultrasound_frame`: a speckle sector with a banner (name, MRN, DOB,
  clinic), a yellow depth scale and a caption; ``with_text=False`` for none;
- :func:`dose_report`: dark text on a light page (a scanner's dose screen);
- :func:`photo_texture`: a natural-photo-like colour texture (multi-scale
  noise over gradients), no text;
- :func:`ultrasound_cine`: frames whose speckle moves under a static overlay;
- :func:`dicom_image`: wraps frames in a DICOM dataset (8-bit, 16-bit signed,
  MONOCHROME1, RGB, multi-frame).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    CTImageStorage,
    ExplicitVRLittleEndian,
    SecondaryCaptureImageStorage,
    UltrasoundMultiFrameImageStorage,
    generate_uid,
)

from casefiles.redaction.geometry import Box

Gray = npt.NDArray[np.uint8]
Mask = npt.NDArray[np.bool_]

FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_PLAIN, cv2.FONT_HERSHEY_COMPLEX)

# Fake identifiers, never real people.
NAMES = ("QUIMBY^EUSTACE", "Harrow, Philippa J", "OKONKWO^ADAEZE^N", "Van der Berg, Maarten")
MRNS = ("MRN 77120934", "ID: 0042-881-73", "PID 5550193", "Pat.No. 88213407")
BIRTH_DATES = ("DOB 17/04/1953", "Born 1961-11-02", "D.O.B. 03.09.1988", "DOB: 29-Jan-1947")
CLINICS = ("St. Elsewhere Radiology", "Northfield Imaging Ctr", "Harbourview Clinic")


@dataclass(frozen=True)
class Field:
    """One planted identifier: what it is (not what it says) and its ink."""

    kind: str
    ink: Mask


@dataclass(frozen=True)
class TextFrame:
    """A frame (H×W gray or H×W×3 RGB, uint8) and the fields drawn on it."""

    pixels: npt.NDArray[np.uint8]
    fields: tuple[Field, ...]


def _font_scale(font: int, height_px: int) -> float:
    """The putText scale at which capital letters of ``font`` are ``height_px`` high."""
    (_, cap), _ = cv2.getTextSize("H", font, 1.0, 1)
    return height_px / cap


def draw_field(
    image: npt.NDArray[np.uint8],
    text: str,
    origin: tuple[int, int],
    *,
    kind: str,
    height_px: int,
    font: int = cv2.FONT_HERSHEY_SIMPLEX,
    colour: int | tuple[int, int, int] = 255,
    thickness: int = 1,
) -> Field:
    """Draw ``text`` with its baseline-left corner at ``origin``, in place; return its ink."""
    scale = _font_scale(font, height_px)
    canvas = np.zeros(image.shape[:2], np.uint8)
    cv2.putText(canvas, text, origin, font, scale, 255, thickness, cv2.LINE_AA)
    ink = canvas > 0
    alpha = (canvas.astype(np.float32) / 255.0)[..., None] if image.ndim == 3 else canvas.astype(np.float32) / 255.0
    paint = np.asarray(colour, np.float32)
    image[...] = np.clip(image * (1.0 - alpha) + paint * alpha, 0, 255).astype(np.uint8)
    return Field(kind, ink)


def ct_hu(seed: int, size: int = 512) -> npt.NDArray[np.float64]:
    """An axial chest/abdomen-like slice in HU: air, fat ring, soft tissue, lungs, spine, vessels, noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size].astype(np.float64) / size
    hu = np.full((size, size), -1000.0)

    def ellipse(cx: float, cy: float, rx: float, ry: float) -> Mask:
        return np.asarray(((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1.0)

    wobble = rng.uniform(-0.02, 0.02, 4)
    hu[ellipse(0.5 + wobble[0], 0.52 + wobble[1], 0.42, 0.32)] = -100.0  # fat
    hu[ellipse(0.5 + wobble[0], 0.52 + wobble[1], 0.39, 0.29)] = 40.0  # muscle / organs
    hu[ellipse(0.33 + wobble[2], 0.5, 0.11, 0.17)] = -820.0  # lungs
    hu[ellipse(0.67 + wobble[3], 0.5, 0.11, 0.17)] = -820.0
    hu[ellipse(0.5, 0.74, 0.05, 0.045)] = 700.0  # vertebral body
    hu[ellipse(0.5, 0.74, 0.03, 0.025)] = 250.0
    hu[ellipse(0.5, 0.45, 0.045, 0.045)] = 180.0  # aorta
    # contrast-filled vessels: dots of 2-8 px, also in rows (mediastinum, mesentery)
    for _ in range(int(rng.integers(40, 90))):
        cx, cy = rng.uniform(0.2, 0.8), rng.uniform(0.3, 0.75)
        radius = rng.uniform(1.0, 4.0) / size
        hu[ellipse(cx, cy, radius, radius * rng.uniform(0.7, 1.3))] = rng.uniform(150.0, 300.0)
    for _ in range(3):
        y0, x0 = rng.uniform(0.35, 0.7), rng.uniform(0.25, 0.55)
        for k in range(int(rng.integers(4, 9))):
            radius = rng.uniform(1.5, 3.5) / size
            hu[ellipse(x0 + k * rng.uniform(0.012, 0.025), y0, radius, radius)] = rng.uniform(150.0, 300.0)
    # lung vessels: small bright dots in the lungs
    lungs = hu < -700
    dots = (rng.random((size, size)) < 0.004) & lungs
    hu[cv2.dilate(dots.astype(np.uint8), np.ones((2, 2), np.uint8)) > 0] = -50.0
    hu = np.asarray(cv2.GaussianBlur(hu, (0, 0), 0.8), np.float64)
    body = hu > -900
    hu += np.where(body, rng.normal(0.0, 15.0, hu.shape), rng.normal(0.0, 3.0, hu.shape))
    return hu


def window(hu: npt.NDArray[np.float64], center: float = 40.0, width: float = 400.0) -> Gray:
    """HU to 8-bit with a linear window, as a console renders a screen save."""
    low = center - width / 2
    return np.clip(np.rint((hu - low) * (255.0 / width)), 0, 255).astype(np.uint8)


def ct_phantom(seed: int, size: int = 512, *, center: float = 40.0, width: float = 400.0) -> Gray:
    """A text-free CT slice rendered in a window (default soft tissue)."""
    return window(ct_hu(seed, size), center, width)


def ct_screen_save(seed: int, size: int = 512) -> TextFrame:
    """A CT slice with a 3-line header (name, MRN, birth date), 12–18 px, in a random corner."""
    rng = np.random.default_rng(seed)
    image = ct_phantom(seed, size)
    height_px = int(rng.integers(12, 19))
    font = FONTS[int(rng.integers(0, len(FONTS)))]
    lines = [
        ("name", NAMES[int(rng.integers(0, len(NAMES)))]),
        ("mrn", MRNS[int(rng.integers(0, len(MRNS)))]),
        ("dob", BIRTH_DATES[int(rng.integers(0, len(BIRTH_DATES)))]),
    ]
    scale = _font_scale(font, height_px)
    widest = max(cv2.getTextSize(text, font, scale, 1)[0][0] for _, text in lines)
    pitch = int(height_px * 1.7)
    right = bool(rng.integers(0, 2))
    bottom = bool(rng.integers(0, 2))
    x = size - widest - 8 if right else 8
    y0 = size - 8 - pitch * 2 if bottom else 8 + height_px
    grey = int(rng.integers(200, 256))
    fields = tuple(
        draw_field(image, text, (x, y0 + i * pitch), kind=kind, height_px=height_px, font=font, colour=grey)
        for i, (kind, text) in enumerate(lines)
    )
    return TextFrame(image, fields)


def _sector(rng: np.random.Generator, height: int, width: int, shift: int = 0) -> npt.NDArray[np.float64]:
    """Ultrasound speckle in a fan, 0 outside it, with a dark cyst; ``shift`` moves the tissue."""
    yy, xx = np.mgrid[:height, :width].astype(np.float64)
    apex_x, apex_y = width / 2, height * 0.08
    radius = np.hypot(xx - apex_x, yy - apex_y)
    angle = np.arctan2(xx - apex_x, yy - apex_y)
    fan = (np.abs(angle) < 0.65) & (radius > 0.04 * height) & (radius < 0.86 * height)
    # speckle: Rayleigh grains a few pixels across, log-compressed as scanners display it
    grain = np.log1p(rng.rayleigh(1.0, (height // 3 + 16, width // 3 + 16)))
    grain = cv2.resize(grain, (grain.shape[1] * 3, grain.shape[0] * 3), interpolation=cv2.INTER_CUBIC)
    speckle = grain[8 + shift : 8 + shift + height, 8 : 8 + width] / 0.8
    tissue = 110.0 - 0.05 * radius * (640 / height)
    cyst = ((xx - width * 0.55) / (0.09 * width)) ** 2 + ((yy - height * (0.5 + shift / 400)) / (0.07 * height)) ** 2
    tissue = np.where(cyst <= 1.0, 8.0, tissue)
    return np.where(fan, np.clip(tissue * (0.35 + 0.55 * speckle), 0, 255), 0.0)


def _ultrasound_overlay(image: npt.NDArray[np.uint8], rng: np.random.Generator) -> tuple[Field, ...]:
    """Banner (name, MRN, DOB, clinic) white on black at the top; depth scale and caption (harmless)."""
    height, width = image.shape[:2]
    image[: int(height * 0.075)] = 0
    size_px = max(12, min(18, height // 45))
    font = FONTS[int(rng.integers(0, 2))]
    fields = [
        draw_field(image, NAMES[int(rng.integers(0, 4))], (10, size_px + 6), kind="name", height_px=size_px, font=font),
        draw_field(image, MRNS[int(rng.integers(0, 4))], (width // 2 - 40, size_px + 6), kind="mrn", height_px=size_px),
        draw_field(image, BIRTH_DATES[int(rng.integers(0, 4))], (10, 2 * size_px + 14), kind="dob", height_px=size_px),
        draw_field(
            image, CLINICS[int(rng.integers(0, 3))], (width - 300, 2 * size_px + 14), kind="clinic", height_px=size_px
        ),
    ]
    x0 = int(width * 0.86)
    for depth in range(0, 17, 4):
        y = int(height * 0.1 + depth * height * 0.045)
        cv2.line(image, (x0, y), (x0 + 6, y), (255, 220, 0), 1)
        draw_field(image, str(depth), (x0 + 10, y + 5), kind="depth", height_px=10, colour=(255, 220, 0))
    draw_field(image, "LIVER LONG", (14, height - 14), kind="caption", height_px=12, colour=(0, 230, 230))
    return tuple(fields)


def ultrasound_frame(seed: int, height: int = 768, width: int = 1024, *, with_text: bool = True) -> TextFrame:
    """An RGB ultrasound frame; ``fields`` lists the identifying fields only (not scale or caption)."""
    rng = np.random.default_rng(seed)
    gray = np.rint(_sector(rng, height, width)).astype(np.uint8)
    image = np.repeat(gray[..., None], 3, axis=2)
    fields = _ultrasound_overlay(image, rng) if with_text else ()
    return TextFrame(image, fields)


def ultrasound_cine(frames: int = 20, seed: int = 5, height: int = 480, width: int = 640) -> list[TextFrame]:
    """A cine whose tissue moves frame to frame under the same (static) overlay."""
    rng = np.random.default_rng(seed)
    base = _sector(rng, height + 32, width)
    out: list[TextFrame] = []
    overlay: tuple[Field, ...] = ()
    for index in range(frames):
        shift = round(8 + 8 * float(np.sin(2 * np.pi * index / frames)))
        gray = np.rint(base[shift : shift + height]).astype(np.uint8)
        image = np.repeat(gray[..., None], 3, axis=2)
        overlay = _ultrasound_overlay(image, np.random.default_rng(seed))
        out.append(TextFrame(image, overlay))
    return out


def dose_report(seed: int, height: int = 600, width: int = 800) -> TextFrame:
    """A light page with dark text: a scanner's dose report screen (name and ID are the fields)."""
    rng = np.random.default_rng(seed)
    image = np.full((height, width), 235, np.uint8)
    image[:40] = 200
    fields = [
        draw_field(image, "Patient: " + NAMES[seed % 4], (20, 28), kind="name", height_px=14, colour=20),
        draw_field(image, MRNS[seed % 4], (width // 2 + 20, 28), kind="mrn", height_px=14, colour=20),
    ]
    for row in range(6):
        y = 90 + row * 40
        series = f"Series {row + 1}   CTDIvol {rng.uniform(2, 20):.2f} mGy   DLP {rng.uniform(50, 900):.1f} mGy-cm"
        draw_field(image, series, (20, y), kind="table", height_px=13, colour=30)
    return TextFrame(image, tuple(fields))


def photo_texture(seed: int, height: int = 600, width: int = 800) -> npt.NDArray[np.uint8]:
    """A natural-photo-like RGB texture: gradients plus noise at several scales (foliage, gravel, sky)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:height, :width].astype(np.float32)
    out = np.zeros((height, width, 3), np.float32)
    for channel in range(3):
        gradient = rng.uniform(40, 140) + rng.uniform(-80, 80) * xx / width + rng.uniform(-80, 80) * yy / height
        layer = gradient
        for cell in (64, 16, 4, 1):
            small = rng.normal(0.0, 1.0, (height // cell + 2, width // cell + 2)).astype(np.float32)
            big = cv2.resize(small, (small.shape[1] * cell, small.shape[0] * cell), interpolation=cv2.INTER_CUBIC)
            layer = layer + (10 + cell / 2) * big[:height, :width]
        out[..., channel] = layer
    return np.clip(out, 0, 255).astype(np.uint8)


# -- DICOM ------------------------------------------------------------------------------------------------------


def dicom_image(
    frames: npt.NDArray[np.generic],
    *,
    modality: str = "OT",
    photometric: str | None = None,
    bits: int = 8,
    signed: bool = False,
) -> Dataset:
    """A minimal dataset holding ``frames`` (H×W, H×W×3, N×H×W or N×H×W×3) as they are."""
    colour = frames.shape[-1] == 3 and frames.ndim in (3, 4) and photometric in (None, "RGB")
    multi = frames.ndim == (4 if colour else 3)
    sop_class = {"CT": CTImageStorage, "US": UltrasoundMultiFrameImageStorage}.get(
        modality, SecondaryCaptureImageStorage
    )
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = modality
    shape = frames.shape[1:] if multi else frames.shape
    ds.Rows, ds.Columns = int(shape[0]), int(shape[1])
    if multi:
        ds.NumberOfFrames = int(frames.shape[0])
    ds.SamplesPerPixel = 3 if colour else 1
    ds.PhotometricInterpretation = "RGB" if colour else (photometric or "MONOCHROME2")
    if colour:
        ds.PlanarConfiguration = 0
    ds.BitsAllocated = 8 if bits <= 8 else 16
    ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 1 if signed else 0
    dtype = np.uint8 if bits <= 8 else (np.int16 if signed else np.uint16)
    ds.PixelData = np.ascontiguousarray(frames.astype(dtype)).tobytes()
    return ds


def ink_covered(field: Field, boxes: Iterable[Box]) -> float:
    """Share (0-1) of ``field``'s ink inside any of ``boxes`` (objects with x, y, right, bottom)."""
    covered = np.zeros(field.ink.shape, bool)
    for box in boxes:
        covered[max(box.y, 0) : box.bottom, max(box.x, 0) : box.right] = True
    total = int(field.ink.sum())
    return float((field.ink & covered).sum()) / total if total else 1.0


def boxed_share(shape: tuple[int, ...], boxes: Iterable[Box]) -> float:
    """Share (0-1) of an image of ``shape`` inside any of ``boxes``."""
    covered = np.zeros(shape[:2], bool)
    for box in boxes:
        covered[max(box.y, 0) : box.bottom, max(box.x, 0) : box.right] = True
    return float(covered.mean())
