"""DICOM objects from outside radiology, made at test time: encapsulated PDF, H.264 video, a whole-slide
pyramid with its label and overview, a VL photograph. Each carries the same fake patient as the CT
factory (tests/ingest/conftest.py), so the leak checks cover them too."""

from __future__ import annotations

import io
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    MPEG4HP41,
    UID,
    ExplicitVRLittleEndian,
    JPEGBaseline8Bit,
    generate_uid,
)

from tests.helpers import require_tool

PATIENT_NAME = "Zebulonfake^Quentinia"
PATIENT_ID = "PIDX-77123"
#: Written on the slide label; must never reach the library.
LABEL_TEXT = "ZEBULONFAKE Q"
RED = (220, 20, 30)

ENCAPSULATED_PDF = UID("1.2.840.10008.5.1.4.1.1.104.1")
VIDEO_ENDOSCOPIC = UID("1.2.840.10008.5.1.4.1.1.77.1.1.1")
VL_PHOTOGRAPHIC = UID("1.2.840.10008.5.1.4.1.1.77.1.4")
VL_WSI = UID("1.2.840.10008.5.1.4.1.1.77.1.6")
ENCAPSULATED_STL = UID("1.2.840.10008.5.1.4.1.1.104.3")


def _base(sop_class: str, syntax: str, *, study_uid: str, series_uid: str, modality: str, number: int) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = syntax
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.PatientName = PATIENT_NAME
    ds.PatientID = PATIENT_ID
    ds.PatientBirthDate = "19470312"
    ds.PatientSex = "F"
    ds.StudyDate = "20240105"
    ds.StudyTime = "101500"
    ds.StudyID = "S1"
    ds.AccessionNumber = "ACCX99881"
    ds.Modality = modality
    ds.SeriesNumber = number
    ds.InstanceNumber = 1
    ds.ContentDate = "20240105"
    ds.ContentTime = "101600"
    return ds


def _rgb_pixels(ds: Dataset, rows: int, columns: int) -> None:
    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel = 3
    ds.BitsAllocated = 8
    ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.PlanarConfiguration = 0


def jpeg(image: Image.Image, *, subsampling: int = 2) -> bytes:
    """Baseline JPEG in YCbCr (4:2:0 by default), as cameras and scanners write it."""
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=95, subsampling=subsampling)
    return out.getvalue()


# -- encapsulated PDF ----------------------------------------------------------------------------


def pdf_with_author(author: str = PATIENT_NAME) -> bytes:
    """A one-page PDF (drawn with Pillow, metadata set with pypdf) whose /Author names the patient."""
    from pypdf import PdfReader, PdfWriter

    page = Image.new("RGB", (400, 300), "white")
    ImageDraw.Draw(page).rectangle((40, 40, 360, 120), fill=(30, 60, 200))
    raw = io.BytesIO()
    page.save(raw, "PDF", resolution=72)
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(raw.getvalue())))
    writer.add_metadata({"/Author": author, "/Title": "Referral letter"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def encapsulated_pdf(document: bytes, *, study_uid: str, series_uid: str | None = None, number: int = 20) -> Dataset:
    ds = _base(
        ENCAPSULATED_PDF,
        ExplicitVRLittleEndian,
        study_uid=study_uid,
        series_uid=series_uid or generate_uid(),
        modality="DOC",
        number=number,
    )
    ds.ConversionType = "WSD"
    ds.BurnedInAnnotation = "YES"
    ds.DocumentTitle = "Referral letter"
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    ds.EncapsulatedDocument = document + (b"\0" if len(document) % 2 else b"")
    ds.EncapsulatedDocumentLength = len(document)
    return ds


def encapsulated_stl(*, study_uid: str) -> Dataset:
    ds = _base(
        ENCAPSULATED_STL,
        ExplicitVRLittleEndian,
        study_uid=study_uid,
        series_uid=generate_uid(),
        modality="M3D",
        number=40,
    )
    ds.MIMETypeOfEncapsulatedDocument = "model/stl"
    ds.EncapsulatedDocument = b"solid x\nendsolid x\n"
    return ds


# -- video ---------------------------------------------------------------------------------------


def h264_stream(folder: Path, *, seconds: float = 1.0, size: tuple[int, int] = (160, 120), rate: int = 25) -> bytes:
    """A raw H.264 (Annex B) elementary stream made by Debian's ffmpeg."""
    exe = require_tool("ffmpeg")
    out = folder / "stream.h264"
    command = [
        exe, "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
        "-i", f"testsrc=size={size[0]}x{size[1]}:rate={rate}:duration={seconds}",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-profile:v", "high",
        "-bsf:v", "h264_mp4toannexb", "-f", "h264", str(out),
    ]  # fmt: skip
    subprocess.run(command, check=True)
    data = out.read_bytes()
    out.unlink()
    return data


def video_dicom(
    stream: bytes,
    *,
    study_uid: str,
    frames: int,
    size: tuple[int, int] = (160, 120),
    rate: int = 25,
    syntax: str = MPEG4HP41,
) -> Dataset:
    """Video Endoscopic Image Storage holding ``stream`` as its encapsulated Pixel Data."""
    ds = _base(VIDEO_ENDOSCOPIC, syntax, study_uid=study_uid, series_uid=generate_uid(), modality="ES", number=30)
    _rgb_pixels(ds, size[1], size[0])
    ds.PhotometricInterpretation = "YBR_PARTIAL_420"
    ds.NumberOfFrames = frames
    ds.FrameIncrementPointer = 0x00181063  # Frame Time
    ds.FrameTime = 1000.0 / rate
    ds.CineRate = rate
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.LossyImageCompression = "01"
    ds.SeriesDescription = "Colonoscopy"
    # One fragment per ~4 KB, as video archives split the stream; the decoder needs them joined.
    ds.PixelData = fragmented(stream, 4096)
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    return ds


def fragmented(stream: bytes, size: int) -> bytes:
    """Encapsulated Pixel Data holding one stream split into even-sized fragments (an empty offset table)."""
    if len(stream) % 2:
        stream += b"\0"
    items = [b"\xfe\xff\x00\xe0\x00\x00\x00\x00"]
    for start in range(0, len(stream), size):
        part = stream[start : start + size]
        items.append(b"\xfe\xff\x00\xe0" + struct.pack("<L", len(part)) + part)
    return b"".join(items)


# -- whole-slide pyramid -------------------------------------------------------------------------


def slide_picture(side: int) -> Image.Image:
    """Pink "tissue" with a red square in the top-left quarter and a blue one bottom-right."""
    image = Image.new("RGB", (side, side), (235, 200, 215))
    draw = ImageDraw.Draw(image)
    draw.rectangle((side // 8, side // 8, side * 3 // 8, side * 3 // 8), fill=RED)
    draw.rectangle((side * 5 // 8, side * 5 // 8, side * 7 // 8, side * 7 // 8), fill=(20, 40, 210))
    return image


def label_picture() -> Image.Image:
    image = Image.new("RGB", (256, 128), "white")
    draw = ImageDraw.Draw(image)
    draw.text((10, 40), LABEL_TEXT, fill="black", font=ImageFont.load_default(size=24))
    return image


@dataclass(frozen=True)
class Slide:
    series_uid: str
    files: tuple[Path, ...]
    level_sides: tuple[int, ...]


def _wsi_instance(
    picture: Image.Image,
    flavour: str,
    *,
    study_uid: str,
    series_uid: str,
    frame_of_reference: str,
    tile: int,
    number: int,
    drop_tile: int | None = None,
    tiled_full: bool = True,
) -> Dataset:
    ds = _base(VL_WSI, JPEGBaseline8Bit, study_uid=study_uid, series_uid=series_uid, modality="SM", number=50)
    ds.InstanceNumber = number
    ds.SeriesDescription = "H&E slide"
    ds.FrameOfReferenceUID = frame_of_reference
    ds.ImageType = ["DERIVED" if flavour == "VOLUME" and number > 1 else "ORIGINAL", "PRIMARY", flavour, "NONE"]
    ds.ContainerIdentifier = "SLIDE-" + PATIENT_ID
    width, height = picture.size
    columns, rows = (min(tile, width), min(tile, height)) if flavour == "VOLUME" else (width, height)
    _rgb_pixels(ds, rows, columns)
    ds.PhotometricInterpretation = "YBR_FULL_422"
    ds.LossyImageCompression = "01"
    ds.TotalPixelMatrixColumns = width
    ds.TotalPixelMatrixRows = height
    ds.ImagedVolumeWidth = 10.0
    ds.ImagedVolumeHeight = 10.0
    ds.ImagedVolumeDepth = 0.001
    ds.TotalPixelMatrixFocalPlanes = 1
    ds.NumberOfOpticalPaths = 1
    frames: list[bytes] = []
    positions: list[tuple[int, int]] = []
    for top in range(0, height, rows):
        for left in range(0, width, columns):
            tile_image = Image.new("RGB", (columns, rows), (255, 255, 255))
            tile_image.paste(picture.crop((left, top, min(left + columns, width), min(top + rows, height))))
            frames.append(jpeg(tile_image))
            positions.append((left + 1, top + 1))
    if not tiled_full:
        ds.DimensionOrganizationType = "TILED_SPARSE"
        order = list(range(len(frames)))[::-1]  # stored backwards: positions, not order, place them
        frames = [frames[i] for i in order]
        items = []
        for i in order:
            item = Dataset()
            plane = Dataset()
            plane.ColumnPositionInTotalImagePixelMatrix, plane.RowPositionInTotalImagePixelMatrix = positions[i]
            plane.XOffsetInSlideCoordinateSystem = 0.0
            plane.YOffsetInSlideCoordinateSystem = 0.0
            plane.ZOffsetInSlideCoordinateSystem = 0.0
            item.PlanePositionSlideSequence = [plane]
            items.append(item)
        ds.PerFrameFunctionalGroupsSequence = items
    else:
        ds.DimensionOrganizationType = "TILED_FULL"
    if drop_tile is not None:
        del frames[drop_tile]
    ds.NumberOfFrames = len(frames) + (1 if drop_tile is not None else 0)
    ds.PixelData = encapsulate(frames)
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    shared = Dataset()
    measures = Dataset()
    measures.PixelSpacing = [10.0 / height, 10.0 / width]
    measures.SliceThickness = 0.001
    shared.PixelMeasuresSequence = [measures]
    ds.SharedFunctionalGroupsSequence = [shared]
    origin = Dataset()
    origin.XOffsetInSlideCoordinateSystem = 0.0
    origin.YOffsetInSlideCoordinateSystem = 0.0
    ds.TotalPixelMatrixOriginSequence = [origin]
    ds.ImageOrientationSlide = [0, -1, 0, -1, 0, 0]
    ds.SpecimenLabelInImage = "YES" if flavour in ("LABEL", "OVERVIEW") else "NO"
    ds.BurnedInAnnotation = "YES" if flavour in ("LABEL", "OVERVIEW") else "NO"
    ds.FocusMethod = "AUTO"
    ds.ExtendedDepthOfField = "NO"
    return ds


def write_slide(
    folder: Path,
    *,
    study_uid: str,
    sides: tuple[int, ...] = (1024, 512, 256),
    tile: int = 256,
    drop_tile_of_level: int | None = None,
    tiled_full: bool = True,
    with_label: bool = True,
) -> Slide:
    """A VL WSI series: one instance per level (largest first), plus LABEL and OVERVIEW images."""
    folder.mkdir(parents=True, exist_ok=True)
    series_uid = generate_uid()
    frame_of_reference = generate_uid()
    files: list[Path] = []
    common = {"study_uid": study_uid, "series_uid": series_uid, "frame_of_reference": frame_of_reference, "tile": tile}
    for number, side in enumerate(sides, start=1):
        ds = _wsi_instance(
            slide_picture(side),
            "VOLUME",
            number=number,
            drop_tile=1 if drop_tile_of_level == number - 1 else None,
            tiled_full=tiled_full,
            **common,  # type: ignore[arg-type]
        )
        files.append(folder / f"{PATIENT_NAME.split('^', maxsplit=1)[0]}_level{number}.dcm")
        ds.save_as(files[-1], enforce_file_format=True)
    if with_label:
        overview = slide_picture(256)
        overview.paste(label_picture().resize((128, 64)), (0, 0))
        for flavour, picture in (("LABEL", label_picture()), ("OVERVIEW", overview)):
            ds = _wsi_instance(picture, flavour, number=len(files) + 1, **common)  # type: ignore[arg-type]
            files.append(folder / f"{PATIENT_NAME.split('^', maxsplit=1)[0]}_{flavour.lower()}.dcm")
            ds.save_as(files[-1], enforce_file_format=True)
    return Slide(series_uid, tuple(files), sides)


# -- VL photograph -------------------------------------------------------------------------------


def vl_photograph(*, study_uid: str, size: tuple[int, int] = (96, 64)) -> Dataset:
    """A camera photograph: JPEG baseline, YBR_FULL_422, a red patch on the left half."""
    ds = _base(
        VL_PHOTOGRAPHIC, JPEGBaseline8Bit, study_uid=study_uid, series_uid=generate_uid(), modality="XC", number=60
    )
    ds.SeriesDescription = "Clinical photo"
    _rgb_pixels(ds, size[1], size[0])
    ds.PhotometricInterpretation = "YBR_FULL_422"
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.LossyImageCompression = "01"
    picture = Image.new("RGB", size, (240, 240, 240))
    ImageDraw.Draw(picture).rectangle((0, 0, size[0] // 2 - 1, size[1] - 1), fill=RED)
    ds.PixelData = encapsulate([jpeg(picture)])
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    return ds


def us_cine(*, study_uid: str, frames: int = 6, size: tuple[int, int] = (64, 48)) -> Dataset:
    """An ultrasound multi-frame RGB cine (uncompressed), 20 frames a second."""
    ds = _base(
        UID("1.2.840.10008.5.1.4.1.1.3.1"), ExplicitVRLittleEndian, study_uid=study_uid, series_uid=generate_uid(),
        modality="US", number=70,
    )  # fmt: skip
    ds.SeriesDescription = "Cardiac cine"
    _rgb_pixels(ds, size[1], size[0])
    ds.PhotometricInterpretation = "RGB"
    ds.NumberOfFrames = frames
    ds.FrameIncrementPointer = 0x00181063
    ds.FrameTime = 50.0
    ds.CineRate = 20
    pixels = np.zeros((frames, size[1], size[0], 3), dtype=np.uint8)
    for n in range(frames):
        pixels[n, :, : size[0] // 2] = RED
        pixels[n, n * 4 : n * 4 + 4, :, 1] = 255
    ds.PixelData = pixels.tobytes()
    return ds
