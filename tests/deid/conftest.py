"""Fixtures for the de-identification tests: a CT that carries fake PHI wherever real studies do."""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from casefiles.deid import TEACHING_FILE, Deidentifier

SECRET = b"casedeck-test-secret-0123456789ab"
OTHER_SECRET = b"another-installation-secret-xyz!!"

# Distinctive fake identifiers (long enough never to appear in pixel bytes by chance).
PHI = {
    "family": "Quixfeldt",
    "given": "Johnathan",
    "patient_id": "PID-4711-XY",
    "issuer": "Mercy Generalis",
    "other_id": "OTH-998127",
    "seq_id": "SEQID-555019",
    "birth": "19610312",
    "accession": "ACC7788123",
    "referrer": "Strangelove^Merkwurdig",
    "operator": "Ratchedson^Mildred",
    "performer": "Kildaremann^James",
    "institution": "Saint Elsewhere Infirmary",
    "address": "12 Elmwoodish Street Springfield",
    "station": "CTROOMSEVENX",
    "patient_address": "742 Evergreenish Terrace",
    "phone": "555-0199-3217",
    "mother": "Bouvierston^Jacqueline",
    "study_id": "STUDYID99317",
    "requested_id": "RPID778145",
    "other_name": "Quixfeldtova^Jo",
}
# How the birth date is written in descriptors.
BIRTH_FORMS = ("19610312", "1961-03-12", "12/03/1961", "03.12.1961")


def phi_strings() -> list[str]:
    names = [PHI["family"], PHI["given"], "Merkwurdig", "Strangelove", "Ratchedson", "Kildaremann", "Bouvierston"]
    values = [v for k, v in PHI.items() if k not in ("referrer", "operator", "performer", "mother", "other_name")]
    return sorted(set(names + values + list(BIRTH_FORMS)))


def _item(**kwargs: object) -> Dataset:
    item = Dataset()
    for key, value in kwargs.items():
        setattr(item, key, value)
    return item


def make_phi_ct(
    *,
    study_uid: str = "1.2.826.0.1.3680043.8.498.1001",
    series_uid: str = "1.2.826.0.1.3680043.8.498.1002",
    sop_uid: str = "1.2.826.0.1.3680043.8.498.1003",
    study_date: str = "20240115",
    patient_id: str = PHI["patient_id"],
    frames: int = 2,
) -> Dataset:
    """pydicom's CT_small with fake PHI planted in standard tags, sequences, private blocks,
    descriptors, overlays and curves, as a 2-frame image."""
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    name = f"{PHI['family']}^{PHI['given']}^Q"
    ds.PatientName = name
    ds.PatientID = patient_id
    ds.IssuerOfPatientID = PHI["issuer"]
    ds.OtherPatientIDs = PHI["other_id"]
    ds.OtherPatientNames = PHI["other_name"]
    ds.OtherPatientIDsSequence = [_item(PatientID=PHI["seq_id"], IssuerOfPatientID=PHI["issuer"])]
    ds.PatientBirthDate = PHI["birth"]
    ds.PatientAddress = PHI["patient_address"]
    ds.PatientTelephoneNumbers = PHI["phone"]
    ds.PatientMotherBirthName = PHI["mother"]
    ds.PatientSex = "F"
    ds.PatientWeight = "71.5"
    ds.PatientSize = "1.68"
    if "PatientAge" in ds:
        del ds.PatientAge
    ds.AccessionNumber = PHI["accession"]
    ds.ReferringPhysicianName = PHI["referrer"]
    ds.OperatorsName = PHI["operator"]
    ds.PerformingPhysicianName = PHI["performer"]
    ds.InstitutionName = PHI["institution"]
    ds.InstitutionAddress = PHI["address"]
    ds.StationName = PHI["station"]
    ds.StudyID = PHI["study_id"]
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = study_date
    ds.InstanceCreationDate = study_date
    ds.AcquisitionDateTime = study_date + "101530.25"
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID = study_uid, series_uid, sop_uid
    ds.FrameOfReferenceUID = study_uid + ".9"
    ds.file_meta.MediaStorageSOPInstanceUID = sop_uid
    ds.BodyPartExamined = "CHEST"
    ds.StudyDescription = f"CT chest {PHI['family']} 1961-03-12 {PHI['patient_id']}"
    ds.SeriesDescription = f"Axial for {PHI['given']} 5mm"
    ds.ProtocolName = f"{PHI['family'].upper()} protocol 12/03/1961"
    ds.ImageComments = f"Patient {PHI['family']}, MRN 99887766, call 555-123-4567, DOB 03.12.1961"
    ds.ReferencedPatientSequence = [
        _item(ReferencedSOPClassUID="1.2.840.10008.3.1.2.1.1", ReferencedSOPInstanceUID=study_uid + ".77")
    ]
    ds.RequestAttributesSequence = [
        _item(
            RequestedProcedureID=PHI["requested_id"],
            AccessionNumber=PHI["accession"],
            ScheduledProcedureStepDescription=f"{PHI['family']} chest",
            RequestedProcedureDescription=f"chest for {PHI['given']}",
        )
    ]
    ds.ReferencedImageSequence = [
        _item(ReferencedSOPClassUID=ds.SOPClassUID, ReferencedSOPInstanceUID=study_uid + ".55.1")
    ]
    ds.ContentSequence = [
        _item(RelationshipType="CONTAINS", ValueType="TEXT", TextValue=f"Seen by {PHI['family']} on 12/03/1961"),
        _item(RelationshipType="HAS OBS CONTEXT", ValueType="PNAME", PersonName=name),
    ]
    ds.GraphicAnnotationSequence = [
        _item(
            GraphicLayer="LAYER1",
            TextObjectSequence=[
                _item(UnformattedTextValue=f"{PHI['given']} lesion", AnchorPointAnnotationUnits="PIXEL")
            ],
        )
    ]
    # A private block with a name, an OB holding the ID, and a private sequence holding the ID.
    ds.private_block(0x0009, "ACME PHI BLOCK", create=True).add_new(0x01, "LO", name)
    block = ds.private_block(0x0009, "ACME PHI BLOCK")
    block.add_new(0x02, "OB", b"hdr:" + PHI["patient_id"].encode() + b"\x00")
    block.add_new(0x03, "SQ", [_item(PatientID=PHI["patient_id"])])
    # Overlay plane with a label, description and bitmap; a curve.
    ds.add_new(0x60000010, "US", ds.Rows)
    ds.add_new(0x60000011, "US", ds.Columns)
    ds.add_new(0x60000022, "LO", f"{PHI['family']} overlay")
    ds.add_new(0x60000040, "CS", "G")
    ds.add_new(0x60000050, "SS", [1, 1])
    ds.add_new(0x60000100, "US", 1)
    ds.add_new(0x60000102, "US", 0)
    ds.add_new(0x60001500, "LO", PHI["given"])
    ds.add_new(0x60003000, "OW", b"\x00" * (ds.Rows * ds.Columns // 8))
    ds.add_new(0x50000005, "US", 1)
    ds.add_new(0x50003000, "OW", PHI["family"].encode() + b"\x00")
    # Multi-frame: per-frame comments and times.
    pixels = ds.pixel_array
    ds.NumberOfFrames = frames
    ds.PixelData = np.stack([pixels] * frames).tobytes()
    ds.PerFrameFunctionalGroupsSequence = [
        _item(
            FrameContentSequence=[
                _item(FrameComments=f"frame {i} of {PHI['family']}", FrameAcquisitionDateTime=study_date + "101530")
            ]
        )
        for i in range(frames)
    ]
    return ds


def written(ds: Dataset) -> bytes:
    """The bytes a store would hold."""
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def reread(ds: Dataset) -> Dataset:
    return pydicom.dcmread(io.BytesIO(written(ds)))


@pytest.fixture
def phi_ct() -> Callable[..., Dataset]:
    return make_phi_ct


@pytest.fixture
def teaching() -> Deidentifier:
    return Deidentifier(SECRET, TEACHING_FILE)
