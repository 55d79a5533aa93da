"""The documents every store backend keeps: small case documents, series manifests, summaries.

A case with three series of 150 images would be a ~150 KB document if its
instance records stayed inline, and every list, open and save would carry
them. Here a case document keeps its text, assets and key images, and each
DICOM series' instance records go to a *manifest*: an immutable document
addressed by the SHA-256 of its canonical JSON. Saving an edit to a case's
text writes a few KB; a manifest is written once, when a series changes.

Every document carries ``schema``; :func:`upgrade_case_doc` brings older
documents to :data:`SCHEMA_VERSION` and a document from a newer CaseDeck is
refused rather than misread. Backends differ only in where they put these.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from casefiles.errors import ConflictError, NotFoundError, StorageError, ValidationError
from casefiles.model import Case, Conference, Review
from casefiles.visibility import LEGACY, Sharing, Viewer

JsonDict = dict[str, Any]

#: Version of the document shapes below. 1: instances inline in the case (CaseDeck ≤ 0.20); 2: manifests.
SCHEMA_VERSION = 2

#: ``lowest_pixel_rules`` when a case has no instance that screening rules apply to.
NO_RULES_APPLY = 1 << 30


def newer_schema_error(kind: str, schema: object) -> StorageError:
    return StorageError(
        f"A {kind} in the library was written by a newer CaseDeck (document schema {schema}; this version "
        f"reads up to {SCHEMA_VERSION}). Update CaseDeck; nothing was changed."
    )


def canonical_json(doc: Any) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def manifest_id(manifest: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(manifest)).hexdigest()


@dataclass(frozen=True, slots=True)
class SplitCase:
    """A case as its store documents: the case document and the manifests it refers to."""

    doc: JsonDict
    manifests: dict[str, JsonDict]


class KnownManifests:
    """Which stored manifest an instance tuple came from, so saving an edited case does not
    serialise and hash its unchanged series again (tuples are immutable: same object, same records)."""

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._known: OrderedDict[int, tuple[tuple[Any, ...], str, int, int]] = OrderedDict()

    def remember(self, instances: tuple[Any, ...], digest: str, count: int, frames: int) -> None:
        with self._lock:
            self._known[id(instances)] = (instances, digest, count, frames)  # the tuple is held: its id stays its own
            self._known.move_to_end(id(instances))
            while len(self._known) > self._size:
                self._known.popitem(last=False)

    def recall(self, instances: tuple[Any, ...]) -> tuple[str, int, int] | None:
        with self._lock:
            known = self._known.get(id(instances))
        if known is None or known[0] is not instances:
            return None
        return known[1], known[2], known[3]


def split_case(case: Case, known: KnownManifests | None = None) -> SplitCase:
    """The documents for ``case``: instance records move to content-addressed manifests.

    With ``known`` (the store's own, filled by :func:`join_case`), a series read from that store
    and not changed since is not serialised again: its manifest is the one it was read from, so
    only new or changed series produce manifests to write.
    """
    doc = case.to_dict()
    doc.pop("assets")
    manifests: dict[str, JsonDict] = {}
    assets = []
    for asset in case.assets:
        reused = known.recall(asset.instances) if known is not None and asset.instances else None
        stored = asset.to_dict(with_instances=reused is None)
        instances = stored.pop("instances")
        if reused is not None:
            stored["manifest"], stored["instance_count"], stored["frame_count"] = reused
        elif instances:
            manifest = {"schema": SCHEMA_VERSION, "instances": instances}
            digest = manifest_id(manifest)
            manifests[digest] = manifest
            stored["manifest"] = digest
            stored["instance_count"] = len(instances)
            stored["frame_count"] = asset.frame_count
            if known is not None:
                known.remember(asset.instances, digest, len(instances), asset.frame_count)
        assets.append(stored)
    doc["assets"] = assets
    doc["schema"] = SCHEMA_VERSION
    doc["facts"] = _facts(case)
    return SplitCase(doc, manifests)


def join_case(
    doc: Mapping[str, Any],
    manifests: Mapping[str, Mapping[str, Any]],
    version: int,
    known: KnownManifests | None = None,
) -> Case:
    """The case from its document and manifests (``manifests`` holds at least those it refers to)."""
    assets = []
    try:
        check_schema("case", doc)
        data = dict(doc)
        stored_assets = list(doc["assets"])
        for stored_asset in stored_assets:
            asset = dict(stored_asset)
            digest = asset.pop("manifest", None)
            if digest is not None:
                manifest = manifests.get(digest)
                if manifest is None:
                    raise StorageError(
                        f"Case {doc['id']} refers to image records that are missing from the library "
                        f"(manifest {str(digest)[:12]}…). Run `python -m casefiles store check`."
                    )
                check_schema("series manifest", manifest)
                asset["instances"] = manifest["instances"]
            assets.append(asset)
        data["assets"] = assets
        case = replace(Case.from_dict(data), version=version)
    except (KeyError, TypeError, ValueError, AttributeError, ValidationError) as exc:
        raise damaged_case(doc, exc) from exc
    for joined, stored_asset in zip(case.assets, stored_assets, strict=True):
        if known is not None and stored_asset.get("manifest"):
            known.remember(joined.instances, stored_asset["manifest"], len(joined.instances), joined.frame_count)
    return case


def damaged_case(doc: Any, exc: BaseException) -> StorageError:
    """What every backend says of a case document it cannot read (damaged, or edited by hand)."""
    case_id = doc.get("id", "?") if isinstance(doc, Mapping) else "?"
    return StorageError(
        f"Case {case_id} in the library is damaged or was edited by hand and cannot be read "
        f"({type(exc).__name__}). Restore it from a backup; nothing was changed."
    )


def manifest_ids(doc: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(a["manifest"] for a in doc.get("assets", ()) if a.get("manifest"))


def direct_blobs(doc: Mapping[str, Any]) -> frozenset[str]:
    """Blobs a case document names itself (files, thumbnails, page previews), not those in manifests."""
    found: set[str] = set()
    for asset in doc.get("assets", ()):
        found.update(b for b in (asset.get("blob"), asset.get("thumbnail")) if b)
        found.update(asset.get("previews") or ())
    return frozenset(found)


def manifest_blobs(manifest: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(i["blob"] for i in manifest.get("instances", ()))


def check_schema(kind: str, doc: Mapping[str, Any]) -> None:
    schema = doc.get("schema", 1)
    if not isinstance(schema, int) or schema > SCHEMA_VERSION:
        raise newer_schema_error(kind, schema)


def upgrade_case_doc(doc: Mapping[str, Any]) -> SplitCase:
    """A case document of any older schema as current documents (schema 1 kept instances inline)."""
    check_schema("case", doc)
    if doc.get("schema", 1) == SCHEMA_VERSION:
        return SplitCase(dict(doc), {})
    try:
        case = Case.from_dict(doc)
    except (KeyError, TypeError, ValueError, AttributeError, ValidationError) as exc:
        raise damaged_case(doc, exc) from exc
    return split_case(case)


def conference_doc(conference: Conference) -> JsonDict:
    doc = conference.to_dict()
    doc["schema"] = SCHEMA_VERSION
    return doc


def conference_from_doc(doc: Mapping[str, Any], version: int) -> Conference:
    check_schema("conference", doc)
    try:
        return replace(Conference.from_dict(doc), version=version)
    except (KeyError, TypeError, ValueError, ValidationError) as exc:
        raise StorageError(
            f"Conference {doc.get('id', '?')} in the library is damaged or was edited by hand and cannot be "
            f"read ({type(exc).__name__}). Restore it from a backup; nothing was changed."
        ) from exc


# -- summaries and queries ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CaseSummary:
    """What lists, pickers and the release overview need of a case, without its image records."""

    id: str
    title: str
    modality: str
    body_part: str
    diagnosis: str
    difficulty: str
    author: str
    tags: tuple[str, ...]
    created: dt.datetime
    updated: dt.datetime
    version: int
    thumbnail: str | None
    study_uids: tuple[str, ...]
    asset_count: int
    image_count: int
    key_image_count: int
    #: Facts the release gate reads without opening the case (casefiles.release.may_be_blocked).
    held: int
    lowest_text_rules: int
    lowest_pixel_rules: int
    sharing: Sharing = LEGACY
    #: The diagnosis category (for search results and their filters).
    category: str = ""


def summary_of(doc: Mapping[str, Any], version: int) -> CaseSummary:
    """The summary of a case document; a document that cannot be read is named (StorageError)."""
    try:
        check_schema("case", doc)  # a newer CaseDeck's document is refused, never misread or called damaged
        return _summary_of(doc, version)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, ValidationError) as exc:
        raise damaged_case(doc, exc) from exc


def _summary_of(doc: Mapping[str, Any], version: int) -> CaseSummary:
    facts = doc.get("facts") or {}
    assets = doc.get("assets", ())
    keys = doc.get("key_images") or ()
    first_key = [a for a in assets if keys and a["id"] == keys[0]["asset_id"]]
    # the first key image's series, else the first asset with one (as the Case page shows it)
    thumbnail = next((a.get("thumbnail") for a in (*first_key, *assets) if a.get("thumbnail")), None)
    return CaseSummary(
        id=doc["id"],
        title=doc["title"],
        modality=doc.get("modality", ""),
        body_part=doc.get("body_part", ""),
        diagnosis=doc.get("diagnosis", ""),
        difficulty=doc.get("difficulty", ""),
        author=doc.get("author", ""),
        tags=tuple(doc.get("tags", ())),
        created=dt.datetime.fromisoformat(doc["created"]),
        updated=dt.datetime.fromisoformat(doc["updated"]),
        version=version,
        thumbnail=thumbnail,
        study_uids=tuple(dict.fromkeys(a["study_uid"] for a in assets if a.get("study_uid"))),
        asset_count=len(assets),
        image_count=sum(int(a.get("frame_count", 1)) for a in assets),
        key_image_count=len(doc.get("key_images", ())),
        held=int(facts.get("held", 0)),
        lowest_text_rules=int(facts.get("lowest_text_rules", 0)),
        lowest_pixel_rules=int(facts.get("lowest_pixel_rules", 0)),
        sharing=Sharing.from_dict(doc.get("sharing")),
        category=doc.get("category", ""),
    )


def _facts(case: Case) -> JsonDict:
    held = 0
    text_rules = [case.text_rules]
    pixel_rules = []
    for asset in case.assets:
        if asset.review is Review.NEEDS_REVIEW:
            held += 1
        for instance in asset.instances:
            text_rules.append(instance.text_rules)
            if instance.review is Review.NEEDS_REVIEW:
                held += 1
            elif instance.review is not Review.CONFIRMED:
                pixel_rules.append(instance.pixel_rules)
    return {
        "held": held,
        "lowest_text_rules": min(text_rules),
        "lowest_pixel_rules": min(pixel_rules, default=NO_RULES_APPLY),
    }


@dataclass(frozen=True, slots=True)
class CaseQuery:
    """Which cases a list shows; empty fields match everything. Newest first, then ``offset``/``limit``.

    ``text``: every word must occur in the title, history, findings, diagnosis, differential,
    teaching points, tags or body part (case-insensitive).
    """

    text: str = ""
    modality: str = ""
    tag: str = ""
    study_uid: str = ""
    #: Only cases holding this study key (casefiles.model.Case.study_keys): a study imported again.
    study_key: str = ""
    ids: tuple[str, ...] | None = None
    #: Only cases this person may see (None: every case, for the CLI and the local operator).
    viewer: Viewer | None = None
    offset: int = 0
    limit: int | None = None

    def __post_init__(self) -> None:
        if self.offset < 0 or (self.limit is not None and self.limit < 0):
            raise ValidationError("A list's offset and limit must not be negative.")
        if self.ids is not None:
            object.__setattr__(self, "ids", tuple(self.ids))

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self.text.lower().split())

    def matches(self, doc: Mapping[str, Any]) -> bool:
        """Does the case document match (everything but offset and limit)?"""
        if self.ids is not None and doc["id"] not in self.ids:
            return False
        if self.viewer is not None and not self.viewer.sees(Sharing.from_dict(doc.get("sharing"))):
            return False
        if self.modality and self.modality.upper() not in doc.get("modality", "").upper().split("/"):
            return False
        if self.tag and self.tag.strip().lower() not in doc.get("tags", ()):
            return False
        if self.study_uid and not any(a.get("study_uid") == self.study_uid for a in doc.get("assets", ())):
            return False
        if self.study_key and self.study_key not in (doc.get("study_keys") or ()):
            return False
        words = self.words
        if words:
            haystack = search_text(doc)
            return all(word in haystack for word in words)
        return True

    def page(self, ordered: list[Any]) -> list[Any]:
        end = None if self.limit is None else self.offset + self.limit
        return ordered[self.offset : end]


def search_text(doc: Mapping[str, Any]) -> str:
    """The lower-case text a case's words are searched in."""
    return " ".join(
        (
            doc.get("title", ""),
            doc.get("history", ""),
            doc.get("findings", ""),
            doc.get("diagnosis", ""),
            " ".join(doc.get("differential", ())),
            " ".join(doc.get("teaching_points", ())),
            " ".join(doc.get("tags", ())),
            doc.get("body_part", ""),
        )
    ).lower()


def facets_of(docs: Iterable[Mapping[str, Any]]) -> tuple[list[str], list[str]]:
    """All modalities and tags in ``docs``, sorted, for the filter pickers."""
    modalities: set[str] = set()
    tags: set[str] = set()
    for doc in docs:
        modalities.update(m for m in doc.get("modality", "").split("/") if m)
        tags.update(doc.get("tags", ()))
    return sorted(modalities), sorted(tags)


def newest_first(doc: Mapping[str, Any]) -> tuple[str, str]:
    """Sort key (use with ``reverse=True``): created, then id so equal times keep one order."""
    return (doc["created"], doc["id"])


# -- what every backend says when a document is missing or was saved on an old version ------------
def missing_case(case_id: str) -> NotFoundError:
    return NotFoundError(f"There is no case with id {case_id!r}; it may have been deleted.")


def missing_conference(conference_id: str) -> NotFoundError:
    return NotFoundError(f"There is no conference with id {conference_id!r}; it may have been deleted.")


def conflict(kind: str, loaded: int, stored: int) -> ConflictError:
    """A save on version ``loaded`` refused (0: a new document whose id is taken)."""
    if loaded == 0:
        return ConflictError(f"A {kind} with this id already exists in the library; nothing was saved.")
    return ConflictError(
        f"This {kind} changed since it was opened (version {loaded}, the library has {stored}) — "
        "reload it to see the changes; nothing was saved."
    )
