"""Issue #12 finding 2 / #13 tests: a CT screen save picked as a key image shows no name in any deck.

Tesseract (an independent reader) is run over the screen save as it came in — it reads the
patient's name there — and over every picture in the exported PowerPoint and package: it must
read neither the name nor the MRN anywhere.
"""

from __future__ import annotations

import io
import subprocess
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pydicom
from pydicom.uid import generate_uid

from casefiles.model import AssetKind, KeyImage
from casefiles.services import Services
from tests.dicom_factory import ct_slice
from tests.helpers import require_tool
from tests.support.held_case import BURNED_MRN, BURNED_NAME, screen_save

PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg")


def _read_text(picture: np.ndarray, tesseract: str) -> str:
    """What Tesseract reads in a picture, enlarged 3× so small print is readable to it."""
    big = cv2.resize(picture, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)
    ok, png = cv2.imencode(".png", big)
    assert ok
    done = subprocess.run(
        [tesseract, "stdin", "stdout", "--psm", "11"], input=png.tobytes(), capture_output=True, timeout=120, check=True
    )
    return done.stdout.decode("utf-8", "replace").upper()


def _planted_in(text: str) -> list[str]:
    needles = [*BURNED_NAME.split(), BURNED_MRN.split()[-1]]
    return [n for n in needles if n in text.replace(" ", "") or n in text]


def test_no_exported_picture_shows_the_screen_saves_burned_in_name(services: Services, tmp_path: Path) -> None:
    tesseract = require_tool("tesseract", system=True)
    study = generate_uid()
    raw = screen_save(study)
    as_shown = cv2.normalize(raw.pixel_array, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    assert _planted_in(_read_text(as_shown, tesseract)), "the reader must see the name in the original"

    folder = tmp_path / "incoming"
    folder.mkdir()
    series = generate_uid()
    for index in range(2):
        ct_slice(study, series, index).save_as(folder / f"ct{index}.dcm", enforce_file_format=True)
    raw.save_as(folder / "screen.dcm", enforce_file_format=True)
    (case_id,) = services.import_dicom([folder]).case_ids
    case = services.get_case(case_id)
    capture = next(a for a in case.assets if a.kind is AssetKind.DICOM_SERIES and len(a.instances) == 1)
    services.set_key_images(case_id, [KeyImage(capture.id, 0, None)])

    stored = pydicom.dcmread(io.BytesIO(services.blobs.get(capture.instances[0].blob))).pixel_array
    stored_shown = cv2.normalize(stored, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    assert _planted_in(_read_text(stored_shown, tesseract)) == []

    for export_format, suffix in (("pptx", "pptx"), ("package", "zip")):
        out = services.export(case_id, export_format, tmp_path / f"out.{suffix}")
        with zipfile.ZipFile(out) as archive:
            pictures = [n for n in archive.namelist() if n.lower().endswith(PICTURE_SUFFIXES)]
            assert pictures, export_format
            for name in pictures:
                picture = cv2.imdecode(np.frombuffer(archive.read(name), np.uint8), cv2.IMREAD_GRAYSCALE)
                if picture is None or min(picture.shape) < 32:
                    continue
                assert _planted_in(_read_text(picture, tesseract)) == [], (export_format, name)
