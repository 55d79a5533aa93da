"""The embedded index: the plain reference score, other processes' writes, and both backends agreeing."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from casefiles.store import SearchQuery
from casefiles.store.fulltext import analyse, folding, index_case, score_case
from casefiles.store.tinydb_store import TinyDBCaseStore
from tests.search.library import case, generated_cases

QUERIES = [
    "hepatocellular carcinoma",
    "HCC",
    "hepatocelular",
    "oesophageal tumour",
    "esophag",
    "MR liver intermediate",
    "brain mening",
    "spiculated nodule upper lobe",
    "pulmonary embolism",
    "tumour board",
    "renal mass heterogen",
    "fat stranding appendix",
    "dr chen",
    "",
    ".*(",
]
FILTERS = [{}, {"modality": "CT"}, {"difficulty": "advanced"}, {"body_region": "Brain", "author": "Dr Evans"}]


def test_the_index_scores_as_the_plain_reference_does(tmp_path: Path) -> None:
    store = TinyDBCaseStore(tmp_path / "library")
    cases = list(generated_cases(400, seed=3))
    for c in cases:
        store.save_case(c)
    fold = folding()
    docs = [c.to_dict() for c in cases]
    indexed = {d["id"]: index_case(d, fold) for d in docs}
    for text in QUERIES:
        results = store.search(SearchQuery(text, limit=None))
        analysis = analyse(text, fold)
        # the same typo candidates the index used: every word of the library
        lexicon = set().union(*(i.words for i in indexed.values()))
        from casefiles.store.fulltext import typo_terms

        analysis = analysis.with_typos({w: typo_terms(w, lexicon) for w in analysis.typo_words()})
        expected = {cid: s for cid, i in indexed.items() if (s := score_case(analysis, i)) is not None}
        assert {h.summary.id: h.score for h in results.hits} == expected, text
        assert results.total == len(expected)


def test_another_process_s_writes_are_found(tmp_path: Path) -> None:
    root = tmp_path / "library"
    store = TinyDBCaseStore(root)
    for c in generated_cases(100, seed=9):
        store.save_case(c)
    assert store.search(SearchQuery("zygomycosis")).total == 0  # the index is built now
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(Path.cwd())!r})
        from casefiles.store.tinydb_store import TinyDBCaseStore
        from tests.search.library import case
        store = TinyDBCaseStore(__import__("pathlib").Path({str(root)!r}))
        store.save_case(case("elsewhere", 5, title="Sinus disease", diagnosis="Zygomycosis"))
        store.update_case("g00003", lambda c: c.edited(diagnosis="Rhinocerebral zygomycosis"))
        store.delete_case("g00004")
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    found = store.search(SearchQuery("zygomycosis", limit=None))
    assert found.ids == ["elsewhere", "g00003"]  # exact diagnosis first
    assert "g00004" not in store.search(SearchQuery("", limit=None)).ids
    assert store.search(SearchQuery("", limit=None)).total == 100


def test_this_process_s_writes_are_found_at_once(tmp_path: Path) -> None:
    store = TinyDBCaseStore(tmp_path / "library")
    store.save_case(case("a", 0, diagnosis="Meningioma"))
    assert store.search(SearchQuery("meningioma")).ids == ["a"]
    store.update_case("a", lambda c: c.edited(diagnosis="Schwannoma"))
    assert store.search(SearchQuery("meningioma")).ids == []
    assert store.search(SearchQuery("schwannoma")).ids == ["a"]
    store.save_case(case("b", 1, diagnosis="Vestibular schwannoma"))
    assert store.search(SearchQuery("schwannoma")).ids == ["a", "b"]  # exact diagnosis first, though older
    store.delete_case("a")
    assert store.search(SearchQuery("schwannoma")).ids == ["b"]


@pytest.fixture
def both(tmp_path: Path, request: pytest.FixtureRequest):
    postgres = request.getfixturevalue("postgres_url")
    from casefiles.store.postgres_store import PostgresCaseStore

    tiny = TinyDBCaseStore(tmp_path / "library")
    pg = PostgresCaseStore(postgres("agree"))
    yield tiny, pg
    tiny.close()
    pg.close()


def test_both_backends_agree_on_hits_scores_and_facets(both) -> None:
    tiny, pg = both
    for c in generated_cases(500, seed=11):
        tiny.save_case(c)
        pg.save_case(c)
    for text in QUERIES:
        for filters in FILTERS:
            query = SearchQuery(text, limit=20, **filters)
            a, b = tiny.search(query), pg.search(query)
            assert [(h.summary.id, h.score) for h in a.hits] == [(h.summary.id, h.score) for h in b.hits], (
                text,
                filters,
            )
            assert a.total == b.total
            assert a.facets == b.facets
            assert a.hits[:1] == b.hits[:1]  # the summaries too


def test_postgres_refolds_rows_written_before_the_search_columns(both) -> None:
    _, pg = both
    pg.save_case(case("old", 0, findings="Oesophageal tumour."))
    with pg._transaction() as conn:  # as if written before migration 3 / with another vocabulary
        conn.execute("UPDATE cases SET search_vector = ''::tsvector, body_key = ''")
        conn.execute("DELETE FROM search_state")
    assert pg.search(SearchQuery("esophageal")).ids == []
    from casefiles.store.postgres_search import refold_if_needed

    with pg._transaction() as conn:
        assert refold_if_needed(conn, folding()) == 1
        assert refold_if_needed(conn, folding()) == 0
    assert pg.search(SearchQuery("esophageal")).ids == ["old"]
