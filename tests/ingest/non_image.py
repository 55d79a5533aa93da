"""DICOM objects with no images for the viewer, made in tests (issue #14, finding 3).

RT Plan, RT Structure Set, RT Dose, a Basic Text SR, a GSPS (highdicom), a key object
selection and a raw data object, each in a given study, with the fake patient of
tests.dicom_factory in its header. Small and valid enough for pydicom to read; not
clinically meaningful.
"""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from tests.dicom_factory import FAKE_ACCESSION, FAKE_MRN, FAKE_NAME

RT_PLAN = "1.2.840.10008.5.1.4.1.1.481.5"
RT_STRUCT = "1.2.840.10008.5.1.4.1.1.481.3"
RT_DOSE = "1.2.840.10008.5.1.4.1.1.481.2"
BASIC_TEXT_SR = "1.2.840.10008.5.1.4.1.1.88.11"
KOS = "1.2.840.10008.5.1.4.1.1.88.59"
RAW_DATA = "1.2.840.10008.5.1.4.1.1.66"
ECG = "1.2.840.10008.5.1.4.1.1.9.1.1"

#: A third party named in the SR's text (a colleague on the phone): the cleaner must remove it.
THIRD_PARTY = "Hortensio Blarnsworth"
SR_FINDING = "There is a 12 mm spiculated nodule in the right upper lobe."


def _base(sop_class: str, study_uid: str, modality: str, *, series_uid: str | None = None) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid or generate_uid()
    ds.PatientName = FAKE_NAME
    ds.PatientID = FAKE_MRN
    ds.PatientBirthDate = "19530417"
    ds.AccessionNumber = FAKE_ACCESSION
    ds.StudyDate = "20240312"
    ds.Modality = modality
    ds.SeriesNumber = 90
    ds.InstanceNumber = 1
    return ds


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = value, scheme, meaning
    return code


def rt_plan(study_uid: str) -> Dataset:
    ds = _base(RT_PLAN, study_uid, "RTPLAN")
    ds.RTPlanLabel = "LUNG 60Gy"
    ds.RTPlanGeometry = "PATIENT"
    beam = Dataset()
    beam.BeamNumber, beam.BeamName, beam.BeamType, beam.RadiationType = 1, "AP", "STATIC", "PHOTON"
    ds.BeamSequence = Sequence([beam])
    return ds


def rt_struct(study_uid: str) -> Dataset:
    ds = _base(RT_STRUCT, study_uid, "RTSTRUCT")
    ds.StructureSetLabel = "GTV"
    roi = Dataset()
    roi.ROINumber, roi.ROIName = 1, "GTV"
    ds.StructureSetROISequence = Sequence([roi])
    contour = Dataset()
    contour.ContourGeometricType = "CLOSED_PLANAR"
    contour.NumberOfContourPoints = 3
    contour.ContourData = [0.0, 0.0, 0.0, 10.0, 0.0, 0.0, 0.0, 10.0, 0.0]
    item = Dataset()
    item.ReferencedROINumber = 1
    item.ContourSequence = Sequence([contour])
    ds.ROIContourSequence = Sequence([item])
    return ds


def rt_dose(study_uid: str) -> Dataset:
    """A dose grid: it has pixels, but is no picture of the patient."""
    ds = _base(RT_DOSE, study_uid, "RTDOSE")
    ds.Rows = ds.Columns = 8
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.DoseGridScaling = 0.001
    ds.DoseUnits, ds.DoseType, ds.DoseSummationType = "GY", "PHYSICAL", "PLAN"
    ds.PixelData = (np.arange(64, dtype=np.uint16) * 100).tobytes()
    return ds


def raw_data(study_uid: str) -> Dataset:
    ds = _base(RAW_DATA, study_uid, "CT")
    ds.CreatorVersionUID = generate_uid()
    ds.add_new(0x00091010, "LO", "VENDOR RAW")  # a private block: what raw data usually is
    ds.add_new(0x00091011, "OB", b"\x01\x02\x03\x04")
    return ds


def ecg(study_uid: str) -> Dataset:
    ds = _base(ECG, study_uid, "ECG")
    ds.WaveformSequence = Sequence([Dataset()])
    return ds


def key_object_selection(study_uid: str, referenced: list[Dataset]) -> Dataset:
    ds = _base(KOS, study_uid, "KO")
    ds.ValueType = "CONTAINER"
    ds.ConceptNameCodeSequence = Sequence([_code("113004", "DCM", "For Teaching")])
    ds.ContinuityOfContent = "SEPARATE"
    items = []
    for image in referenced:
        ref = Dataset()
        ref.ReferencedSOPClassUID, ref.ReferencedSOPInstanceUID = image.SOPClassUID, image.SOPInstanceUID
        item = Dataset()
        item.RelationshipType, item.ValueType = "CONTAINS", "IMAGE"
        item.ReferencedSOPSequence = Sequence([ref])
        items.append(item)
    ds.ContentSequence = Sequence(items)
    return ds


def basic_text_sr(study_uid: str, *, text: bool = True) -> Dataset:
    """A radiology report: history (naming the patient), a finding (naming a third party), an impression.

    With ``text=False`` the report has headings only.
    """
    ds = _base(BASIC_TEXT_SR, study_uid, "SR")
    ds.ValueType = "CONTAINER"
    ds.ContinuityOfContent = "SEPARATE"
    ds.CompletionFlag, ds.VerificationFlag = "COMPLETE", "UNVERIFIED"
    ds.ConceptNameCodeSequence = Sequence([_code("18748-4", "LN", "Diagnostic Imaging Report")])

    def item(kind: str, name: tuple[str, str, str], **values: object) -> Dataset:
        entry = Dataset()
        entry.RelationshipType, entry.ValueType = "CONTAINS", kind
        entry.ConceptNameCodeSequence = Sequence([_code(*name)])
        for keyword, value in values.items():
            setattr(entry, keyword, value)
        return entry

    findings = item("CONTAINER", ("121070", "DCM", "Findings"), ContinuityOfContent="SEPARATE")
    impression = item("CONTAINER", ("121072", "DCM", "Impressions"), ContinuityOfContent="SEPARATE")
    if text:
        findings.ContentSequence = Sequence(
            [
                item(
                    "TEXT",
                    ("121071", "DCM", "Finding"),
                    TextValue=f"{SR_FINDING} Discussed with {THIRD_PARTY} on the phone; patient Quimby informed.",
                ),
                item("PNAME", ("121008", "DCM", "Person Observer Name"), PersonName="Blarnsworth^Hortensio"),
            ]
        )
        impression.ContentSequence = Sequence(
            [item("TEXT", ("121073", "DCM", "Impression"), TextValue="Suspicious for primary lung cancer.")]
        )
    ds.ContentSequence = Sequence([findings, impression])
    return ds


def gsps(image: Dataset) -> Dataset:
    """A grayscale softcopy presentation state on ``image`` (highdicom), as another viewer saves one."""
    import copy

    import highdicom as hd

    image = copy.deepcopy(image)
    for keyword, value in (
        ("StudyID", "S1"),
        ("StudyTime", "101500"),
        ("ReferringPhysicianName", "Drfakeson^Hortensio"),
    ):
        if keyword not in image:
            setattr(image, keyword, value)
    return hd.pr.GrayscaleSoftcopyPresentationState(
        referenced_images=[image],
        series_instance_uid=generate_uid(),
        series_number=91,
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer="Other PACS",
        manufacturer_model_name="Viewer",
        software_versions="1",
        device_serial_number="1",
        content_label="ANNOTATIONS",
    )
