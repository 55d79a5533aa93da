"""Ranked search, one contract for both store backends: what a person typing into the library finds."""

from __future__ import annotations

import datetime as dt

import pytest

from casefiles.errors import NotFoundError, ValidationError
from casefiles.model import CasePlan, Conference, Difficulty, KeyImage
from casefiles.store import CaseStore, SearchQuery
from casefiles.store.fulltext import MAX_QUERY_CHARS
from casefiles.visibility import Sharing, Viewer, Visibility
from tests.search.library import case, generated_cases


def ids(store: CaseStore, text: str, **filters: object) -> list[str]:
    return store.search(SearchQuery(text, limit=None, **filters)).ids  # type: ignore[arg-type]


def test_an_exact_diagnosis_match_ranks_first(store: CaseStore) -> None:
    # newer cases that say "pulmonary embolism" everywhere but in the diagnosis
    store.save_case(case("exact", 0, title="Dyspnoea", diagnosis="Pulmonary embolism"))
    store.save_case(
        case(
            "mention",
            10,
            title="Pulmonary embolism mimic",
            findings="Not a pulmonary embolism: mixing artefact in the pulmonary artery.",
            diagnosis="Pulmonary embolism mimic (flow artefact)",
            tags=("pulmonary embolism",),
        )
    )
    store.save_case(case("other", 20, title="Chest pain", findings="Pulmonary embolism excluded."))
    assert ids(store, "pulmonary embolism")[0] == "exact"
    assert ids(store, "Pulmonary Embolism!")[0] == "exact"  # case and punctuation do not matter


def test_typos_british_spellings_synonyms_and_prefixes_find_the_case(store: CaseStore) -> None:
    store.save_case(case("hcc", 0, title="Liver mass", diagnosis="Hepatocellular carcinoma", modality="MR"))
    store.save_case(case("oes", 1, title="Dysphagia", findings="Esophageal tumor at the GE junction.", modality="CT"))
    store.save_case(case("oes-uk", 2, title="Dysphagia", findings="Oesophageal tumour, distal third.", modality="CT"))
    store.save_case(case("knee", 3, title="Knee", diagnosis="ACL tear", modality="MR"))
    assert ids(store, "hepatocelular") == ["hcc"]  # one letter missing
    assert ids(store, "hepatocellular carcinoma") == ["hcc"]
    assert ids(store, "HCC") == ["hcc"]  # a synonym of the diagnosis, as written
    assert set(ids(store, "oesophageal tumour")) == {"oes", "oes-uk"}  # British finds American and British
    assert set(ids(store, "esophageal tumor")) == {"oes", "oes-uk"}
    assert ids(store, "hepatocell") == ["hcc"]  # still typing the last word
    assert ids(store, "hepatocell ") == []  # a finished word is not a prefix (and is 4 letters off)
    assert ids(store, "MR hepato") == ["hcc"]


def test_typo_tolerance_is_bounded(store: CaseStore) -> None:
    store.save_case(case("hcc", 0, diagnosis="Hepatocellular carcinoma"))
    store.save_case(case("ct", 1, modality="CT"))
    assert ids(store, "hepatocelluar carcinma ") == ["hcc"]  # 1 edit each
    assert ids(store, "hpatcellar ") == []  # too far
    assert ids(store, "MT ") == []  # short words must be exact


def test_regex_metacharacters_are_plain_text(store: CaseStore) -> None:
    store.save_case(case("nodule", 0, findings="A (spiculated) nodule."))
    store.save_case(case("other", 1, findings="Normal."))
    assert ids(store, "nodule.*") == ["nodule"]
    assert ids(store, "(spiculated") == ["nodule"]
    for text in (".*(", "[a-z]+", "\\d+|.*", "%_'\"", "\\", ":*&|!"):
        results = store.search(SearchQuery(text, limit=None))
        assert results.ids in (["other", "nodule"], [])  # everything newest first, or nothing: never an error


def test_empty_and_punctuation_only_queries_list_newest_first(store: CaseStore) -> None:
    for n in range(5):
        store.save_case(case(f"c{n}", n))
    newest = ["c4", "c3", "c2", "c1", "c0"]
    assert ids(store, "") == newest
    assert ids(store, "   ") == newest
    punctuation = store.search(SearchQuery("?!… -- ,.;", limit=None))
    assert punctuation.ids == newest
    assert punctuation.notes and "every case is listed" in punctuation.notes[0]
    assert {h.score for h in punctuation.hits} == {0}


def test_a_10_kb_query_is_cut_with_a_note(store: CaseStore) -> None:
    store.save_case(case("hcc", 0, diagnosis="Hepatocellular carcinoma"))
    results = store.search(SearchQuery("hepatocellular " * 700))  # 10.5 KB
    assert results.ids == ["hcc"]
    assert any(str(MAX_QUERY_CHARS) in note for note in results.notes)
    one_word = store.search(SearchQuery("x" * 10_000))
    assert one_word.notes  # nothing searchable in it: said so, no error


def test_key_image_captions_teaching_points_and_differential_are_searched(store: CaseStore) -> None:
    from casefiles.model import Asset, AssetKind

    image = Asset(id="a1", kind=AssetKind.IMAGE, label="Photo", blob="0" * 64)
    store.save_case(
        case(
            "c",
            0,
            assets=(image,),
            key_images=(KeyImage(asset_id="a1", caption="Double duct sign"),),
            teaching_points=("Courvoisier gallbladder",),
            differential=("Cholangiocarcinoma",),
        )
    )
    assert ids(store, "double duct") == ["c"]
    assert ids(store, "courvoisier") == ["c"]
    assert ids(store, "cholangiocarcinoma") == ["c"]


def test_a_person_never_finds_a_case_they_may_not_see(store: CaseStore) -> None:
    store.save_case(case("dept", 0, diagnosis="Meningioma"))
    store.save_case(case("mine", 1, diagnosis="Meningioma", sharing=Sharing("ann", Visibility.PRIVATE)))
    store.save_case(
        case("neuro", 2, diagnosis="Meningioma", sharing=Sharing("bob", Visibility.GROUP, frozenset({"neuro"})))
    )
    store.save_case(case("bobs", 3, diagnosis="Meningioma", sharing=Sharing("bob", Visibility.PRIVATE)))
    for text in ("meningioma", ""):
        assert set(ids(store, text, viewer=Viewer("ann"))) == {"dept", "mine"}
        assert set(ids(store, text, viewer=Viewer("cat", frozenset({"neuro"})))) == {"dept", "neuro"}
        assert set(ids(store, text, viewer=Viewer("bob"))) == {"dept", "neuro", "bobs"}
        assert set(ids(store, text, viewer=Viewer("admin", sees_all=True))) == {"dept", "mine", "neuro", "bobs"}
    hidden = store.search(SearchQuery("meningioma", viewer=Viewer("ann")))
    assert hidden.total == 2 and sum(f.count for f in hidden.facets["author"]) <= 2
    assert sum(f.count for f in store.search(SearchQuery("", viewer=Viewer("ann"))).facets["difficulty"]) == 0


@pytest.fixture
def library(store: CaseStore) -> tuple[CaseStore, list]:
    cases = list(generated_cases(300, seed=5))
    for c in cases:
        store.save_case(c)
    return store, cases


def test_each_filter_finds_exactly_its_cases(library: tuple[CaseStore, list]) -> None:
    store, cases = library
    expect = {
        "modality": ("MR", lambda c: c.modality == "MR"),
        "body_region": ("liver", lambda c: c.body_part == "Liver"),
        "category": ("Pneumothorax", lambda c: c.category == "Pneumothorax"),
        "difficulty": ("advanced", lambda c: c.difficulty is Difficulty.ADVANCED),
        "author": ("dr chen", lambda c: c.author == "Dr Chen"),
    }
    for name, (value, wanted) in expect.items():
        found = store.search(SearchQuery(limit=None, **{name: value}))
        assert set(found.ids) == {c.id for c in cases if wanted(c)}, name
        assert found.total == len(found.ids)
    day = cases[100].created.date()
    found = store.search(SearchQuery(created_from=day, created_to=day + dt.timedelta(days=1), limit=None))
    assert set(found.ids) == {c.id for c in cases if day <= c.created.date() <= day + dt.timedelta(days=1)}
    quiz = frozenset(c.id for c in cases[::7])
    assert set(ids(store, "", has_quiz=quiz)) == quiz
    assert set(ids(store, "carcinoma", has_quiz=quiz)) <= quiz
    mixed = store.search(SearchQuery("carcinoma", modality="CT", difficulty="intermediate", limit=None))
    assert mixed.hits and all(h.summary.modality == "CT" and h.summary.difficulty == "intermediate" for h in mixed.hits)


def test_the_conference_filter_and_an_unknown_conference(library: tuple[CaseStore, list]) -> None:
    store, cases = library
    members = tuple(c.id for c in cases[:12])
    conference = Conference(id="conf", title="Tumour board", items=tuple(CasePlan(case_id=i) for i in members))
    store.save_conference(conference)
    assert set(ids(store, "", conference_id=conference.id)) == set(members)
    with pytest.raises(NotFoundError):
        store.search(SearchQuery("", conference_id="no-such-conference"))


def test_facets_count_what_choosing_a_value_would_find(library: tuple[CaseStore, list]) -> None:
    store, _ = library
    results = store.search(SearchQuery("carcinoma", modality="CT"))
    for name in ("body_region", "category", "difficulty", "author"):
        for facet in results.facets[name]:
            narrowed = store.search(SearchQuery("carcinoma", modality="CT", **{name: facet.value}))
            assert narrowed.total == facet.count, (name, facet)
    # a facet ignores its own filter: the modality picker still offers the other modalities
    values = {f.value for f in results.facets["modality"]}
    assert "CT" in values and len(values) > 1
    for facet in results.facets["modality"]:
        assert store.search(SearchQuery("carcinoma", modality=facet.value)).total == facet.count


def test_pages_follow_the_ranking(library: tuple[CaseStore, list]) -> None:
    store, _ = library
    everything = store.search(SearchQuery("liver lesion", limit=None))
    pages = [store.search(SearchQuery("liver lesion", offset=o, limit=7)) for o in range(0, everything.total + 7, 7)]
    assert [i for p in pages for i in p.ids] == everything.ids
    assert all(p.total == everything.total for p in pages)
    scores = [h.score for h in everything.hits]
    assert scores == sorted(scores, reverse=True)


def test_bad_filters_are_refused_with_a_message() -> None:
    with pytest.raises(ValidationError, match="Difficulty is one of"):
        SearchQuery(difficulty="hard")
    with pytest.raises(ValidationError, match="swap them"):
        SearchQuery(created_from=dt.date(2026, 2, 1), created_to=dt.date(2026, 1, 1))
    with pytest.raises(ValidationError, match="negative"):
        SearchQuery(offset=-1)


def test_accents_and_other_scripts_are_words_like_any_other(store: CaseStore) -> None:
    store.save_case(case("m", 0, title="Ménétrier disease", findings="Giant rugal folds. 胃の皺襞肥厚"))
    store.save_case(case("o", 1, title="Other"))
    assert ids(store, "Ménétrier") == ["m"]
    assert ids(store, "menetrier ") == ["m"]  # two letters off: a typo of 9 letters may be
    assert ids(store, "胃の皺襞肥厚") == ["m"]
    assert ids(store, "'; DROP TABLE cases; --") == []
    assert ids(store, "") == ["o", "m"]
