"""Pixel phantoms: pure functions from geometry and a random generator to numpy arrays.

Anatomy is drawn in patient millimetres (DICOM LPS: +x patient left, +y
posterior, +z superior) so two series of one study agree on where the nodule is.
Nothing here knows about DICOM tags; :mod:`sample_data.synth` wraps the arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

# -- CT ---------------------------------------------------------------------------

CT_TOP_Z = 0.0
"""Patient z of the most superior CT slice (lung apices)."""
CT_BOTTOM_Z = -150.0
"""Patient z of the most inferior CT slice (liver dome)."""


@dataclass(frozen=True, slots=True)
class Nodule:
    """A solid spherical lesion: centre in patient mm, diameter in mm, attenuation in HU."""

    x: float
    y: float
    z: float
    diameter: float
    hu: float


RLL_NODULE = Nodule(x=-92.0, y=30.0, z=-90.0, diameter=8.0, hu=35.0)
"""The teaching finding: an 8 mm solid nodule, posterior right lower lobe."""


def _ellipse(  # noqa: PLR0917 - an axis-aligned ellipse is six numbers, read best in a row
    x: FloatArray, y: FloatArray, cx: float, cy: float, a: float, b: float
) -> NDArray[np.bool_]:
    return ((x - cx) / a) ** 2 + ((y - cy) / b) ** 2 <= 1.0


def ct_hu_plane(x: FloatArray, y: FloatArray, z: float, *, nodule: Nodule = RLL_NODULE) -> FloatArray:
    """Noise-free attenuation (HU) of the chest phantom on the plane at patient ``z``."""
    hu = np.full(x.shape, -1000.0)
    t = float(np.clip((CT_TOP_Z - z) / (CT_TOP_Z - CT_BOTTOM_Z), 0.0, 1.0))  # 0 apex .. 1 base

    body = _ellipse(x, y, 0, 0, 160, 112)
    hu[body] = -100.0  # subcutaneous fat
    hu[_ellipse(x, y, 0, 2, 148, 100)] = 40.0  # muscle and mediastinum

    lung_scale = 0.55 + 0.45 * math.sin(math.pi * min(1.0, 0.15 + 0.95 * t))
    right_lung = _ellipse(x, y, -74, 8, 56 * lung_scale, 78 * lung_scale)
    left_lung = _ellipse(x, y, 76, 8, 52 * lung_scale, 76 * lung_scale)
    if t > 0.7:  # the liver dome rises under the right lung, the stomach under the left
        dome = (t - 0.7) / 0.3
        right_lung &= ~_ellipse(x, y, -70, 30, 90 * dome, 85 * dome)
        left_lung &= ~_ellipse(x, y, 70, 25, 45 * dome, 60 * dome)
        hu[_ellipse(x, y, -70, 30, 90 * dome, 85 * dome) & body] = 58.0
    hu[right_lung | left_lung] = -850.0
    # a faint vessel tree: a few tubular densities in each lung
    for cx, cy, r in ((-60, -10, 1.6), (-85, 5, 1.3), (-50, 35, 1.3), (60, -5, 1.6), (85, 20, 1.3), (55, 40, 1.3)):
        hu[_ellipse(x, y, cx + 8 * math.sin(z / 17), cy, r, r) & (right_lung | left_lung)] = 30.0

    if 0.25 < t < 0.85:  # heart
        hu[_ellipse(x, y, 18, -30, 58, 46)] = 40.0
        hu[_ellipse(x, y, 30, -28, 26, 22)] = 170.0  # contrast in the left ventricle
    hu[_ellipse(x, y, 16, 38, 12, 12)] = 190.0  # descending aorta (contrast)
    if t < 0.3:
        hu[_ellipse(x, y, -2, -40, 14, 14)] = 190.0  # ascending aorta / arch
        hu[_ellipse(x, y, -40, -55, 5, 14) & (t < 0.2)] = 700.0  # clavicle head
        hu[_ellipse(x, y, 40, -55, 5, 14) & (t < 0.2)] = 700.0
    hu[_ellipse(x, y, 0, 0, 9, 9) & (t < 0.45)] = -950.0  # trachea / main bronchi
    hu[_ellipse(x, y, 0, -102, 14, 5)] = 650.0  # sternum

    # spine: cortical ring, trabecular body, canal, spinous process
    hu[_ellipse(x, y, 0, 62, 21, 19)] = 820.0
    hu[_ellipse(x, y, 0, 62, 17, 15)] = 260.0
    hu[_ellipse(x, y, 0, 90, 7, 8)] = 12.0
    hu[_ellipse(x, y, 0, 106, 4, 6) & body] = 720.0
    # ribs: short cortical ellipses around the chest wall; which ones show depends on z
    for k in range(14):
        angle = 2 * math.pi * k / 14
        if math.sin(z / 9.0 + 1.7 * k) < 0.1:
            continue
        rx, ry = 152 * math.cos(angle), 104 * math.sin(angle) + 2
        if abs(rx) < 30:  # no ribs over sternum and spine
            continue
        hu[_ellipse(x, y, rx, ry, 7, 5) & body] = 780.0

    dz = z - nodule.z
    radius = nodule.diameter / 2
    if abs(dz) < radius:
        r = math.sqrt(radius**2 - dz**2)
        hu[_ellipse(x, y, nodule.x, nodule.y, r, r)] = nodule.hu
    return hu


def ct_slice_hu(
    size: int,
    fov_mm: float,
    z: float,
    thickness: float,
    *,
    sharp: bool,
    rng: np.random.Generator,
) -> FloatArray:
    """One reconstructed CT slice in HU: partial volume over ``thickness``, kernel blur and noise.

    A sharp (lung) kernel keeps edges and shows more noise; a soft kernel is smoother.
    Pixels outside the reconstruction circle are -1024 HU, as scanners pad them.
    """
    spacing = fov_mm / size
    coords = -fov_mm / 2 + spacing * (np.arange(size) + 0.5)
    x, y = np.meshgrid(coords, coords)
    planes = [ct_hu_plane(x, y, z + f * thickness) for f in (-1 / 3, 0.0, 1 / 3)]
    hu = np.asarray(np.mean(planes, axis=0), dtype=np.float64)
    if sharp:
        blurred = np.asarray(cv2.GaussianBlur(hu, (0, 0), 1.0), dtype=np.float64)
        hu = hu + 0.6 * (hu - blurred)
        noise = rng.normal(0.0, 28.0, hu.shape)
    else:
        hu = np.asarray(cv2.GaussianBlur(hu, (0, 0), 0.8), dtype=np.float64)
        noise = np.asarray(cv2.GaussianBlur(rng.normal(0.0, 22.0, hu.shape), (0, 0), 0.7), dtype=np.float64)
    hu = hu + noise
    outside = x**2 + y**2 > (fov_mm / 2) ** 2
    hu[outside] = -1024.0
    return np.asarray(hu, dtype=np.float64)


# -- MR ---------------------------------------------------------------------------

MR_TOP_Z = 60.0
MR_BOTTOM_Z = -35.0


def mr_flair_slice(size: int, fov_mm: float, z: float, *, rng: np.random.Generator) -> NDArray[np.uint16]:
    """An axial T2 FLAIR-like brain slice (arbitrary units, 12-bit).

    FLAIR suppresses CSF (dark ventricles and sulci), grey matter is brighter
    than white matter and the lesion, in the right frontal lobe, is bright.
    """
    spacing = fov_mm / size
    coords = -fov_mm / 2 + spacing * (np.arange(size) + 0.5)
    x, y = np.meshgrid(coords, coords)
    img = np.zeros(x.shape)
    s = math.sqrt(max(0.0, 1.0 - ((z - 5.0) / 75.0) ** 2))  # the head is roughly a sphere
    if s <= 0:
        return np.zeros(x.shape, dtype=np.uint16)
    a, b = 74 * s, 92 * s
    img[_ellipse(x, y, 0, 0, a + 6, b + 6)] = 900.0  # scalp fat
    img[_ellipse(x, y, 0, 0, a + 2, b + 2)] = 60.0  # skull: no signal
    img[_ellipse(x, y, 0, 0, a, b)] = 120.0  # CSF over the convexity, suppressed
    img[_ellipse(x, y, 0, 0, a - 2.5, b - 2.5)] = 520.0  # cortex
    # gyri: modulate the grey/white boundary so the cortex is not a plain ring
    theta = np.arctan2(y, x)
    wobble = 1.0 + 0.05 * np.sin(14 * theta + z / 7)
    white = ((x / ((a - 9) * wobble)) ** 2 + (y / ((b - 9) * wobble)) ** 2) <= 1.0
    img[white] = 380.0
    img[(np.abs(x) < 1.8) & _ellipse(x, y, 0, 0, a, b)] = 120.0  # interhemispheric fissure
    if -10 < z < 35:  # lateral ventricles, butterfly-shaped
        v = math.sqrt(max(0.0, 1 - ((z - 12) / 23) ** 2))
        img[_ellipse(x, y, -9, -5, 7 * v, 28 * v)] = 70.0
        img[_ellipse(x, y, 9, -5, 7 * v, 28 * v)] = 70.0
        img[_ellipse(x, y, -4, -8, 6 * v, 5 * v) & (z < 15)] = 520.0  # caudate heads
        img[_ellipse(x, y, 4, -8, 6 * v, 5 * v) & (z < 15)] = 520.0
    if z < 0:  # temporal horns and the fourth ventricle low in the stack
        img[_ellipse(x, y, 0, 35, 5, 4)] = 70.0
    # the lesion: right frontal (patient right = image left, anterior = up), infiltrative margins
    lz = 1.0 - ((z - 22.0) / 20.0) ** 2
    if lz > 0:
        r = 16.0 * math.sqrt(lz)
        dist = np.hypot((x + 32) / 1.1, (y + 45) / 1.0)
        edge = r * (1.0 + 0.18 * np.sin(5 * theta + 1.3) + 0.1 * np.sin(9 * theta))
        lesion = np.clip((edge - dist) / 4.0 + 0.5, 0.0, 1.0)  # soft, infiltrative edge
        inside = _ellipse(x, y, 0, 0, a - 3, b - 3)
        img = np.where(inside, img * (1 - lesion) + 860.0 * lesion, img)
    img = cv2.GaussianBlur(img, (0, 0), 0.9)
    bias = 1.0 + 0.12 * (y / fov_mm) - 0.06 * (x / fov_mm)  # receive-coil shading
    img = img * bias
    # Rician noise: the magnitude of a complex signal with Gaussian noise in both channels
    sigma = 18.0
    real = img + rng.normal(0.0, sigma, img.shape)
    imag = rng.normal(0.0, sigma, img.shape)
    mag = np.hypot(real, imag)
    return np.asarray(np.clip(np.rint(mag), 0, 4095), dtype=np.uint16)


# -- Radiograph -------------------------------------------------------------------


def chest_radiograph(size: int, *, rng: np.random.Generator) -> NDArray[np.uint16]:
    """A PA chest radiograph for MONOCHROME1 (12-bit: low values display white).

    Built as an attenuation map (bone and soft tissue attenuate, lungs do not)
    with right upper lobe consolidation bounded below by the minor fissure, then
    exposed: ``value = 4095 * exp(-attenuation)``. A lead "L" marker sits on the
    patient's left (image right).
    """
    u = np.linspace(-1.0, 1.0, size)
    x, y = np.meshgrid(u, u)  # x: image right = patient left; y: down = inferior
    att = np.zeros(x.shape)
    torso = _ellipse(x, y, 0, 0.25, 0.86, 1.05)
    att[torso] += 1.0
    att += 0.35 * _ellipse(x, y, -0.62, -0.72, 0.32, 0.14)  # shoulders
    att += 0.35 * _ellipse(x, y, 0.62, -0.72, 0.32, 0.14)
    neck = (np.abs(x) < 0.18) & (y < -0.6)
    att[neck] += 0.9
    right_lung = _ellipse(x, y, -0.38, 0.02, 0.3, 0.62) & (y < 0.55 - 0.15 * np.abs(x + 0.38))
    left_lung = _ellipse(x, y, 0.38, 0.05, 0.28, 0.62) & (y < 0.6 - 0.15 * np.abs(x - 0.38))
    lungs = right_lung | left_lung
    att[lungs] -= 0.75
    # consolidation in the right upper lobe: patchy, with a sharp lower edge at the minor fissure
    rul = right_lung & (y < -0.02)
    patches = cv2.GaussianBlur(rng.random(x.shape), (0, 0), size / 60)
    patches = (patches - patches.min()) / (np.ptp(patches) + 1e-9)
    att[rul] += 0.35 + 0.35 * patches[rul]
    # heart and mediastinum, offset to the patient's left; diaphragm domes below the lungs
    att += 0.55 * _ellipse(x, y, 0.1, 0.33, 0.34, 0.27)
    att += 0.45 * ((np.abs(x) < 0.13) & (y > -0.7))
    att += 0.3 * (y > 0.5 + 0.1 * np.abs(x))
    # spine, ribs and clavicles
    att += 0.5 * ((np.abs(x) < 0.07) & (y > -0.9))
    for k in range(10):
        yy = -0.48 + 0.11 * k
        for side in (-1, 1):
            arc = np.abs(y - (yy + 0.22 * (x * side - 0.05) ** 2 - 0.06 * x * side)) < 0.012
            att += 0.28 * (arc & (x * side > 0.05) & (x * side < 0.72) & torso)
    for side in (-1, 1):
        clav = np.abs(y - (-0.6 + 0.12 * (x * side - 0.1))) < 0.02
        att += 0.5 * (clav & (x * side > 0.06) & (x * side < 0.55))
    att = np.asarray(cv2.GaussianBlur(att, (0, 0), size / 400), dtype=np.float64)
    exposure = 4095.0 * np.exp(-1.0 * att)
    exposure += rng.normal(0.0, 18.0, exposure.shape)
    img = np.clip(np.rint(exposure), 0, 4095).astype(np.uint16)
    # the lead marker: fully attenuating, so it shows white (value 0) in MONOCHROME1
    marker = np.zeros(img.shape, dtype=np.uint8)
    scale = size / 256
    org = (int(size * 0.86), int(size * 0.14))
    cv2.putText(marker, "L", org, cv2.FONT_HERSHEY_SIMPLEX, scale, 255, max(1, int(3 * scale)), cv2.LINE_AA)
    img[marker > 128] = 40
    return img


# -- Ultrasound -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Banner:
    """Text burned into the top of each ultrasound frame, as scanners do."""

    line1: str
    line2: str


def ultrasound_frames(
    frames: int,
    *,
    banner: Banner,
    rng: np.random.Generator,
    height: int = 480,
    width: int = 640,
) -> NDArray[np.uint8]:
    """A right-upper-quadrant cine loop, shape (frames, height, width, 3), RGB.

    A sector of liver speckle, the gallbladder (anechoic) holding a bright
    echogenic stone with an acoustic shadow behind it, gentle breathing motion,
    a yellow depth scale and a white banner with the patient's name, ID and date.
    """
    apex = (width / 2, 58.0)
    radius = height - apex[1] - 8
    half_angle = math.radians(36)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    r = np.hypot(xx - apex[0], yy - apex[1])
    ang = np.arctan2(xx - apex[0], yy - apex[1])
    sector = (r < radius) & (r > 18) & (np.abs(ang) < half_angle)
    # speckle at a coarse grain, shared by all frames and shifted with breathing
    grain = rng.rayleigh(1.0, (height // 3 + 8, width // 3 + 8))
    grain = np.asarray(
        cv2.resize(grain, (grain.shape[1] * 3, grain.shape[0] * 3), interpolation=cv2.INTER_NEAREST), dtype=np.float64
    )
    out = np.zeros((frames, height, width, 3), dtype=np.uint8)
    for f in range(frames):
        shift = round(6 * math.sin(2 * math.pi * f / frames))
        speckle = grain[6 + shift : 6 + shift + height, 12 : 12 + width]
        tissue = 95.0 * np.ones((height, width))
        tissue -= 0.06 * (r - 100).clip(0)  # attenuation with depth (after TGC)
        gb_c = (width / 2 + 20, 250.0 + shift)
        gb = ((xx - gb_c[0]) / 95) ** 2 + ((yy - gb_c[1]) / 48) ** 2 <= 1.0
        wall = ((xx - gb_c[0]) / 101) ** 2 + ((yy - gb_c[1]) / 53) ** 2 <= 1.0
        tissue[wall & ~gb] = 160.0
        tissue[gb] = 6.0
        stone_c = (gb_c[0] + 25, gb_c[1] + 28)
        stone = ((xx - stone_c[0]) / 15) ** 2 + ((yy - stone_c[1]) / 11) ** 2 <= 1.0
        tissue[stone] = 235.0
        # posterior acoustic shadow: the beam lines that pass through the stone go dark below it
        stone_ang = math.atan2(stone_c[0] - apex[0], stone_c[1] - apex[1])
        shadow = (np.abs(ang - stone_ang) < math.radians(2.6)) & (yy > stone_c[1] + 10)
        tissue[shadow] *= 0.12
        tissue[gb & ~stone] = 6.0  # anechoic bile: shadow falls behind, not inside
        img = np.where(tissue > 200, tissue, tissue * (0.45 + 0.45 * speckle))
        img = np.clip(img, 0, 255)
        img[~sector] = 0
        frame = np.repeat(np.rint(img).astype(np.uint8)[:, :, None], 3, axis=2)
        _draw_overlay(frame, banner, apex, radius)
        out[f] = frame
    return out


def _draw_overlay(frame: NDArray[np.uint8], banner: Banner, apex: tuple[float, float], radius: float) -> None:
    """Banner (white on black, top rows), depth ticks (yellow) and a body marker, in place."""
    frame[:40] = 0
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(frame, banner.line1, (8, 16), font, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    cv2.putText(frame, banner.line2, (8, 34), font, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    x0 = int(apex[0] + radius * math.sin(math.radians(36))) + 14
    for depth_cm in range(0, 17, 2):
        yv = int(apex[1] + depth_cm * radius / 16)
        cv2.line(frame, (x0, yv), (x0 + 6, yv), (255, 220, 0), 1)
        cv2.putText(frame, str(depth_cm), (x0 + 9, yv + 4), font, 0.35, (255, 220, 0), 1, cv2.LINE_AA)
    cv2.putText(frame, "GB LONG", (14, 460), font, 0.5, (0, 230, 230), 1, cv2.LINE_AA)
