"""Issue #14, finding 7: images stored without a window of their own still get one, and presets.

Many ultrasound scanners (and secondary captures, some MR) write no Window Center/Width. The viewer
then had no window to start from or reset to, and the relative presets (MR, CR, DX, MG) were left
out. ``Services.asset_window`` now falls back to an automatic window: the full range of the bits
stored for display-ready 8-bit grey images, else the 0.5–99.5 % range of the frame's values.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import MRImageStorage, UltrasoundImageStorage, generate_uid

from casefiles.config import Settings
from casefiles.model import Asset, AssetKind, Instance, Window, new_id
from casefiles.services import Services
from tests.dicom_factory import ct_slice


@pytest.fixture
def services(tmp_path: Path) -> Services:
    return Services(Settings(data_dir=tmp_path / "data", seed_samples=False))


def _without_window(ds: Dataset) -> Dataset:
    for name in ("WindowCenter", "WindowWidth", "RescaleIntercept", "RescaleSlope"):
        if name in ds:
            delattr(ds, name)
    return ds


def us_frame(*, size: int = 48, rgb: bool = False) -> Dataset:
    """An ultrasound image as many scanners send it: 8-bit, display-ready, no window."""
    ds = _without_window(ct_slice(generate_uid(), generate_uid(), 0, size=size))
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = UltrasoundImageStorage
    ds.Modality = "US"
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    rows = np.linspace(20, 180, size, dtype=np.uint8)  # never the full 0–255: an auto window would stretch it
    grey = np.repeat(rows[:, None], size, axis=1)
    if rgb:
        ds.SamplesPerPixel = 3
        ds.PhotometricInterpretation = "RGB"
        ds.PlanarConfiguration = 0
        ds.PixelData = np.stack([grey] * 3, axis=-1).tobytes()
    else:
        ds.PixelData = grey.tobytes()
    return ds


def mr_frame(size: int = 48) -> Dataset:
    """A 16-bit MR image without a window."""
    ds = _without_window(ct_slice(generate_uid(), generate_uid(), 0, size=size))
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = MRImageStorage
    ds.Modality = "MR"
    values = np.tile(np.linspace(100, 1100, size, dtype=np.uint16), (size, 1))
    ds.PixelData = values.tobytes()
    return ds


def _series(services: Services, ds: Dataset, tmp_path: Path) -> Asset:
    path = tmp_path / f"{ds.SOPInstanceUID}.dcm"
    ds.save_as(path, enforce_file_format=True)
    blob = services.blobs.put(path.read_bytes())
    return Asset(
        id=new_id(),
        kind=AssetKind.DICOM_SERIES,
        label="Series 1",
        modality=str(ds.Modality),
        instances=(Instance(sop_instance_uid=str(ds.SOPInstanceUID), blob=blob),),
    )


def test_an_8_bit_ultrasound_without_a_window_opens_with_its_full_grey_range_and_presets(services, tmp_path) -> None:
    asset = _series(services, us_frame(), tmp_path)
    assert services.asset_window(asset) == Window(center=128, width=256)
    payload = services.stack_payload(asset, services.asset_window(asset))
    assert payload.default_window == Window(center=128, width=256), "reset returns to it"
    assert [name for name, _ in payload.presets] == ["full range", "contrast", "low echoes"]
    # Drawn as the scanner sent it: grey levels unchanged, not stretched.
    image = services.render_frame(asset, 0, services.asset_window(asset))
    assert (int(image.min()), int(image.max())) == (20, 180)


def test_an_mr_without_a_window_gets_one_from_its_values_and_its_relative_presets(services, tmp_path) -> None:
    asset = _series(services, mr_frame(), tmp_path)
    window = services.asset_window(asset)
    assert window is not None
    assert 550 <= window.center <= 650 and 900 <= window.width <= 1000, "the 0.5–99.5 % range of 100–1100"
    payload = services.stack_payload(asset, window)
    assert payload.default_window == window
    assert [name for name, _ in payload.presets] == ["contrast", "high signal", "low signal", "wide"]


def test_a_colour_ultrasound_has_no_window_and_still_opens(services, tmp_path) -> None:
    asset = _series(services, us_frame(rgb=True), tmp_path)
    assert services.asset_window(asset) is None
    payload = services.stack_payload(asset, None)
    assert payload.color and payload.presets == ()


def test_an_image_with_its_own_window_keeps_it(services, tmp_path) -> None:
    ds = us_frame()
    ds.WindowCenter, ds.WindowWidth = 90, 120
    assert services.asset_window(_series(services, ds, tmp_path)) == Window(center=90, width=120)
