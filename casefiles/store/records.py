"""Small keyed records (users, groups, share links, notifications) and the audit log, in every backend.

Records are JSON documents of a *kind* with a key and a version, saved with the same optimistic
concurrency as cases. The audit log is append-only and hash-chained: each entry's hash covers
the previous entry's hash and its own content, so an edited, removed or reordered entry is
found by :func:`first_broken`. Nothing here knows what a user or a share is; the accounts and
sharing use cases give the records their meaning.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from casefiles.errors import NotFoundError, ValidationError
from casefiles.store.documents import canonical_json, check_schema

_KIND = re.compile(r"^[a-z][a-z_]{0,31}$")

#: The hash an audit log's first entry chains from.
GENESIS = "0" * 64


def check_kind(kind: str) -> str:
    if not isinstance(kind, str) or not _KIND.match(kind):
        raise ValidationError(f"A record kind is a short lower-case word (got {kind!r}).")
    return kind


def check_key(key: str) -> str:
    if not isinstance(key, str) or not key or len(key) > 200:
        raise ValidationError("A record key must be text of 1 to 200 characters.")
    return key


@dataclass(frozen=True, slots=True)
class Record:
    """One record; ``version`` 0 until it is stored (a save on an older version is refused)."""

    kind: str
    key: str
    data: Mapping[str, Any] = field(default_factory=dict)
    version: int = 0

    def __post_init__(self) -> None:
        check_kind(self.kind)
        check_key(self.key)
        if not isinstance(self.data, Mapping):
            raise ValidationError("A record's data must be a mapping of JSON values.")
        canonical_json(dict(self.data))  # refuses what JSON cannot hold, before a store sees it

    def with_data(self, **changes: Any) -> Record:
        return Record(self.kind, self.key, {**self.data, **changes}, self.version)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One appended event: its place in the log, its content and the chain hashes."""

    seq: int
    data: Mapping[str, Any]
    prev: str
    hash: str


def entry_hash(seq: int, data: Mapping[str, Any], prev: str) -> str:
    return hashlib.sha256(prev.encode() + canonical_json({"seq": seq, "data": dict(data)})).hexdigest()


def chained(seq: int, data: Mapping[str, Any], prev: str) -> AuditEntry:
    return AuditEntry(seq, dict(data), prev, entry_hash(seq, data, prev))


def first_broken(entries: Sequence[AuditEntry], *, start_prev: str = GENESIS, start_seq: int = 1) -> int | None:
    """The position of the first entry that does not chain from the one before (None: all do)."""
    prev, seq = start_prev, start_seq
    for position, entry in enumerate(entries):
        if entry.seq != seq or entry.prev != prev or entry.hash != entry_hash(entry.seq, entry.data, entry.prev):
            return position
        prev, seq = entry.hash, seq + 1
    return None


def record_from(kind: str, key: str, version: int, doc: Mapping[str, Any]) -> Record:
    """A stored record document (``{"schema", "data"}``) as a :class:`Record`; a newer schema is refused."""
    check_schema("record", doc)
    return Record(kind, key, dict(doc.get("data") or {}), version)


def missing_record(kind: str, key: str) -> NotFoundError:
    return NotFoundError(f"There is no {kind.replace('_', ' ')} {key!r}; it may have been removed.")
