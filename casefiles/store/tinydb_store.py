"""The embedded default store: TinyDB made safe for several processes, crashes and 10,000 cases.

Layout of the library folder::

    format.json            the layout version (a newer one is refused, never misread)
    cases/00.json … ff.json TinyDB files, cases spread by a hash of their id (small documents)
    manifests/ab/<sha256>.json  one immutable file per series' instance records
    refs/0.log … f.log     append-only "blob manifest" lines: which manifests name a blob
    conferences.json, settings.json  TinyDB files

Every TinyDB file goes through :class:`SafeJSONStorage`: writes happen under a
cross-process ``flock``, replace the file atomically (temp, fsync, rename,
directory fsync), and readers reload a file another process replaced. TinyDB's
document ids are derived from CaseDeck's own ids, so two processes can never
hand out the same one. Each write rewrites one shard of ~40 cases, not the
library, so a save costs the same at 100 and at 10,000 cases.

A library of the first layout (one ``casedeck.json`` with images inline) is
upgraded when it is first opened; the old file is kept beside it, renamed.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Table

from casefiles.errors import StorageError, ValidationError
from casefiles.model import Case, Conference
from casefiles.store.documents import (
    SCHEMA_VERSION,
    CaseQuery,
    CaseSummary,
    JsonDict,
    KnownManifests,
    canonical_json,
    conference_doc,
    conference_from_doc,
    conflict,
    direct_blobs,
    facets_of,
    join_case,
    manifest_blobs,
    manifest_ids,
    missing_case,
    missing_conference,
    newer_schema_error,
    newest_first,
    search_text,
    split_case,
    summary_of,
    upgrade_case_doc,
)
from casefiles.store.fulltext import (
    Folding,
    IndexedCase,
    SearchQuery,
    SearchResults,
    analyse,
    filters_of,
    folding,
    index_case,
    restricted_ids,
)
from casefiles.store.memory_index import MemoryIndex, ShardIndex
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
from casefiles.store.safe_files import (
    FileStamp,
    append_durably,
    held_alone,
    locked,
    make_private_dir,
    replace_atomically,
    write_new,
)

#: Layout of the library folder (see the module docstring).
LAYOUT_VERSION = 2
_SHARDS = 256
_MANIFEST_CACHE = 512
_REF_LINE = 64 + 1 + 64 + 1
#: A folder's stamp this old cannot be followed by a change in the same clock tick (see _search_index).
_STAMP_SETTLED_NS = 1_000_000_000

#: What a case document must hold as text for lists to sort and show it.
_CASE_TEXT = ("title", "created", "updated")

_instances: dict[Path, TinyDBCaseStore] = {}
_instances_lock = threading.Lock()


def open_tinydb_store(root: Path, *, legacy: Path | None = None) -> TinyDBCaseStore:
    """The process-wide store for the library folder ``root``.

    ``legacy``: a first-layout ``casedeck.json`` to upgrade from when ``root`` holds no library yet.
    """
    key = Path(root).resolve()
    with _instances_lock:
        store = _instances.get(key)
        if store is None:
            store = TinyDBCaseStore(key, legacy=legacy)
            _instances[key] = store
        return store


class SafeJSONStorage(Storage):
    """A TinyDB storage: atomic, durable writes; reloads what another process replaced.

    Writes must be made under :func:`~casefiles.store.safe_files.locked` of the file (the
    store does); reads need no lock, since a file is only ever replaced whole.
    """

    def __init__(self, path: str, **_: Any) -> None:
        self.path = Path(path)
        self._stamp: FileStamp | None = None
        self._data: dict[str, dict[str, Any]] | None = None

    def read(self) -> dict[str, dict[str, Any]] | None:
        stamp = FileStamp.of(self.path)
        if stamp is None:
            self._stamp, self._data = None, None
            return None
        if stamp != self._stamp or self._data is None:
            try:
                data = json.loads(self.path.read_bytes() or b"{}")
            except (OSError, ValueError) as exc:
                raise StorageError(
                    f"The library file {self.path.name} is damaged or was edited by hand and cannot be read. "
                    "Restore it from a backup (`python -m casefiles store restore`); nothing was changed."
                ) from exc
            if not isinstance(data, dict):
                raise StorageError(f"The library file {self.path.name} is damaged; nothing was changed.")
            self._stamp, self._data = stamp, data
        return self._data

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        try:
            replace_atomically(self.path, json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode())
        except BaseException:
            self._stamp, self._data = None, None  # TinyDB changed our copy in place: read the file again
            raise
        self._stamp, self._data = FileStamp.of(self.path), data

    @property
    def stamp(self) -> FileStamp | None:
        return self._stamp

    def close(self) -> None:
        self._stamp, self._data = None, None


def _first(item: tuple[tuple[str, str], JsonDict, _View]) -> tuple[str, str]:
    return item[0]


def _doc_id(key: str) -> int:
    """TinyDB's integer id for one of CaseDeck's ids: the same in every process."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:6], "big")


class _View:
    """One version of a document file, parsed once: documents by id and their search text."""

    __slots__ = ("_ordered", "_search", "_text", "by_id", "stamp")

    def __init__(self, stamp: FileStamp | None, by_id: dict[str, JsonDict]) -> None:
        self.stamp = stamp
        self.by_id = by_id
        self._text: dict[str, str] = {}
        self._ordered: list[tuple[tuple[str, str], JsonDict, _View]] | None = None
        self._search: list[tuple[JsonDict, IndexedCase]] | None = None

    def search_cases(self, fold: Folding) -> list[tuple[JsonDict, IndexedCase]]:
        """This version's documents folded for search, on first use (a new version of the file gets a new view)."""
        if self._search is None:
            self._search = [(doc, index_case(doc, fold)) for doc in self.by_id.values()]
        return self._search

    def ordered(self) -> list[tuple[tuple[str, str], JsonDict, _View]]:
        """(sort key, document, this view), newest first: sorted once per version of the file."""
        if self._ordered is None:
            self._ordered = sorted(((newest_first(d), d, self) for d in self.by_id.values()), reverse=True, key=_first)
        return self._ordered

    def search_text(self, doc_id: str) -> str:
        text = self._text.get(doc_id)
        if text is None:
            text = self._text[doc_id] = search_text(self.by_id[doc_id])
        return text


class _DocumentFile:
    """One TinyDB file holding documents keyed by CaseDeck ids, each with a ``version``.

    Documents are never changed in place (a write puts a new dict in a new table mapping), so a
    :class:`_View` handed to a reader stays a consistent snapshot while another thread writes.
    """

    def __init__(self, path: Path, table: str, *, required: tuple[str, ...] = ()) -> None:
        self.path = path
        #: text fields every document of this file has (lists sort and show them)
        self._required = required
        self._db = TinyDB(str(path), storage=SafeJSONStorage)
        self._storage: SafeJSONStorage = self._db.storage  # type: ignore[assignment]
        self._table: Table = self._db.table(table, cache_size=0)
        self._table_name = table
        self._view = _View(None, {})

    def view(self) -> _View:
        data = self._storage.read()
        stamp = self._storage.stamp
        view = self._view
        if stamp is None or data is None:
            return _View(None, {})
        if stamp != view.stamp:
            view = _View(stamp, self._checked(data.get(self._table_name, {})))
            self._view = view
        return view

    def _checked(self, table: Any) -> dict[str, JsonDict]:
        """The table's documents by id, once per version of the file; a shape CaseDeck never writes
        (a hand edit) is named here, before any reader or writer works on it."""
        by_id: dict[str, JsonDict] = {}
        problem = ""
        if not isinstance(table, dict):
            problem = f"its {self._table_name!r} table is not a mapping"
        else:
            for key, doc in table.items():
                if not (isinstance(key, str) and key.isascii() and key.isdigit()):
                    problem = "a document is filed under a key that is not a number"
                elif not isinstance(doc, dict) or not isinstance(doc.get("id"), str) or not doc["id"]:
                    problem = f"document {key} has no id"
                elif type(doc.get("version", 1)) is not int or doc.get("version", 1) < 1:
                    problem = f"{doc['id']!r} has no valid version"
                elif any(not isinstance(doc.get(name), str) for name in self._required):
                    problem = (
                        f"{doc['id']!r} lacks {', '.join(n for n in self._required if not isinstance(doc.get(n), str))}"
                    )
                elif doc["id"] in by_id or _doc_id(doc["id"]) != int(key):
                    problem = f"{doc['id']!r} is filed twice or under another document's number"
                if problem:
                    break
                by_id[doc["id"]] = doc
        if problem:
            raise StorageError(
                f"The library file {self.path.name} is damaged or was edited by hand ({problem}) and cannot be "
                "read. Restore it from a backup (`python -m casefiles store restore`); nothing was changed."
            )
        return by_id

    def documents(self) -> dict[str, JsonDict]:
        """Current documents by id (a shared snapshot: do not change them)."""
        return self.view().by_id

    def get(self, key: str) -> JsonDict | None:
        return self.documents().get(key)

    def put(self, doc: JsonDict) -> None:
        """Insert or replace (call under :meth:`lock`)."""
        doc_id = _doc_id(doc["id"])

        def put_new_dict(table: dict[int, Any]) -> None:
            table[doc_id] = doc

        # TinyDB's own upsert merges into the stored dict in place, which readers may hold.
        self._table._update_table(put_new_dict)

    def remove(self, key: str) -> bool:
        if key not in self.documents():
            return False
        self._table.remove(doc_ids=[_doc_id(key)])
        return True

    def lock(self) -> Any:
        return locked(self.path)

    def close(self) -> None:
        self._db.close()


class TinyDBCaseStore:
    """A :class:`~casefiles.store.CaseStore` in a folder of small TinyDB files."""

    def __init__(self, root: Path, *, legacy: Path | None = None) -> None:
        self.root = Path(root)
        make_private_dir(self.root)
        for sub in ("cases", "manifests", "refs", "records"):
            make_private_dir(self.root / sub)
        self._format_path = self.root / "format.json"
        self._shards: dict[str, _DocumentFile] = {}
        self._shards_lock = threading.Lock()
        self._manifests: OrderedDict[str, JsonDict] = OrderedDict()
        self._manifests_lock = threading.Lock()
        self._known = KnownManifests()  # series read from this store, by instance tuple
        self._conferences = _DocumentFile(self.root / "conferences.json", "conferences", required=("created",))
        self._settings = _DocumentFile(self.root / "settings.json", "meta")
        self._record_files: dict[str, _DocumentFile] = {}
        self._audit_path = self.root / "audit.log"
        self._search = MemoryIndex()
        self._search_lock = threading.Lock()
        #: block (first hex digit of the shard names) → (its shards' views, their index)
        self._search_blocks: dict[str, tuple[tuple[_View, ...], ShardIndex]] = {}
        #: the cases folder's stamp when the blocks were last checked (see _search_shards)
        self._search_seen: FileStamp | None = None
        with locked(self._format_path):
            self._check_or_create(legacy)

    # -- layout ---------------------------------------------------------------------------------
    def _check_or_create(self, legacy: Path | None) -> None:
        if self._format_path.exists():
            try:
                layout = json.loads(self._format_path.read_bytes()).get("layout")
            except (OSError, ValueError, AttributeError) as exc:
                raise StorageError(
                    "The library's format.json is damaged; restore it from a backup. Nothing was changed."
                ) from exc
            if not isinstance(layout, int) or layout > LAYOUT_VERSION:
                raise newer_schema_error("library folder", layout)
            return
        if legacy is not None and legacy.exists():
            self._upgrade_from(legacy)
        replace_atomically(self._format_path, json.dumps({"layout": LAYOUT_VERSION}).encode())

    def _upgrade_from(self, legacy: Path) -> None:
        """Copy a first-layout ``casedeck.json`` into this folder; keep the old file, renamed."""
        try:
            data = json.loads(legacy.read_bytes() or b"{}")
        except (OSError, ValueError) as exc:
            raise StorageError(
                f"The library file {legacy.name} is damaged or was edited by hand and cannot be read; "
                "restore it from a backup. Nothing was changed."
            ) from exc
        for doc in (data.get("cases") or {}).values():
            split = upgrade_case_doc(doc)
            self._write_manifests(split.manifests)
            shard = self._shard(split.doc["id"])
            with shard.lock():
                shard.put({**split.doc, "version": int(doc.get("version", 1))})
        for doc in (data.get("conferences") or {}).values():
            with self._conferences.lock():
                self._conferences.put({**doc, "schema": SCHEMA_VERSION, "version": int(doc.get("version", 1))})
        for doc in (data.get("meta") or {}).values():
            with self._settings.lock():
                self._settings.put({"id": doc["key"], "value": doc["value"], "version": 1})
        legacy.rename(legacy.with_name(legacy.name + ".layout1-upgraded"))

    # -- shards and manifests -----------------------------------------------------------------
    def _shard(self, case_id: str) -> _DocumentFile:
        name = hashlib.sha256(case_id.encode()).hexdigest()[:2]
        with self._shards_lock:
            shard = self._shards.get(name)
            if shard is None:
                shard = self._shards[name] = _DocumentFile(
                    self.root / "cases" / f"{name}.json", "cases", required=_CASE_TEXT
                )
            return shard

    def _all_shards(self) -> Iterator[_DocumentFile]:
        for number in range(_SHARDS):
            name = f"{number:02x}"
            if name in self._shards or (self.root / "cases" / f"{name}.json").exists():
                yield self._shard_named(name)

    def _shard_named(self, name: str) -> _DocumentFile:
        with self._shards_lock:
            shard = self._shards.get(name)
            if shard is None:
                shard = self._shards[name] = _DocumentFile(
                    self.root / "cases" / f"{name}.json", "cases", required=_CASE_TEXT
                )
            return shard

    def _manifest_path(self, digest: str) -> Path:
        return self.root / "manifests" / digest[:2] / f"{digest}.json"

    def _manifest(self, digest: str) -> JsonDict:
        with self._manifests_lock:
            cached = self._manifests.get(digest)
            if cached is not None:
                self._manifests.move_to_end(digest)
                return cached
        try:
            manifest = json.loads(self._manifest_path(digest).read_bytes())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise StorageError("Image records of a case are damaged; run `python -m casefiles store check`.") from exc
        with self._manifests_lock:
            self._manifests[digest] = manifest
            while len(self._manifests) > _MANIFEST_CACHE:
                self._manifests.popitem(last=False)
        return manifest

    def _write_manifests(self, manifests: Mapping[str, JsonDict]) -> None:
        """Write new manifests, their blob references first (so a manifest on disk is always findable)."""
        new = {d: m for d, m in manifests.items() if not self._manifest_path(d).exists()}
        if not new:
            return
        lines: dict[str, list[bytes]] = {}
        for digest, manifest in new.items():
            for blob in sorted(manifest_blobs(manifest)):
                lines.setdefault(blob[0], []).append(f"{blob} {digest}\n".encode())
        for prefix, chunk in sorted(lines.items()):
            append_durably(self.root / "refs" / f"{prefix}.log", b"".join(chunk), mend_torn_end=True)
        for digest, manifest in new.items():
            write_new(self._manifest_path(digest), canonical_json(manifest))

    def _join(self, doc: JsonDict) -> Case:
        manifests = {d: self._manifest(d) for d in manifest_ids(doc)}
        return join_case(doc, {d: m for d, m in manifests.items() if m}, int(doc.get("version", 1)), self._known)

    # -- cases --------------------------------------------------------------------------------
    def save_case(self, case: Case) -> Case:
        shard = self._shard(case.id)
        with shard.lock():
            stored = shard.get(case.id)
            stored_version = 0 if stored is None else int(stored.get("version", 1))
            if case.version != stored_version:
                raise conflict("case", case.version, stored_version)
            return self._write_case(shard, case, stored_version)

    def _write_case(self, shard: _DocumentFile, case: Case, stored_version: int) -> Case:
        split = split_case(case, self._known)
        self._write_manifests(split.manifests)
        version = stored_version + 1
        shard.put({**split.doc, "version": version})
        return replace(case, version=version)

    def update_case(self, case_id: str, change: Callable[[Case], Case]) -> Case:
        shard = self._shard(case_id)
        with shard.lock():
            stored = shard.get(case_id)
            if stored is None:
                raise missing_case(case_id)
            current = self._join(stored)
            changed = change(current)
            if changed.id != case_id:
                raise ValidationError("A change to a case must not change its id.")
            return self._write_case(shard, replace(changed, version=current.version), current.version)

    def get_case(self, case_id: str) -> Case:
        doc = self._shard(case_id).get(case_id)
        if doc is None:
            raise missing_case(case_id)
        return self._join(doc)

    def exists(self, case_id: str) -> bool:
        return self._shard(case_id).get(case_id) is not None

    def list_cases(self) -> list[Case]:
        """Every case in full, newest first: for tools and small libraries; lists use :meth:`summaries`."""
        return [self._join(doc) for doc in list(self._matching(CaseQuery()))]

    def _matching(self, query: CaseQuery) -> Iterator[JsonDict]:
        """Matching documents newest first, lazily: a page of 50 merges the shards' sorted lists only
        as far as it needs (each shard's list is sorted once per version of its file)."""
        words = query.words
        shards = self._all_shards() if query.ids is None else (self._shard(i) for i in set(query.ids))
        plain = CaseQuery(
            modality=query.modality,
            tag=query.tag,
            study_uid=query.study_uid,
            study_key=query.study_key,
            ids=query.ids,
            viewer=query.viewer,
        )  # the words are matched against the cached search text below
        filtered = plain != CaseQuery()
        views = [shard.view() for shard in dict.fromkeys(shards)]
        for _key, doc, view in heapq.merge(*(v.ordered() for v in views), key=_first, reverse=True):
            if filtered and not plain.matches(doc):
                continue
            if words:
                text = view.search_text(doc["id"])
                if not all(w in text for w in words):
                    continue
            yield doc

    def summaries(self, query: CaseQuery | None = None) -> list[CaseSummary]:
        query = query or CaseQuery()
        end = None if query.limit is None else query.offset + query.limit
        page = itertools.islice(self._matching(query), query.offset, end)
        return [summary_of(doc, int(doc.get("version", 1))) for doc in page]

    def count_cases(self, query: CaseQuery | None = None) -> int:
        query = query or CaseQuery()
        if query == CaseQuery(offset=query.offset, limit=query.limit):
            return sum(len(shard.documents()) for shard in self._all_shards())
        return sum(1 for _ in self._matching(query))

    def facets(self) -> tuple[list[str], list[str]]:
        return facets_of(doc for shard in self._all_shards() for doc in shard.documents().values())

    def search(self, query: SearchQuery) -> SearchResults:
        """Ranked search over the in-memory index: shards saved since the last search (here or by another
        process) are re-indexed, the rest are reused."""
        fold = folding()
        analysis = analyse(query.text, fold)
        ids = restricted_ids(query, lambda cid: self.get_conference(cid).case_ids)
        blocks = self._search_index(fold)
        self._search.refresh(blocks)
        return self._search.search(
            list(blocks.values()),
            analysis,
            filters_of(query, fold),
            ids=ids,
            viewer=query.viewer,
            offset=query.offset,
            limit=query.limit,
            notes=analysis.notes,
        )

    def _search_index(self, fold: Folding) -> dict[str, ShardIndex]:
        """The blocks' indexes, rebuilt where a shard changed. Every shard file is replaced by a rename in
        the cases folder, which changes the folder's stamp: while it is unchanged (and older than a
        second, so a change in the same clock tick is not missed) no shard needs a look."""
        folder = FileStamp.of(self.root / "cases")
        with self._search_lock:
            fresh = folder is not None and folder == self._search_seen
            if fresh and folder is not None and time.time_ns() - folder.mtime_ns > _STAMP_SETTLED_NS:
                return {name: index for name, (_, index) in self._search_blocks.items()}
            by_block: dict[str, list[_View]] = {}
            for shard in self._all_shards():
                by_block.setdefault(shard.path.stem[0], []).append(shard.view())
            blocks = {}
            for name, views in sorted(by_block.items()):
                known = self._search_blocks.get(name)
                if (
                    known is not None
                    and len(known[0]) == len(views)
                    and all(a is b for a, b in zip(known[0], views, strict=True))
                ):
                    blocks[name] = known[1]
                    continue
                index = ShardIndex(pair for view in views for pair in view.search_cases(fold))
                self._search_blocks[name] = (tuple(views), index)
                blocks[name] = index
            self._search_seen = folder
            return blocks

    def cases_using_blob(self, digest: str) -> set[str]:
        manifests = self._manifests_naming({digest}).get(digest, set())
        users: set[str] = set()
        for shard in self._all_shards():
            for doc_id, doc in shard.documents().items():
                if digest in direct_blobs(doc) or manifests.intersection(manifest_ids(doc)):
                    users.add(doc_id)
        return users

    def blobs_in_use(self, digests: Iterable[str]) -> set[str]:
        wanted = set(digests)
        if not wanted:
            return set()
        naming = self._manifests_naming(wanted)
        used_manifests: set[str] = set()
        used: set[str] = set()
        for shard in self._all_shards():
            for doc in shard.documents().values():
                used.update(wanted.intersection(direct_blobs(doc)))
                used_manifests.update(manifest_ids(doc))
        used.update(d for d, manifests in naming.items() if manifests & used_manifests)
        return used

    def _manifests_naming(self, digests: set[str]) -> dict[str, set[str]]:
        """For each blob, the manifests whose records name it, from the reference logs of their prefixes."""
        found: dict[str, set[str]] = {}
        by_prefix: dict[str, set[str]] = {}
        for digest in digests:
            by_prefix.setdefault(digest[:1], set()).add(digest)
        for prefix, wanted in by_prefix.items():
            try:
                data = (self.root / "refs" / f"{prefix}.log").read_bytes()
            except FileNotFoundError:
                continue
            if len(wanted) <= 4:  # a few blobs: let bytes.find skip through the log
                for digest in wanted:
                    needle = digest.encode() + b" "
                    at = data.find(needle)
                    while at >= 0:
                        line = data[at : at + _REF_LINE]
                        if (at == 0 or data[at - 1] == 0x0A) and len(line) == _REF_LINE and line[-1] == 0x0A:
                            found.setdefault(digest, set()).add(line[65:129].decode())
                        at = data.find(needle, at + 1)
                continue
            encoded = {d.encode() for d in wanted}
            for line in data.split(b"\n"):
                if len(line) == _REF_LINE - 1 and line[:64] in encoded:
                    found.setdefault(line[:64].decode(), set()).add(line[65:].decode())
        return found

    def delete_case(self, case_id: str) -> None:
        shard = self._shard(case_id)
        with shard.lock():
            if not shard.remove(case_id):
                raise missing_case(case_id)

    def manifests_in_use(self) -> set[str]:
        return {d for shard in self._all_shards() for doc in shard.documents().values() for d in manifest_ids(doc)}

    def stored_manifests(self) -> Iterator[str]:
        for sub in sorted((self.root / "manifests").iterdir()):
            if sub.is_dir():
                for item in sorted(sub.glob("*.json")):
                    yield item.stem

    def delete_manifest(self, digest: str) -> None:
        self._manifest_path(digest).unlink(missing_ok=True)

    # -- conferences --------------------------------------------------------------------------
    def save_conference(self, conference: Conference) -> Conference:
        with self._conferences.lock():
            stored = self._conferences.get(conference.id)
            stored_version = 0 if stored is None else int(stored.get("version", 1))
            if conference.version != stored_version:
                raise conflict("conference", conference.version, stored_version)
            return self._write_conference(conference, stored_version)

    def _write_conference(self, conference: Conference, stored_version: int) -> Conference:
        version = stored_version + 1
        self._conferences.put({**conference_doc(conference), "version": version})
        return replace(conference, version=version)

    def update_conference(self, conference_id: str, change: Callable[[Conference], Conference]) -> Conference:
        with self._conferences.lock():
            stored = self._conferences.get(conference_id)
            if stored is None:
                raise missing_conference(conference_id)
            current = conference_from_doc(stored, int(stored.get("version", 1)))
            changed = change(current)
            if changed.id != conference_id:
                raise ValidationError("A change to a conference must not change its id.")
            return self._write_conference(replace(changed, version=current.version), current.version)

    def get_conference(self, conference_id: str) -> Conference:
        doc = self._conferences.get(conference_id)
        if doc is None:
            raise missing_conference(conference_id)
        return conference_from_doc(doc, int(doc.get("version", 1)))

    def list_conferences(self) -> list[Conference]:
        docs = sorted(self._conferences.documents().values(), key=newest_first, reverse=True)
        return [conference_from_doc(d, int(d.get("version", 1))) for d in docs]

    def delete_conference(self, conference_id: str) -> None:
        with self._conferences.lock():
            if not self._conferences.remove(conference_id):
                raise missing_conference(conference_id)

    # -- settings -----------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        doc = self._settings.get(key)
        return None if doc is None else str(doc["value"])

    def set_meta(self, key: str, value: str) -> None:
        with self._settings.lock():
            stored = self._settings.get(key)
            version = 1 if stored is None else int(stored.get("version", 1)) + 1
            self._settings.put({"id": key, "value": value, "version": version})

    def meta_items(self) -> dict[str, str]:
        return {key: str(doc["value"]) for key, doc in self._settings.documents().items()}

    # -- records and the audit log ------------------------------------------------------------
    def _records(self, kind: str) -> _DocumentFile:
        check_kind(kind)
        with self._shards_lock:
            found = self._record_files.get(kind)
            if found is None:
                found = self._record_files[kind] = _DocumentFile(self.root / "records" / f"{kind}.json", "records")
            return found

    def get_record(self, kind: str, key: str) -> Record | None:
        doc = self._records(kind).get(check_key(key))
        return None if doc is None else _record(kind, doc)

    def save_record(self, record: Record) -> Record:
        records = self._records(record.kind)
        with records.lock():
            stored = records.get(record.key)
            stored_version = 0 if stored is None else int(stored["version"])
            if record.version != stored_version:
                raise conflict(record.kind.replace("_", " "), record.version, stored_version)
            return self._write_record(records, record, stored_version)

    @staticmethod
    def _write_record(records: _DocumentFile, record: Record, stored_version: int) -> Record:
        version = stored_version + 1
        records.put({"id": record.key, "schema": SCHEMA_VERSION, "version": version, "data": dict(record.data)})
        return replace(record, version=version)

    def update_record(self, kind: str, key: str, change: Callable[[Record], Record]) -> Record:
        records = self._records(kind)
        with records.lock():
            stored = records.get(check_key(key))
            if stored is None:
                raise missing_record(kind, key)
            current = _record(kind, stored)
            changed = change(current)
            if (changed.kind, changed.key) != (kind, key):
                raise ValidationError("A change to a record must not change its kind or key.")
            return self._write_record(records, replace(changed, version=current.version), current.version)

    def delete_record(self, kind: str, key: str) -> None:
        records = self._records(kind)
        with records.lock():
            if not records.remove(check_key(key)):
                raise missing_record(kind, key)

    def list_records(self, kind: str) -> list[Record]:
        return [_record(kind, d) for _, d in sorted(self._records(kind).documents().items())]

    def record_kinds(self) -> list[str]:
        return sorted(p.stem for p in (self.root / "records").glob("*.json") if self._records(p.stem).documents())

    def append_audit(self, data: Mapping[str, Any]) -> AuditEntry:
        with locked(self._audit_path):
            last = _last_audit_line(self._audit_path)
            entry = chained(1 if last is None else last.seq + 1, data, GENESIS if last is None else last.hash)
            line = canonical_json({"seq": entry.seq, "data": entry.data, "prev": entry.prev, "hash": entry.hash})
            append_durably(self._audit_path, line + b"\n")
            return entry

    def audit_entries(self, after_seq: int = 0, limit: int | None = None) -> list[AuditEntry]:
        try:
            lines = self._audit_path.read_bytes().splitlines()
        except FileNotFoundError:
            return []
        entries = []
        for line in lines:
            entry = _audit_entry(line)
            if entry.seq > after_seq:
                entries.append(entry)
                if limit is not None and len(entries) >= limit:
                    break
        return entries

    def exclusive(self, what: str) -> AbstractContextManager[None]:
        return held_alone(
            self.root / "copy.lock",
            f"Another {what} into the library folder {self.root} is running; wait for it to finish. "
            "Nothing was changed.",
        )

    def close(self) -> None:
        for shard in list(self._shards.values()):
            shard.close()
        self._conferences.close()
        self._settings.close()
        with _instances_lock:
            if _instances.get(self.root.resolve()) is self:
                del _instances[self.root.resolve()]


def _record(kind: str, doc: Mapping[str, Any]) -> Record:
    return record_from(kind, doc["id"], int(doc["version"]), doc)


def _audit_entry(line: bytes) -> AuditEntry:
    try:
        doc = json.loads(line)
        return AuditEntry(int(doc["seq"]), dict(doc["data"]), str(doc["prev"]), str(doc["hash"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise StorageError("The audit log is damaged or was edited by hand; restore it from a backup.") from exc


def _last_audit_line(path: Path) -> AuditEntry | None:
    """The last complete entry (read from the end: the log grows for years)."""
    try:
        with open(path, "rb") as fh:
            size = fh.seek(0, 2)
            if not size:
                return None
            back = min(size, 1 << 16)
            fh.seek(size - back)
            tail = fh.read()
    except FileNotFoundError:
        return None
    lines = [line for line in tail.split(b"\n") if line.strip()]
    if not lines or not tail.endswith(b"\n"):
        raise StorageError("The audit log is damaged at its end; restore it from a backup before adding to it.")
    return _audit_entry(lines[-1])
