"""Window presets offered to the user."""

from __future__ import annotations

import pytest

from casefiles.errors import ValidationError
from casefiles.imaging import PRESETS, presets_for
from casefiles.model import Window


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
    assert {name: (w.center, w.width) for name, w in ct.items()} == expected
    assert all(isinstance(w, Window) for w in ct.values())


def test_modality_lookup_is_case_insensitive_and_empty_for_unknown():
    assert presets_for(" ct ") == presets_for("CT")
    assert dict(presets_for("MR")) == {}
    assert dict(presets_for("")) == {}


def test_presets_cannot_be_changed_by_callers():
    with pytest.raises(TypeError):
        PRESETS["CT"]["lung"] = Window(0, 10)  # type: ignore[index]
    with pytest.raises(TypeError):
        PRESETS["MR"] = {}  # type: ignore[index]


def test_presets_for_rejects_non_text():
    with pytest.raises(ValidationError):
        presets_for(None)  # type: ignore[arg-type]
