"""The library lists a page of cases at a time, from the store's summaries (fast at any size)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from streamlit.testing.v1 import AppTest

from casefiles.config import Settings
from casefiles.services import Services
from tests.helpers import ROOT
from tests.store.conftest import make_case


def test_a_large_library_is_paged(tmp_path: Path, monkeypatch) -> None:
    data = tmp_path / "data"
    services = Services(Settings(data_dir=data, seed_samples=False))
    for n in range(60):
        case = make_case(f"c{n:02d}", title=f"Teaching case {n}", series=0, created_minutes=n)
        services.store.save_case(replace(case, key_images=()))
    monkeypatch.setenv("CASEDECK_DATA", str(data))
    monkeypatch.setenv("CASEDECK_SAMPLES", "0")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/library.py").run()
    assert not at.exception, at.exception
    titles = [m.value for m in at.markdown if m.value.startswith("**Teaching case")]
    assert len(titles) == 48 and titles[0] == "**Teaching case 59**"
    assert any("60 case(s)" in c.value for c in at.caption)
    at.number_input(key="library_page").set_value(2).run()
    titles = [m.value for m in at.markdown if m.value.startswith("**Teaching case")]
    assert titles == [f"**Teaching case {n}**" for n in range(11, -1, -1)]
