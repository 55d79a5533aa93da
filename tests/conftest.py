"""Fixtures shared by the whole suite: a throw-away data directory and services over it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "casedeck-data"
    path.mkdir()
    return path


@pytest.fixture
def services(data_dir: Path) -> Iterator[object]:
    from casefiles.config import Settings
    from casefiles.services import Services

    yield Services(Settings(data_dir=data_dir))
