"""Cases are found by study key (issue #17) inside the store, on every backend."""

from __future__ import annotations

from dataclasses import replace

from casefiles.store import CaseQuery, CaseStore
from casefiles.visibility import Sharing, Viewer, Visibility
from tests.store.conftest import make_case

KEY_A, KEY_B, KEY_C = "a" * 64, "b" * 64, "c" * 64


def test_cases_are_found_by_study_key(store: CaseStore) -> None:
    alices = Sharing("alice", Visibility.PRIVATE)
    store.save_case(replace(make_case("c1", series=1, images=2), study_keys=(KEY_A, KEY_B), sharing=alices))
    store.save_case(replace(make_case("c2", series=1, images=2, created_minutes=1), study_keys=(KEY_B,)))
    store.save_case(make_case("c3", series=1, images=2, created_minutes=2))  # imported before keys existed
    assert [s.id for s in store.summaries(CaseQuery(study_key=KEY_A))] == ["c1"]
    assert [s.id for s in store.summaries(CaseQuery(study_key=KEY_B))] == ["c2", "c1"]
    assert store.summaries(CaseQuery(study_key=KEY_C)) == []
    assert store.count_cases(CaseQuery(study_key=KEY_B)) == 2
    assert store.get_case("c1").study_keys == (KEY_A, KEY_B)
    assert store.get_case("c3").study_keys == ()
    # the key filter combines with the others: a case the viewer may not see is not found
    assert store.summaries(CaseQuery(study_key=KEY_A, viewer=Viewer("someone-else"))) == []
    assert [s.id for s in store.summaries(CaseQuery(study_key=KEY_A, viewer=Viewer("alice")))] == ["c1"]


def test_a_changed_key_set_is_what_is_found(store: CaseStore) -> None:
    saved = store.save_case(replace(make_case("c1", series=1, images=2), study_keys=(KEY_A,)))
    store.save_case(saved.edited(study_keys=(KEY_C,)))
    assert store.summaries(CaseQuery(study_key=KEY_A)) == []
    assert [s.id for s in store.summaries(CaseQuery(study_key=KEY_C))] == ["c1"]
