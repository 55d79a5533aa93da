"""Ranked search in PostgreSQL: a weighted ``tsvector`` per case, typo candidates by trigram (pg_trgm).

The rules are :mod:`casefiles.store.fulltext`'s; this module states them in SQL so PostgreSQL gives
the hits, scores and facet counts the embedded index gives. Text is folded in Python and stored as
lexemes with one position per field group (weights A–D), so a clause's tier in a group is a
weight-restricted ``@@`` (``'liver':C``, ``'hepatocell':*A``) and the GIN index finds the matches.
The score is the same whole number as :func:`~casefiles.store.fulltext.score_case`'s (PostgreSQL's
``ts_rank`` would rank by frequency and proximity, which the embedded index does not compute: the
two backends would disagree on the order). A mistyped word's candidates come from ``search_words``
by trigram similarity and are filtered by edit distance in Python, exactly as the embedded index does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import psycopg

from casefiles.store.documents import summary_of
from casefiles.store.fulltext import (
    DIAGNOSIS_BONUS,
    EXACT,
    FACETS,
    GROUPS,
    PREFIX,
    TYPO,
    WEIGHTS,
    Analysis,
    Clause,
    Folding,
    IndexedCase,
    SearchHit,
    SearchQuery,
    SearchResults,
    analyse,
    facet_results,
    filters_of,
    index_case,
    restricted_ids,
    typo_terms,
)
from casefiles.visibility import Viewer

#: pg_advisory_xact_lock key that serialises re-folding the search columns ("Search" in ASCII).
_REFOLD_LOCK = 0x536561726368
_BATCH = 500
#: Long teaching text that summaries do not read (as postgres_store._NOT_IN_SUMMARIES).
_NOT_IN_SUMMARIES = ["history", "findings", "differential", "teaching_points"]


def _quoted(word: str) -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector_text(case: IndexedCase) -> str:
    """The case's words as tsvector input: one position per field group (1A, 2B, 3C, 4D)."""
    positions: dict[str, list[str]] = {}
    for number, (letter, group) in enumerate(zip(GROUPS, case.groups, strict=True), start=1):
        for word in group:
            positions.setdefault(word, []).append(f"{number}{letter}")
    return " ".join(f"{_quoted(w)}:{','.join(p)}" for w, p in sorted(positions.items()))


def search_columns(doc: Mapping[str, Any], fold: Folding) -> tuple[list[Any], list[str]]:
    """(values of the search columns in :data:`COLUMNS` order, the case's words)."""
    case = index_case(doc, fold)
    values = [
        tsvector_text(case),
        case.diagnosis,
        list(case.modalities),
        case.body_key,
        case.body_label,
        case.category_key,
        case.category_label,
        case.difficulty,
        case.author_key,
        case.author_label,
    ]
    return values, sorted(case.words)


COLUMNS = (
    "search_vector",
    "diagnosis_phrase",
    "search_modalities",
    "body_key",
    "body_label",
    "category_key",
    "category_label",
    "difficulty",
    "author_key",
    "author_label",
)
_SET = ", ".join(f"{c} = %s" + ("::tsvector" if c == "search_vector" else "") for c in COLUMNS)


def write_search_columns(conn: psycopg.Connection[Any], case_id: str, doc: Mapping[str, Any], fold: Folding) -> None:
    """Keep the case's search columns and the word list in step with its document (same transaction)."""
    values, words = search_columns(doc, fold)
    conn.execute(f"UPDATE cases SET {_SET} WHERE id = %s", [*values, case_id])  # noqa: S608
    _add_words(conn, words)


def _add_words(conn: psycopg.Connection[Any], words: Sequence[str]) -> None:
    if words:  # sorted: two writers adding the same new words cannot deadlock
        conn.execute(
            'INSERT INTO search_words (word) SELECT w FROM unnest(%s::text[]) AS w ORDER BY w COLLATE "C" '
            "ON CONFLICT (word) DO NOTHING",
            (list(words),),
        )


def refold_if_needed(conn: psycopg.Connection[Any], fold: Folding) -> int:
    """Re-fold every case's search columns when the folding changed (a new vocabulary, or rows made before
    migration 3); return how many were re-folded. Under an advisory lock: a second process waits, then finds
    the work done."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_REFOLD_LOCK,))
        row = conn.execute("SELECT value FROM search_state WHERE key = 'fingerprint'").fetchone()
        if row is not None and row[0] == fold.fingerprint:
            return 0
        done = 0
        ids = [r[0] for r in conn.execute("SELECT id FROM cases").fetchall()]
        for start in range(0, len(ids), _BATCH):
            rows = conn.execute(
                "SELECT id, doc FROM cases WHERE id = ANY(%s::text[])", (ids[start : start + _BATCH],)
            ).fetchall()
            updates = []
            words: set[str] = set()
            for case_id, doc in rows:
                values, case_words = search_columns(doc, fold)
                updates.append([*values, case_id])
                words.update(case_words)
            with conn.cursor() as cur:
                cur.executemany(f"UPDATE cases SET {_SET} WHERE id = %s", updates)  # noqa: S608
            _add_words(conn, sorted(words))
            done += len(rows)
        conn.execute(
            "INSERT INTO search_state (key, value) VALUES ('fingerprint', %s) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (fold.fingerprint,),
        )
    return done


def viewer_condition(viewer: Viewer | None) -> tuple[str, list[Any]]:
    """casefiles.visibility.sees in SQL ("" when everything is visible), on the sharing columns PostgreSQL
    derives from each document (migration 3: no stored sharing is department-wide)."""
    if viewer is None or viewer.sees_all:
        return "", []
    return (
        "(sharing_visibility = 'department'"
        " OR (sharing_owner <> '' AND sharing_owner = %s)"
        " OR (sharing_visibility = 'group' AND sharing_groups ?| %s::text[]))",
        [viewer.username, sorted(viewer.groups)],
    )


# -- queries -----------------------------------------------------------------------------------------
def _lexeme(word: str, weight: str = "", *, prefix: bool = False) -> str:
    suffix = ("*" if prefix else "") + weight
    return _quoted(word) + (":" + suffix if suffix else "")


def _clause_query(clause: Clause, weight: str = "") -> str:
    parts = ["(" + " & ".join(_lexeme(w, weight) for w in alt) + ")" for alt in clause.alternatives]
    if clause.prefix:
        parts.append(_lexeme(clause.prefix, weight, prefix=True))
    parts.extend(_lexeme(t, weight) for t in clause.typos)
    return "(" + " | ".join(parts) + ")"


def _tiers(clause: Clause, weight: str) -> list[tuple[str, int]]:
    """(tsquery, tier) for one field group, best tier first."""
    found = [
        (
            "("
            + " | ".join("(" + " & ".join(_lexeme(w, weight) for w in alt) + ")" for alt in clause.alternatives)
            + ")",
            EXACT,
        )
    ]
    if clause.prefix:
        found.append((_lexeme(clause.prefix, weight, prefix=True), PREFIX))
    if clause.typos:
        found.append(("(" + " | ".join(_lexeme(t, weight) for t in clause.typos) + ")", TYPO))
    return found


def typo_candidates(conn: psycopg.Connection[Any], words: Sequence[str]) -> dict[str, tuple[str, ...]]:
    if not words:
        return {}
    rows = conn.execute(
        "SELECT q, word FROM unnest(%s::text[]) AS q JOIN search_words ON word %% q", (list(words),)
    ).fetchall()
    candidates: dict[str, list[str]] = {w: [] for w in words}
    for q, word in rows:
        candidates[q].append(word)
    return {w: typo_terms(w, found) for w, found in candidates.items()}


def run_search(
    conn: psycopg.Connection[Any],
    query: SearchQuery,
    fold: Folding,
    conference_cases: Callable[[str], Iterable[str]],
) -> SearchResults:
    analysis: Analysis = analyse(query.text, fold)
    ids = restricted_ids(query, conference_cases)
    analysis = analysis.with_typos(typo_candidates(conn, analysis.typo_words()))
    filters = filters_of(query, fold)
    params: list[Any] = []

    # The score is computed for the rows that pass every filter (the hits), not for every match.
    score = "0"
    score_params: list[Any] = []
    if analysis.clauses:
        terms = []
        for clause in analysis.clauses:
            for weight, letter in zip(WEIGHTS, GROUPS, strict=True):
                tiers = _tiers(clause, letter)
                whens = []
                for tsquery, tier in tiers:
                    whens.append(f"WHEN search_vector @@ %s::tsquery THEN {weight * tier}")
                    score_params.append(tsquery)
                case = f"(CASE {' '.join(whens)} ELSE 0 END)"
                if len(tiers) > 1:  # most groups hold none of the clause's words: one test says so
                    case = f"(CASE WHEN search_vector @@ %s::tsquery THEN {case} ELSE 0 END)"
                    score_params.insert(len(score_params) - len(tiers), _clause_query(clause, letter))
                terms.append(case)
        terms.append(f"(CASE WHEN diagnosis_phrase = ANY(%s::text[]) THEN {DIAGNOSIS_BONUS} ELSE 0 END)")
        score_params.append(list(analysis.whole))
        score = " + ".join(terms)

    passes = {
        "modality": ("search_modalities @> ARRAY[%s::text]", filters.modality),
        "body_region": ("body_key = %s", filters.body_region),
        "category": ("category_key = %s", filters.category),
        "difficulty": ("difficulty = %s", filters.difficulty),
        "author": ("author_key = %s", filters.author),
    }
    ok_columns = []
    for name, (condition, value) in passes.items():
        if value:
            ok_columns.append(f"({condition}) AS ok_{name}")
            params.append(value)
        else:
            ok_columns.append(f"true AS ok_{name}")

    conditions = []
    if analysis.clauses:
        conditions.append("search_vector @@ %s::tsquery")
        params.append(" & ".join(_clause_query(c) for c in analysis.clauses))
    seen, seen_params = viewer_condition(query.viewer)
    if seen:
        conditions.append(seen)
        params.extend(seen_params)
    if ids is not None:
        conditions.append("id = ANY(%s::text[])")
        params.append(sorted(ids))
    if filters.created_from is not None:
        conditions.append("created >= %s")
        params.append(filters.created_from)
    if filters.created_before is not None:
        conditions.append("created < %s")
        params.append(filters.created_before)
    where = (" WHERE " + " AND ".join(conditions)) if conditions else ""

    def others(name: str | None) -> str:
        return " AND ".join(f"ok_{n}" for n in FACETS if n != name)

    order = 'score DESC, created DESC, id COLLATE "C" DESC'
    facet_parts = [
        f"SELECT 'modality', v, NULL::text, NULL::bigint, NULL::integer, NULL::jsonb, count(*) "  # noqa: S608
        f"FROM m, unnest(search_modalities) AS v WHERE {others('modality')} GROUP BY v"
    ]
    for name, key, label in (
        ("body_region", "body_key", "body_label"),
        ("category", "category_key", "category_label"),
        ("difficulty", "difficulty", "difficulty"),
        ("author", "author_key", "author_label"),
    ):
        facet_parts.append(
            f"SELECT '{name}', {key}, min({label} COLLATE \"C\"), NULL, NULL, NULL, count(*) "  # noqa: S608
            f"FROM m WHERE {key} <> '' AND {others(name)} GROUP BY {key}"
        )
    # Only our own column names and placeholders are put into the text; every value is a parameter.
    sql = (
        "WITH m AS MATERIALIZED ("  # noqa: S608
        "SELECT id, created, search_modalities, body_key, body_label, category_key, category_label, difficulty, "
        f"author_key, author_label, search_vector, diagnosis_phrase, {', '.join(ok_columns)} FROM cases{where}), "
        f"scored AS (SELECT id, created, {score} AS score FROM m WHERE {others(None)}), "
        f"hits AS (SELECT id, score, row_number() OVER (ORDER BY {order}) AS ord FROM scored "
        f"ORDER BY {order} LIMIT %s OFFSET %s) "
        "SELECT 'hit', h.id, NULL::text, h.score::bigint, h.ord::integer, c.doc - %s::text[], c.version::bigint "
        "FROM hits h JOIN cases c ON c.id = h.id "
        f"UNION ALL SELECT 'total', NULL, NULL, NULL, NULL, NULL, count(*) FROM m WHERE {others(None)} "
        "UNION ALL " + " UNION ALL ".join(facet_parts)
    )
    params.extend([*score_params, query.limit, query.offset, _NOT_IN_SUMMARIES])
    rows = conn.execute(sql, params).fetchall()

    hits: list[tuple[int, SearchHit]] = []
    total = 0
    counts: dict[str, dict[str, list[Any]]] = {name: {} for name in FACETS}
    for kind, key, label, number, ord_, doc, count in rows:
        if kind == "hit":
            hits.append((int(ord_), SearchHit(summary_of(doc, int(count)), int(number))))
        elif kind == "total":
            total = int(count)
        else:
            counts[kind][key] = [int(count), label if label is not None else key]
    hits.sort(key=lambda h: h[0])
    return SearchResults(tuple(h for _, h in hits), total, facet_results(counts), analysis.notes)
