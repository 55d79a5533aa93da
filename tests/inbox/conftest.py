"""Fixtures for the inbox tests: a library, and CaseDeck's receiver on loopback filing into it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from casefiles.config import Settings
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
    """The receiver on 127.0.0.1 (a port the system picks), filing into ``library`` as the app sets it up.

    That is: each instance is de-identified while the study arrives (PacsService.receiver).
    """
    receiver = library.pacs.receiver(
        ae_title="CASEDECK", host="127.0.0.1", port=0, quiet_seconds=0.6, on_result=results.add
    )
    with receiver:
        yield receiver


@pytest.fixture
def study(tmp_path: Path) -> list[Path]:
    from tests.dicom_factory import write_ct_study

    return write_ct_study(tmp_path / "sent", slices=5)
