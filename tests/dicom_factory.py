"""Small DICOM studies made in tests: CT slices with fake PHI and shuffled instance numbers."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

FAKE_NAME = "QUIMBY^EUSTACE"
FAKE_MRN = "MRN77120934"
FAKE_ACCESSION = "ACC99887766"
FAKE_PHI = ("QUIMBY", "EUSTACE", FAKE_MRN, FAKE_ACCESSION, "19530417")


def ct_slice(study_uid: str, series_uid: str, index: int, *, size: int = 64, series_number: int = 1) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.FrameOfReferenceUID = "2.25." + str(int(study_uid.replace(".", "")[-30:]) + 9)
    ds.PatientName = FAKE_NAME
    ds.PatientID = FAKE_MRN
    ds.PatientBirthDate = "19530417"
    ds.PatientSex = "M"
    ds.AccessionNumber = FAKE_ACCESSION
    ds.StudyDate = "20240312"
    ds.StudyTime = "101500"
    ds.StudyDescription = f"CT CHEST {FAKE_NAME.split('^', maxsplit=1)[0]}"
    ds.SeriesDescription = "AX CHEST"
    ds.Modality = "CT"
    ds.BodyPartExamined = "CHEST"
    ds.SeriesNumber = series_number
    ds.InstanceNumber = (index * 7) % 11 + 1  # deliberately not in position order
    ds.ImagePositionPatient = [0.0, 0.0, float(index * 5)]
    ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    ds.SliceLocation = float(index * 5)
    ds.PixelSpacing = [0.7, 0.7]
    ds.SliceThickness = 5.0
    ds.Rows = ds.Columns = size
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.RescaleIntercept = -1024
    ds.RescaleSlope = 1
    ds.WindowCenter = 40
    ds.WindowWidth = 400
    yy, xx = np.mgrid[:size, :size]
    body = ((xx - size / 2) ** 2 + (yy - size / 2) ** 2) < (size * 0.4) ** 2
    pixels = np.where(body, 1064, 24).astype(np.uint16)
    pixels[: index + 1, :4] = 2000  # a marker whose height tells the slice apart
    ds.PixelData = pixels.tobytes()
    return ds


def write_ct_study(folder: Path, slices: int = 5, series: int = 1) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    study = generate_uid()
    paths = []
    for s in range(series):
        series_uid = generate_uid()
        for i in range(slices):
            path = folder / f"s{s}_im{i:03d}.dcm"
            ct_slice(study, series_uid, i, series_number=s + 1).save_as(path, enforce_file_format=True)
            paths.append(path)
    return paths


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buffer.getvalue()
