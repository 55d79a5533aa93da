"""One contract, run unchanged against every store backend (TinyDB and PostgreSQL)."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from casefiles.errors import ConflictError, NotFoundError, StaleEditError, ValidationError
from casefiles.model import CasePlan, Conference, Review
from casefiles.store import CaseQuery, CaseStore
from casefiles.visibility import LEGACY, Sharing, Viewer, Visibility
from tests.store.conftest import blob_of, make_case, make_series


def test_a_case_round_trips_with_every_image_record(store: CaseStore) -> None:
    case = make_case("c1")
    saved = store.save_case(case)
    assert saved.version == 1
    loaded = store.get_case("c1")
    assert loaded == replace(case, version=1)
    assert [len(a.instances) for a in loaded.assets] == [150, 150, 150]
    assert loaded.assets[1].instances[7].position == pytest.approx(8.75)


def test_a_save_made_on_an_older_version_is_refused(store: CaseStore) -> None:
    first = store.save_case(make_case("c1"))
    store.save_case(first.edited(diagnosis="Hamartoma"))
    with pytest.raises(ConflictError, match="changed since"):
        store.save_case(first.edited(diagnosis="Granuloma"))
    assert store.get_case("c1").diagnosis == "Hamartoma"
    assert store.get_case("c1").version == 2


def test_a_new_case_with_a_taken_id_is_refused(store: CaseStore) -> None:
    store.save_case(make_case("c1", title="First"))
    with pytest.raises(ConflictError, match="already exists"):
        store.save_case(make_case("c1", title="Second"))
    assert store.get_case("c1").title == "First"


def test_update_case_applies_a_change_atomically(store: CaseStore) -> None:
    store.save_case(make_case("c1", series=1, images=5))
    updated = store.update_case("c1", lambda c: c.edited(findings="No change."))
    assert updated.version == 2
    assert store.get_case("c1").findings == "No change."


def test_a_refused_change_saves_nothing(store: CaseStore) -> None:
    store.save_case(make_case("c1", series=1, images=5))

    def refuse(case):
        raise StaleEditError("changed since you opened it")

    with pytest.raises(StaleEditError):
        store.update_case("c1", refuse)
    with pytest.raises(ValidationError):
        store.update_case("c1", lambda c: replace(c, id="other"))
    assert store.get_case("c1").version == 1
    assert not store.exists("other")


def test_concurrent_updates_lose_no_edit(store: CaseStore) -> None:
    store.save_case(make_case("c1", series=1, images=5, tags=()))

    def edit(worker: int) -> None:
        for i in range(30):
            store.update_case("c1", lambda c, t=f"w{worker}-{i}": c.edited(tags=(*c.tags, t)))

    threads = [threading.Thread(target=edit, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    case = store.get_case("c1")
    assert len(case.tags) == 4 * 30
    assert case.version == 1 + 4 * 30


def test_missing_cases_are_named(store: CaseStore) -> None:
    with pytest.raises(NotFoundError, match="no case"):
        store.get_case("missing")
    with pytest.raises(NotFoundError):
        store.update_case("missing", lambda c: c)
    with pytest.raises(NotFoundError):
        store.delete_case("missing")
    assert not store.exists("missing")


def test_delete_removes_the_case_and_its_references(store: CaseStore) -> None:
    store.save_case(make_case("c1", series=1, images=3))
    store.delete_case("c1")
    assert not store.exists("c1")
    assert store.summaries() == []
    assert store.cases_using_blob(blob_of("c1/0/1")) == set()


def test_summaries_are_newest_first_filtered_and_paged(store: CaseStore) -> None:
    for n in range(12):
        store.save_case(
            make_case(
                f"c{n:02d}",
                title=f"Case {n}",
                series=1,
                images=2,
                created_minutes=n,
                modality="MR" if n % 3 == 0 else "CT",
                tags=("liver",) if n % 2 else ("chest",),
            )
        )
    ids = [s.id for s in store.summaries()]
    assert ids == [f"c{n:02d}" for n in reversed(range(12))]
    assert [s.id for s in store.summaries(CaseQuery(modality="mr"))] == ["c09", "c06", "c03", "c00"]
    assert [s.id for s in store.summaries(CaseQuery(tag="liver", limit=2, offset=1))] == ["c09", "c07"]
    assert store.count_cases(CaseQuery(tag="liver")) == 6
    assert [s.id for s in store.summaries(CaseQuery(text="CASE 10"))] == ["c10"]
    assert [s.id for s in store.summaries(CaseQuery(ids=("c03", "c05", "zz")))] == ["c05", "c03"]
    assert store.facets() == (["CT", "MR"], ["chest", "liver"])


def test_a_list_for_someone_holds_exactly_what_they_may_see(store: CaseStore) -> None:
    """The store filters by visibility (SQL on PostgreSQL) with the rule the permission check uses."""
    sharings = {
        "legacy": LEGACY,
        "mine": Sharing("pia", Visibility.PRIVATE),
        "theirs": Sharing("olivia", Visibility.PRIVATE),
        "unowned": Sharing("", Visibility.PRIVATE),
        "gi": Sharing("olivia", Visibility.GROUP, frozenset({"gi"})),
        "neuro": Sharing("olivia", Visibility.GROUP, frozenset({"neuro", "msk"})),
        "everyone": Sharing("olivia", Visibility.DEPARTMENT),
    }
    for n, (name, sharing) in enumerate(sharings.items()):
        store.save_case(replace(make_case(name, series=1, images=1, created_minutes=n), sharing=sharing))
    viewers = [
        Viewer("pia", frozenset({"gi"})),
        Viewer("leo"),
        Viewer("", frozenset({"msk"})),
        Viewer("ada", sees_all=True),
    ]
    for viewer in viewers:
        expected = {name for name, sharing in sharings.items() if viewer.sees(sharing)}
        assert {s.id for s in store.summaries(CaseQuery(viewer=viewer))} == expected, viewer
        assert store.count_cases(CaseQuery(viewer=viewer)) == len(expected)
    assert {s.id for s in store.summaries(CaseQuery(viewer=viewers[0]))} == {"legacy", "mine", "gi", "everyone"}
    assert store.summaries(CaseQuery(ids=("gi",)))[0].sharing == sharings["gi"]


def test_words_are_searched_in_the_teaching_text(store: CaseStore) -> None:
    store.save_case(make_case("c1", series=1, images=1, teaching_points=("Look for the halo sign",)))
    store.save_case(make_case("c2", series=1, images=1, created_minutes=1))
    assert [s.id for s in store.summaries(CaseQuery(text="HALO sign"))] == ["c1"]
    assert [s.id for s in store.summaries(CaseQuery(text="spiculated adenocarcinoma"))] == ["c2", "c1"]


def test_a_summary_carries_what_lists_and_the_gate_need(store: CaseStore) -> None:
    case = make_case("c1", series=0)
    case = replace(case, assets=(make_series("c1", 0, 20, held=3), make_series("c1", 1, 10)), key_images=())
    store.save_case(case)
    (summary,) = store.summaries(CaseQuery(study_uid="2.25.91"))
    assert (summary.title, summary.modality, summary.version) == ("Right upper lobe nodule", "CT", 1)
    assert (summary.asset_count, summary.image_count, summary.held) == (2, 30, 3)
    assert summary.thumbnail == blob_of("c1/0/thumb")
    assert summary.study_uids == ("2.25.90", "2.25.91")
    assert summary.lowest_pixel_rules == 3
    assert store.summaries(CaseQuery(study_uid="2.25.99")) == []


def test_cases_using_a_blob(store: CaseStore) -> None:
    store.save_case(make_case("c1", series=2, images=4))
    other = make_case("c2", series=1, images=4)
    shared = make_case("c1", series=1, images=4).assets[0]
    store.save_case(replace(other, assets=(*other.assets, replace(shared, id="copied")), key_images=()))
    assert store.cases_using_blob(blob_of("c1/0/2")) == {"c1", "c2"}
    assert store.cases_using_blob(blob_of("c1/1/2")) == {"c1"}
    assert store.cases_using_blob(blob_of("c2/0/thumb")) == {"c2"}
    assert store.cases_using_blob(blob_of("nowhere")) == set()

    def redact(case):  # replacing an image (a redacted copy) moves the reference
        asset = case.assets[1]
        first = replace(asset.instances[2], blob=blob_of("redacted"), review=Review.CONFIRMED)
        changed = replace(asset, instances=(*asset.instances[:2], first, *asset.instances[3:]))
        return case.edited(assets=(case.assets[0], changed))

    store.update_case("c1", lambda c: c.edited(findings="Unchanged images, new text."))  # series reused as stored
    assert store.cases_using_blob(blob_of("c1/0/2")) == {"c1", "c2"}
    assert store.get_case("c1").assets == make_case("c1", series=2, images=4).assets
    store.update_case("c1", redact)
    assert store.cases_using_blob(blob_of("c1/1/2")) == set()
    assert store.cases_using_blob(blob_of("redacted")) == {"c1"}
    asked = {blob_of(f"c1/{s}/{i}") for s in (0, 1) for i in range(4)} | {blob_of("c2/0/thumb"), blob_of("nowhere")}
    assert store.blobs_in_use(asked) == asked - {blob_of("c1/1/2"), blob_of("nowhere")}
    store.delete_case("c2")
    assert store.blobs_in_use(asked) == asked - {blob_of("c1/1/2"), blob_of("nowhere"), blob_of("c2/0/thumb")}


def test_conferences_keep_versions_too(store: CaseStore) -> None:
    saved = store.save_conference(Conference(id="k1", title="GI tumor board", items=(CasePlan("c2"), CasePlan("c1"))))
    assert saved.version == 1
    assert store.get_conference("k1").case_ids == ("c2", "c1")
    store.update_conference("k1", lambda k: k.edited(title="GI board"))
    with pytest.raises(ConflictError):
        store.save_conference(saved.edited(title="Stale"))
    assert store.get_conference("k1").title == "GI board"
    store.save_conference(Conference(id="k2", title="Grand rounds"))
    assert {k.id for k in store.list_conferences()} == {"k1", "k2"}
    store.delete_conference("k1")
    with pytest.raises(NotFoundError):
        store.get_conference("k1")


def test_settings(store: CaseStore) -> None:
    assert store.get_meta("seeded") is None
    store.set_meta("seeded", "yes")
    store.set_meta("seeded", "twice")
    assert store.get_meta("seeded") == "twice"
    store.set_meta("pacs_nodes", "[]")
    assert store.meta_items() == {"seeded": "twice", "pacs_nodes": "[]"}


# -- records (users, groups, share links…) and the audit log --------------------------------------
def test_records_keep_versions_like_cases(store: CaseStore) -> None:
    from casefiles.store import Record

    assert store.get_record("user", "ana") is None
    saved = store.save_record(Record("user", "ana", {"role": "presenter", "groups": ["gi"]}))
    assert saved.version == 1
    assert store.get_record("user", "ana") == saved
    store.update_record("user", "ana", lambda r: r.with_data(role="admin"))
    with pytest.raises(ConflictError):
        store.save_record(saved.with_data(role="learner"))
    with pytest.raises(ConflictError, match="already exists"):
        store.save_record(Record("user", "ana", {}))
    store.save_record(Record("user", "ben", {"role": "learner"}))
    store.save_record(Record("group", "gi", {"members": ["ana"]}))
    assert [r.key for r in store.list_records("user")] == ["ana", "ben"]
    assert store.get_record("user", "ana").data["role"] == "admin"
    assert store.record_kinds() == ["group", "user"]
    store.delete_record("user", "ben")
    with pytest.raises(NotFoundError):
        store.delete_record("user", "ben")
    with pytest.raises(ValidationError):
        store.get_record("Not A Kind", "x")


def test_concurrent_record_updates_lose_nothing(store: CaseStore) -> None:
    from casefiles.store import Record

    store.save_record(Record("share", "t1", {"opens": 0}))

    def opened() -> None:
        for _ in range(25):
            store.update_record("share", "t1", lambda r: r.with_data(opens=r.data["opens"] + 1))

    threads = [threading.Thread(target=opened) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.get_record("share", "t1").data["opens"] == 100


def test_the_audit_log_is_append_only_and_chained(store: CaseStore) -> None:
    from casefiles.store.records import GENESIS, first_broken

    assert store.audit_entries() == []
    first = store.append_audit({"action": "case.view", "actor": "ana", "case": "c1"})
    second = store.append_audit({"action": "case.export", "actor": "ana", "case": "c1", "format": "pptx"})
    assert (first.seq, first.prev, second.prev) == (1, GENESIS, first.hash)

    def append(worker: int) -> None:
        for i in range(10):
            store.append_audit({"action": "case.view", "actor": f"w{worker}", "n": i})

    threads = [threading.Thread(target=append, args=(w,)) for w in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    entries = store.audit_entries()
    assert [e.seq for e in entries] == list(range(1, 33))
    assert first_broken(entries) is None
    assert [e.seq for e in store.audit_entries(after_seq=30)] == [31, 32]
    assert len(store.audit_entries(limit=5)) == 5
    tampered = [*entries[:3], replace(entries[3], data={**entries[3].data, "actor": "mallory"}), *entries[4:]]
    assert first_broken(tampered) == 3
    assert first_broken([*entries[:3], *entries[4:]]) == 3  # a removed entry breaks the chain too
