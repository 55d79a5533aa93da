"""Inputs whose folder and file names identify a patient, as CDs, shares and PACS exports often do.

Import problems must name items by position only: none of :data:`PATH_PHI`
(nor the temporary folder the inputs live in) may appear in a problem, on
screen or on the CLI. Each builder returns the source to import, the number
of good instances in it, and the problem items expected (by position).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom.fileset import FileSet
from pydicom.uid import generate_uid

from tests.dicom_factory import ct_slice

PATIENT_FOLDER = "DOE^JOHN_MRN4471"
STUDY_FOLDER = "STUDY_2024-03-02"
#: Pieces of the names above: none may reach a problem message.
PATH_PHI = ("DOE", "JOHN", "4471", "2024-03-02")
NOT_DICOM = b"Patient DOE^JOHN: see chart\n"


@dataclass(frozen=True)
class PhiSource:
    """One thing to import: where it is, how many instances in it are good, and the problems expected."""

    path: Path
    good: int
    problems: tuple[tuple[str, str], ...]  # (item, reason), in the order the import meets them


def _slice_bytes(study: str, series: str, index: int) -> bytes:
    buffer = io.BytesIO()
    ds = ct_slice(study, series, index, size=16)
    ds.StudyID = "1"  # a DICOMDIR's study record needs one
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def phi_folder(root: Path) -> PhiSource:
    """``root/DOE^JOHN_MRN4471/STUDY_2024-03-02/``: three CT slices and ``IM1``, which is not DICOM."""
    folder = root / PATIENT_FOLDER
    study_dir = folder / STUDY_FOLDER
    study_dir.mkdir(parents=True)
    study, series = generate_uid(), generate_uid()
    for index in range(3):
        (study_dir / f"DOE^JOHN_{index:04d}.dcm").write_bytes(_slice_bytes(study, series, index))
    (study_dir / "IM1").write_bytes(NOT_DICOM)  # sorts after the slices: file 4 of 4
    return PhiSource(folder, 3, (("file 4 of 4", "not a DICOM file"),))


def phi_zip(root: Path) -> PhiSource:
    """``DOE^JOHN_MRN4471_2024-03-02.zip``: members under the patient's folder, one not DICOM, one unsafe."""
    study, series = generate_uid(), generate_uid()
    inner = f"{PATIENT_FOLDER}/{STUDY_FOLDER}"
    archive = root / f"{PATIENT_FOLDER}_2024-03-02.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{inner}/IM1", NOT_DICOM)
        for index in range(2):
            zf.writestr(f"{inner}/DOE^JOHN_{index:04d}.dcm", _slice_bytes(study, series, index))
        zf.writestr(f"../{PATIENT_FOLDER}/escape.dcm", _slice_bytes(study, series, 9))
    return PhiSource(
        archive,
        2,
        (
            ("item 4 of 4 in the zip", "unsafe path in zip (../)"),
            ("item 1 of 4 in the zip", "not a DICOM file"),
        ),
    )


def phi_cd(root: Path) -> PhiSource:
    """A CD (DICOMDIR and its files) in ``DOE^JOHN_MRN4471_CD_2024-03-02``: one listed file missing.

    The disc also holds ``DOE^JOHN_MRN4471/STUDY_2024-03-02/IM1``, which is not DICOM and
    which the DICOMDIR does not list.
    """
    staging = root / "cd-staging"
    staging.mkdir()
    study, series = generate_uid(), generate_uid()
    fs = FileSet()
    for index in range(3):
        path = staging / f"{index}.dcm"
        path.write_bytes(_slice_bytes(study, series, index))
        fs.add(pydicom.dcmread(path))
    cd = root / f"{PATIENT_FOLDER}_CD_2024-03-02"
    fs.write(cd)
    listed = sorted(p for p in cd.rglob("*") if p.is_file() and p.name != "DICOMDIR")
    listed[-1].unlink()
    extra = cd / PATIENT_FOLDER / STUDY_FOLDER
    extra.mkdir(parents=True)
    (extra / "IM1").write_bytes(NOT_DICOM)
    return PhiSource(cd, 2, ())


def phi_texts(tmp_path: Path) -> tuple[str, ...]:
    """Everything that must not appear in a message about these inputs."""
    return (*PATH_PHI, str(tmp_path), tmp_path.name)


def folder_position(root: Path, target: Path) -> str:
    """How an import names ``target`` inside the folder ``root``: "file K of N", in reading order.

    The order is the import's: a folder's files by name, then its sub-folders by name.
    """
    order: list[Path] = []

    def walk(folder: Path) -> None:
        entries = sorted(folder.iterdir(), key=lambda p: p.name)
        order.extend(p for p in entries if not p.is_dir())
        for sub in (p for p in entries if p.is_dir()):
            walk(sub)

    walk(root)
    return f"file {order.index(target) + 1} of {len(order)}"
