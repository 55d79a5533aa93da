"""Fixtures for the slide tests: a deck in a quarantine folder, a workdir and an empty TMPDIR."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.media.slides.decks import NAME, build_deck


@pytest.fixture(scope="session")
def deck_bytes() -> bytes:
    return build_deck()


@pytest.fixture
def quarantine(tmp_path: Path) -> Path:
    """An import's quarantine folder holding the deck under the name the user gave it."""
    folder = tmp_path / "quarantine"
    folder.mkdir()
    return folder


@pytest.fixture
def deck_path(quarantine: Path, deck_bytes: bytes) -> Path:
    path = quarantine / f"{NAME} tumor board.pptx"
    path.write_bytes(deck_bytes)
    return path


@pytest.fixture
def workdir(quarantine: Path) -> Path:
    path = quarantine / "work"
    path.mkdir()
    return path


@pytest.fixture
def empty_tmpdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """TMPDIR pointed at an empty folder for the duration of the test (tests assert it stays empty)."""
    path = tmp_path / "tmpdir"
    path.mkdir()
    monkeypatch.setenv("TMPDIR", str(path))
    monkeypatch.setattr(tempfile, "tempdir", None)
    yield path
