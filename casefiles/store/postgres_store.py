"""The department store: CaseDeck's library in PostgreSQL (``CASEDECK_DATABASE_URL=postgresql://…``).

The documents are those of :mod:`casefiles.store.documents` (small case documents, immutable
series manifests addressed by their SHA-256), kept as JSONB. Beside each case document the store
keeps the columns that lists and filters use (created, modalities, tags, study UIDs, the lower-case
search text) with indexes, and one ``blob_refs`` row per blob a case refers to, directly or through
its manifests, so "which cases use this blob" is one index lookup.

Versions make saves optimistic: ``UPDATE … WHERE id = … AND version = …`` refuses a save made on an
older version; :meth:`PostgresCaseStore.update_case` reads the case ``FOR UPDATE`` and applies the
change in the same transaction. The schema is created and upgraded by the SQL files in
``migrations/postgresql`` when a store is opened, under a transaction-scoped advisory lock, so two
processes opening a fresh database at once are safe; a database migrated by a newer CaseDeck is
refused, not touched. Streamlit calls from several threads: each call takes a connection of its own.

Error messages name the server and database, never the password.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import TransactionStatus
from psycopg.types.json import Jsonb

from casefiles.errors import StorageError, ValidationError
from casefiles.model import Case, Conference
from casefiles.store.documents import (
    SCHEMA_VERSION,
    CaseQuery,
    CaseSummary,
    JsonDict,
    KnownManifests,
    conference_doc,
    conference_from_doc,
    conflict,
    join_case,
    manifest_ids,
    missing_case,
    missing_conference,
    search_text,
    split_case,
    summary_of,
)
from casefiles.store.fulltext import SearchQuery, SearchResults, folding
from casefiles.store.postgres_search import refold_if_needed, run_search, viewer_condition, write_search_columns
from casefiles.store.records import (
    GENESIS,
    AuditEntry,
    Record,
    chained,
    check_key,
    check_kind,
    missing_record,
    record_from,
)

MIGRATIONS_DIR = Path(__file__).parent / "migrations" / "postgresql"
#: pg_advisory_xact_lock key that serialises migrations of one database ("CaseDeck" in ASCII).
_MIGRATION_LOCK = 0x43617365_4465636B
_MANIFEST_CACHE = 512
_CONNECT_TIMEOUT_S = 10
_CONNECTIONS = 10
_BUSY_TIMEOUT_S = 60
#: pg_advisory_xact_lock key that serialises appends to the audit chain ("Audit" in ASCII).
_AUDIT_LOCK = 0x4175646974
#: pg_try_advisory_lock key held by a copy into the database ("CopyIn" in ASCII; see exclusive).
_COPY_LOCK = 0x436F7079496E
#: Long teaching text that :func:`~casefiles.store.documents.summary_of` does not read: lists leave it on the server.
_NOT_IN_SUMMARIES = ("history", "findings", "differential", "teaching_points")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """The migrations kept in the repository, in order (``NNNN_name.sql``)."""
    found = []
    for path in sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql")):
        found.append(Migration(int(path.name[:4]), path.stem[5:], path.read_text(encoding="utf-8")))
    numbers = [m.version for m in found]
    if numbers != list(range(1, len(found) + 1)):
        raise StorageError(f"CaseDeck's PostgreSQL migrations are not numbered 1…n ({numbers}); reinstall CaseDeck.")
    return found


def newer_database_error(database: str, applied: int, known: int) -> StorageError:
    return StorageError(
        f"The PostgreSQL database {database!r} was written by a newer CaseDeck (database migration {applied}; "
        f"this version knows up to {known}). Update CaseDeck; nothing was changed."
    )


class _Target:
    """What a connection URL points at, for messages: server, database and user, never the password."""

    def __init__(self, url: str) -> None:
        self.secrets = [s for s in _url_passwords(url) if s]
        try:
            info = conninfo_to_dict(url)
        except psycopg.Error as exc:
            raise StorageError(
                "CASEDECK_DATABASE_URL is not a PostgreSQL URL that can be used "
                f"({self.scrub(str(exc).strip())}); nothing was changed."
            ) from None
        if info.get("password"):
            self.secrets.append(str(info["password"]))
        host = str(info.get("host") or "")
        port = str(info.get("port") or "")
        if not host or host.startswith("/"):
            where = f"the Unix socket in {host}" if host else "the local Unix socket"
            where += f" (port {port})" if port else ""
        else:
            where = f"{host}:{port}" if port else host
        self.database = str(info.get("dbname") or info.get("user") or "")
        user = str(info.get("user") or "")
        self.description = f"database {self.database!r} on {where}" + (f" as user {user!r}" if user else "")

    def scrub(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return _URL_PASSWORD.sub(r"\1***@", text)

    def error(self, exc: BaseException) -> StorageError:
        """A user's message for a failure of the server or the connection to it."""
        text = self.scrub(str(exc).strip())
        reason = text.splitlines()[0] if text else type(exc).__name__
        reason = reason.rsplit(" failed: ", 1)[-1].strip()
        lowered = text.lower()
        sqlstate = getattr(exc, "sqlstate", None)
        if "pg_hba.conf" in lowered:
            return StorageError(
                f"PostgreSQL does not let CaseDeck connect to its library ({self.description}) from this machine: "
                f"{reason}. Ask the database administrator to allow it (pg_hba.conf); nothing was changed."
            )
        if sqlstate in ("28P01", "28000") or "password" in lowered or "authentication failed" in lowered:
            return StorageError(
                f"PostgreSQL refused the user name or password for CaseDeck's library ({self.description}): "
                f"{reason}. Check the user and password in CASEDECK_DATABASE_URL; nothing was changed."
            )
        if sqlstate == "3D000" or ("database" in lowered and "does not exist" in lowered):
            return StorageError(
                f"PostgreSQL has no {self.description} for CaseDeck's library: {reason}. Create the database "
                "(createdb) or correct CASEDECK_DATABASE_URL; nothing was changed."
            )
        if sqlstate in ("53100", "53200") or "no space left on device" in lowered or "disk full" in lowered:
            return StorageError(
                f"The PostgreSQL server of CaseDeck's library ({self.description}) has run out of disk space: "
                f"{reason}. Free space on the database server (it may need a restart); nothing was changed."
            )
        if isinstance(exc, psycopg.OperationalError):
            return StorageError(
                f"Cannot reach PostgreSQL for CaseDeck's library ({self.description}): {reason}. Is the server "
                "running and CASEDECK_DATABASE_URL right? Nothing was changed."
            )
        return StorageError(
            f"PostgreSQL refused what CaseDeck asked of its library ({self.description}): {reason}. "
            "Nothing was changed."
        )


_URL_PASSWORD = re.compile(r"(postgres(?:ql)?://[^:/@\s]*:)[^@\s]*@")


def _url_passwords(url: str) -> list[str]:
    from urllib.parse import unquote

    found = [m.group(0)[len(m.group(1)) : -1] for m in _URL_PASSWORD.finditer(url)]
    found += [m.group(1) for m in re.finditer(r"password=([^&\s]+)", url)]
    return found + [unquote(s) for s in found]


class PostgresCaseStore:
    """A :class:`~casefiles.store.CaseStore` in a PostgreSQL database."""

    def __init__(self, url: str, *, connections: int = _CONNECTIONS) -> None:
        self._target = _Target(url)
        self._url = url
        self._known = KnownManifests()  # series read from this database, by instance tuple
        try:
            with psycopg.connect(url, connect_timeout=_CONNECT_TIMEOUT_S) as conn:
                migrate(conn, self._target.database)
                refold_if_needed(conn, folding())
        except psycopg.Error as exc:
            raise self._target.error(exc) from None
        self._connections = _Connections(url, connections, self._target)
        self._manifests: OrderedDict[str, JsonDict] = OrderedDict()
        self._manifests_lock = threading.Lock()

    # -- connections ------------------------------------------------------------------------------
    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection in a transaction: committed when the block ends, rolled back on an error."""
        with self._connections.transaction() as conn:
            yield conn

    # -- manifests ------------------------------------------------------------------------------
    def _cached_manifest(self, digest: str) -> JsonDict | None:
        with self._manifests_lock:
            manifest = self._manifests.get(digest)
            if manifest is not None:
                self._manifests.move_to_end(digest)
            return manifest

    def _remember_manifest(self, digest: str, manifest: JsonDict) -> None:
        with self._manifests_lock:
            self._manifests[digest] = manifest
            while len(self._manifests) > _MANIFEST_CACHE:
                self._manifests.popitem(last=False)

    def _load_manifests(self, conn: psycopg.Connection[Any], digests: Iterable[str]) -> dict[str, JsonDict]:
        found: dict[str, JsonDict] = {}
        wanted = []
        for digest in digests:
            cached = self._cached_manifest(digest)
            if cached is None:
                wanted.append(digest)
            else:
                found[digest] = cached
        if wanted:
            for digest, manifest in conn.execute(
                "SELECT digest, doc FROM manifests WHERE digest = ANY(%s::text[])", (wanted,)
            ).fetchall():
                self._remember_manifest(digest, manifest)
                found[digest] = manifest
        return found

    def _join(self, conn: psycopg.Connection[Any], doc: JsonDict, version: int) -> Case:
        return join_case(doc, self._load_manifests(conn, manifest_ids(doc)), version, self._known)

    # -- writing a case ---------------------------------------------------------------------------
    def _write_case(self, conn: psycopg.Connection[Any], case: Case, *, new: bool) -> Case:
        """Write ``case`` as version ``case.version + 1``; ConflictError unless ``case.version`` is stored."""
        split = split_case(case, self._known)
        doc = split.doc
        version = case.version + 1
        created = _timestamp(doc["created"])
        columns = (
            version,
            SCHEMA_VERSION,
            created,
            doc.get("modality", ""),
            doc.get("modality", "").upper().split("/"),
            list(doc.get("tags", ())),
            list(dict.fromkeys(a["study_uid"] for a in doc["assets"] if a.get("study_uid"))),
            list(manifest_ids(doc)),
            search_text(doc),
            Jsonb(doc),
        )
        if new:
            row = conn.execute(
                "INSERT INTO cases (id, version, schema, created, modality, modalities, tags, study_uids, "
                "manifests, search, doc) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (id) DO NOTHING RETURNING id",
                (case.id, *columns),
            ).fetchone()
        else:
            row = conn.execute(
                "UPDATE cases SET version = %s, schema = %s, created = %s, modality = %s, modalities = %s, "
                "tags = %s, study_uids = %s, manifests = %s, search = %s, doc = %s "
                "WHERE id = %s AND version = %s RETURNING id",
                (*columns, case.id, case.version),
            ).fetchone()
        if row is None:
            stored = conn.execute("SELECT version FROM cases WHERE id = %s", (case.id,)).fetchone()
            raise conflict("case", case.version, 0 if stored is None else int(stored[0]))
        write_search_columns(conn, case.id, doc, folding())
        self._write_manifests(conn, split.manifests)
        blobs = {digest for asset in case.assets for digest in asset.blob_ids}  # reused series included
        self._write_refs(conn, case.id, blobs, new=new)
        return replace(case, version=version)

    def _write_manifests(self, conn: psycopg.Connection[Any], manifests: Mapping[str, JsonDict]) -> None:
        if not manifests:
            return
        stored = {
            r[0]
            for r in conn.execute(
                "SELECT digest FROM manifests WHERE digest = ANY(%s::text[])", (sorted(manifests),)
            ).fetchall()
        }
        missing = sorted(d for d in manifests if d not in stored)  # one order: no deadlock between writers
        if missing:
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO manifests (digest, doc) VALUES (%s, %s) ON CONFLICT (digest) DO NOTHING",
                    [(d, Jsonb(manifests[d])) for d in missing],
                )

    def _write_refs(self, conn: psycopg.Connection[Any], case_id: str, blobs: set[str], *, new: bool) -> None:
        """Make the case's blob_refs rows ``blobs`` (an edit of text changes none of them)."""
        old: set[str] = set()
        if not new:
            old = {r[0] for r in conn.execute("SELECT blob FROM blob_refs WHERE case_id = %s", (case_id,)).fetchall()}
        gone = sorted(old - blobs)
        added = sorted(blobs - old)
        if gone:
            conn.execute("DELETE FROM blob_refs WHERE case_id = %s AND blob = ANY(%s::text[])", (case_id, gone))
        if added:
            conn.execute(
                "INSERT INTO blob_refs (case_id, blob) SELECT %s, unnest(%s::text[])",
                (case_id, added),
            )

    # -- cases --------------------------------------------------------------------------------
    def save_case(self, case: Case) -> Case:
        with self._transaction() as conn:
            return self._write_case(conn, case, new=case.version == 0)

    def update_case(self, case_id: str, change: Callable[[Case], Case]) -> Case:
        with self._transaction() as conn:
            row = conn.execute("SELECT version, doc FROM cases WHERE id = %s FOR UPDATE", (case_id,)).fetchone()
            if row is None:
                raise missing_case(case_id)
            current = self._join(conn, row[1], int(row[0]))
            changed = change(current)
            if changed.id != case_id:
                raise ValidationError("A change to a case must not change its id.")
            return self._write_case(conn, replace(changed, version=current.version), new=False)

    def get_case(self, case_id: str) -> Case:
        with self._transaction() as conn:
            row = conn.execute("SELECT version, doc FROM cases WHERE id = %s", (case_id,)).fetchone()
            if row is None:
                raise missing_case(case_id)
            return self._join(conn, row[1], int(row[0]))

    def exists(self, case_id: str) -> bool:
        with self._transaction() as conn:
            return conn.execute("SELECT 1 FROM cases WHERE id = %s", (case_id,)).fetchone() is not None

    def summaries(self, query: CaseQuery | None = None) -> list[CaseSummary]:
        query = query or CaseQuery()
        where, params = _where(query)
        order = 'ORDER BY created DESC, id COLLATE "C" DESC'
        page = f"SELECT version, created, id, doc FROM cases{where} {order}"  # noqa: S608
        if query.limit is not None:
            page += " LIMIT %s"
            params.append(query.limit)
        if query.offset:
            page += " OFFSET %s"
            params.append(query.offset)
        # the long text is cut from the page's documents only, after sorting and paging
        sql = f"SELECT version, doc - %s::text[] FROM ({page}) AS page {order}"  # noqa: S608
        with self._transaction() as conn:
            rows = conn.execute(sql, [list(_NOT_IN_SUMMARIES), *params]).fetchall()
        return [summary_of(doc, int(version)) for version, doc in rows]

    def count_cases(self, query: CaseQuery | None = None) -> int:
        where, params = _where(query or CaseQuery())
        with self._transaction() as conn:
            row = conn.execute(f"SELECT count(*) FROM cases{where}", params).fetchone()  # noqa: S608
        return int(row[0]) if row else 0

    def facets(self) -> tuple[list[str], list[str]]:
        with self._transaction() as conn:
            written = conn.execute("SELECT DISTINCT modality FROM cases").fetchall()
            tags = conn.execute("SELECT DISTINCT unnest(tags) FROM cases").fetchall()
        modalities = {m for (modality,) in written for m in modality.split("/") if m}
        return sorted(modalities), sorted(r[0] for r in tags)

    def search(self, query: SearchQuery) -> SearchResults:
        """Ranked search: the weighted tsvector and its GIN index, with the embedded index's scores."""
        with self._transaction() as conn:
            return run_search(conn, query, folding(), lambda cid: self._conference_cases(conn, cid))

    @staticmethod
    def _conference_cases(conn: psycopg.Connection[Any], conference_id: str) -> tuple[str, ...]:
        row = conn.execute("SELECT version, doc FROM conferences WHERE id = %s", (conference_id,)).fetchone()
        if row is None:
            raise missing_conference(conference_id)
        return conference_from_doc(row[1], int(row[0])).case_ids

    def cases_using_blob(self, digest: str) -> set[str]:
        with self._transaction() as conn:
            rows = conn.execute("SELECT case_id FROM blob_refs WHERE blob = %s", (digest,)).fetchall()
        return {r[0] for r in rows}

    def blobs_in_use(self, digests: Iterable[str]) -> set[str]:
        wanted = sorted(set(digests))
        if not wanted:
            return set()
        with self._transaction() as conn:
            rows = conn.execute("SELECT DISTINCT blob FROM blob_refs WHERE blob = ANY(%s)", (wanted,)).fetchall()
        return {r[0] for r in rows}

    def delete_case(self, case_id: str) -> None:
        with self._transaction() as conn:
            if conn.execute("DELETE FROM cases WHERE id = %s RETURNING id", (case_id,)).fetchone() is None:
                raise missing_case(case_id)

    def manifests_in_use(self) -> set[str]:
        with self._transaction() as conn:
            return {r[0] for r in conn.execute("SELECT DISTINCT unnest(manifests) FROM cases").fetchall()}

    def stored_manifests(self) -> Iterator[str]:
        with self._transaction() as conn:
            rows = conn.execute("SELECT digest FROM manifests ORDER BY digest").fetchall()
        for row in rows:
            yield row[0]

    def delete_manifest(self, digest: str) -> None:
        """Remove a manifest no case refers to (one a case refers to is kept: the check is atomic)."""
        with self._transaction() as conn:
            conn.execute(
                "DELETE FROM manifests WHERE digest = %s "
                "AND NOT EXISTS (SELECT 1 FROM cases WHERE manifests @> ARRAY[%s::text])",
                (digest, digest),
            )
        with self._manifests_lock:
            self._manifests.pop(digest, None)

    # -- conferences --------------------------------------------------------------------------
    def _write_conference(self, conn: psycopg.Connection[Any], conference: Conference, *, new: bool) -> Conference:
        doc = conference_doc(conference)
        version = conference.version + 1
        created = _timestamp(doc["created"])
        if new:
            row = conn.execute(
                "INSERT INTO conferences (id, version, schema, created, doc) VALUES (%s, %s, %s, %s, %s) "
                "ON CONFLICT (id) DO NOTHING RETURNING id",
                (conference.id, version, SCHEMA_VERSION, created, Jsonb(doc)),
            ).fetchone()
        else:
            row = conn.execute(
                "UPDATE conferences SET version = %s, schema = %s, created = %s, doc = %s "
                "WHERE id = %s AND version = %s RETURNING id",
                (version, SCHEMA_VERSION, created, Jsonb(doc), conference.id, conference.version),
            ).fetchone()
        if row is None:
            stored = conn.execute("SELECT version FROM conferences WHERE id = %s", (conference.id,)).fetchone()
            raise conflict("conference", conference.version, 0 if stored is None else int(stored[0]))
        return replace(conference, version=version)

    def save_conference(self, conference: Conference) -> Conference:
        with self._transaction() as conn:
            return self._write_conference(conn, conference, new=conference.version == 0)

    def update_conference(self, conference_id: str, change: Callable[[Conference], Conference]) -> Conference:
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT version, doc FROM conferences WHERE id = %s FOR UPDATE", (conference_id,)
            ).fetchone()
            if row is None:
                raise missing_conference(conference_id)
            current = conference_from_doc(row[1], int(row[0]))
            changed = change(current)
            if changed.id != conference_id:
                raise ValidationError("A change to a conference must not change its id.")
            return self._write_conference(conn, replace(changed, version=current.version), new=False)

    def get_conference(self, conference_id: str) -> Conference:
        with self._transaction() as conn:
            row = conn.execute("SELECT version, doc FROM conferences WHERE id = %s", (conference_id,)).fetchone()
        if row is None:
            raise missing_conference(conference_id)
        return conference_from_doc(row[1], int(row[0]))

    def list_conferences(self) -> list[Conference]:
        with self._transaction() as conn:
            rows = conn.execute(
                'SELECT version, doc FROM conferences ORDER BY created DESC, id COLLATE "C" DESC'
            ).fetchall()
        return [conference_from_doc(doc, int(version)) for version, doc in rows]

    def delete_conference(self, conference_id: str) -> None:
        with self._transaction() as conn:
            if conn.execute("DELETE FROM conferences WHERE id = %s RETURNING id", (conference_id,)).fetchone() is None:
                raise missing_conference(conference_id)

    # -- settings -----------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        with self._transaction() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = %s", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    # -- records and the audit log --------------------------------------------------------------
    def get_record(self, kind: str, key: str) -> Record | None:
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT version, doc FROM records WHERE kind = %s AND key = %s", (check_kind(kind), check_key(key))
            ).fetchone()
        return None if row is None else record_from(kind, key, int(row[0]), row[1])

    def save_record(self, record: Record) -> Record:
        with self._transaction() as conn:
            return self._write_record(conn, record)

    def _write_record(self, conn: psycopg.Connection[Any], record: Record) -> Record:
        version = record.version + 1
        doc = Jsonb({"schema": SCHEMA_VERSION, "data": dict(record.data)})
        if record.version == 0:
            row = conn.execute(
                "INSERT INTO records (kind, key, version, doc) VALUES (%s, %s, 1, %s) "
                "ON CONFLICT (kind, key) DO NOTHING RETURNING key",
                (record.kind, record.key, doc),
            ).fetchone()
        else:
            row = conn.execute(
                "UPDATE records SET version = %s, doc = %s WHERE kind = %s AND key = %s AND version = %s RETURNING key",
                (version, doc, record.kind, record.key, record.version),
            ).fetchone()
        if row is None:
            stored = conn.execute(
                "SELECT version FROM records WHERE kind = %s AND key = %s", (record.kind, record.key)
            ).fetchone()
            raise conflict(record.kind.replace("_", " "), record.version, 0 if stored is None else int(stored[0]))
        return replace(record, version=version)

    def update_record(self, kind: str, key: str, change: Callable[[Record], Record]) -> Record:
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT version, doc FROM records WHERE kind = %s AND key = %s FOR UPDATE",
                (check_kind(kind), check_key(key)),
            ).fetchone()
            if row is None:
                raise missing_record(kind, key)
            current = record_from(kind, key, int(row[0]), row[1])
            changed = change(current)
            if (changed.kind, changed.key) != (kind, key):
                raise ValidationError("A change to a record must not change its kind or key.")
            return self._write_record(conn, replace(changed, version=current.version))

    def delete_record(self, kind: str, key: str) -> None:
        with self._transaction() as conn:
            gone = conn.execute(
                "DELETE FROM records WHERE kind = %s AND key = %s RETURNING key", (check_kind(kind), check_key(key))
            ).fetchone()
        if gone is None:
            raise missing_record(kind, key)

    def list_records(self, kind: str) -> list[Record]:
        with self._transaction() as conn:
            rows = conn.execute(
                'SELECT key, version, doc FROM records WHERE kind = %s ORDER BY key COLLATE "C"', (check_kind(kind),)
            ).fetchall()
        return [record_from(kind, str(k), int(v), d) for k, v, d in rows]

    def record_kinds(self) -> list[str]:
        with self._transaction() as conn:
            return [str(r[0]) for r in conn.execute("SELECT DISTINCT kind FROM records ORDER BY kind").fetchall()]

    def append_audit(self, data: Mapping[str, Any]) -> AuditEntry:
        with self._transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_AUDIT_LOCK,))
            last = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
            entry = chained(1 if last is None else int(last[0]) + 1, data, GENESIS if last is None else str(last[1]))
            conn.execute(
                "INSERT INTO audit (seq, data, prev, hash) VALUES (%s, %s, %s, %s)",
                (entry.seq, Jsonb(dict(entry.data)), entry.prev, entry.hash),
            )
        return entry

    def audit_entries(self, after_seq: int = 0, limit: int | None = None) -> list[AuditEntry]:
        with self._transaction() as conn:
            rows = conn.execute(
                "SELECT seq, data, prev, hash FROM audit WHERE seq > %s ORDER BY seq LIMIT %s", (after_seq, limit)
            ).fetchall()
        return [AuditEntry(int(seq), dict(data), str(prev), str(h)) for seq, data, prev, h in rows]

    def meta_items(self) -> dict[str, str]:
        with self._transaction() as conn:
            return {str(k): str(v) for k, v in conn.execute("SELECT key, value FROM meta").fetchall()}

    @contextmanager
    def exclusive(self, what: str) -> Iterator[None]:
        """A session-level advisory lock on a connection of its own: released when the block ends, and by
        the server if this process dies (a killed migration can be run again at once)."""
        try:
            conn = psycopg.connect(self._url, autocommit=True, connect_timeout=_CONNECT_TIMEOUT_S)
        except psycopg.Error as exc:
            raise self._target.error(exc) from None
        try:
            try:
                row = conn.execute("SELECT pg_try_advisory_lock(%s)", (_COPY_LOCK,)).fetchone()
            except psycopg.Error as exc:
                raise self._target.error(exc) from None
            if not row or not row[0]:
                raise StorageError(
                    f"Another {what} into CaseDeck's library ({self._target.description}) is running; wait for "
                    "it to finish. Nothing was changed."
                )
            try:
                yield
            finally:
                with suppress(psycopg.Error):
                    conn.execute("SELECT pg_advisory_unlock(%s)", (_COPY_LOCK,))
        finally:
            conn.close()

    def close(self) -> None:
        self._connections.close()
        with self._manifests_lock:
            self._manifests.clear()


class _Connections:
    """Connections for several threads: an idle one is reused, a new one made when none is idle.

    At most ``limit`` are in use at once. An idle connection is checked before it is used (the server
    may have restarted), so a server that is down is reported at once, with libpq's reason, instead of
    after a wait. A forked child never touches its parent's connections.
    """

    def __init__(self, url: str, limit: int, target: _Target) -> None:
        self._url = url
        self._target = target
        self._idle: list[psycopg.Connection[Any]] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(limit)
        self._pid = os.getpid()
        self._closed = False

    def _take(self) -> psycopg.Connection[Any]:
        while True:
            with self._lock:
                if self._closed:
                    raise StorageError("CaseDeck's PostgreSQL library was closed; reopen it.")
                if self._pid != os.getpid():  # forked: the parent's connections are the parent's
                    self._idle, self._pid = [], os.getpid()
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                return psycopg.connect(self._url, autocommit=True, connect_timeout=_CONNECT_TIMEOUT_S)
            try:
                conn.execute("")
            except psycopg.Error:
                conn.close()
                continue
            return conn

    def _give_back(self, conn: psycopg.Connection[Any]) -> None:
        reusable = not conn.closed and not conn.broken and conn.info.transaction_status == TransactionStatus.IDLE
        with self._lock:
            if reusable and not self._closed and self._pid == os.getpid():
                self._idle.append(conn)
                return
        conn.close()

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection[Any]]:
        if not self._slots.acquire(timeout=_BUSY_TIMEOUT_S):
            raise StorageError(
                f"CaseDeck's PostgreSQL library ({self._target.description}) is busy: every connection stayed "
                f"in use for {_BUSY_TIMEOUT_S} s. Try again; nothing was changed."
            )
        try:
            try:
                conn = self._take()
            except psycopg.Error as exc:
                raise self._target.error(exc) from None
            try:
                with conn.transaction():
                    yield conn
            except psycopg.Error as exc:
                raise self._target.error(exc) from exc
            finally:
                self._give_back(conn)
        finally:
            self._slots.release()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        if self._pid == os.getpid():
            for conn in idle:
                conn.close()


# -- migrations ---------------------------------------------------------------------------------------
def migrate(conn: psycopg.Connection[Any], database: str = "") -> int:
    """Bring the database to the newest migration this CaseDeck has; return that number.

    One transaction under an advisory lock: a second process opening the same database waits and then
    finds the work done; a failed migration leaves nothing behind.
    """
    known = migrations()
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            "version integer PRIMARY KEY, name text NOT NULL, applied timestamptz NOT NULL DEFAULT now())"
        )
        row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
        applied = int(row[0]) if row else 0
        if applied > len(known):
            raise newer_database_error(database, applied, len(known))
        for migration in known[applied:]:
            conn.execute(migration.sql.encode())
            conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (migration.version, migration.name)
            )
    return len(known)


# -- queries ----------------------------------------------------------------------------------------
def _where(query: CaseQuery) -> tuple[str, list[Any]]:
    """SQL conditions with the semantics of :meth:`CaseQuery.matches` (but offset and limit)."""
    conditions: list[str] = []
    params: list[Any] = []
    if query.ids is not None:
        conditions.append("id = ANY(%s::text[])")
        params.append(list(query.ids))
    seen, seen_params = viewer_condition(query.viewer)  # casefiles.visibility.sees in SQL
    if seen:
        conditions.append(seen)
        params.extend(seen_params)
    if query.modality:
        conditions.append("modalities @> ARRAY[%s::text]")
        params.append(query.modality.upper())
    if query.tag:
        conditions.append("tags @> ARRAY[%s::text]")
        params.append(query.tag.strip().lower())
    if query.study_uid:
        conditions.append("study_uids @> ARRAY[%s::text]")
        params.append(query.study_uid)
    if query.study_key:
        conditions.append("doc->'study_keys' ? %s")
        params.append(query.study_key)
    for word in query.words:  # the column is lower-cased like the words: LIKE is Python's ``in``
        conditions.append("search LIKE %s")
        params.append("%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
    return (" WHERE " + " AND ".join(conditions) if conditions else ""), params


def _timestamp(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
