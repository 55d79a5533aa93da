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


@pytest.fixture(scope="session")
def _seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample cases seeded once per test worker (seeding runs OCR on the US and CR samples)."""
    from casefiles.config import Settings
    from casefiles.samples import seed_samples
    from casefiles.services import Services

    path = tmp_path_factory.mktemp("seeded-template")
    seed_samples(Services(Settings(data_dir=path)))
    return path


@pytest.fixture
def seeded_data_dir(_seeded_template: Path, tmp_path: Path) -> Path:
    """A private copy of a data dir holding the four seeded sample cases."""
    import shutil

    path = tmp_path / "seeded-data"
    shutil.copytree(_seeded_template, path, ignore=shutil.ignore_patterns("quarantine"))
    return path


@pytest.fixture
def blocked_case(services: object, tmp_path: Path) -> str:
    """A case the release gate holds back: its key images include an unreviewed CT screen save."""
    from tests.support.held_case import held_case

    return held_case(services, tmp_path)  # type: ignore[arg-type]


# A real OpenLDAP slapd per test process (tests/ldap_server.py).
from tests.ldap_server import ldap_server  # noqa: E402, F401

# A real PostgreSQL per test process, and a fresh database per test (tests/postgres.py).
from tests.postgres import postgres_server, postgres_url  # noqa: E402, F401

# A real SMTP sink (aiosmtpd): plain, STARTTLS, implicit TLS and AUTH variants (tests/smtp_sink.py).
pytest_plugins = ["tests.smtp_sink"]


@pytest.fixture(autouse=True)
def _import_workers_stopped_after_each_test() -> Iterator[None]:
    """Imports keep their worker processes a while for the next one (casefiles.ingest.pool.KeptPool);
    each test starts without any, so a test that counts worker processes sees only its own."""
    yield
    from casefiles.ingest import pipeline

    pipeline._KEPT.close()
