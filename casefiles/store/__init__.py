"""Storage behind two small interfaces: metadata (:class:`CaseStore`) and files (:class:`BlobStore`).

The embedded default is TinyDB plus a content-addressed directory. Another
backend (PostgreSQL, an object store) implements the same protocols; pages and
services never see which one is in use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, BinaryIO, Protocol, runtime_checkable

from casefiles.model import Case, Conference
from casefiles.store.documents import CaseQuery, CaseSummary
from casefiles.store.fulltext import FacetCount, SearchHit, SearchQuery, SearchResults
from casefiles.store.records import AuditEntry, Record

__all__ = [
    "AuditEntry",
    "BlobStore",
    "CaseQuery",
    "CaseStore",
    "CaseSummary",
    "FacetCount",
    "Record",
    "SearchHit",
    "SearchQuery",
    "SearchResults",
]


@runtime_checkable
class CaseStore(Protocol):
    """Cases, conferences and settings. Safe to call from several threads and several processes.

    Every case and conference carries ``version``: the store's count of its saves. A save made on
    an older version than the stored one is refused with :class:`~casefiles.errors.ConflictError`
    (optimistic concurrency); :meth:`update_case` re-reads and re-applies a change instead, so a
    change computed from the stored case is never lost to a concurrent writer.
    """

    def save_case(self, case: Case) -> Case:
        """Insert ``case`` (version 0) or replace the stored version ``case.version``; return it as stored."""
        ...

    def update_case(self, case_id: str, change: Callable[[Case], Case]) -> Case:
        """Apply ``change`` to the stored case atomically and return the result.

        ``change`` may be called more than once (it gets the latest case each time) and may raise to
        refuse; it must not change the id.
        """
        ...

    def get_case(self, case_id: str) -> Case:
        """Raise :class:`~casefiles.errors.NotFoundError` if there is none."""
        ...

    def exists(self, case_id: str) -> bool: ...

    def summaries(self, query: CaseQuery | None = None) -> list[CaseSummary]:
        """Summaries of the cases ``query`` matches, newest first, paged by its offset and limit."""
        ...

    def count_cases(self, query: CaseQuery | None = None) -> int: ...

    def facets(self) -> tuple[list[str], list[str]]:
        """Every modality and tag in the library, sorted."""
        ...

    def search(self, query: SearchQuery) -> SearchResults:
        """Ranked search (casefiles.store.fulltext): best first, then newest; total and facet counts.

        Both backends return the same hits with the same scores for the same library.
        """
        ...

    def cases_using_blob(self, digest: str) -> set[str]:
        """Ids of the cases whose documents or image records refer to the blob."""
        ...

    def blobs_in_use(self, digests: Iterable[str]) -> set[str]:
        """Those of ``digests`` that some case still refers to (one query for a whole case's files)."""
        ...

    def delete_case(self, case_id: str) -> None: ...

    def save_conference(self, conference: Conference) -> Conference:
        """Insert (version 0) or replace the stored version; return it as stored."""
        ...

    def update_conference(self, conference_id: str, change: Callable[[Conference], Conference]) -> Conference: ...

    def get_conference(self, conference_id: str) -> Conference: ...

    def list_conferences(self) -> list[Conference]:
        """All conferences, newest first."""
        ...

    def delete_conference(self, conference_id: str) -> None: ...

    def get_meta(self, key: str) -> str | None:
        """Small installation-level values and settings (e.g. whether samples were seeded, PACS nodes)."""
        ...

    def set_meta(self, key: str, value: str) -> None: ...

    def meta_items(self) -> dict[str, str]:
        """Every setting (for copying a library to another store)."""
        ...

    def get_record(self, kind: str, key: str) -> Record | None:
        """A user, group, share link… (see casefiles.store.records); None when there is none."""
        ...

    def save_record(self, record: Record) -> Record:
        """Insert (version 0) or replace the stored version; ConflictError otherwise."""
        ...

    def update_record(self, kind: str, key: str, change: Callable[[Record], Record]) -> Record: ...

    def delete_record(self, kind: str, key: str) -> None: ...

    def list_records(self, kind: str) -> list[Record]:
        """Every record of ``kind``, by key."""
        ...

    def record_kinds(self) -> list[str]: ...

    def append_audit(self, data: Mapping[str, Any]) -> AuditEntry:
        """Append an event to the hash-chained audit log (never changed or removed afterwards)."""
        ...

    def audit_entries(self, after_seq: int = 0, limit: int | None = None) -> list[AuditEntry]:
        """Entries after ``after_seq``, oldest first."""
        ...

    def exclusive(self, what: str) -> AbstractContextManager[None]:
        """Held while a copy goes into this store (migrate, backup, restore; ``what`` names it): a second
        one, from any process or machine using this store, is refused with StorageError at once."""
        ...

    def close(self) -> None:
        """Release connections and caches (the store is not used afterwards)."""


@runtime_checkable
class BlobStore(Protocol):
    """Immutable files addressed by the SHA-256 of their content."""

    def put(self, data: bytes) -> str:
        """Store ``data``; return its digest. Storing the same bytes twice is a no-op."""
        ...

    def put_file(self, path: Path) -> str: ...

    def get(self, digest: str) -> bytes:
        """Raise :class:`~casefiles.errors.NotFoundError` if the blob is missing."""
        ...

    def path(self, digest: str) -> Path:
        """A readable local path for the blob (for libraries that want a file)."""
        ...

    def exists(self, digest: str) -> bool: ...

    def delete(self, digest: str) -> None:
        """Remove a blob (e.g. an image replaced by its redacted version); missing is not an error."""

    def open(self, digest: str) -> BinaryIO:
        """The blob as a file object to stream from (close it); NotFoundError if missing."""
        ...

    def digests(self) -> Iterator[str]: ...
