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
