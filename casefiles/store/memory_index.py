"""The embedded store's search index: per shard file, in memory, rebuilt only when that file changed.

Each version of a TinyDB shard file (~40 cases at 10,000) has its cases folded once, cached beside
it; sixteen shards make a block, whose :class:`ShardIndex` is rebuilt from those folded cases when
one of its shards changed (a save here, or in another process: the file's stamp changes). Postings
are bit sets over the block's cases, one slice per field group, so matching and scoring a clause is
a few integer operations per block. :class:`MemoryIndex` keeps
the words of the whole library (for typo candidates) in step with the shards it has seen.

The score is :func:`casefiles.store.fulltext.score_case`'s, computed with bits; tests compare them.
"""

from __future__ import annotations

import bisect
import datetime as dt
import heapq
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from casefiles.store.documents import CaseSummary, JsonDict, newest_first, summary_of
from casefiles.store.fulltext import (
    DIAGNOSIS_BONUS,
    EXACT,
    FACETS,
    PREFIX,
    TYPO,
    WEIGHTS,
    Analysis,
    Filters,
    IndexedCase,
    SearchHit,
    SearchResults,
    facet_results,
    typo_bound,
    typo_terms,
)
from casefiles.visibility import Sharing, Viewer, Visibility

_TYPO_CACHE = 2048


def _bits(x: int) -> Iterator[int]:
    while x:
        low = x & -x
        yield low.bit_length() - 1
        x ^= low


class ShardIndex:
    """The search view of some shards' cases (one version of each): newest first, postings as bit sets."""

    __slots__ = (
        "all",
        "cases",
        "created",
        "created_ts",
        "department",
        "diagnoses",
        "docs",
        "facet_bits",
        "facet_labels",
        "groups",
        "ids",
        "n",
        "owners",
        "positions",
        "postings",
        "summaries",
        "tokens",
    )

    def __init__(self, docs: Iterable[tuple[JsonDict, IndexedCase]]) -> None:
        pairs = sorted(docs, key=lambda pair: newest_first(pair[0]), reverse=True)
        ordered = [doc for doc, _ in pairs]
        n = self.n = len(ordered)
        self.all = (1 << n) - 1
        self.docs = ordered
        self.ids = [d["id"] for d in ordered]
        self.positions = {case_id: i for i, case_id in enumerate(self.ids)}
        self.created = [d["created"] for d in ordered]
        self.created_ts = [_timestamp(d["created"]) for d in ordered]
        self.cases = [case for _, case in pairs]
        self.summaries: dict[int, CaseSummary] = {}
        self.diagnoses = [c.diagnosis for c in self.cases]
        postings: dict[str, int] = {}
        for i, case in enumerate(self.cases):
            for g, group in enumerate(case.groups):
                bit = 1 << (g * n + i)
                for word in group:
                    postings[word] = postings.get(word, 0) | bit
        self.postings = postings
        self.tokens = sorted(postings)
        self.facet_bits: dict[str, dict[str, int]] = {name: {} for name in FACETS}
        self.facet_labels: dict[str, dict[str, str]] = {name: {} for name in FACETS}
        self.department = 0
        self.owners: dict[str, int] = {}
        self.groups: dict[str, int] = {}
        for i, (doc, case) in enumerate(zip(ordered, self.cases, strict=True)):
            bit = 1 << i
            for name in FACETS:
                for key, label in case.facet(name):
                    bits = self.facet_bits[name]
                    bits[key] = bits.get(key, 0) | bit
                    labels = self.facet_labels[name]
                    labels[key] = min(labels.get(key, label), label)
            sharing = Sharing.from_dict(doc.get("sharing"))
            if sharing.visibility is Visibility.DEPARTMENT:
                self.department |= bit
            if sharing.owner:
                self.owners[sharing.owner] = self.owners.get(sharing.owner, 0) | bit
            if sharing.visibility is Visibility.GROUP:
                for member_of in sharing.groups:
                    self.groups[member_of] = self.groups.get(member_of, 0) | bit

    # -- filters ---------------------------------------------------------------------------------
    def visible_to(self, viewer: Viewer | None) -> int:
        """casefiles.visibility.sees as bits."""
        if viewer is None or viewer.sees_all:
            return self.all
        seen = self.department
        if viewer.username:
            seen |= self.owners.get(viewer.username, 0)
        for group in viewer.groups:
            seen |= self.groups.get(group, 0)
        return seen

    def among(self, ids: Iterable[str]) -> int:
        found = 0
        for case_id in ids:
            i = self.positions.get(case_id)
            if i is not None:
                found |= 1 << i
        return found

    def created_between(self, start: float | None, before: float | None) -> int:
        found = 0
        for i, ts in enumerate(self.created_ts):
            if (start is None or ts >= start) and (before is None or ts < before):
                found |= 1 << i
        return found

    # -- words -----------------------------------------------------------------------------------
    def any_group(self, x: int) -> int:
        n = self.n
        return (x | (x >> n) | (x >> (2 * n)) | (x >> (3 * n))) & self.all

    def with_prefix(self, prefix: str) -> int:
        found = 0
        tokens = self.tokens
        j = bisect.bisect_left(tokens, prefix)
        while j < len(tokens) and tokens[j].startswith(prefix):
            found |= self.postings[tokens[j]]
            j += 1
        return found

    def summary(self, i: int) -> CaseSummary:
        found = self.summaries.get(i)
        if found is None:
            doc = self.docs[i]
            found = self.summaries[i] = summary_of(doc, int(doc.get("version", 1)))
        return found


def _timestamp(text: str) -> float:
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.timestamp()


class MemoryIndex:
    """The words of every shard seen (for typo candidates) and the search over the shards' indexes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: dict[str, ShardIndex] = {}
        self._lexicon: Counter[str] = Counter()
        self._words: list[str] | None = None
        self._typos: OrderedDict[str, tuple[str, ...]] = OrderedDict()

    def refresh(self, shards: Mapping[str, ShardIndex]) -> None:
        """Take the shards' current indexes; the lexicon follows those that changed."""
        with self._lock:
            changed = False
            for name, index in shards.items():
                old = self._current.get(name)
                if old is index:
                    continue
                if old is not None:
                    self._lexicon.subtract(old.postings.keys())
                self._lexicon.update(index.postings.keys())
                self._current[name] = index
                changed = True
            if changed:
                self._lexicon = +self._lexicon  # drop words no shard has any more
                self._words = None
                self._typos.clear()

    def typo_terms(self, words: Sequence[str]) -> dict[str, tuple[str, ...]]:
        from rapidfuzz import process
        from rapidfuzz.distance import Levenshtein

        found: dict[str, tuple[str, ...]] = {}
        with self._lock:
            for word in words:
                cached = self._typos.get(word)
                if cached is None:
                    if self._words is None:
                        self._words = list(self._lexicon)
                    near = process.extract(
                        word, self._words, scorer=Levenshtein.distance, score_cutoff=typo_bound(word), limit=None
                    )
                    cached = typo_terms(word, (w for w, _, _ in near))
                    self._typos[word] = cached
                    while len(self._typos) > _TYPO_CACHE:
                        self._typos.popitem(last=False)
                found[word] = cached
        return found

    def search(
        self,
        shards: Sequence[ShardIndex],
        analysis: Analysis,
        filters: Filters,
        *,
        ids: frozenset[str] | None,
        viewer: Viewer | None,
        offset: int,
        limit: int | None,
        notes: tuple[str, ...] = (),
    ) -> SearchResults:
        analysis = analysis.with_typos(self.typo_terms(analysis.typo_words()))
        start = filters.created_from.timestamp() if filters.created_from else None
        before = filters.created_before.timestamp() if filters.created_before else None
        active = filters.active()
        whole = frozenset(analysis.whole)
        counts: dict[str, dict[str, list[Any]]] = {name: {} for name in FACETS}
        candidates: list[tuple[int, str, str, ShardIndex, int]] = []
        for shard in shards:
            if not shard.n:
                continue
            base = shard.visible_to(viewer)
            if ids is not None:
                base &= shard.among(ids)
            if start is not None or before is not None:
                base &= shard.created_between(start, before)
            if not base:
                continue
            tiers = []
            for clause in analysis.clauses:
                exact = matched = 0
                for alternative in clause.alternatives:
                    bits = -1
                    anywhere = shard.all
                    for word in alternative:
                        posting = shard.postings.get(word, 0)
                        bits &= posting
                        anywhere &= shard.any_group(posting)
                    exact |= bits if bits != -1 else 0
                    matched |= anywhere
                prefixed = shard.with_prefix(clause.prefix) if clause.prefix else 0
                typo = 0
                for term in clause.typos:
                    typo |= shard.postings.get(term, 0)
                matched |= shard.any_group(prefixed | typo)
                base &= matched
                if not base:
                    break
                tiers.append((exact, prefixed, typo))
            if not base:
                continue
            passes = {name: shard.facet_bits[name].get(key, 0) for name, key in active.items()}
            final = base
            for bits in passes.values():
                final &= bits
            for name in FACETS:
                seen = base
                for other, bits in passes.items():
                    if other != name:
                        seen &= bits
                if not seen:
                    continue
                labels = shard.facet_labels[name]
                tally = counts[name]
                for key, bits in shard.facet_bits[name].items():
                    count = (seen & bits).bit_count()
                    if count:
                        entry = tally.get(key)
                        if entry is None:
                            tally[key] = [count, labels[key]]
                        else:
                            entry[0] += count
                            entry[1] = min(entry[1], labels[key])
            if not final:
                continue
            scores = _scores(shard, tiers, final)
            for i in _bits(final):
                score = scores[i] + (DIAGNOSIS_BONUS if whole and shard.diagnoses[i] in whole else 0)
                candidates.append((score, shard.created[i], shard.ids[i], shard, i))
        end = None if limit is None else offset + limit
        if end is None:
            ranked = sorted(candidates, key=_rank, reverse=True)[offset:]
        else:
            ranked = heapq.nlargest(end, candidates, key=_rank)[offset:]
        hits = tuple(SearchHit(shard.summary(i), score) for score, _, _, shard, i in ranked)
        return SearchResults(hits, len(candidates), facet_results(counts), notes)


def _rank(item: tuple[int, str, str, ShardIndex, int]) -> tuple[int, str, str]:
    return item[0], item[1], item[2]


def _scores(shard: ShardIndex, tiers: list[tuple[int, int, int]], final: int) -> list[int]:
    """Each case's score in ``final`` (by position): weight × best tier, per clause and field group."""
    scores = [0] * shard.n
    n = shard.n
    mask = shard.all
    for exact, prefixed, typo in tiers:
        for g, weight in enumerate(WEIGHTS):
            e = (exact >> (g * n)) & mask & final
            p = (prefixed >> (g * n)) & mask & final & ~e
            t = (typo >> (g * n)) & mask & final & ~e & ~p
            for bits, value in ((e, weight * EXACT), (p, weight * PREFIX), (t, weight * TYPO)):
                for i in _bits(bits):
                    scores[i] += value
    return scores
