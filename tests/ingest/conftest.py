"""Fixtures for the import tests: synthetic CT studies full of fake PHI, and a real library per test.

Test modules get these through fixtures (``make_study``, ``make_library``,
``assert_no_phi``), never by importing this file (only the types, for annotations).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from casefiles.review_area import ReviewArea
from casefiles.store.blobs import LocalBlobStore
from casefiles.store.tinydb_store import TinyDBCaseStore

# Fake identifiers: none of these may ever reach the blob store or the case database.
PHI = {
    "PatientName": "Zebulonfake^Quentinia",
    "PatientID": "PIDX-77123",
    "PatientBirthDate": "19470312",
    "AccessionNumber": "ACCX99881",
    "InstitutionName": "Saint Fakeington Infirmary",
    "ReferringPhysicianName": "Drfakeson^Hortensio",
    "OtherPatientIDs": "ALTX-55419",
}
PHI_STRINGS = [
    "Zebulonfake",
    "Quentinia",
    "PIDX-77123",
    "19470312",
    "ACCX99881",
    "Fakeington",
    "Drfakeson",
    "ALTX-55419",
]
# The patient's name in a file name, as PACS exports often do.
PHI_FILE_STEM = "Zebulonfake_Quentinia"


@dataclass(frozen=True)
class Study:
    """A synthetic study written to disk: its original UIDs and where its files are."""

    study_uid: str
    series_uids: tuple[str, ...]
    files: tuple[Path, ...]
    positions: dict[str, float]  # original SOP UID -> z position


def ct_slice(
    *,
    study_uid: str,
    series_uid: str,
    sop_uid: str,
    z: float,
    instance_number: int,
    series_number: int,
    description: str,
    frame_of_reference: str,
    size: int = 16,
) -> Dataset:
    """One small CT slice with fake PHI in the usual places."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = sop_uid
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = sop_uid
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.FrameOfReferenceUID = frame_of_reference
    for keyword, value in PHI.items():
        setattr(ds, keyword, value)
    ds.PatientSex = "F"
    ds.StudyDate = "20240105"
    ds.StudyTime = "101500"
    ds.StudyID = "S1"
    ds.Modality = "CT"
    ds.BodyPartExamined = "CHEST"
    ds.StudyDescription = "CT CHEST WITH CONTRAST"
    ds.SeriesDescription = description
    ds.SeriesNumber = series_number
    ds.InstanceNumber = instance_number
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.ImagePositionPatient = [-100.0, -100.0, z]
    ds.SliceLocation = z
    ds.PixelSpacing = [0.7, 0.7]
    ds.SliceThickness = 5
    ds.WindowCenter = 40
    ds.WindowWidth = 400
    ds.RescaleIntercept = -1024
    ds.RescaleSlope = 1
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = size
    ds.Columns = size
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    pixels = (np.arange(size * size, dtype=np.uint16).reshape(size, size) * 7 + int(z * 3) % 500) % 4000
    ds.PixelData = pixels.astype(np.uint16).tobytes()
    return ds


def write_study(
    folder: Path,
    *,
    slices: int = 5,
    second_series_slices: int = 3,
    seed: int = 1,
    study_uid: str | None = None,
) -> Study:
    """A CT study in ``folder``: an axial series with shuffled instance numbers and file order, and a second series."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    study_uid = study_uid or generate_uid()
    frame_of_reference = generate_uid()
    series = [(generate_uid(), 2, "Axial 5mm", slices), (generate_uid(), 3, "Coronal MPR", second_series_slices)]
    files: list[Path] = []
    positions: dict[str, float] = {}
    counter = 0
    for series_uid, number, description, count in series:
        if count == 0:
            continue
        zs = [-50.0 + 5.0 * i for i in range(count)]
        numbers = list(range(1, count + 1))
        rng.shuffle(numbers)  # instance numbers disagree with position: position must win
        for z, inst in zip(zs, numbers, strict=True):
            sop = generate_uid()
            ds = ct_slice(
                study_uid=study_uid,
                series_uid=series_uid,
                sop_uid=sop,
                z=z,
                instance_number=inst,
                series_number=number,
                description=description,
                frame_of_reference=frame_of_reference,
            )
            counter += 1
            path = folder / f"{PHI_FILE_STEM}_{rng.randrange(10**6):06d}_{counter}.dcm"
            ds.save_as(path, enforce_file_format=True)
            files.append(path)
            positions[sop] = z
    return Study(study_uid, tuple(s[0] for s in series if s[3]), tuple(files), positions)


@dataclass
class Library:
    """A real, empty CaseDeck library in a temporary directory."""

    root: Path
    store: TinyDBCaseStore
    blobs: LocalBlobStore
    quarantine: Path
    review_area: ReviewArea  # where held images keep their originals

    def all_blob_bytes(self) -> list[bytes]:
        return [self.blobs.get(d) for d in self.blobs.digests()]

    def db_text(self) -> str:
        """Everything the case store wrote (case shards, series manifests, conferences, settings)."""
        library = self.root / "library"
        files = sorted(p for p in library.rglob("*") if p.is_file()) if library.exists() else []
        return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in files)


def new_library(root: Path) -> Library:
    return Library(
        root=root,
        store=TinyDBCaseStore(root / "library"),
        blobs=LocalBlobStore(root / "blobs"),
        quarantine=root / "quarantine",
        review_area=ReviewArea(root / "review-area", bytes(range(32))),
    )


@pytest.fixture
def make_study() -> Callable[..., Study]:
    return write_study


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    lib = new_library(tmp_path / "data")
    yield lib
    # Whatever a test did, no raw input may be left in the quarantine.
    leftovers = list(lib.quarantine.rglob("*")) if lib.quarantine.exists() else []
    assert leftovers == [], "the quarantine was not wiped"


@pytest.fixture(scope="session")
def secret() -> bytes:
    return bytes(range(32))


@pytest.fixture
def make_library() -> Callable[[Path], Library]:
    return new_library


def check_no_phi(lib: Library) -> None:
    """Every stored byte and the case database are free of the fake identifiers and file names."""
    texts = [*lib.all_blob_bytes(), lib.db_text().encode()]
    assert len(texts) > 1, "nothing was stored"
    for data in texts:
        for phi in [*PHI_STRINGS, PHI_FILE_STEM]:
            assert phi.encode() not in data, f"{phi!r} leaked into the library"


@pytest.fixture
def assert_no_phi() -> Callable[[Library], None]:
    return check_no_phi
