"""Annotations stored with a key image reach every export: the rendered key image carries them."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from casefiles.annotations.model import Point, Ruler, Style
from casefiles.config import Settings
from casefiles.errors import NotFoundError, ValidationError
from casefiles.services import Services
from tests.dicom_factory import write_ct_study


def _ct(folder, *, size: int) -> list:
    from pydicom.uid import generate_uid

    from tests.dicom_factory import ct_slice

    folder.mkdir(parents=True)
    study, series = generate_uid(), generate_uid()
    paths = []
    for i in range(3):
        path = folder / f"{i}.dcm"
        ct_slice(study, series, i, size=size).save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def test_a_ruler_saved_on_a_key_image_is_burned_into_the_slide_image(tmp_path) -> None:
    services = Services(Settings(data_dir=tmp_path / "data", seed_samples=False))
    report = services.import_dicom(_ct(tmp_path / "in", size=512))
    case = services.get_case(report.case_ids[0])
    asset = case.assets[0]
    case = services.toggle_key_image(case.id, asset.id, 1, None)
    plain = _pixels(services.render_key_image(case, case.key_images[0]))

    rows, cols = plain.shape[:2]  # the slide image of a small CT is not resized
    ruler = Ruler(start=Point(2, rows / 2), end=Point(cols - 2, rows / 2), style=Style(color="#ff0000", width=4))
    case = services.annotate_key_image(case.id, asset.id, 1, [ruler.to_dict()])
    stored = services.get_case(case.id).key_images[0]
    assert stored.annotations == (ruler,), "the annotation is stored with the case, in image pixels"
    drawn = _pixels(services.render_key_image(case, stored))

    row = drawn[rows // 2]
    red = (row[:, 0] > 180) & (row[:, 1] < 90) & (row[:, 2] < 90)
    assert red.sum() > drawn.shape[1] * 0.6, "the ruler crosses the image in red"
    assert not ((plain[:, :, 0] > 180) & (plain[:, :, 1] < 90)).any(), "the plain render has no red"
    spacing = services.key_image_spacing(case, stored)
    assert spacing is not None and spacing.row > 0


def test_annotating_an_image_that_is_not_a_key_image_says_what_to_do(tmp_path) -> None:
    services = Services(Settings(data_dir=tmp_path / "data", seed_samples=False))
    report = services.import_dicom(write_ct_study(tmp_path / "in", slices=2))
    case = services.get_case(report.case_ids[0])
    with pytest.raises(NotFoundError, match="mark it as a key image first"):
        services.annotate_key_image(case.id, case.assets[0].id, 0, [])
    case = services.toggle_key_image(case.id, case.assets[0].id, 0, None)
    with pytest.raises(ValidationError):
        services.annotate_key_image(case.id, case.assets[0].id, 0, [{"kind": "arrow", "points": [[1, 1]]}])
