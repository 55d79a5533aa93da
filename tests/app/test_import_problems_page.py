"""The Import page shows problems by position, as the domain names them: never a file or folder name."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.helpers import ROOT
from tests.support.phi_paths import NOT_DICOM, phi_folder, phi_texts, phi_zip


def start_app(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> AppTest:
    monkeypatch.setenv("CASEDECK_DATA", str(data_dir))
    monkeypatch.setenv("CASEDECK_SAMPLES", "0")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    at.switch_page("pages/import_studies.py").run()
    return at


def shown(at: AppTest) -> str:
    """Every text the page shows, the problem table included."""
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [e.value for e in at.error]
    parts += [w.value for w in at.warning] + [s.value for s in at.success] + [i.value for i in at.info]
    for frame in at.dataframe:
        parts.append(frame.value.to_csv())
    return "\n".join(str(p) for p in parts)


def problems_table(at: AppTest) -> list[tuple[str, str]]:
    (frame,) = [f for f in at.dataframe if f.key == "import_problems"] or at.dataframe
    return [(str(row["Item"]), str(row["Problem"])) for _, row in frame.value.iterrows()]


def test_folder_import_problems_name_positions(monkeypatch: pytest.MonkeyPatch, data_dir: Path, tmp_path: Path) -> None:
    source = phi_folder(tmp_path)
    at = start_app(monkeypatch, data_dir)
    at.text_input(key="import_folder").input(str(source.path))
    at.button(key="import_folder_button").click().run()
    assert not at.exception, at.exception
    assert problems_table(at) == list(source.problems)
    assert {m.label: m.value for m in at.metric}["Images imported"] == str(source.good)
    text = shown(at)
    for phi in phi_texts(tmp_path):
        assert phi not in text, f"{phi!r} shown"


def test_upload_problems_name_positions(monkeypatch: pytest.MonkeyPatch, data_dir: Path, tmp_path: Path) -> None:
    archive = phi_zip(tmp_path)
    at = start_app(monkeypatch, data_dir)
    at.file_uploader(key="import_uploads").set_value(
        [
            ("DOE^JOHN_MRN4471_2024-03-02.zip", archive.path.read_bytes(), "application/zip"),
            ("DOE^JOHN_MRN4471_IM1.dcm", NOT_DICOM, "application/dicom"),
        ]
    )
    at.button(key="import_upload_button").click().run()
    assert not at.exception, at.exception
    assert sorted(problems_table(at)) == [
        ("upload 1 of 2, item 1 of 4 in the zip", "not a DICOM file"),
        ("upload 1 of 2, item 4 of 4 in the zip", "unsafe path in zip (../)"),
        ("upload 2 of 2", "not a DICOM file"),
    ]
    text = shown(at)
    for phi in phi_texts(tmp_path):
        assert phi not in text, f"{phi!r} shown"
