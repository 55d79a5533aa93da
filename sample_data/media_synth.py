"""Synthetic photos, a clip, a PDF and slides with fake PHI hidden in their metadata (issue #6).

What a tumour board adds to the CT nodule case: an H&E micrograph of the
biopsy, a phone photo of the biopsy cores, a rotating PET maximum-intensity
projection clip, the referral letter and the MDT summary slides. Every picture
is drawn procedurally and says SYNTHETIC on it. The fake patient sits only
where devices and office programs put it, never in what a reader sees:

* micrograph: EXIF ImageDescription, Artist, XMP creator, JPEG comment;
* photo: EXIF Artist, ImageDescription, GPS position, phone make and model
  (and Orientation 6: the pixels are stored sideways, as phones do);
* clip: MP4 title, artist, comment, location and creation_time;
* PDF: document info /Author, /Title, /Subject, /Keywords, /Creator (the
  letter's body deliberately names no one: a scrubber keeps page content);
* PPTX: core properties (author, last modified by, title, subject, comments,
  keywords) and each slide's speaker notes.

Output is reproducible: seeded generators, reportlab's invariant mode, fixed
zip timestamps, and single-threaded x264 with ffmpeg's bitexact flags (byte
stable for one ffmpeg build; imageio-ffmpeg's is pinned).
"""

from __future__ import annotations

import io
import subprocess
import tempfile
import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

from casefiles.errors import ValidationError
from sample_data.fake_phi import SITE, SMITH_JOHN

__all__ = [
    "MEDIA",
    "PLANTED",
    "make_micrograph",
    "make_pdf",
    "make_pet_clip",
    "make_photo",
    "make_slides",
    "write_media",
]

_Rgb = npt.NDArray[np.uint8]
PATIENT = SMITH_JOHN

#: The fake identifiers hidden in the media metadata (all of them are in ``fake_phi.FAKE_PHI``).
PLANTED: tuple[str, ...] = (
    PATIENT.display_name,
    PATIENT.name,
    PATIENT.patient_id,
    PATIENT.birth_date_us,
    PATIENT.accession,
    SITE.institution,
    SITE.referring_physician,
)

_LABEL = "SYNTHETIC - CaseDeck sample"
_ZIP_TIME = (2024, 7, 24, 9, 0, 0)


def _rng(seed: int, salt: int) -> np.random.Generator:
    return np.random.default_rng([seed, salt])


def _label(image: _Rgb, text: str = _LABEL, *, scale: float = 0.55) -> None:
    """Stamp the SYNTHETIC banner in the lower-left corner, on a dark box so it reads on any background."""
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    y = image.shape[0] - 10
    cv2.rectangle(image, (6, y - h - 6), (14 + w, y + base), (30, 30, 30), -1)
    cv2.putText(image, text, (10, y - 2), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> npt.NDArray[np.float32]:
    """Noise blurred to blobs about ``sigma`` pixels across, scaled to -1..1."""
    field = cv2.GaussianBlur(rng.standard_normal(shape).astype(np.float32), (0, 0), sigma)
    return np.asarray(field / max(float(np.abs(field).max()), 1e-6), dtype=np.float32)


# --- micrograph --------------------------------------------------------------------------------


def _micrograph_pixels(seed: int, width: int, height: int) -> _Rgb:
    """Lung adenocarcinoma, acinar pattern, H&E at 20x: glands of crowded purple nuclei in pink stroma."""
    rng = _rng(seed, 1)
    # Eosin stroma: pink with fibre streaks (noise stretched along one direction) and paler patches.
    fibres = cv2.GaussianBlur(rng.standard_normal((height, width)).astype(np.float32), (31, 3), 0)
    fibres = np.asarray(fibres / float(np.abs(fibres).max()), dtype=np.float32)
    patches = _smooth_noise(rng, (height, width), 40)
    stroma = np.empty((height, width, 3), np.float32)
    for channel, (base, fibre, patch) in enumerate(((236, 18, 10), (168, 30, 22), (200, 20, 12))):
        stroma[..., channel] = base + fibre * fibres + patch * patches
    image = np.clip(stroma, 0, 255).astype(np.uint8)

    # Scattered stromal cells: thin spindle nuclei and small round lymphocytes.
    for _ in range(260):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        if rng.random() < 0.6:
            axes = (int(rng.integers(6, 11)), 2)
        else:
            r = int(rng.integers(3, 5))
            axes = (r, r)
        cv2.ellipse(image, (x, y), axes, float(rng.uniform(0, 180)), 0, 360, (95, 45, 130), -1, cv2.LINE_AA)

    # Malignant glands: irregular lumens lined by tall cells with crowded, enlarged, variable nuclei.
    placed: list[tuple[int, int, int]] = []
    attempts = 0
    while len(placed) < 16 and attempts < 400:
        attempts += 1
        r = int(rng.integers(34, 70))
        cx, cy = int(rng.integers(r, width - r)), int(rng.integers(r, height - r - 30))
        if any((cx - x) ** 2 + (cy - y) ** 2 < (r + pr + 24) ** 2 for x, y, pr in placed):
            continue
        placed.append((cx, cy, r))
        angles = np.linspace(0, 2 * np.pi, 40, endpoint=False)
        wobble = 1 + 0.22 * _smooth_noise(rng, (1, 40), 2)[0]
        outline = np.stack([cx + r * wobble * np.cos(angles), cy + r * 0.8 * wobble * np.sin(angles)], axis=1)
        cv2.fillPoly(image, [outline.astype(np.int32)], (214, 150, 196), cv2.LINE_AA)  # amphophilic cytoplasm
        lumen = np.stack([cx + (outline[:, 0] - cx) * 0.55, cy + (outline[:, 1] - cy) * 0.55], axis=1)
        cv2.fillPoly(image, [lumen.astype(np.int32)], (246, 236, 242), cv2.LINE_AA)
        cells = int(2 * np.pi * r / 9)
        for k in range(cells):
            t = 2 * np.pi * k / cells + float(rng.normal(0, 0.05))
            scale = float(wobble[int(t / (2 * np.pi) * 40) % 40])
            depth = float(rng.uniform(0.66, 0.86))
            nx, ny = cx + r * scale * depth * np.cos(t), cy + r * 0.8 * scale * depth * np.sin(t)
            size = (int(rng.integers(6, 10)), int(rng.integers(3, 6)))
            shade = int(rng.integers(0, 40))
            colour = (70 + shade, 30 + shade // 2, 115 + shade)
            cv2.ellipse(image, (int(nx), int(ny)), size, float(np.degrees(t)), 0, 360, colour, -1, cv2.LINE_AA)
            if rng.random() < 0.3:  # a nucleolus
                cv2.circle(image, (int(nx), int(ny)), 1, (150, 40, 90), -1)

    # Out-of-focus softness, speckle, and the slight vignetting of a microscope camera.
    image = np.asarray(cv2.GaussianBlur(image, (0, 0), 0.9), dtype=np.uint8)
    speckle = rng.normal(0, 4, image.shape)
    yy, xx = np.mgrid[0:height, 0:width]
    falloff = 1 - 0.12 * (((xx - width / 2) / width) ** 2 + ((yy - height / 2) / height) ** 2) * 4
    image = np.clip(image.astype(np.float32) * falloff[..., None] + speckle, 0, 255).astype(np.uint8)

    # Scale bar: at 20x with this camera, 100 µm is 200 pixels.
    bar_y = height - 22
    cv2.rectangle(image, (width - 230, bar_y - 3), (width - 30, bar_y + 3), (20, 20, 20), -1)
    cv2.putText(image, "100 um", (width - 165, bar_y - 14), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (20, 20, 20), 1, cv2.LINE_AA)
    _label(image)
    return np.asarray(image, dtype=np.uint8)


def make_micrograph(seed: int, *, width: int = 960, height: int = 720) -> bytes:
    """A JPEG from a microscope camera, the patient in its description, artist, XMP and comment."""
    pixels = _micrograph_pixels(seed, width, height)
    exif = Image.Exif()
    exif[0x010E] = f"{PATIENT.name} {PATIENT.patient_id} CT-guided core RLL H&E 20x"  # ImageDescription
    exif[0x013B] = PATIENT.display_name  # Artist
    exif[0x010F] = "ACME Optics"  # Make
    exif[0x0110] = "MicroCam 5"  # Model
    exif[0x0132] = "2024:07:19 14:02:11"  # DateTime
    xmp = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator><rdf:Seq>'
        f"<rdf:li>{PATIENT.display_name}</rdf:li></rdf:Seq></dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    out = io.BytesIO()
    Image.fromarray(pixels).save(
        out, "JPEG", quality=82, exif=exif, xmp=xmp.encode(), comment=f"Accession {PATIENT.accession}".encode()
    )
    return out.getvalue()


# --- phone photo -------------------------------------------------------------------------------


def _photo_pixels(seed: int, width: int, height: int) -> _Rgb:
    """Three tan biopsy cores on a blue-green drape next to a millimetre ruler, upright."""
    rng = _rng(seed, 2)
    weave = _smooth_noise(rng, (height, width), 1.2) * 0.5 + _smooth_noise(rng, (height, width), 60) * 0.5
    drape = np.empty((height, width, 3), np.float32)
    for channel, base in enumerate((60, 128, 122)):
        drape[..., channel] = base + 22 * weave
    light = np.linspace(1.08, 0.85, width, dtype=np.float32)[None, :, None]  # window light from the left
    image = np.clip(drape * light, 0, 255).astype(np.uint8)

    px_per_mm = 16
    ruler_top = height - 150
    cv2.rectangle(image, (40, ruler_top), (width - 40, ruler_top + 90), (238, 236, 226), -1)
    for mm in range(0, (width - 100) // px_per_mm + 1):
        x = 60 + mm * px_per_mm
        length = 34 if mm % 10 == 0 else 22 if mm % 5 == 0 else 12
        cv2.line(image, (x, ruler_top), (x, ruler_top + length), (25, 25, 25), 2 if mm % 10 == 0 else 1)
        if mm % 10 == 0:
            cv2.putText(
                image,
                str(mm // 10),
                (x - 6, ruler_top + 60),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.7,
                (25, 25, 25),
                2,
                cv2.LINE_AA,
            )
    cv2.putText(image, "cm", (width - 100, ruler_top + 82), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (25, 25, 25), 1, cv2.LINE_AA)

    for k, length_mm in enumerate((17, 14, 11)):
        x0, y0 = 140 + k * 40, 150 + k * 130
        x1 = x0 + length_mm * px_per_mm
        thickness = int(1.2 * px_per_mm)
        core = np.zeros((height, width), np.uint8)
        cv2.line(core, (x0, y0), (x1, y0 + int(rng.integers(-20, 20))), 255, thickness, cv2.LINE_AA)
        shade = cv2.GaussianBlur(core.astype(np.float32) / 255, (0, 0), 3)
        tissue = np.array((205, 160, 140), np.float32) + 18 * _smooth_noise(rng, (height, width), 3)[..., None]
        mix = (core.astype(np.float32) / 255)[..., None]
        shaded = tissue * (0.75 + 0.35 * shade[..., None])
        image = np.clip(image * (1 - mix) + shaded * mix, 0, 255).astype(np.uint8)
        shadow = cv2.GaussianBlur(core, (0, 0), 6)[..., None].astype(np.float32) / 255
        image = np.clip(image * (1 - 0.35 * shadow * (1 - mix)), 0, 255).astype(np.uint8)
    image = np.clip(image + rng.normal(0, 3, image.shape), 0, 255).astype(np.uint8)
    _label(image, scale=0.7)
    return np.asarray(image, dtype=np.uint8)


def make_photo(seed: int, *, width: int = 960, height: int = 720) -> bytes:
    """A phone JPEG stored sideways (EXIF Orientation 6) with the patient as artist and a GPS position."""
    upright = _photo_pixels(seed, width, height)
    sideways = np.ascontiguousarray(np.rot90(upright, 1))  # a viewer turns it 90° clockwise to show it
    exif = Image.Exif()
    exif[0x010E] = f"{PATIENT.patient_id} biopsy cores"  # ImageDescription
    exif[0x013B] = PATIENT.display_name  # Artist
    exif[0x010F] = "ACME"  # Make
    exif[0x0110] = "Phone 12"  # Model
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to view
    exif[0x0132] = "2024:07:19 10:14:03"  # DateTime
    exif.get_ifd(0x8825).update(
        {1: "N", 2: (42.0, 20.0, 52.0), 3: "W", 4: (71.0, 5.0, 24.0)}  # GPS: the (fake) hospital's lab
    )
    out = io.BytesIO()
    Image.fromarray(sideways).save(out, "JPEG", quality=80, exif=exif)
    return out.getvalue()


# --- PET MIP clip ------------------------------------------------------------------------------


def _pet_volume(seed: int) -> npt.NDArray[np.float32]:
    """A coarse FDG uptake map (z from head down, y front to back, x patient right to left)."""
    rng = _rng(seed, 3)
    nz, ny, nx = 120, 56, 64
    z, y, x = np.mgrid[0:nz, 0:ny, 0:nx].astype(np.float32)

    def blob(centre: tuple[float, float, float], radii: tuple[float, float, float]) -> npt.NDArray[np.bool_]:
        """An ellipsoid: centre and radii as (z, y, x) voxels."""
        (cz, cy, cx), (rz, ry, rx) = centre, radii
        inside: npt.NDArray[np.bool_] = ((z - cz) / rz) ** 2 + ((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2 <= 1
        return inside

    volume = np.zeros((nz, ny, nx), np.float32)
    volume[blob((12, 28, 32), (11, 11, 9))] = 7.0  # brain
    volume[blob((26, 28, 32), (8, 5, 5))] = 1.2  # neck
    volume[blob((70, 28, 32), (48, 17, 25))] = 1.0  # torso
    volume[blob((50, 30, 19), (14, 10, 9)) | blob((50, 30, 45), (14, 10, 9))] = 0.35  # lungs
    volume[blob((52, 22, 37), (7, 6, 7))] = 3.5  # myocardium
    volume[blob((52, 22, 37), (4, 3, 4))] = 1.4  # blood pool
    volume[blob((72, 26, 22), (9, 9, 11))] = 2.0  # liver (patient right: image left from the front)
    volume[blob((82, 38, 22), (6, 4, 3)) | blob((82, 38, 42), (6, 4, 3))] = 4.5  # kidneys
    volume[blob((112, 20, 32), (5, 5, 6))] = 9.0  # bladder
    volume[blob((60, 38, 20), (2.2, 2.2, 2.2))] = 5.5  # the right lower lobe nodule
    noise = rng.poisson(np.maximum(volume, 0) * 12).astype(np.float32) / 12
    return np.asarray(cv2.GaussianBlur(noise.reshape(nz, -1), (0, 0), 0.8), dtype=np.float32).reshape(nz, ny, nx)


def _pet_frames(seed: int, frames: int, zoom: int) -> list[_Rgb]:
    """Maximum-intensity projections turning once around the patient, black = uptake (PET convention)."""
    volume = _pet_volume(seed)
    nz, ny, nx = volume.shape
    side = max(ny, nx)
    pad_y, pad_x = (side - ny) // 2, (side - nx) // 2
    square = np.zeros((nz, side, side), np.float32)
    square[:, pad_y : pad_y + ny, pad_x : pad_x + nx] = volume
    slices = square.transpose(1, 2, 0).reshape(side, side, nz)  # cv2 rotates the (y, x) plane of every slice
    out: list[_Rgb] = []
    for k in range(frames):
        angle = 360.0 * k / frames
        turn = cv2.getRotationMatrix2D(((side - 1) / 2, (side - 1) / 2), angle, 1.0)
        chunks = [slices[..., i : i + 4] for i in range(0, nz, 4)]  # warpAffine takes up to 4 channels
        rotated = np.concatenate(
            [cv2.warpAffine(np.ascontiguousarray(c), turn, (side, side)).reshape(side, side, -1) for c in chunks],
            axis=-1,
        )
        mip = rotated.max(axis=0).T  # (z, x): seen from the front at angle 0
        grey = 255 - np.clip(mip / 5.0 * 255, 0, 255)
        picture = cv2.resize(grey.astype(np.uint8), (side * zoom, nz * zoom), interpolation=cv2.INTER_CUBIC)
        canvas = np.full((nz * zoom + 40, side * zoom + 80, 3), 255, np.uint8)
        canvas[10 : 10 + nz * zoom, 40 : 40 + side * zoom] = picture[..., None]
        _label(canvas, scale=0.45)
        out.append(canvas)
    return out


def make_pet_clip(seed: int, ffmpeg: str, *, seconds: float = 3.0, fps: int = 12, zoom: int = 3) -> bytes:
    """An H.264 MP4 of a rotating PET MIP, the patient in its title/artist/comment, a place and a date."""
    frames = _pet_frames(seed, round(seconds * fps), zoom)
    height, width = frames[0].shape[:2]
    command = [
        ffmpeg, "-v", "error", "-nostdin", "-y",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(fps), "-i", "pipe:0",
        "-c:v", "libx264", "-preset", "medium", "-crf", "30", "-pix_fmt", "yuv420p", "-threads", "1",
        "-fflags", "+bitexact", "-flags:v", "+bitexact",
        "-metadata", f"title={PATIENT.display_name} PET-CT {PATIENT.accession}",
        "-metadata", f"artist={SITE.institution}",
        "-metadata", f"comment=MRN {PATIENT.patient_id} DOB {PATIENT.birth_date_us}",
        "-metadata", "creation_time=2024-07-10T08:31:07Z",
        "-metadata", "location=+42.3479-071.0865/",
        "-movflags", "+faststart",
    ]  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="casedeck-sample-") as work:
        target = Path(work) / "clip.mp4"  # the mp4 muxer seeks back to write its index: no pipe
        result = subprocess.run(
            [*command, str(target)],
            input=b"".join(f.tobytes() for f in frames),
            capture_output=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0 or not target.is_file():
            raise ValidationError("ffmpeg could not encode the sample PET clip; is imageio-ffmpeg installed?")
        return target.read_bytes()


# --- referral letter (PDF) ---------------------------------------------------------------------

_LETTER = (
    ("Respiratory Medicine - referral to the thoracic multidisciplinary team", 13),
    ("SYNTHETIC SAMPLE LETTER. Patient identifiers are on the cover sheet, not in this text.", 9),
    ("", 11),
    ("Dear colleagues,", 11),
    ("", 11),
    ("I would be grateful if the thoracic MDT could discuss this 65-year-old former smoker", 11),
    ("(30 pack-years, quit 10 years ago) with a solid right lower lobe nodule.", 11),
    ("", 11),
    ("January: incidental 8 mm solid nodule, posterior basal right lower lobe, on CT for a", 11),
    ("persistent cough. Follow-up CT at 6 months: 11 mm, new spiculation.", 11),
    ("PET-CT: focal uptake in the nodule (SUVmax 4.2); no nodal or distant uptake.", 11),
    ("CT-guided core biopsy: invasive adenocarcinoma, acinar predominant, TTF-1 positive.", 11),
    ("Spirometry: FEV1 78% predicted, DLCO 72% predicted. Performance status 0.", 11),
    ("", 11),
    ("Question for the MDT: surgical resection (segmentectomy or lobectomy) versus", 11),
    ("stereotactic radiotherapy.", 11),
    ("", 11),
    ("With thanks,", 11),
    ("Respiratory Medicine", 11),
)


def make_pdf() -> bytes:
    """A one-page letter whose document info names the patient and the hospital; its text names no one."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4, invariant=True, pageCompression=0)
    pdf.setAuthor(PATIENT.display_name)
    pdf.setTitle(f"Referral {PATIENT.display_name} MRN {PATIENT.patient_id}")
    pdf.setSubject(f"{PATIENT.name} DOB {PATIENT.birth_date_us}")
    pdf.setKeywords(f"accession {PATIENT.accession}")
    pdf.setCreator(SITE.institution)
    y = A4[1] - 72
    for text, size in _LETTER:
        pdf.setFont("Helvetica-Bold" if size > 11 else "Helvetica", size)
        pdf.drawString(72, y, text)
        y -= size * 1.6
    pdf.showPage()
    pdf.save()
    return out.getvalue()


# --- MDT summary (PPTX) ------------------------------------------------------------------------

_SLIDES = (
    (
        "Thoracic MDT: right lower lobe nodule",
        (
            "65-year-old former smoker; 8 mm solid nodule found incidentally in January",
            "Growth to 11 mm at 6 months, new spiculation",
            "PET-CT: SUVmax 4.2 in the nodule, no nodes, no metastases",
            "Core biopsy: adenocarcinoma, acinar predominant, TTF-1 positive",
        ),
        "Presenting {display_name}, MRN {patient_id}, DOB {dob}; the family knows the biopsy result.",
    ),
    (
        "MDT outcome",
        (
            "Clinical stage cT1b N0 M0 (stage IA2)",
            "Fit for surgery: FEV1 78%, DLCO 72%, PS 0",
            "Plan: VATS right lower lobe segmentectomy with nodal sampling",
            "Radiology: report growth of a solid nodule on follow-up CT promptly",
        ),
        "Booked under {referrer}; call {display_name} with the date.",
    ),
)


def make_slides() -> bytes:
    """Two slides whose core properties and speaker notes name the patient; the slides themselves do not."""
    from pptx import Presentation

    prs = Presentation()
    for title, bullets, notes in _SLIDES:
        slide = prs.slides.add_slide(prs.slide_layouts[1])
        slide.shapes.title.text = title
        body = slide.placeholders[1].text_frame
        body.text = bullets[0]
        for bullet in bullets[1:]:
            body.add_paragraph().text = bullet
        slide.notes_slide.notes_text_frame.text = notes.format(
            display_name=PATIENT.display_name,
            patient_id=PATIENT.patient_id,
            dob=PATIENT.birth_date_us,
            referrer=SITE.referring_physician,
        )
    props = prs.core_properties
    props.author = PATIENT.display_name
    props.last_modified_by = SITE.referring_physician
    props.title = f"MDT {PATIENT.name}"
    props.subject = SITE.institution
    props.comments = f"MRN {PATIENT.patient_id} DOB {PATIENT.birth_date_us}"
    props.keywords = PATIENT.accession
    props.created = props.modified = datetime(2024, 7, 24, 8, 0, 0)
    props.last_printed = props.modified
    props.revision = 1
    raw = io.BytesIO()
    prs.save(raw)
    return _fixed_zip(raw.getvalue())


def _fixed_zip(data: bytes) -> bytes:
    """The same package with every member dated alike, so the bytes do not depend on the clock."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for member in source.infolist():
            info = zipfile.ZipInfo(member.filename, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, source.read(member))
    return out.getvalue()


# --- the set -----------------------------------------------------------------------------------


def _ffmpeg() -> str:
    from casefiles.imaging.cine import ffmpeg_exe

    return str(ffmpeg_exe())


#: File name under ``media/`` -> how to make it from the seed. Names say what, never who.
MEDIA: dict[str, Callable[[int], bytes]] = {
    "lung_core_he.jpg": make_micrograph,
    "biopsy_cores_photo.jpg": make_photo,
    "pet_mip_rotating.mp4": lambda seed: make_pet_clip(seed, _ffmpeg()),
    "referral_letter.pdf": lambda seed: make_pdf(),
    "mdt_summary.pptx": lambda seed: make_slides(),
}


def write_media(folder: Path, seed: int) -> list[Path]:
    """Write every sample media file into ``folder`` (created if needed); return their paths in order."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, make in MEDIA.items():
        path = folder / name
        path.write_bytes(make(seed))
        written.append(path)
    return written
