"""Search runs against both store backends, like the store contract (tests/store/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from casefiles.store import CaseStore
from tests.store.conftest import BACKENDS, open_backend


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CaseStore]:
    opened = open_backend(request.param, tmp_path, request)
    yield opened
    opened.close()
