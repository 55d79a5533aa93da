"""Images with burned-in text, made in the tests: an ultrasound cine and a 16-bit secondary capture.

Each builder returns the dataset and a mask of the pixels the text was drawn
on, so tests can check exactly those pixels.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels import convert_color_space
from pydicom.uid import (
    CTImageStorage,
    ExplicitVRLittleEndian,
    SecondaryCaptureImageStorage,
    UltrasoundMultiFrameImageStorage,
    generate_uid,
)

BANNER_TEXT = "QUIMBY^EUSTACE MRN77120934 17/04/1953"
ROWS, COLUMNS = 480, 640
BANNER_ROWS = slice(0, 40)  # the top strip the banner is drawn in


def _base(sop_class: str, modality: str) -> Dataset:
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
    ds.PatientName = "QUIMBY^EUSTACE"
    ds.PatientID = "MRN77120934"
    ds.Modality = modality
    return ds


def banner_mask(rows: int = ROWS, columns: int = COLUMNS) -> npt.NDArray[np.bool_]:
    """Where the banner text lies (anti-aliased edges included)."""
    canvas = np.zeros((rows, columns), np.uint8)
    cv2.putText(canvas, BANNER_TEXT, (10, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.6, 255, 1, cv2.LINE_AA)
    return canvas > 0


def _speckle_fan(rng: np.random.Generator, index: int) -> npt.NDArray[np.uint8]:
    yy, xx = np.mgrid[:ROWS, :COLUMNS]
    angle = np.arctan2(xx - COLUMNS / 2, yy - 40)
    radius = np.hypot(xx - COLUMNS / 2, yy - 40)
    fan = (np.abs(angle) < 0.6) & (radius > 60) & (radius < 420)
    speckle = rng.rayleigh(40 + 4 * index, (ROWS, COLUMNS)).clip(0, 255)
    return np.where(fan, speckle, 0).astype(np.uint8)


def ultrasound_frames(frames: int = 6, seed: int = 7) -> npt.NDArray[np.uint8]:
    """frames×480×640×3 RGB: a speckle fan that changes per frame, a white banner, a green caption."""
    rng = np.random.default_rng(seed)
    mask = banner_mask()
    out = np.empty((frames, ROWS, COLUMNS, 3), np.uint8)
    for i in range(frames):
        gray = _speckle_fan(rng, i)
        frame = np.repeat(gray[..., None], 3, axis=2)
        frame[mask] = (255, 255, 255)
        out[i] = frame
    return out


def ultrasound(frames: int = 6, *, photometric: str = "RGB") -> Dataset:
    """A multi-frame ultrasound with the patient's name, MRN and birth date burned into the top banner."""
    ds = _base(UltrasoundMultiFrameImageStorage, "US")
    ds.BurnedInAnnotation = "YES"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "ABDOMINAL"]
    pixels = ultrasound_frames(frames)
    if photometric == "YBR_FULL":
        pixels = convert_color_space(pixels, "RGB", "YBR_FULL")
    elif photometric != "RGB":
        raise ValueError(photometric)
    ds.Rows, ds.Columns = ROWS, COLUMNS
    ds.NumberOfFrames = frames
    ds.FrameIncrementPointer = 0x00181063
    ds.FrameTime = 33.3
    ds.SamplesPerPixel = 3
    ds.PhotometricInterpretation = photometric
    ds.PlanarConfiguration = 0
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.PixelData = pixels.tobytes()
    return ds


def secondary_capture_16bit(*, photometric: str = "MONOCHROME2") -> Dataset:
    """A 12-bit-in-16 grayscale screen capture with white (4095) text over a smooth gradient and noise."""
    rng = np.random.default_rng(3)
    ds = _base(SecondaryCaptureImageStorage, "OT")
    ds.ImageType = ["DERIVED", "SECONDARY"]
    background = np.tile(np.linspace(200, 1800, COLUMNS), (ROWS, 1)) + rng.normal(0, 40, (ROWS, COLUMNS))
    pixels = background.clip(0, 4095).astype(np.uint16)
    mask = banner_mask()
    pixels[mask] = 4095 if photometric == "MONOCHROME2" else 0
    ds.Rows, ds.Columns = ROWS, COLUMNS
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.PixelData = pixels.tobytes()
    return ds


def ct_header() -> Dataset:
    """A CT slice header (no text expected): original, primary, axial."""
    ds = _base(CTImageStorage, "CT")
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    return ds
