"""Which store a CaseDeck installation uses: one setting, read in one place."""

from __future__ import annotations

import threading

from casefiles.config import Settings
from casefiles.store import CaseStore
from casefiles.store.tinydb_store import open_tinydb_store

_postgres: dict[str, CaseStore] = {}
_postgres_lock = threading.Lock()


def open_store(settings: Settings) -> CaseStore:
    """PostgreSQL when ``CASEDECK_DATABASE_URL`` is set, else the embedded TinyDB library."""
    if not settings.database_url:
        return open_tinydb_store(settings.library_dir, legacy=settings.db_path)
    with _postgres_lock:
        store = _postgres.get(settings.database_url)
        if store is None:
            # psycopg is imported only by installations that use PostgreSQL.
            from casefiles.store.postgres_store import PostgresCaseStore

            store = _postgres[settings.database_url] = PostgresCaseStore(settings.database_url)
        return store
