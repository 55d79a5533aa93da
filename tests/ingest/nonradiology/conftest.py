"""Fixtures for importing non-radiology DICOM: one H.264 stream per session, the de-identifier, a runner."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from casefiles.deid import Deidentifier
from casefiles.ingest import ImportReport, import_sources
from tests.ingest.nonradiology.objects import h264_stream

if TYPE_CHECKING:
    from tests.ingest.conftest import Library


@pytest.fixture(scope="session")
def h264(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """One second of 160×120 H.264 at 25 frames/s (an Annex B elementary stream)."""
    return h264_stream(tmp_path_factory.mktemp("h264"))


@pytest.fixture
def deid(secret: bytes) -> Deidentifier:
    return Deidentifier(secret)


@pytest.fixture
def run_import(deid: Deidentifier) -> Callable[..., ImportReport]:
    def run(lib: Library, sources: list[Path], **kwargs: Any) -> ImportReport:
        kwargs.setdefault("workers", 1)
        return import_sources(
            sources,
            store=lib.store,
            blobs=lib.blobs,
            deidentifier=deid,
            quarantine_dir=lib.quarantine,
            review_area=lib.review_area,
            **kwargs,
        )

    return run
