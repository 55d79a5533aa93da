"""Fixtures for the video tests: clips made once per session, a quarantine, its working folder, a watched TMPDIR."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.media.video.clips import CONTAINERS, make_clip


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("video-sources")


@pytest.fixture(scope="session")
def source(clip_dir: Path) -> Callable[..., Path]:
    """Make (once per session) a clip by container and options; tests copy it into their quarantine."""
    made: dict[tuple[object, ...], Path] = {}

    def get(container: str = "mp4", **options: object) -> Path:
        key = (container, *sorted(options.items()))
        if key not in made:
            name = CONTAINERS[container][0]
            out = clip_dir / f"{len(made)}-{name}"
            made[key] = make_clip(out, container=container, **options)  # type: ignore[arg-type]
        return made[key]

    return get


@pytest.fixture
def quarantine(tmp_path: Path) -> Path:
    path = tmp_path / "quarantine"
    path.mkdir()
    return path


@pytest.fixture
def workdir(quarantine: Path) -> Iterator[Path]:
    """The working folder the caller gives; CaseDeck must leave nothing in it."""
    path = quarantine / "work"
    path.mkdir()
    yield path
    assert sorted(p.name for p in path.iterdir()) == [], "video functions left files in the working folder"


@pytest.fixture
def place(quarantine: Path) -> Callable[..., Path]:
    """Copy a source into the quarantine under a patient-looking name (as uploads arrive)."""

    def put(src: Path, name: str = "DOE_JOHN colonoscopy.mp4") -> Path:
        dest = quarantine / name
        shutil.copyfile(src, dest)
        return dest

    return put


@pytest.fixture
def empty_tmpdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """TMPDIR pointed at an empty folder for the test; it must still be empty afterwards."""
    spy = tmp_path / "tmpdir-spy"
    spy.mkdir()
    monkeypatch.setenv("TMPDIR", str(spy))
    monkeypatch.setattr(tempfile, "tempdir", None)  # forget the cached default so TMPDIR is read again
    yield spy
    assert list(spy.iterdir()) == [], "something was written to TMPDIR"
