"""CT "screen saves" with the patient burned in, and a case the release gate holds back.

A screen save as scanners write them: CT Image Storage, DERIVED\\SECONDARY\\SCREEN SAVE, the
patient's name and MRN burned into the corner, and no Burned In Annotation. Screening finds and
blanks such text. A capture whose header declares burned-in text that is too faint to read
(``faint=True``) cannot be cleared: it waits for a person, so its case cannot leave.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from casefiles.model import AssetKind, KeyImage
from casefiles.services import Services
from tests.dicom_factory import ct_slice

BURNED_NAME = "WAKEFIELD OSEI"
BURNED_MRN = "MRN 5530871"


def screen_save(study_uid: str, *, faint: bool = False) -> Dataset:
    """A CT "screen save": CT Image Storage, DERIVED\\SECONDARY, the patient's name burned in.

    ``faint``: the text is drawn a few grey levels above the background (no detector reads it)
    and Burned In Annotation says YES, so screening cannot clear it.
    """
    ds = ct_slice(study_uid, generate_uid(), 0, size=256, series_number=999)
    ds.ImageType = ["DERIVED", "SECONDARY", "SCREEN SAVE"]
    ds.SeriesDescription = "AX CHEST"
    assert "BurnedInAnnotation" not in ds
    pixels = np.frombuffer(ds.PixelData, dtype=np.uint16).reshape(256, 256).copy()
    canvas = np.zeros((256, 256), dtype=np.uint8)
    cv2.putText(canvas, BURNED_NAME, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.42, 255, 1, cv2.LINE_AA)
    cv2.putText(canvas, BURNED_MRN, (4, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.42, 255, 1, cv2.LINE_AA)
    if faint:
        pixels[canvas > 0] += 6
        ds.BurnedInAnnotation = "YES"
    else:
        pixels[canvas > 0] = 4000
    ds.PixelData = pixels.tobytes()
    return ds


def held_case(services: Services, tmp_path: Path) -> str:
    """A case whose key images include a capture that waits for its burned-in text review."""
    folder = tmp_path / "incoming"
    folder.mkdir()
    study = generate_uid()
    series = generate_uid()
    for index in range(3):
        ct_slice(study, series, index).save_as(folder / f"ct{index}.dcm", enforce_file_format=True)
    screen_save(study, faint=True).save_as(folder / "screen.dcm", enforce_file_format=True)
    report = services.import_dicom([folder])
    assert len(report.case_ids) == 1
    case = services.get_case(report.case_ids[0])
    held = services.images_for_review(case)
    assert len(held) == 1, "the screen save must wait for review"
    asset, frame, _instance = held[0]
    keys = [KeyImage(asset_id=asset.id, frame=frame, window=None)]
    ct = next(a for a in case.assets if a.kind is AssetKind.DICOM_SERIES and a.id != asset.id)
    keys.append(KeyImage(asset_id=ct.id, frame=0, window=None))
    services.set_key_images(case.id, keys)
    return case.id


def confirm_everything(services: Services, case_id: str) -> None:
    """A person reviewed every held image of the case and found nothing left."""
    for asset, _frame, instance in services.images_for_review(services.get_case(case_id)):
        services.confirm_reviewed(case_id, asset.id, instance.sop_instance_uid)
