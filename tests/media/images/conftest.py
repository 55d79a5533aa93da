"""An empty TMPDIR for every test, to prove nothing lands there, and a quarantine working folder."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def empty_tmpdir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test runs with TMPDIR pointing at an empty folder that must still be empty at the end."""
    path = tmp_path_factory.mktemp("tmpdir-must-stay-empty")
    monkeypatch.setenv("TMPDIR", str(path))
    monkeypatch.setattr(tempfile, "tempdir", str(path))
    yield path
    leftovers = sorted(p.name for p in path.iterdir())
    assert leftovers == [], f"files were written to TMPDIR: {leftovers}"


@pytest.fixture
def quarantine(tmp_path: Path) -> Path:
    """The quarantine folder the caller places raw input in."""
    path = tmp_path / "quarantine"
    path.mkdir()
    return path


@pytest.fixture
def workdir(quarantine: Path) -> Path:
    path = quarantine / "work"
    path.mkdir()
    return path
