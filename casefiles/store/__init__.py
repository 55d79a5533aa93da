"""Storage behind two small interfaces: metadata (:class:`CaseStore`) and files (:class:`BlobStore`).

The embedded default is TinyDB plus a content-addressed directory. Another
backend (PostgreSQL, an object store) implements the same protocols; pages and
services never see which one is in use.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

from casefiles.model import Case, Conference


@runtime_checkable
class CaseStore(Protocol):
    """Cases and conferences. Every method is safe to call from several threads."""

    def save_case(self, case: Case) -> None:
        """Insert or replace the case with ``case.id``."""

    def get_case(self, case_id: str) -> Case:
        """Raise :class:`~casefiles.errors.NotFoundError` if there is none."""
        ...

    def list_cases(self) -> list[Case]:
        """All cases, newest first."""
        ...

    def delete_case(self, case_id: str) -> None: ...

    def save_conference(self, conference: Conference) -> None: ...

    def get_conference(self, conference_id: str) -> Conference: ...

    def list_conferences(self) -> list[Conference]: ...

    def delete_conference(self, conference_id: str) -> None: ...

    def get_meta(self, key: str) -> str | None:
        """Small installation-level values (e.g. whether samples were seeded)."""
        ...

    def set_meta(self, key: str, value: str) -> None: ...


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

    def digests(self) -> Iterator[str]: ...
