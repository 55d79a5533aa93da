"""The embedded default metadata store: one TinyDB JSON file behind a lock.

TinyDB is not thread-safe and Streamlit serves each session on its own
thread, so :func:`open_tinydb_store` hands out one instance per file for the
whole process and every call takes that instance's lock.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from tinydb import Query, TinyDB

from casefiles.errors import NotFoundError, StorageError
from casefiles.model import Case, Conference

_instances: dict[Path, TinyDBCaseStore] = {}
_instances_lock = threading.Lock()


def open_tinydb_store(path: Path) -> TinyDBCaseStore:
    """The process-wide store for ``path`` (created on first use)."""
    key = Path(path).resolve()
    with _instances_lock:
        store = _instances.get(key)
        if store is None:
            store = TinyDBCaseStore(key)
            _instances[key] = store
        return store


class TinyDBCaseStore:
    """A :class:`~casefiles.store.CaseStore` in one JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = TinyDB(self.path, indent=1, ensure_ascii=False)
        except (OSError, ValueError) as exc:
            raise StorageError(
                f"Cannot open the case database {self.path}. It may be unreadable or damaged ({exc})."
            ) from exc
        self._cases = self._db.table("cases")
        self._conferences = self._db.table("conferences")
        self._meta = self._db.table("meta")

    # -- cases -----------------------------------------------------------------
    def save_case(self, case: Case) -> None:
        with self._lock:
            self._cases.upsert(case.to_dict(), Query().id == case.id)

    def get_case(self, case_id: str) -> Case:
        with self._lock:
            doc = self._cases.get(Query().id == case_id)
        if doc is None:
            raise NotFoundError(f"There is no case with id {case_id!r}; it may have been deleted.")
        return Case.from_dict(_as_dict(doc))

    def list_cases(self) -> list[Case]:
        with self._lock:
            docs = self._cases.all()
        cases = [Case.from_dict(_as_dict(d)) for d in docs]
        return sorted(cases, key=lambda c: c.created, reverse=True)

    def delete_case(self, case_id: str) -> None:
        with self._lock:
            removed = self._cases.remove(Query().id == case_id)
        if not removed:
            raise NotFoundError(f"There is no case with id {case_id!r}.")

    # -- conferences -----------------------------------------------------------
    def save_conference(self, conference: Conference) -> None:
        with self._lock:
            self._conferences.upsert(conference.to_dict(), Query().id == conference.id)

    def get_conference(self, conference_id: str) -> Conference:
        with self._lock:
            doc = self._conferences.get(Query().id == conference_id)
        if doc is None:
            raise NotFoundError(f"There is no conference with id {conference_id!r}.")
        return Conference.from_dict(_as_dict(doc))

    def list_conferences(self) -> list[Conference]:
        with self._lock:
            docs = self._conferences.all()
        confs = [Conference.from_dict(_as_dict(d)) for d in docs]
        return sorted(confs, key=lambda c: c.created, reverse=True)

    def delete_conference(self, conference_id: str) -> None:
        with self._lock:
            removed = self._conferences.remove(Query().id == conference_id)
        if not removed:
            raise NotFoundError(f"There is no conference with id {conference_id!r}.")

    # -- meta ------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        with self._lock:
            doc = self._meta.get(Query().key == key)
        return None if doc is None else str(_as_dict(doc)["value"])

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._meta.upsert({"key": key, "value": value}, Query().key == key)


def _as_dict(doc: Any) -> dict[str, Any]:
    return dict(doc)
