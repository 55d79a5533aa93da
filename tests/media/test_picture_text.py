"""Photos and pathology pictures are screened for burned-in text like DICOM images (issue #13).

A photo of a specimen with its label (a name and an MRN) gets the label blacked out before it is
stored; a text-free photograph or H&E-like texture keeps at least 99.5 % of its pixels.
"""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from casefiles.media.picture_text import screen_picture
from casefiles.model import AssetKind, Review
from casefiles.redaction.ocr import find_text
from casefiles.services import Services
from tests.support.burned_in import photo_texture

LABEL = ("PETRONELLA VASQUEZ-ADEYEMI", "MRN 88120457")


def _png(pixels: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG")
    return out.getvalue()


def _labelled_photo() -> np.ndarray:
    photo = photo_texture(11).copy()
    cv2.rectangle(photo, (20, 20), (420, 100), (250, 250, 250), -1)  # a white specimen label
    for row, text in enumerate(LABEL):
        cv2.putText(photo, text, (30, 52 + row * 34), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (20, 20, 20), 2, cv2.LINE_AA)
    return photo


def _decoded(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as picture:
        return np.asarray(picture.convert("RGB"))


def test_a_specimen_label_is_blacked_out_and_the_photo_is_otherwise_untouched() -> None:
    photo = _labelled_photo()
    screened = screen_picture(_png(photo))
    assert screened.boxes and not screened.held
    stored = _decoded(screened.data)
    assert not _label_read(stored), "Tesseract, an independent reader, finds nothing in the label's rows"
    changed = np.any(stored != photo, axis=2).mean()
    assert changed < 0.05
    assert screened.preview is not None


def test_a_text_free_photo_keeps_at_least_99_5_percent_of_its_pixels() -> None:
    photo = photo_texture(12)
    screened = screen_picture(_png(photo))
    assert np.any(_decoded(screened.data) != photo, axis=2).mean() <= 0.005
    assert not screened.held


def test_a_photo_added_to_a_case_reaches_the_store_without_its_label(
    services: Services, blocked_case: str, tmp_path: Path
) -> None:
    path = tmp_path / "specimen.png"
    path.write_bytes(_png(_labelled_photo()))
    report = services.import_media(blocked_case, [path])
    (asset_id,) = report.asset_ids
    asset = services.get_case(blocked_case).asset(asset_id)
    assert asset.kind is AssetKind.IMAGE and asset.review is Review.NOT_NEEDED
    assert not _label_read(_decoded(services.blobs.get(asset.blob or "")))


def _label_read(stored: np.ndarray) -> list[object]:
    """What Tesseract finds centred on the label's two text rows (y 29-97, x 30-400)."""
    gray = cv2.cvtColor(stored, cv2.COLOR_RGB2GRAY)
    return [
        f
        for f in find_text(gray)
        if 29 <= f.box.y + f.box.height // 2 <= 97 and 30 <= f.box.x + f.box.width // 2 <= 400
    ]
