"""A title from a study or a colleague shows as the characters typed, never as a link or markup (issue #16)."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from casefiles.config import Settings
from casefiles.services import Services
from tests.helpers import ROOT
from tests.store.conftest import make_case

HOSTILE = "[Open the report](http://evil.example/x) :red[URGENT] $x$ <img src=x> **bold**"
#: Markdown that would act: an unescaped link, a colour directive, maths, HTML or bold markers.
ACTING = re.compile(r"(?<!\\)\[Open the report(?<!\\)\]|(?<!\\):red(?<!\\)\[|(?<!\\)\$x|(?<!\\)<img|(?<!\\)\*\*bold")


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    data = tmp_path / "data"
    services = Services(Settings(data_dir=data, seed_samples=False))
    services.store.save_case(replace(make_case("hostile", title=HOSTILE, series=1, images=2), key_images=()))
    monkeypatch.setenv("CASEDECK_DATA", str(data))
    monkeypatch.setenv("CASEDECK_SAMPLES", "0")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    return at


def _markdown_sources(at: AppTest) -> list[str]:
    return [e.value for e in (*at.markdown, *at.title, *at.caption, *at.button) if isinstance(e.value, str)] + [
        b.label for b in at.button
    ]


@pytest.mark.parametrize("page", ["pages/library.py", "pages/case.py"])
def test_a_hostile_title_is_shown_as_text(app: AppTest, page: str) -> None:
    app.switch_page(page).run()
    assert not app.exception, app.exception
    shown = [s for s in _markdown_sources(app) if "Open the report" in s]
    assert shown, "the title is not on the page"
    assert not [s for s in shown if ACTING.search(s)], shown


def test_a_hostile_title_in_the_release_panel_is_shown_as_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Conferences page names a held case in its release panel: as text (issue #14 follow-up)."""
    from tests.support.held_case import held_case

    data = tmp_path / "data"
    services = Services(Settings(data_dir=data, seed_samples=False))
    case_id = held_case(services, tmp_path)
    services.update_case(case_id, {"title": HOSTILE})
    board = services.create_conference("Board", case_ids=[case_id])
    monkeypatch.setenv("CASEDECK_DATA", str(data))
    monkeypatch.setenv("CASEDECK_SAMPLES", "0")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/conferences.py")
    at.query_params["conference"] = board.id
    at.run()
    assert not at.exception, at.exception
    shown = [s for s in _markdown_sources(at) if "Open the report" in s]
    assert any(s.startswith("- **") for s in shown), "the release panel names the case"
    assert not [s for s in shown if ACTING.search(s)], shown


def test_a_hostile_series_description_is_shown_as_text_on_the_case_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A series is labelled by its DICOM Series Description: the rail's radio and buttons show it as text."""
    from tests.dicom_factory import write_ct_study

    data = tmp_path / "data"
    services = Services(Settings(data_dir=data, seed_samples=False))
    (case_id,) = services.import_dicom(write_ct_study(tmp_path / "ct", slices=2), title="Plain title").case_ids
    case = services.get_case(case_id)
    series = replace(case.assets[0], label=HOSTILE)
    services.store.save_case(replace(case, assets=(series, *case.assets[1:])))
    monkeypatch.setenv("CASEDECK_DATA", str(data))
    monkeypatch.setenv("CASEDECK_SAMPLES", "0")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/case.py")
    at.query_params["case"] = case_id
    at.run()
    assert not at.exception, at.exception
    shown = [o for r in at.radio for o in r.options] + [s for s in _markdown_sources(at)]
    shown = [s for s in shown if "Open the report" in s]
    assert len(shown) >= 2, "the series is in the rail's radio and on its button"
    assert not [s for s in shown if ACTING.search(s)], shown
