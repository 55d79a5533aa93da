"""Fixtures for the inbox tests: a library, and CaseDeck's receiver on loopback filing into it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from casefiles.config import Settings
from casefiles.inbox import inbox_handler
from casefiles.pacs.receiver import StorageReceiver
from casefiles.services import Services
from tests.inbox.kit import Results


@pytest.fixture
def library(tmp_path: Path) -> Services:
    return Services(Settings(data_dir=tmp_path / "data", seed_samples=False))


@pytest.fixture
def results() -> Results:
    return Results()


@pytest.fixture
def inbox(library: Services, results: Results) -> Iterator[StorageReceiver]:
    """The receiver on 127.0.0.1 (a port the system picks), filing into ``library``."""
    receiver = StorageReceiver(
        ae_title="CASEDECK",
        host="127.0.0.1",
        port=0,
        quarantine_dir=library.settings.quarantine_dir,
        on_study=inbox_handler(library, on_result=results.add),
        quiet_seconds=0.6,
    )
    with receiver:
        yield receiver


@pytest.fixture
def study(tmp_path: Path) -> list[Path]:
    from tests.dicom_factory import write_ct_study

    return write_ct_study(tmp_path / "sent", slices=5)
