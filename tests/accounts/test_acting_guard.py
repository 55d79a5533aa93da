"""Every use case as every role and as an anonymous visitor, through the guard the pages use (issue #16).

``test_permissions`` writes out the allow/deny matrix of the pure decision by hand. Here:

* every public member of ``Services`` is either guarded, handled by a method of the guard, or
  not offered at all (a new use case cannot slip through unguarded);
* each use case asks for the action this spec (written out below, not read from the guard) says;
* calling each use case, as each of nine people, on a case and a conference owned by someone
  else and shared with a group, is refused exactly when the decision says so — and a refused
  call never reaches the library (the spy below counts what was reached);
* end to end on a real library: lists hide what may not be seen, a refused edit changes nothing,
  what someone imports is theirs, a server folder is for coordinators, views and pulls are audited.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from casefiles.accounts.permissions import Action, Actor, PermissionDenied, Role, allowed
from casefiles.acting.guard import METHODS, NOT_OFFERED, PACS_RULES, RULES, ActingServices
from casefiles.audit import Audit, AuditFilter
from casefiles.config import Settings
from casefiles.model import Case, Conference
from casefiles.services import Services
from casefiles.store import CaseQuery
from casefiles.visibility import Sharing, Visibility
from tests.dicom_factory import ct_slice

V, E, X, S, D = Action.VIEW, Action.EDIT, Action.EXPORT, Action.SHARE, Action.DELETE
C, PULL, NODES, RECV = Action.CREATE, Action.PULL_FROM_PACS, Action.MANAGE_PACS_NODES, Action.RUN_RECEIVER
ANY = "signed in"

#: The spec: what each use case needs, and of what ("case", "conference", "either", "" = the library).
SPEC: dict[str, tuple[Action | str, str]] = {
    "get_case": (V, "case"),
    "case_deletion": (D, "case"),
    "delete_case": (D, "case"),
    **{
        name: (E, "case")
        for name in [
            "update_case",
            "set_key_images",
            "toggle_key_image",
            "annotate_key_image",
            "add_pdf_pages",
            "move_asset",
            "edit_video",
            "choose_slides",
            "set_asset_caption",
            "confirm_media_reviewed",
            "confirm_reviewed",
            "set_review_boxes",
            "black_out",
            "blank_region",
            "import_media",
        ]
    },
    **{
        name: (V, "opened case")
        for name in [
            "video_info",
            "slide_titles",
            "media_for_review",
            "render_key_image",
            "annotation_canvas",
            "key_image_preview",
            "key_image_spacing",
            "case_thumbnail",
            "images_for_review",
            "summary_thumbnail",
        ]
    },
    **{
        name: (ANY, "")
        for name in [
            "dataset",
            "series_showable",
            "asset_window",
            "render_frame",
            "render_frame_png",
            "stack_payload",
            "thumbnail",
            "previews",
            "review_image_png",
            "review_overlay_png",
            "review_area_usage",
            "library_facets",
            "running_exports",
            "media",
            "library_blockers",
            "pacs_nodes",
            "pacs_node",
        ]
    },
    "save_pacs_node": (NODES, ""),
    "get_conference": (V, "conference"),
    "update_conference": (E, "conference"),
    "remove_case": (E, "conference"),
    "move_case": (E, "conference"),
    "set_plan": (E, "conference"),
    "delete_conference": (D, "conference"),
    "release_blockers": (V, "either"),
    "bundle": (X, "either"),
}
PACS_SPEC: dict[str, Action | str] = {
    "nodes": ANY,
    "node": ANY,
    "echo": PULL,
    "find": PULL,
    "find_accessions": PULL,
    "series": PULL,
    "save_node": NODES,
    "delete_node": NODES,
    "receiver": RECV,
}

OWNER = "olivia"
SHARED = Sharing(OWNER, Visibility.GROUP, frozenset({"gi"}))
PEOPLE: dict[str, Actor | None] = {
    "anonymous": None,
    "admin": Actor("ada", Role.ADMIN),
    "coordinator in gi": Actor("cora", Role.COORDINATOR, frozenset({"gi"})),
    "coordinator elsewhere": Actor("carl", Role.COORDINATOR, frozenset({"neuro"})),
    "owner": Actor(OWNER, Role.PRESENTER, frozenset({"gi"})),
    "presenter in gi": Actor("pia", Role.PRESENTER, frozenset({"gi"})),
    "presenter elsewhere": Actor("paul", Role.PRESENTER),
    "learner in gi": Actor("lena", Role.LEARNER, frozenset({"gi"})),
    "learner elsewhere": Actor("leo", Role.LEARNER),
}


def _tiny_study(folder: Path, slices: int = 2) -> Path:
    from pydicom.uid import generate_uid

    folder.mkdir(parents=True)
    study, series = generate_uid(), generate_uid()
    for i in range(slices):
        ct_slice(study, series, i, size=32).save_as(folder / f"{i}.dcm", enforce_file_format=True)
    return folder


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> tuple[Services, Case, Conference]:
    root = tmp_path_factory.mktemp("guard")
    services = Services(Settings(data_dir=root / "data", seed_samples=False))
    (case_id,) = services.import_dicom([_tiny_study(root / "in")], title="Guarded case").case_ids
    case = services.set_case_sharing(case_id, SHARED)
    conference = services.create_conference("Guarded board", case_ids=[case_id])
    conference = services.set_conference_sharing(conference.id, SHARED)
    return services, case, conference


class Spy:
    """The real library for finding what a call acts on; every use case itself is only counted."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self.reached: list[str] = []
        self.pacs = SimpleNamespace(**{name: self._counted(f"pacs.{name}") for name in PACS_RULES})

    def _counted(self, name: str) -> Any:
        def use_case(*args: Any, **kwargs: Any) -> Any:
            self.reached.append(name)
            return SimpleNamespace(case_ids=(), conference_id="")

        return use_case

    # what the guard reads to decide, from the real library
    def case_summaries(self, query: CaseQuery | None = None) -> Any:
        return self._services.case_summaries(query)

    @property
    def store(self) -> Any:
        return self._services.store

    def __getattr__(self, name: str) -> Any:
        real = getattr(Services, name)
        counted = self._counted(name)
        # the use case's own signature (without self), so the guard finds its arguments by name
        params = list(inspect.signature(real).parameters.values())[1:]
        counted.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        return counted


def _arguments(name: str, member: Any, case: Case, conference: Conference) -> tuple[list[Any], dict[str, Any]]:
    """Arguments that name the case or conference where the use case takes one; None elsewhere."""
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for parameter in inspect.signature(member).parameters.values():
        if parameter.name == "self":
            continue
        value: Any = None
        if parameter.name == "case_id":
            value = case.id
        elif parameter.name == "conference_id":
            value = conference.id
        elif parameter.name == "target_id":
            value = conference.id if name == "bundle" else case.id
        elif parameter.name in ("case", "summary"):
            value = case
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY:
            if parameter.default is inspect.Parameter.empty:
                kwargs[parameter.name] = value
        elif parameter.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD:
            args.append(value)
    return args, kwargs


def test_every_use_case_of_services_is_guarded_or_not_offered() -> None:
    public = {name for name in dir(Services) if not name.startswith("_")}
    public |= {"store", "blobs", "settings", "pacs"}  # set in __init__
    handled = set(RULES) | METHODS | NOT_OFFERED | {"settings", "pacs"}
    assert public - handled == set(), "a use case pages could call without a permission check"
    assert set(RULES) - public == set(), "a rule for a use case that does not exist"
    assert set(RULES) == set(SPEC), "the spec and the guard list different use cases"
    assert set(PACS_RULES) == set(PACS_SPEC)


@pytest.mark.parametrize("name", sorted(SPEC))
def test_each_use_case_asks_for_the_action_the_spec_names(name: str) -> None:
    action, on = SPEC[name]
    rule = RULES[name]
    assert (rule.action or ANY) == action
    assert bool(rule.target) == bool(on)


@pytest.mark.parametrize("who", list(PEOPLE))
@pytest.mark.parametrize("name", sorted(SPEC))
def test_each_use_case_is_refused_exactly_when_the_decision_says(
    library: tuple[Services, Case, Conference], name: str, who: str
) -> None:
    services, case, conference = library
    actor = PEOPLE[who]
    action, on = SPEC[name]
    spy = Spy(services)
    guard = ActingServices(spy, actor)  # type: ignore[arg-type]
    target = conference.sharing if on == "conference" else case.sharing if on else None
    if action == ANY:
        expected = actor is not None
    else:
        assert isinstance(action, Action)
        expected = allowed(actor, action, target)
    args, kwargs = _arguments(name, getattr(Services, name), case, conference)
    if expected:
        getattr(guard, name)(*args, **kwargs)
        assert name in spy.reached
    else:
        with pytest.raises(PermissionDenied):
            getattr(guard, name)(*args, **kwargs)
        assert name not in spy.reached, "a refused use case was run"


@pytest.mark.parametrize("who", list(PEOPLE))
@pytest.mark.parametrize("name", sorted(PACS_SPEC))
def test_each_pacs_use_case_is_refused_exactly_when_the_decision_says(
    library: tuple[Services, Case, Conference], name: str, who: str
) -> None:
    services, _, _ = library
    actor = PEOPLE[who]
    action = PACS_SPEC[name]
    spy = Spy(services)
    guard = ActingServices(spy, actor)  # type: ignore[arg-type]
    expected = actor is not None if action == ANY else allowed(actor, action)  # type: ignore[arg-type]
    call = getattr(guard.pacs, name)
    if expected:
        call()
        assert f"pacs.{name}" in spy.reached
    else:
        with pytest.raises(PermissionDenied):
            call()
        assert f"pacs.{name}" not in spy.reached


# -- end to end on a real library ----------------------------------------------------------------
@pytest.fixture
def real(tmp_path: Path) -> tuple[Services, Audit, Path]:
    from casefiles.deid.keys import load_or_create_secret

    settings = Settings(data_dir=tmp_path / "data", seed_samples=False)
    services = Services(settings)
    return services, Audit(services.store, load_or_create_secret(settings.secret_path)), tmp_path


def _upload(services: Services, tmp_path: Path, name: str) -> Path:
    """A study staged where the Import page puts uploads (inside the quarantine)."""
    staged = services.settings.quarantine_dir / name
    services.settings.quarantine_dir.mkdir(parents=True, exist_ok=True)
    return _tiny_study(staged)


def test_what_a_presenter_imports_is_theirs_and_private_until_shared(real: tuple[Services, Audit, Path]) -> None:
    services, audit, tmp_path = real
    pia, paul = PEOPLE["presenter in gi"], PEOPLE["presenter elsewhere"]
    assert pia is not None and paul is not None
    as_pia = ActingServices(services, pia, audit=audit, where="10.0.0.7")
    (case_id,) = as_pia.import_dicom([_upload(services, tmp_path, "up")], title="Pia's case").case_ids
    assert services.get_case(case_id).sharing == Sharing("pia", Visibility.PRIVATE)
    as_paul = ActingServices(services, paul, audit=audit)
    assert [s.id for s in as_pia.case_summaries()] == [case_id]
    assert as_paul.case_summaries() == [] and as_paul.count_cases() == 0
    with pytest.raises(PermissionDenied, match="not shared with you"):
        as_paul.get_case(case_id)
    as_pia.set_case_sharing(case_id, Visibility.DEPARTMENT)
    assert [s.id for s in as_paul.case_summaries()] == [case_id]
    assert as_paul.get_case(case_id).title == "Pia's case"
    # and the log says who imported, viewed and shared, from where, without the title
    events = audit.events(AuditFilter(actor="pia"))
    assert [e.data["action"] for e in events] == ["import", "case.edit"]
    assert events[0].data["where"] == "10.0.0.7"
    assert "Pia's case" not in repr([e.data for e in audit.events()])
    assert [e.data["action"] for e in audit.events(AuditFilter(actor="paul"))] == ["case.view"]


def test_a_refused_edit_changes_nothing(real: tuple[Services, Audit, Path]) -> None:
    services, audit, tmp_path = real
    (case_id,) = services.import_dicom([_tiny_study(tmp_path / "in")], title="Teaching").case_ids
    services.set_case_sharing(case_id, Sharing(OWNER, Visibility.DEPARTMENT))
    learner = PEOPLE["learner elsewhere"]
    before = services.get_case(case_id)
    as_learner = ActingServices(services, learner, audit=audit)
    assert as_learner.get_case(case_id).id == case_id  # department-wide: seen
    with pytest.raises(PermissionDenied, match="Learners may view but not edit"):
        as_learner.update_case(case_id, {"title": "Vandalised"})
    with pytest.raises(PermissionDenied, match="Only coordinators and admins may delete"):
        as_learner.delete_case(case_id)
    assert services.get_case(case_id) == before
    assert not any(e.data["action"] in ("case.edit", "case.delete") for e in audit.events())


def test_a_server_folder_is_imported_by_coordinators_only(real: tuple[Services, Audit, Path]) -> None:
    services, audit, tmp_path = real
    folder = _tiny_study(tmp_path / "server_folder")
    presenter, coordinator = PEOPLE["presenter in gi"], PEOPLE["coordinator in gi"]
    with pytest.raises(PermissionDenied, match="import from a folder on the server"):
        ActingServices(services, presenter, audit=audit).import_dicom([folder])
    assert services.count_cases() == 0
    (case_id,) = ActingServices(services, coordinator, audit=audit).import_dicom([folder]).case_ids
    assert services.get_case(case_id).sharing.owner == "cora"


def test_an_import_into_an_existing_case_keeps_its_owner(real: tuple[Services, Audit, Path]) -> None:
    services, audit, tmp_path = real
    study = _tiny_study(tmp_path / "first")
    (case_id,) = services.import_dicom([study]).case_ids
    services.set_case_sharing(case_id, Sharing(OWNER, Visibility.DEPARTMENT))
    staged = services.settings.quarantine_dir / "again"
    staged.mkdir(parents=True)
    for file in study.iterdir():
        (staged / file.name).write_bytes(file.read_bytes())
    report = ActingServices(services, PEOPLE["coordinator in gi"], audit=audit).import_dicom([staged])
    assert case_id in report.case_ids
    assert services.get_case(case_id).sharing.owner == OWNER


def test_nobody_signed_in_may_do_nothing(real: tuple[Services, Audit, Path]) -> None:
    services, _, _ = real
    anonymous = ActingServices(services, None)
    for call in (anonymous.case_summaries, anonymous.list_conferences, lambda: anonymous.settings):
        with pytest.raises(PermissionDenied, match="Sign in first"):
            call()
    with pytest.raises(AttributeError):
        anonymous.store  # noqa: B018 (the store is never handed out)


def test_search_finds_only_what_may_be_seen_and_only_in_conferences_one_may_see(
    real: tuple[Services, Audit, Path],
) -> None:
    from casefiles.search import SearchQuery

    services, _, tmp_path = real
    (mine,) = services.import_dicom([_tiny_study(tmp_path / "a")], title="Pneumothorax mine").case_ids
    (theirs,) = services.import_dicom([_tiny_study(tmp_path / "b")], title="Pneumothorax theirs").case_ids
    services.set_case_sharing(mine, Sharing("pia", Visibility.PRIVATE))
    services.set_case_sharing(theirs, Sharing(OWNER, Visibility.PRIVATE))
    board = services.create_conference("Private board", case_ids=[theirs])
    services.set_conference_sharing(board.id, Sharing(OWNER, Visibility.PRIVATE))
    as_pia = ActingServices(services, PEOPLE["presenter in gi"])
    assert [h.summary.id for h in as_pia.search(SearchQuery(text="pneumothorax")).hits] == [mine]
    with pytest.raises(PermissionDenied):
        as_pia.search(SearchQuery(conference_id=board.id))
