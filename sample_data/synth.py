"""Synthetic DICOM studies carrying fake PHI, so de-identification has something to remove.

Each ``make_*`` function writes one series as DICOM Part 10 files named
``IM0001.dcm``… into ``out_dir`` and returns their paths in file-name order.
Output is deterministic: UIDs are derived from the patient, the seed and the
series (``2.25.<hash>``), noise comes from seeded generators and no clock is
read, so regenerating gives identical bytes.

Fake PHI is planted where real scanners and RIS put it: patient and study
modules, free-text comments, nested request sequences, a private block and,
for ultrasound, burned into the pixels.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import (
    UID,
    ComputedRadiographyImageStorage,
    CTImageStorage,
    ExplicitVRLittleEndian,
    MRImageStorage,
    RLELossless,
    UltrasoundMultiFrameImageStorage,
)

from casefiles.errors import ValidationError
from sample_data import phantoms
from sample_data.fake_phi import (
    DEVICES,
    DOE_JANE,
    FAKE_PHI,
    GARCIA_MARIA,
    PATIENTS,
    SITE,
    SMITH_JOHN,
    FakePatient,
)

__all__ = [
    "DOE_JANE",
    "FAKE_PHI",
    "GARCIA_MARIA",
    "PATIENTS",
    "SMITH_JOHN",
    "FakePatient",
    "make_ct_series",
    "make_mr_series",
    "make_radiograph",
    "make_ultrasound",
    "synthetic_uid",
]

IMPLEMENTATION_CLASS_UID = UID("2.25.240411863591316467353846101949262963461")
"""Fixed so files do not change when pydicom's own implementation UID does."""
IMPLEMENTATION_VERSION = "CASEDECK_SYN1"

PRIVATE_CREATOR = "ACME 1.1"
_DETACHED_PATIENT_SOP_CLASS = "1.2.840.10008.3.1.2.1.1"


def synthetic_uid(*parts: object) -> str:
    """A stable ``2.25.`` UID derived from ``parts`` (same parts, same UID)."""
    digest = hashlib.sha256("\x1f".join(["casedeck-sample", *(str(p) for p in parts)]).encode()).digest()
    return f"2.25.{int.from_bytes(digest[:16], 'big')}"


def _require_positive(name: str, value: int, *, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValidationError(f"{name} must be a whole number of at least {minimum} (got {value!r}).")


def _time_plus(tm: str, seconds: float) -> str:
    """A DICOM TM ``seconds`` after ``tm`` (same day), with microseconds."""
    base = dt.datetime(2000, 1, 1, int(tm[:2]), int(tm[2:4]), int(tm[4:6]))
    t = base + dt.timedelta(seconds=seconds)
    return t.strftime("%H%M%S.%f")


# -- the modules every file shares: patient, study, series, equipment, PHI ----------------


def _base_dataset(
    *,
    patient: FakePatient,
    modality: str,
    sop_class: str,
    sop_uid: str,
    study_uid: str,
    series_uid: str,
    series_number: int,
    series_description: str,
    study_description: str,
    instance_number: int,
    body_part: str,
    content_time: str,
) -> Dataset:
    device = DEVICES[modality]
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.InstanceCreationDate = patient.study_date
    ds.InstanceCreationTime = content_time
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = patient.study_date
    ds.StudyTime = patient.study_time
    ds.SeriesTime = _time_plus(patient.study_time, 60 * series_number)
    ds.AcquisitionTime = ds.ContentTime = content_time
    ds.AccessionNumber = patient.accession
    ds.Modality = modality
    ds.Manufacturer = device.manufacturer
    ds.InstitutionName = SITE.institution
    ds.InstitutionAddress = SITE.institution_address
    ds.ReferringPhysicianName = SITE.referring_physician
    ds.StationName = device.station_name
    ds.StudyDescription = f"{study_description} - {patient.display_name}"
    ds.SeriesDescription = series_description
    ds.InstitutionalDepartmentName = SITE.department
    ds.PhysiciansOfRecord = SITE.referring_physician
    ds.PerformingPhysicianName = SITE.performing_physician
    ds.NameOfPhysiciansReadingStudy = SITE.reading_physician
    ds.OperatorsName = SITE.operator
    ds.ManufacturerModelName = device.model
    ds.ReferencedPatientSequence = DicomSequence([_referenced_patient(patient)])
    ds.PatientName = patient.name
    ds.PatientID = patient.patient_id
    ds.IssuerOfPatientID = "ELSEWHERE MRN"
    ds.PatientBirthDate = patient.birth_date
    ds.PatientSex = patient.sex
    ds.OtherPatientIDsSequence = DicomSequence([_other_id(patient)])
    ds.PatientAge = patient.age
    ds.PatientAddress = patient.address
    ds.PatientTelephoneNumbers = patient.phone
    ds.AdditionalPatientHistory = f"Referred by Dr Welby. Pt {patient.display_name}, DOB {patient.birth_date_text}."
    ds.PatientComments = f"Call {patient.phone} before the visit; DOB {patient.birth_date_us}."
    ds.BodyPartExamined = body_part
    ds.DeviceSerialNumber = device.serial_number
    ds.SoftwareVersions = "SYN 1.0"
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.StudyID = patient.accession[-5:]
    ds.SeriesNumber = series_number
    ds.AcquisitionNumber = 1
    ds.InstanceNumber = instance_number
    ds.ImageComments = (
        f"MRN {patient.patient_id}; compare prior of {patient.study_date_us}; DOB {patient.birth_date_us}"
    )
    ds.PerformedProcedureStepStartDate = patient.study_date
    ds.PerformedProcedureStepStartTime = patient.study_time
    ds.PerformedProcedureStepID = patient.requested_procedure_id[-8:]
    ds.PerformedProcedureStepDescription = study_description
    ds.RequestAttributesSequence = DicomSequence([_request_attributes(patient, study_description)])
    block = ds.private_block(0x0009, PRIVATE_CREATOR, create=True)
    block.add_new(0x10, "PN", patient.name)
    block.add_new(0x11, "LO", f"{patient.display_name} {patient.patient_id}")
    block.add_new(0x12, "DA", patient.birth_date)
    return ds


def _referenced_patient(patient: FakePatient) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = _DETACHED_PATIENT_SOP_CLASS
    item.ReferencedSOPInstanceUID = synthetic_uid("patient", patient.patient_id)
    return item


def _other_id(patient: FakePatient) -> Dataset:
    item = Dataset()
    item.PatientID = patient.other_id
    item.IssuerOfPatientID = "ELSEWHERE EMPI"
    item.TypeOfPatientID = "TEXT"
    return item


def _request_attributes(patient: FakePatient, study_description: str) -> Dataset:
    item = Dataset()
    item.RequestedProcedureID = patient.requested_procedure_id
    item.ScheduledProcedureStepID = patient.requested_procedure_id[-8:]
    item.RequestedProcedureDescription = study_description
    item.ScheduledProcedureStepDescription = study_description
    item.ReasonForTheRequestedProcedure = f"{patient.display_name}, MRN {patient.patient_id}"
    return item


def _file_meta(ds: Dataset) -> None:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = IMPLEMENTATION_CLASS_UID
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION
    ds.file_meta = meta


def _write(ds: Dataset, path: Path) -> Path:
    ds.save_as(path, enforce_file_format=True)
    return path


def _file_name(index: int) -> str:
    return f"IM{index:04d}.dcm"


def _study_uid(patient: FakePatient, modality: str, seed: int, study_uid: str | None) -> str:
    return study_uid if study_uid is not None else synthetic_uid("study", patient.patient_id, modality, seed)


def _prepare_dir(out_dir: Path) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if any(out.glob("IM*.dcm")):
        raise ValidationError(f"{out} already holds IM*.dcm files; write each series into an empty folder.")
    return out


# -- CT ---------------------------------------------------------------------------------


def make_ct_series(
    out_dir: Path,
    *,
    slices: int = 40,
    size: int = 256,
    patient: FakePatient = SMITH_JOHN,
    study_uid: str | None = None,
    seed: int = 0,
    thickness: float = 5.0,
    first_z: float = phantoms.CT_TOP_Z,
    lung_kernel: bool = False,
    series_number: int = 1,
    frame_of_reference_uid: str | None = None,
) -> list[Path]:
    """An axial contrast-enhanced chest CT series with an 8 mm right lower lobe nodule.

    Slices are ``thickness`` mm apart from ``first_z`` downwards. File names and
    InstanceNumbers are shuffled against slice position, so a reader must sort
    by ImagePositionPatient. ``lung_kernel`` gives a sharp, noisier
    reconstruction with a lung window; otherwise soft tissue with a mediastinal
    window. Pass the same ``study_uid`` and ``frame_of_reference_uid`` to put
    two series in one study and one patient coordinate system.
    """
    _require_positive("slices", slices)
    _require_positive("size", size, minimum=16)
    if not thickness > 0:
        raise ValidationError(f"Slice thickness must be positive (got {thickness}).")
    out = _prepare_dir(out_dir)
    study = _study_uid(patient, "CT", seed, study_uid)
    series = synthetic_uid("series", study, series_number, seed, "CT")
    frame_of_ref = frame_of_reference_uid or synthetic_uid("for", study, seed)
    fov = 350.0
    spacing = fov / size
    origin = -fov / 2 + spacing / 2  # centre of the first pixel
    order = np.random.default_rng([seed, series_number, 7]).permutation(slices)
    kernel = "B70f" if lung_kernel else "B30f"
    description = f"CHEST {thickness:g}MM {'LUNG' if lung_kernel else 'SOFT TISSUE'}"
    paths: list[Path] = []
    for file_index, slice_index in enumerate(order.tolist(), start=1):
        z = first_z - thickness * slice_index
        rng = np.random.default_rng([seed, series_number, slice_index])
        hu = phantoms.ct_slice_hu(size, fov, z, thickness, sharp=lung_kernel, rng=rng)
        stored = np.clip(np.rint(hu) + 1024, 0, 4095).astype(np.int16)
        ds = _base_dataset(
            patient=patient,
            modality="CT",
            sop_class=CTImageStorage,
            sop_uid=synthetic_uid("sop", series, slice_index),
            study_uid=study,
            series_uid=series,
            series_number=series_number,
            series_description=description,
            study_description="CT CHEST WITH CONTRAST",
            instance_number=file_index,
            body_part="CHEST",
            content_time=_time_plus(patient.study_time, 300 + 0.4 * slice_index),
        )
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.PatientPosition = "HFS"
        ds.FrameOfReferenceUID = frame_of_ref
        ds.PositionReferenceIndicator = ""
        ds.ContrastBolusAgent = "IOHEXOL 350"
        ds.ContrastBolusRoute = "IV"
        ds.ScanOptions = "HELICAL MODE"
        ds.SliceThickness = f"{thickness:g}"
        ds.KVP = "120"
        ds.DataCollectionDiameter = "500"
        ds.ReconstructionDiameter = f"{fov:g}"
        ds.GantryDetectorTilt = "0"
        ds.TableHeight = "160"
        ds.RotationDirection = "CW"
        ds.XRayTubeCurrent = 220
        ds.ConvolutionKernel = kernel
        ds.ImagePositionPatient = [f"{origin:.4f}", f"{origin:.4f}", f"{z:.2f}"]
        ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
        ds.SliceLocation = f"{z:.2f}"
        ds.PixelSpacing = [f"{spacing:.6g}", f"{spacing:.6g}"]
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows = ds.Columns = size
        ds.BitsAllocated = 16
        ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 1
        if lung_kernel:
            ds.WindowCenter, ds.WindowWidth = ["-600", "40"], ["1500", "400"]
            ds.WindowCenterWidthExplanation = ["LUNG", "MEDIASTINUM"]
        else:
            ds.WindowCenter, ds.WindowWidth = ["40", "-600"], ["400", "1500"]
            ds.WindowCenterWidthExplanation = ["MEDIASTINUM", "LUNG"]
        ds.RescaleIntercept = "-1024"
        ds.RescaleSlope = "1"
        ds.RescaleType = "HU"
        ds.LossyImageCompression = "00"
        ds.PixelData = stored.tobytes()
        _file_meta(ds)
        paths.append(_write(ds, out / _file_name(file_index)))
    return paths


# -- MR ---------------------------------------------------------------------------------


def make_mr_series(
    out_dir: Path,
    *,
    slices: int = 20,
    size: int = 256,
    patient: FakePatient = DOE_JANE,
    study_uid: str | None = None,
    seed: int = 0,
    series_number: int = 1,
) -> list[Path]:
    """An axial T2 FLAIR brain series with a right frontal lesion (MONOCHROME2, no rescale)."""
    _require_positive("slices", slices)
    _require_positive("size", size, minimum=16)
    out = _prepare_dir(out_dir)
    study = _study_uid(patient, "MR", seed, study_uid)
    series = synthetic_uid("series", study, series_number, seed, "MR")
    frame_of_ref = synthetic_uid("for", study, seed)
    fov = 240.0
    spacing = fov / size
    origin = -fov / 2 + spacing / 2
    step = (phantoms.MR_TOP_Z - phantoms.MR_BOTTOM_Z) / max(1, slices - 1)
    paths: list[Path] = []
    for index in range(slices):
        z = phantoms.MR_TOP_Z - step * index
        rng = np.random.default_rng([seed, series_number, index, 2])
        pixels = phantoms.mr_flair_slice(size, fov, z, rng=rng)
        ds = _base_dataset(
            patient=patient,
            modality="MR",
            sop_class=MRImageStorage,
            sop_uid=synthetic_uid("sop", series, index),
            study_uid=study,
            series_uid=series,
            series_number=series_number,
            series_description="AX T2 FLAIR",
            study_description="MRI BRAIN WITHOUT CONTRAST",
            instance_number=index + 1,
            body_part="BRAIN",
            content_time=_time_plus(patient.study_time, 240 + 9 * index),
        )
        ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "ND"]
        ds.PatientPosition = "HFS"
        ds.FrameOfReferenceUID = frame_of_ref
        ds.PositionReferenceIndicator = ""
        ds.ProtocolName = "AX T2 FLAIR"
        ds.ScanningSequence = ["SE", "IR"]
        ds.SequenceVariant = ["SK", "SP", "MP"]
        ds.ScanOptions = ""
        ds.MRAcquisitionType = "2D"
        ds.SequenceName = "*tir2d1_16"
        ds.SliceThickness = "5"
        ds.SpacingBetweenSlices = f"{step:g}"
        ds.RepetitionTime = "9000"
        ds.EchoTime = "120"
        ds.InversionTime = "2500"
        ds.NumberOfAverages = "1"
        ds.ImagingFrequency = "63.68"
        ds.ImagedNucleus = "1H"
        ds.EchoNumbers = "1"
        ds.MagneticFieldStrength = "1.5"
        ds.EchoTrainLength = 16
        ds.FlipAngle = "150"
        ds.ImagePositionPatient = [f"{origin:.4f}", f"{origin:.4f}", f"{z:.2f}"]
        ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
        ds.SliceLocation = f"{z:.2f}"
        ds.PixelSpacing = [f"{spacing:.6g}", f"{spacing:.6g}"]
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows = ds.Columns = size
        ds.BitsAllocated = 16
        ds.BitsStored = 12
        ds.HighBit = 11
        ds.PixelRepresentation = 0
        ds.WindowCenter = "450"
        ds.WindowWidth = "900"
        ds.LossyImageCompression = "00"
        ds.PixelData = pixels.tobytes()
        _file_meta(ds)
        paths.append(_write(ds, out / _file_name(index + 1)))
    return paths


# -- Radiograph -------------------------------------------------------------------------


def make_radiograph(
    out_dir: Path,
    *,
    size: int = 1024,
    patient: FakePatient = GARCIA_MARIA,
    study_uid: str | None = None,
    seed: int = 0,
) -> list[Path]:
    """A PA chest CR: MONOCHROME1, 12-bit, ImagerPixelSpacing, a burned-in "L" marker, RLE Lossless."""
    _require_positive("size", size, minimum=64)
    out = _prepare_dir(out_dir)
    study = _study_uid(patient, "CR", seed, study_uid)
    series = synthetic_uid("series", study, 1, seed, "CR")
    pixels = phantoms.chest_radiograph(size, rng=np.random.default_rng([seed, 3]))
    ds = _base_dataset(
        patient=patient,
        modality="CR",
        sop_class=ComputedRadiographyImageStorage,
        sop_uid=synthetic_uid("sop", series, 0),
        study_uid=study,
        series_uid=series,
        series_number=1,
        series_description="CHEST PA",
        study_description="XR CHEST PA",
        instance_number=1,
        body_part="CHEST",
        content_time=_time_plus(patient.study_time, 95),
    )
    ds.ViewPosition = "PA"
    ds.PatientOrientation = ["L", "F"]
    ds.KVP = "125"
    ds.ExposureTime = "8"
    ds.XRayTubeCurrent = 320
    ds.DistanceSourceToDetector = "1800"
    ds.ImagerPixelSpacing = [f"{430 / size:.6g}", f"{430 / size:.6g}"]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME1"
    ds.Rows = ds.Columns = size
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.WindowCenter = "2300"
    ds.WindowWidth = "3600"
    ds.BurnedInAnnotation = "NO"  # a lead side marker does not identify the patient
    ds.LossyImageCompression = "00"
    _file_meta(ds)
    ds.compress(RLELossless, pixels, encoding_plugin="pylibjpeg", generate_instance_uid=False)
    return [_write(ds, out / _file_name(1))]


# -- Ultrasound -------------------------------------------------------------------------


def make_ultrasound(
    out_dir: Path,
    *,
    frames: int = 12,
    patient: FakePatient = GARCIA_MARIA,
    study_uid: str | None = None,
    seed: int = 0,
) -> list[Path]:
    """A 640x480 RGB multi-frame RUQ cine with the patient's name, ID and dates burned into a top banner.

    Written RLE Lossless (ultrasound pixels are mostly black outside the sector),
    with BurnedInAnnotation YES as a scanner that burns in text must declare.
    """
    _require_positive("frames", frames)
    out = _prepare_dir(out_dir)
    study = _study_uid(patient, "US", seed, study_uid)
    series = synthetic_uid("series", study, 1, seed, "US")
    banner = phantoms.Banner(
        line1=f"{patient.display_name}  ID: {patient.patient_id}",
        line2=f"DOB {patient.birth_date_us}  EXAM {patient.study_date_us}  {SITE.institution}",
    )
    pixels = phantoms.ultrasound_frames(frames, banner=banner, rng=np.random.default_rng([seed, 4]))
    frame_time_ms = 40.0
    ds = _base_dataset(
        patient=patient,
        modality="US",
        sop_class=UltrasoundMultiFrameImageStorage,
        sop_uid=synthetic_uid("sop", series, 0),
        study_uid=study,
        series_uid=series,
        series_number=1,
        series_description="RUQ GALLBLADDER",
        study_description="US ABDOMEN RUQ",
        instance_number=1,
        body_part="ABDOMEN",
        content_time=_time_plus(patient.study_time, 420),
    )
    ds.ImageType = ["ORIGINAL", "PRIMARY", "ABDOMINAL", "0001"]
    ds.PatientOrientation = ""
    ds.BurnedInAnnotation = "YES"
    ds.SamplesPerPixel = 3
    ds.PhotometricInterpretation = "RGB"
    ds.PlanarConfiguration = 0
    ds.NumberOfFrames = frames
    ds.FrameIncrementPointer = 0x00181063
    ds.FrameTime = f"{frame_time_ms:g}"
    ds.CineRate = round(1000 / frame_time_ms)
    ds.RecommendedDisplayFrameRate = round(1000 / frame_time_ms)
    ds.Rows, ds.Columns = int(pixels.shape[1]), int(pixels.shape[2])
    ds.BitsAllocated = 8
    ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.LossyImageCompression = "00"
    ds.TransducerData = ["C5-2", "", ""]
    _file_meta(ds)
    ds.compress(RLELossless, pixels, encoding_plugin="pylibjpeg", generate_instance_uid=False)
    return [_write(ds, out / _file_name(1))]
