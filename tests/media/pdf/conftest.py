"""Fixtures for the PDF tests: a quarantine folder to import from and an empty TMPDIR."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


@pytest.fixture
def quarantine(tmp_path: Path) -> Path:
    """The caller's quarantine working folder; input file names there often hold patient names."""
    path = tmp_path / "quarantine"
    path.mkdir()
    return path


@pytest.fixture
def write_pdf(quarantine: Path) -> Callable[..., Path]:
    def write(data: bytes, name: str = "DOE_JOHN_report.pdf") -> Path:
        path = quarantine / name
        path.write_bytes(data)
        return path

    return write


@pytest.fixture
def empty_tmpdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """TMPDIR pointed at an empty folder, which must still be empty when the test ends."""
    path = tmp_path / "tmpdir"
    path.mkdir()
    monkeypatch.setenv("TMPDIR", str(path))
    monkeypatch.setattr(tempfile, "tempdir", None)  # make tempfile re-read TMPDIR
    assert tempfile.gettempdir() == str(path)
    yield path
    assert list(path.iterdir()) == []
