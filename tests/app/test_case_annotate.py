"""The Case page's annotation saving through AppTest (issue #14, scope 2).

Drawing happens in the stack viewer's Annotate mode (a browser component: see
tests/browser/test_case_viewer_annotate.py); its callback keeps the drawing in session state and the
page saves it first thing on the next run. These tests hand the page such a drawing directly: a slice
that is not a key image becomes one with the arrow, a list the model refuses is a clear message with
nothing changed, and a drawing made on an outdated page is refused. The page has no second copy of the
key image to annotate; a photo (not in the viewer) is annotated in place behind a toggle.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from casefiles.annotations.model import Arrow
from casefiles.config import Settings
from casefiles.ingest import Upload
from casefiles.model import AssetKind, Window
from casefiles.services import Services
from pages.components.stack_viewer import Drawing
from pages.ui import case_key
from tests.dicom_factory import write_ct_study
from tests.helpers import ROOT

ARROW = {
    "kind": "arrow",
    "id": "a1b2c3d4e5f6",
    "points": [[10.0, 12.0], [40.5, 30.25]],
    "style": {"color": "#ffd400", "width": 3},
    "visible": True,
    "text": "",
}


def _photo() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((120, 160, 3), 90, np.uint8)).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[AppTest, Services, str]:
    data = tmp_path / "data"
    services = Services(Settings(data_dir=data, seed_samples=False))
    case_id = services.import_dicom(write_ct_study(tmp_path / "ct", slices=4)).case_ids[0]
    services.import_media(case_id, [Upload("IMG_0001.jpg", _photo())])
    monkeypatch.setenv("CASEDECK_DATA", str(data))
    monkeypatch.setenv("CASEDECK_SAMPLES", "0")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/case.py").run()
    assert not at.exception, at.exception
    return at, services, case_id


def _series(services: Services, case_id: str) -> str:
    return next(a.id for a in services.get_case(case_id).assets if a.kind is AssetKind.DICOM_SERIES)


def _texts(at: AppTest) -> list[str]:
    return [e.value for e in (*at.subheader, *at.markdown, *at.caption)]


def test_a_drawing_on_an_unmarked_slice_marks_it_and_saves_the_arrow(opened: Any) -> None:
    at, services, case_id = opened
    series = _series(services, case_id)
    window = Window(center=40, width=400)
    at.session_state[case_key(case_id, "drawing")] = (series, window, Drawing(frame=2, annotations=[dict(ARROW)]))
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    (key,) = services.get_case(case_id).key_images
    assert (key.asset_id, key.frame, key.window) == (series, 2, window)
    (arrow,) = key.annotations
    assert isinstance(arrow, Arrow)
    assert (arrow.start.x, arrow.start.y, arrow.end.x, arrow.end.y) == (10.0, 12.0, 40.5, 30.25)
    assert any("Key images (1)" in t for t in _texts(at))
    # No second copy of the image to annotate on: the viewer is where drawing happens.
    assert not any("Annotate a key image" in t for t in _texts(at))


def test_a_list_the_model_refuses_is_a_message_and_marks_nothing(opened: Any) -> None:
    at, services, case_id = opened
    series = _series(services, case_id)
    flat = {**ARROW, "points": [[5.0, 5.0], [5.0, 5.0]]}  # an arrow of no length
    at.session_state[case_key(case_id, "drawing")] = (series, None, Drawing(frame=1, annotations=[flat]))
    at.run()
    assert not at.exception, at.exception
    assert any(e.value.startswith("Saving the drawing failed") for e in at.error), [e.value for e in at.error]
    assert services.get_case(case_id).key_images == ()


def test_a_drawing_made_on_an_outdated_page_is_refused(opened: Any) -> None:
    at, services, case_id = opened
    series = _series(services, case_id)
    # Another tab marks frame 2 and annotates it after this page was shown.
    marked = services.toggle_key_image(case_id, series, 2, None)
    services.annotate_key_image(case_id, series, 2, [dict(ARROW)], loaded=marked)
    other = {**ARROW, "id": "ffffffffffff", "points": [[50.0, 50.0], [60.0, 70.0]]}
    at.session_state[case_key(case_id, "drawing")] = (series, None, Drawing(frame=2, annotations=[other]))
    at.run()
    assert not at.exception, at.exception
    assert any("changed since you opened it" in e.value for e in at.error), [e.value for e in at.error]
    (key,) = services.get_case(case_id).key_images
    assert [a.id for a in key.annotations] == [ARROW["id"]]  # the other tab's arrow stays


def test_a_photo_is_annotated_in_place(opened: Any) -> None:
    at, services, case_id = opened
    photo = next(a.id for a in services.get_case(case_id).assets if a.kind is AssetKind.IMAGE)
    at.toggle(key=case_key(case_id, f"annotate_on_{photo}")).set_value(True).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
