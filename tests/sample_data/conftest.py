"""Fixtures for the shipped sample studies: their paths, bytes and headers, read once per session."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import FileDataset

from tests.helpers import ROOT

SAMPLE_ROOT = ROOT / "sample_data"
STUDIES = SAMPLE_ROOT / "studies"


@pytest.fixture(scope="session")
def shipped_files() -> list[Path]:
    files = sorted(STUDIES.rglob("*.dcm"))
    assert files, "sample_data/studies is empty: run python -m sample_data.generate"
    return files


@pytest.fixture(scope="session")
def shipped_bytes(shipped_files: list[Path]) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in shipped_files}


@pytest.fixture(scope="session")
def shipped_headers(shipped_files: list[Path]) -> dict[Path, FileDataset]:
    return {path: pydicom.dcmread(path) for path in shipped_files}
