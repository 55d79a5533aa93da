"""Share and upload links as use cases, on a real library: who may share, what a visitor sees, what an upload does.

Only someone allowed to share makes or lists links; every make, open and refusal is audited without
the token or patient data; a case the release gate holds back shows no image; an expired or
withdrawn link is refused; an upload over the link's limit imports nothing; an upload is
de-identified on arrival, lands in the conference (or the case) and its owner is told in the app.
"""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import generate_uid

from casefiles.accounts.permissions import Actor, PermissionDenied, Role
from casefiles.accounts.shares import LinkKind, LinkRefused, Links
from casefiles.acting.links import ShareLinks, UploadRefused, link_path, link_status
from casefiles.config import Settings
from casefiles.department import Department, open_department
from casefiles.ingest import Upload
from casefiles.model import Case
from casefiles.services import Services
from casefiles.visibility import Sharing, Visibility
from tests.accounts.test_local_accounts import Clock
from tests.dicom_factory import FAKE_PHI, ct_slice, write_ct_study, zip_bytes

ANA = Actor("ana", Role.PRESENTER, frozenset({"gi-board"}))
BEN = Actor("ben", Role.PRESENTER, frozenset({"gi-board"}))
LEA = Actor("lea", Role.LEARNER, frozenset({"gi-board"}))
ADMIN = Actor("root", Role.ADMIN)
GROUP = Sharing("ana", Visibility.GROUP, frozenset({"gi-board"}))


@dataclasses.dataclass
class World:
    root: Path
    services: Services
    department: Department
    links: ShareLinks
    clock: Clock
    case: Case


def _slices(study: str, count: int = 3) -> list[bytes]:
    series = generate_uid()
    out = []
    for i in range(count):
        buffer = io.BytesIO()
        ct_slice(study, series, i, size=32).save_as(buffer, enforce_file_format=True)
        out.append(buffer.getvalue())
    return out


def _owned(services: Services, case_id: str, sharing: Sharing = GROUP) -> Case:
    return services.store.save_case(dataclasses.replace(services.store.get_case(case_id), sharing=sharing))


@pytest.fixture
def world(tmp_path: Path) -> World:
    settings = Settings(data_dir=tmp_path / "data", seed_samples=False)
    services = Services(settings)
    clock = Clock()
    department = open_department(services.store, settings, env={})
    department = dataclasses.replace(department, links=Links(services.store, clock))
    department.accounts.create_user("ana", Role.PRESENTER, display_name="Ana Silva", groups=["gi-board"])
    write_ct_study(tmp_path / "study", slices=3)
    (case_id,) = services.import_dicom([tmp_path / "study"], title="Liver lesion teaching case").case_ids
    case = _owned(services, case_id)
    return World(tmp_path, services, department, ShareLinks(services, department, clock=clock), clock, case)


def _files_text(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in root.rglob("*") if p.is_file())


def test_only_who_may_share_makes_or_lists_links(world: World) -> None:
    for someone in (LEA, BEN, None):  # a learner, a presenter who does not own it, a visitor
        with pytest.raises(PermissionDenied):
            world.links.create_link(someone, "case", world.case.id)
        with pytest.raises(PermissionDenied):
            world.links.links_for(someone, "case", world.case.id)
    token, link = world.links.create_link(ANA, "case", world.case.id, days=15, where="10.0.0.5")
    assert link_path(LinkKind.VIEW, token) == f"/?share={token}"
    assert [k.key for k in world.links.links_for(ADMIN, "case", world.case.id)] == [link.key]
    with pytest.raises(PermissionDenied):  # a colleague of the group may not withdraw ana's link
        world.links.revoke_link(BEN, link.key)
    (created,) = [e.data for e in world.department.audit.events() if e.data["action"] == "share.create"]
    assert (created["actor"], created["target_id"], created["where"], created["kind"]) == (
        "ana",
        world.case.id,
        "10.0.0.5",
        "view",
    )
    assert token not in str(created) and "Liver" not in str(created)


def test_a_visitor_sees_the_case_that_passed_the_gate_and_every_open_is_audited(world: World) -> None:
    token, _ = world.links.create_link(ANA, "case", world.case.id, password="tumor board thursday")
    assert world.links.needs_password(token)
    with pytest.raises(LinkRefused, match="password"):
        world.links.open_shared(token, "wrong wrong wrong", where="192.0.2.7")
    view = world.links.open_shared(token, "tumor board thursday", where="192.0.2.7")
    assert view.ready and view.title == "Liver lesion teaching case"
    assert [c.id for c in view.cases] == [world.case.id] and not view.may_download
    with pytest.raises(PermissionDenied, match="does not allow downloading"):
        world.links.shared_deck(view, world.root)
    actions = [(e.data["action"], e.data.get("reason")) for e in world.department.audit.events()]
    assert actions[-2:] == [("share.refused", "LinkRefused"), ("share.open", None)]
    assert token not in _files_text(world.root / "data" / "library").decode("latin-1")

    # The gate holds it back once something in it cannot be vouched for: no case, a clear message.
    world.services.store.save_case(dataclasses.replace(world.services.get_case(world.case.id), text_rules=0))
    held = world.links.still_open(view)
    assert not held.ready and held.cases == () and "not ready to share" in held.message


def test_a_link_that_allows_download_gives_the_deck_through_the_gate(world: World) -> None:
    token, _ = world.links.create_link(ANA, "case", world.case.id, download=True)
    view = world.links.open_shared(token)
    deck = world.links.shared_deck(view, world.root, "html")
    assert deck.exists() and deck.suffix == ".html"
    assert world.department.audit.events()[-1].data["action"] == "case.export"


def test_expired_and_withdrawn_links_are_refused_and_audited(world: World) -> None:
    token, link = world.links.create_link(ANA, "case", world.case.id, days=7)
    view = world.links.open_shared(token)
    world.clock.advance(days=8)
    with pytest.raises(LinkRefused, match="expired"):
        world.links.open_shared(token)
    with pytest.raises(LinkRefused, match="expired"):
        world.links.still_open(view)  # an open page refuses on its next rerun too
    other, other_link = world.links.create_link(ANA, "case", world.case.id, days=30)
    opened = world.links.open_shared(other)
    world.links.revoke_link(ANA, other_link.key, where="10.0.0.5")
    assert link_status(other_link) == "active"
    assert {link_status(k, world.clock.now) for k in world.links.links_for(ANA, "case", world.case.id)} == {
        "expired",
        "revoked",
    }
    with pytest.raises(LinkRefused, match="withdrawn"):
        world.links.open_shared(other)
    with pytest.raises(LinkRefused, match="withdrawn"):
        world.links.still_open(opened)
    refused = [e.data for e in world.department.audit.events() if e.data["action"] == "share.refused"]
    assert [r["link"] for r in refused] == [link.key[:16], other_link.key[:16]]
    log = _files_text(world.root / "data" / "library").decode("latin-1")
    assert token not in log and other not in log


def test_an_upload_over_the_limit_imports_nothing(world: World) -> None:
    conference = world.services.create_conference("GI tumor board")
    world.services.store.save_conference(dataclasses.replace(conference, sharing=GROUP))
    token, _ = world.links.create_link(
        ANA, "conference", conference.id, kind=LinkKind.UPLOAD, days=7, max_upload_bytes=5_000
    )
    files = [Upload(f"{n}.dcm", data) for n, data in enumerate(_slices(generate_uid(), 3))]
    assert sum(len(f.data) for f in files) > 5_000
    before = world.services.count_cases()
    with pytest.raises(UploadRefused, match="more than this link takes"):
        world.links.receive_upload(token, files)
    with pytest.raises(LinkRefused, match="upload link"):
        world.links.open_shared(token)  # an upload link does not show anything
    assert world.services.count_cases() == before
    assert not any(world.services.settings.quarantine_dir.iterdir())
    assert world.department.notifications.of("ana") == []
    refused = [e.data for e in world.department.audit.events() if e.data["action"] == "share.refused"]
    assert [(r["reason"], r.get("bytes"), r.get("target_id")) for r in refused] == [
        ("UploadRefused", sum(len(f.data) for f in files), conference.id),
        ("LinkRefused", None, ""),
    ]


def test_an_upload_to_a_conference_arrives_de_identified_and_the_owner_is_told(world: World) -> None:
    conference = world.services.create_conference("GI tumor board")
    world.services.store.save_conference(dataclasses.replace(conference, sharing=GROUP))
    token, _ = world.links.create_link(
        ANA, "conference", conference.id, kind=LinkKind.UPLOAD, days=7, max_upload_bytes=50_000_000
    )
    target = world.links.open_upload(token)
    assert target.name == "GI tumor board" and target.max_bytes == 50_000_000
    study = _slices(generate_uid(), 3)
    files = [Upload("QUIMBY^EUSTACE.zip", zip_bytes({f"DOE/{n}.dcm": d for n, d in enumerate(study)}))]
    outcome = world.links.receive_upload(token, files, where="198.51.100.4")
    assert outcome.images == 3 and len(outcome.new_case_ids) == 1
    (new_id,) = outcome.new_case_ids
    assert world.services.get_conference(conference.id).case_ids == (new_id,)
    new_case = world.services.get_case(new_id)
    assert new_case.sharing == GROUP  # the link's owner's, seen like the conference it came for
    stored = _files_text(world.root / "data").decode("latin-1")
    assert [phi for phi in FAKE_PHI if phi in stored] == []
    assert not any(world.services.settings.quarantine_dir.iterdir())
    (told,) = world.department.notifications.of("ana")
    assert conference.id in told.text and "QUIMBY" not in told.text
    received = world.department.audit.events()[-1].data
    assert (received["action"], received["count"], received["actor"], received["where"]) == (
        "upload.received",
        3,
        "",
        "198.51.100.4",
    )
    assert received["bytes"] == outcome.bytes and token not in str(received)


def test_an_upload_to_a_case_joins_its_study_and_keeps_another_study_apart(world: World) -> None:
    token, _ = world.links.create_link(ANA, "case", world.case.id, kind=LinkKind.UPLOAD, days=7, max_upload_bytes=10**8)
    series_before = len(world.services.get_case(world.case.id).assets)
    # A new series of the case's own (original) study joins the case; a study of its own stays a case.
    study_uid = pydicom.dcmread(next((world.root / "study").iterdir()), stop_before_pixels=True).StudyInstanceUID
    outcome = world.links.receive_upload(token, [Upload("a.dcm", d) for d in _slices(study_uid, 2)])
    assert outcome.joined_target and outcome.new_case_ids == () and outcome.images == 2
    assert len(world.services.get_case(world.case.id).assets) == series_before + 1
    other = world.links.receive_upload(token, [Upload("b.dcm", d) for d in _slices(generate_uid(), 2)])
    assert not other.joined_target and len(other.new_case_ids) == 1
    assert world.services.get_case(other.new_case_ids[0]).sharing == GROUP
    assert len(world.department.notifications.of("ana")) == 2


def test_a_conference_link_shows_its_cases_only_while_all_of_them_may_leave(world: World) -> None:
    conference = world.services.create_conference("GI tumor board", case_ids=[world.case.id])
    world.services.store.save_conference(dataclasses.replace(conference, sharing=GROUP))
    with pytest.raises(PermissionDenied):
        world.links.create_link(LEA, "conference", conference.id)
    token, _ = world.links.create_link(ANA, "conference", conference.id, days=0)
    view = world.links.open_shared(token)
    assert view.ready and view.title == "GI tumor board" and [c.id for c in view.cases] == [world.case.id]
    world.services.store.save_case(dataclasses.replace(world.services.get_case(world.case.id), text_rules=0))
    held = world.links.still_open(view)
    assert not held.ready and held.cases == () and held.title == "" and "conference" in held.message
    world.services.delete_conference(conference.id)
    gone = world.links.still_open(view)
    assert not gone.ready and "no longer" in gone.message
