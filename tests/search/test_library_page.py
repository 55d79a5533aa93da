"""The Library page searches as you type: ranked hits with thumbnails, filters with counts, pages."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from casefiles.config import Settings
from casefiles.services import Services
from tests.helpers import ROOT
from tests.search.library import case, generated_cases


def open_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, count: int) -> AppTest:
    data = tmp_path / "data"
    services = Services(Settings(data_dir=data, seed_samples=False))
    for c in generated_cases(count, seed=21):
        services.store.save_case(c)
    services.store.save_case(case("hcc", -(10**6), title="Old liver case", diagnosis="Hepatocellular carcinoma"))
    monkeypatch.setenv("CASEDECK_DATA", str(data))
    monkeypatch.setenv("CASEDECK_SAMPLES", "0")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/library.py").run()
    assert not at.exception, at.exception
    return at


def titles(at: AppTest) -> list[str]:
    return [m.value.strip("*") for m in at.markdown if m.value.startswith("**")]


def test_typing_finds_the_best_match_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_library(tmp_path, monkeypatch, 30)
    assert any(c.value.startswith("31 case(s)") for c in at.caption)
    at.text_input(key="library_search").input("HCC").run()
    assert not at.exception, at.exception
    assert any("best match first" in c.value for c in at.caption)
    found = titles(at)
    assert found and "Old liver case" in found  # an exact diagnosis match, however old
    at.text_input(key="library_search").input(".*(").run()
    assert not at.exception
    assert any("every case is listed" in i.value for i in at.info)


def test_filters_show_counts_and_narrow_the_hits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_library(tmp_path, monkeypatch, 80)
    picker = at.selectbox(key="library_modality")
    assert picker.options[0] == "All" and all("(" in o for o in picker.options[1:])
    at.selectbox(key="library_modality").set_value("CT").run()
    assert not at.exception, at.exception
    shown = next(c.value for c in at.caption if "case(s)" in c.value)
    label = next(o for o in at.selectbox(key="library_modality").options if o.startswith("CT ("))
    assert shown.split()[0] == label.split("(")[1].rstrip(")")
    assert all(c.value.startswith("CT") for c in at.caption if " · " in c.value)


def test_a_large_result_is_paged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_library(tmp_path, monkeypatch, 100)
    first = titles(at)
    assert len(first) == 48
    at.number_input(key="library_page").set_value(3).run()
    assert not at.exception, at.exception
    assert len(titles(at)) == 101 - 96
    at.text_input(key="library_search").input("liver").run()  # a new search starts again at page 1
    assert not at.exception, at.exception
    assert titles(at) and all(t != first[0] or "liver" in t.lower() for t in titles(at))
    assert at.session_state["library_page"] == 1
