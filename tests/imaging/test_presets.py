"""Window presets offered to the user."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest

from casefiles.errors import ValidationError
from casefiles.imaging import PRESETS, RelativeWindow, presets_for, resolve_presets
from casefiles.imaging.stack import SeriesHeader, build_stack_payload, read_stack_payload
from casefiles.imaging.voi import apply_window
from casefiles.model import AssetKind, Window
from tests.dicom_factory import write_ct_study


def test_ct_presets_in_order_with_standard_values():
    expected = {
        "brain": (40, 80),
        "subdural": (75, 215),
        "stroke": (40, 40),
        "lung": (-600, 1500),
        "mediastinum": (50, 350),
        "abdomen": (40, 400),
        "liver": (60, 160),
        "bone": (400, 1800),
    }
    ct = presets_for("CT")
    assert list(ct) == list(expected)
    assert {name: (w.center, w.width) for name, w in ct.items() if isinstance(w, Window)} == expected
    assert all(isinstance(w, Window) for w in ct.values())


def test_every_modality_of_issue_14_has_presets_and_unknown_ones_have_none():
    assert {"CT", "MR", "US", "CR", "DX", "MG"} <= set(PRESETS)
    assert list(presets_for("MR")) == ["contrast", "high signal", "low signal", "wide"]
    assert list(presets_for("US")) == ["full range", "contrast", "low echoes"]
    assert list(presets_for("CR")) == list(presets_for("dx")) == ["contrast", "bone", "soft tissue", "wide"]
    assert list(presets_for("MG")) == ["contrast", "dense tissue", "wide"]
    assert dict(presets_for("OT")) == {} and dict(presets_for("")) == {}
    assert presets_for(" ct ") == presets_for("CT") and presets_for("mr") == presets_for("MR")


def test_uncalibrated_modalities_are_relative_and_ultrasound_is_fixed_8_bit():
    for modality in ("MR", "CR", "DX", "MG"):
        assert all(isinstance(p, RelativeWindow) for p in presets_for(modality).values()), modality
    us = presets_for("US")
    assert all(isinstance(p, Window) for p in us.values())
    grey = np.arange(256, dtype=np.uint8).reshape(16, 16)
    full = us["full range"]
    assert isinstance(full, Window)
    assert np.array_equal(apply_window(grey, full), grey), "full range shows the scanner's grey levels unchanged"
    low = us["low echoes"]
    assert isinstance(low, Window)
    assert apply_window(np.array([0, 128, 255]), low).tolist() == [0, 255, 255]  # the dark half spread out


def test_relative_presets_follow_the_images_own_window():
    own = Window(center=600, width=1200)  # e.g. what an MR scanner wrote: 0 to 1200
    mr = dict(resolve_presets(presets_for("MR"), own))
    assert mr == {
        "contrast": Window(600, 600),
        "high signal": Window(900, 600),
        "low signal": Window(300, 600),
        "wide": Window(1200, 2400),  # black stays at 0, white moves from 1200 to 2400
    }
    # The same preset on another scanner's scale is the same change of that image's window.
    assert dict(resolve_presets(presets_for("MR"), Window(2000, 4000)))["contrast"] == Window(2000, 2000)
    cr = dict(resolve_presets(presets_for("CR"), Window(2048, 4096)))
    assert cr["bone"] == Window(3072, 2048) and cr["soft tissue"] == Window(1024, 2048)
    assert cr["wide"] == Window(2048, 8192)


def test_on_monochrome1_the_bright_structures_are_the_low_values():
    own = Window(center=2048, width=4096)
    normal = dict(resolve_presets(presets_for("DX"), own))
    inverted = dict(resolve_presets(presets_for("DX"), own, inverted=True))
    assert normal["bone"] == Window(3072, 2048) and inverted["bone"] == Window(1024, 2048)
    assert inverted["contrast"] == normal["contrast"]


def test_relative_presets_need_the_images_own_window_and_stay_valid_windows():
    assert resolve_presets(presets_for("MR"), None) == ()
    mixed = {"fixed": Window(10, 20), "relative": RelativeWindow(scale=0.5)}
    assert resolve_presets(mixed, None) == (("fixed", Window(10, 20)),)
    tiny = dict(resolve_presets(presets_for("MG"), Window(center=0.5, width=1)))
    assert all(w.width >= 1 for w in tiny.values())
    assert RelativeWindow(shift=0.1, scale=1 / 3).resolve(Window(100, 100)) == Window(110, 33.33)


def test_bad_presets_are_refused():
    with pytest.raises(ValidationError):
        RelativeWindow(scale=0)
    with pytest.raises(ValidationError):
        RelativeWindow(shift=float("nan"))
    with pytest.raises(ValidationError):
        RelativeWindow(scale=True)
    with pytest.raises(ValidationError):
        resolve_presets({"x": (40, 400)}, Window(40, 400))  # type: ignore[dict-item]
    with pytest.raises(ValidationError):
        resolve_presets({"": Window(40, 400)}, None)
    with pytest.raises(ValidationError):
        resolve_presets([("x", Window(40, 400))], None)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        RelativeWindow().resolve((40, 400))  # type: ignore[arg-type]


def test_presets_cannot_be_changed_by_callers():
    with pytest.raises(TypeError):
        PRESETS["CT"]["lung"] = Window(0, 10)  # type: ignore[index]
    with pytest.raises(TypeError):
        PRESETS["MR"] = {}  # type: ignore[index]
    with pytest.raises(TypeError):
        PRESETS["CR"]["bone"] = Window(0, 10)  # type: ignore[index]
    assert PRESETS["DX"] == PRESETS["CR"] and PRESETS["DX"] is not PRESETS["CR"]


def test_presets_for_rejects_non_text():
    with pytest.raises(ValidationError):
        presets_for(None)  # type: ignore[arg-type]


# -- in the viewer's payload ------------------------------------------------------------------


def _payload_presets(modality: str, own: Window | None, *, inverted: bool = False) -> dict[str, tuple[float, float]]:
    header = SeriesHeader(modality=modality, inverted=inverted)
    frame = np.zeros((8, 8), np.uint8)
    payload = build_stack_payload(lambda i: frame, 2, window=own, header=header, default_window=own)
    meta, _ = read_stack_payload(payload.data)
    return {p["name"]: (p["center"], p["width"]) for p in meta["presets"]}


def test_the_viewer_gets_each_modalitys_presets_as_windows_of_that_image():
    assert _payload_presets("MR", Window(600, 1200))["wide"] == (1200.0, 2400.0)
    assert _payload_presets("US", Window(128, 256))["low echoes"] == (64.0, 128.0)
    assert _payload_presets("CR", Window(2048, 4096), inverted=True)["bone"] == (1024.0, 2048.0)
    assert list(_payload_presets("MG", Window(500, 1000))) == ["contrast", "dense tissue", "wide"]
    assert len(_payload_presets("CT", Window(40, 400))) == 8
    assert _payload_presets("MR", None) == {}  # no window of its own: nothing to be relative to


def test_the_case_viewer_offers_mr_presets_for_a_stored_mr_series(services, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for path in write_ct_study(tmp_path / "study", slices=2):
        ds = pydicom.dcmread(path)
        ds.Modality = "MR"
        ds.RescaleIntercept, ds.WindowCenter, ds.WindowWidth = 0, 700, 1400
        ds.save_as(path)
    case = services.get_case(services.import_dicom([tmp_path / "study"]).case_ids[0])
    asset = next(a for a in case.assets if a.kind is AssetKind.DICOM_SERIES)
    assert asset.modality == "MR"
    payload = services.stack_payload(asset, services.asset_window(asset))
    assert dict(payload.presets) == {
        "contrast": Window(700, 700),
        "high signal": Window(1050, 700),
        "low signal": Window(350, 700),
        "wide": Window(1400, 2800),
    }
