"""The library's use cases as one signed-in person: asked permission first, audited after (issue #16).

Pages get an :class:`ActingServices` for the person on the tab instead of the bare
:class:`~casefiles.services.Services`. Every use case the pages may call is in :data:`RULES` (or
is a method of the class, for the few that need more than one check); anything else is not
offered. Each call:

1. finds the case or conference it acts on (by the argument the rule names) and its sharing,
2. asks :func:`casefiles.accounts.permissions.require` — a refusal raises ``PermissionDenied``
   before anything is read or changed,
3. runs the use case, and
4. writes the audit event the rule names (views at most once per person, case and 10 minutes).

Lists come back filtered by the store (``CaseQuery.viewer``), so nobody sees in a list what opening
would refuse. What someone creates (imports, PACS pulls, conferences) is theirs and private to them
until they share it. The CLI, the receiver and the tests use ``Services`` directly: they run as
the operator of the machine, who holds its files anyway.
"""

from __future__ import annotations

import datetime as dt
import inspect
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from casefiles.accounts.permissions import Action, Actor, PermissionDenied, Role, allowed, require
from casefiles.errors import NotFoundError
from casefiles.model import PRIVATE_UNOWNED as UNOWNED
from casefiles.model import Case, Conference
from casefiles.search import SearchQuery, SearchResults
from casefiles.services import Services
from casefiles.store import CaseQuery, CaseSummary
from casefiles.visibility import Sharing, Viewer, Visibility

#: A view is audited at most this often per person and case (every rerun of a page reads the case).
VIEW_AUDIT_EVERY = dt.timedelta(minutes=10)


class Announcer(Protocol):
    """Who is told about a change (casefiles.acting.announce)."""

    def case_shared(self, actor: Actor, case_id: str, sharing: Sharing) -> None: ...
    def conference_changed(self, actor: Actor, conference: Conference) -> None: ...


class Auditor(Protocol):
    def record(
        self, actor: str, action: str, *, target_kind: str = "", target_id: str = "", where: str = "", **details: Any
    ) -> object: ...


@dataclass(frozen=True, slots=True)
class Rule:
    """What a use case needs: the action it takes, on which argument, and what the audit log says.

    ``target`` names the argument: ``case_id`` / ``conference_id`` (an id), ``target_id`` (a case or
    a conference), ``case`` (a Case or CaseSummary already opened). No target: a library-wide action,
    or (``action`` None) a read of something the person already opened (an image of a shown case).
    """

    action: Action | None
    target: str = ""
    kind: str = ""  # case | conference | either | object
    audit: str = ""


_SIGNED_IN = Rule(None)
_VIEW_CASE = Rule(Action.VIEW, "case_id", "case")
_VIEW_OPENED = Rule(Action.VIEW, "case", "object")
_EDIT_CASE = Rule(Action.EDIT, "case_id", "case", "case.edit")
_EDIT_CONFERENCE = Rule(Action.EDIT, "conference_id", "conference", "conference.edit")

#: Every Services use case a page may call as a person, with what it needs.
RULES: dict[str, Rule] = {
    # reading one case, and the images of a case already opened
    "get_case": Rule(Action.VIEW, "case_id", "case", "case.view"),
    "case_deletion": Rule(Action.DELETE, "case_id", "case"),
    "video_info": _VIEW_OPENED,
    "slide_titles": _VIEW_OPENED,
    "media_for_review": _VIEW_OPENED,
    "render_key_image": _VIEW_OPENED,
    "annotation_canvas": _VIEW_OPENED,
    "key_image_preview": _VIEW_OPENED,
    "key_image_spacing": _VIEW_OPENED,
    "case_thumbnail": _VIEW_OPENED,
    "images_for_review": _VIEW_OPENED,
    "summary_thumbnail": Rule(Action.VIEW, "summary", "object"),
    "dataset": _SIGNED_IN,
    "series_showable": _SIGNED_IN,
    "asset_window": _SIGNED_IN,
    "render_frame": _SIGNED_IN,
    "render_frame_png": _SIGNED_IN,
    "stack_payload": _SIGNED_IN,
    "thumbnail": _SIGNED_IN,
    "previews": _SIGNED_IN,
    "review_image_png": _SIGNED_IN,
    "review_overlay_png": _SIGNED_IN,
    "review_area_usage": _SIGNED_IN,
    "library_facets": _SIGNED_IN,
    "running_exports": _SIGNED_IN,
    "media": _SIGNED_IN,
    "library_blockers": _SIGNED_IN,
    "pacs_nodes": _SIGNED_IN,
    "pacs_node": _SIGNED_IN,
    "save_pacs_node": Rule(Action.MANAGE_PACS_NODES),
    # editing one case
    "update_case": _EDIT_CASE,
    "set_key_images": _EDIT_CASE,
    "toggle_key_image": _EDIT_CASE,
    "annotate_key_image": _EDIT_CASE,
    "add_pdf_pages": _EDIT_CASE,
    "move_asset": _EDIT_CASE,
    "edit_video": _EDIT_CASE,
    "choose_slides": _EDIT_CASE,
    "set_asset_caption": _EDIT_CASE,
    "confirm_media_reviewed": _EDIT_CASE,
    "confirm_reviewed": _EDIT_CASE,
    "set_review_boxes": _EDIT_CASE,
    "black_out": _EDIT_CASE,
    "blank_region": _EDIT_CASE,
    "import_media": _EDIT_CASE,
    "delete_case": Rule(Action.DELETE, "case_id", "case", "case.delete"),
    # conferences
    "get_conference": Rule(Action.VIEW, "conference_id", "conference", "conference.view"),
    "update_conference": _EDIT_CONFERENCE,
    "remove_case": _EDIT_CONFERENCE,
    "move_case": _EDIT_CONFERENCE,
    "set_plan": _EDIT_CONFERENCE,
    "delete_conference": Rule(Action.DELETE, "conference_id", "conference", "conference.delete"),
    # release and export
    "release_blockers": Rule(Action.VIEW, "target_id", "either"),
    "bundle": Rule(Action.EXPORT, "target_id", "either"),
}

#: PACS use cases (``ActingServices.pacs``). Searches and pulls are for presenters and up; setting
#: up nodes and the receiver for coordinators and admins.
PACS_RULES: dict[str, Rule] = {
    "nodes": _SIGNED_IN,
    "node": _SIGNED_IN,
    "echo": Rule(Action.PULL_FROM_PACS),
    "find": Rule(Action.PULL_FROM_PACS),
    "find_accessions": Rule(Action.PULL_FROM_PACS),
    "series": Rule(Action.PULL_FROM_PACS),
    "save_node": Rule(Action.MANAGE_PACS_NODES),
    "delete_node": Rule(Action.MANAGE_PACS_NODES),
    "receiver": Rule(Action.RUN_RECEIVER),
}

_recent_views: dict[tuple[str, str], dt.datetime] = {}
_recent_lock = threading.Lock()


def _first_view_in_a_while(username: str, target_id: str) -> bool:
    now = dt.datetime.now(dt.UTC)
    with _recent_lock:
        last = _recent_views.get((username, target_id))
        if last is not None and now - last < VIEW_AUDIT_EVERY:
            return False
        if len(_recent_views) > 10_000:
            _recent_views.clear()
        _recent_views[(username, target_id)] = now
        return True


def viewer_of(actor: Actor) -> Viewer:
    """Whom a list is for (admins see everything)."""
    return Viewer(actor.username, actor.groups, sees_all=actor.role is Role.ADMIN)


def own_sharing(actor: Actor) -> Sharing:
    """What a person creates is theirs and private to them until they share it."""
    return Sharing(actor.username, Visibility.PRIVATE)


class _Checks:
    """Resolving a rule's target and asking the permission check; shared by the two guards."""

    def __init__(
        self,
        services: Services,
        actor: Actor | None,
        audit: Auditor | None,
        where: str,
        announce: Announcer | None = None,
    ) -> None:
        self._services = services
        self.actor = actor
        self._audit = audit
        self._where = where
        self._announce = announce

    def conference_changed(self, conference_id: str) -> None:
        """Tell the conference's presenters and owner (once until read) that it changed."""
        if self._announce is not None and self.actor is not None:
            self._announce.conference_changed(self.actor, self._services.store.get_conference(conference_id))

    def _conferences_holding(self, case_id: str) -> list[str]:
        if self._announce is None:
            return []
        return [c.id for c in self._services.store.list_conferences() if case_id in c.case_ids]

    def signed_in(self) -> Actor:
        if self.actor is None:
            raise PermissionDenied("Sign in first.")
        return self.actor

    def case_sharing(self, case_id: str) -> Sharing:
        found = self._services.case_summaries(CaseQuery(ids=(case_id,), limit=1))
        if not found:
            raise NotFoundError("That case is not in the library (it may have been deleted).")
        return found[0].sharing

    def conference_sharing(self, conference_id: str) -> Sharing:
        return self._services.store.get_conference(conference_id).sharing

    def target_of(self, rule: Rule, arguments: dict[str, Any]) -> tuple[str, str, Sharing | None]:
        """(kind, id, sharing) of what the rule acts on; ("", "", None) for a library-wide rule."""
        if not rule.target:
            return "", "", None
        value = arguments[rule.target]
        if rule.kind == "object":
            kind = "case" if isinstance(value, Case | CaseSummary) else "conference"
            return kind, str(value.id), value.sharing
        if rule.kind == "case":
            return "case", str(value), self.case_sharing(str(value))
        if rule.kind == "conference":
            return "conference", str(value), self.conference_sharing(str(value))
        if self._services.store.exists(str(value)):
            return "case", str(value), self.case_sharing(str(value))
        return "conference", str(value), self.conference_sharing(str(value))

    def claim(self, case_id: str, actor: Actor) -> None:
        """Make a case the import just created the actor's (one it only added images to keeps its owner)."""
        if self.case_sharing(case_id) == UNOWNED:
            self._services.set_case_sharing(case_id, own_sharing(actor))

    def check(self, action: Action | None, sharing: Sharing | None) -> Actor:
        actor = self.signed_in()
        if action is not None:
            require(actor, action, sharing)
        return actor

    def audit(self, action: str, kind: str = "", target_id: str = "", **details: Any) -> None:
        if self._audit is None or not action:
            return
        actor = self.signed_in()
        if action.endswith(".view") and not _first_view_in_a_while(actor.username, target_id):
            return
        self._audit.record(actor.username, action, target_kind=kind, target_id=target_id, where=self._where, **details)

    def guarded(self, inner: object, name: str, rules: dict[str, Rule]) -> Any:
        rule = rules.get(name)
        if rule is None:
            raise AttributeError(f"{name} is not offered to signed-in users")
        member = getattr(inner, name)
        if not callable(member):
            self.check(rule.action, None)
            return member
        signature = inspect.signature(member)

        def call(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            kind, target_id, sharing = self.target_of(rule, dict(bound.arguments))
            self.check(rule.action, sharing)
            holding = self._conferences_holding(target_id) if rule.audit == "case.delete" else []
            result = member(*args, **kwargs)
            self.audit(rule.audit, kind, target_id)
            if rule.audit == "conference.edit":
                self.conference_changed(target_id)
            for conference_id in holding:  # a deleted case left these conferences: their presenters are told
                self.conference_changed(conference_id)
            return result

        call.__name__ = name
        call.__doc__ = member.__doc__
        return call


class ActingPacs:
    """The PACS use cases as one person (see :data:`PACS_RULES`)."""

    def __init__(self, checks: _Checks) -> None:
        self._checks = checks
        self._pacs = checks._services.pacs

    def __getattr__(self, name: str) -> Any:
        return self._checks.guarded(self._pacs, name, PACS_RULES)

    def retrieve(self, name: str, requests: Sequence[Any], **kwargs: Any) -> Any:
        """Pull chosen studies; the new cases (and a new conference) are the puller's."""
        actor = self._checks.check(Action.PULL_FROM_PACS, None)
        self._may_gather(actor, kwargs.get("conference_title"), kwargs.get("conference_id"))
        report, conference = self._pacs.retrieve(name, requests, **kwargs)
        return self._owned(actor, report, conference, name, ())

    def pull_accessions(self, name: str, accessions: Sequence[str], **kwargs: Any) -> Any:
        """Pull by accession numbers; the audit log keeps only keyed hashes of them."""
        actor = self._checks.check(Action.PULL_FROM_PACS, None)
        self._may_gather(actor, kwargs.get("conference_title"))
        report, conference = self._pacs.pull_accessions(name, accessions, **kwargs)
        return self._owned(actor, report, conference, name, accessions)

    def push_case(self, case_id: str, name: str, **kwargs: Any) -> Any:
        self._checks.check(Action.EXPORT, self._checks.case_sharing(case_id))
        result = self._pacs.push_case(case_id, name, **kwargs)
        self._checks.audit("pacs.push", "case", case_id, node=name)
        return result

    def _may_gather(self, actor: Actor, conference_title: str | None, conference_id: str | None = None) -> None:
        """A pull gathered into an existing conference (by its id or title) needs the right to edit that one."""
        if conference_id:
            require(actor, Action.EDIT, self._checks.conference_sharing(conference_id))
        title = (conference_title or "").strip()
        for conference in self._checks._services.store.list_conferences() if title else ():
            if conference.title == title:
                require(actor, Action.EDIT, conference.sharing)

    def _owned(
        self, actor: Actor, report: Any, conference: Conference | None, node: str, accessions: Iterable[str]
    ) -> Any:
        services = self._checks._services
        for case_id in report.case_ids:
            self._checks.claim(case_id, actor)
        if conference is not None and not conference.sharing.owner:
            conference = services.set_conference_sharing(conference.id, own_sharing(actor))
        if self._checks._audit is not None:
            self._checks._audit.record(
                actor.username,
                "pacs.pull",
                where=self._checks._where,
                accessions=list(accessions),
                node=node,
                count=len(report.case_ids),
            )
        return report, conference


class ActingServices:
    """:class:`~casefiles.services.Services` as one signed-in person (``actor`` None: nobody signed in)."""

    def __init__(
        self,
        services: Services,
        actor: Actor | None,
        *,
        audit: Auditor | None = None,
        where: str = "",
        announce: Announcer | None = None,
    ) -> None:
        self._checks = _Checks(services, actor, audit, where, announce)
        self._services = services
        self.pacs = ActingPacs(self._checks)

    @property
    def actor(self) -> Actor | None:
        return self._checks.actor

    @property
    def settings(self) -> Any:
        self._checks.signed_in()
        return self._services.settings

    def __getattr__(self, name: str) -> Any:
        return self._checks.guarded(self._services, name, RULES)

    # -- lists: only what this person may see ----------------------------------------------
    def _seen(self, query: CaseQuery | None) -> CaseQuery:
        actor = self._checks.signed_in()
        return replace(query or CaseQuery(), viewer=viewer_of(actor))

    def case_summaries(self, query: CaseQuery | None = None) -> list[CaseSummary]:
        return self._services.case_summaries(self._seen(query))

    def count_cases(self, query: CaseQuery | None = None) -> int:
        return self._services.count_cases(self._seen(query))

    def list_cases(self, case_filter: CaseQuery | None = None) -> list[Case]:
        return self._services.list_cases(self._seen(case_filter))

    def search(self, query: SearchQuery) -> SearchResults:
        """Ranked search among what this person may see (never logged: a name may be typed in)."""
        actor = self._checks.signed_in()
        if query.conference_id:  # "the cases of this conference": only of one this person may see
            self._checks.check(Action.VIEW, self._checks.conference_sharing(query.conference_id))
        return self._services.search(replace(query, viewer=viewer_of(actor)))

    def list_conferences(self) -> list[Conference]:
        viewer = viewer_of(self._checks.signed_in())
        return [c for c in self._services.list_conferences() if viewer.sees(c.sharing)]

    # -- creating: what someone makes is theirs --------------------------------------------
    def import_dicom(self, sources: Sequence[Any], **kwargs: Any) -> Any:
        """Import uploads (staged in the quarantine) or, for coordinators and admins, a server folder."""
        actor = self._checks.check(Action.CREATE, None)
        paths = [Path(s) for s in sources if isinstance(s, str | Path)]  # the rest are uploads, in memory
        if not all(_inside(p, self._services.settings.quarantine_dir) for p in paths):
            require(actor, Action.IMPORT_SERVER_PATH)
        report = self._services.import_dicom(sources, **kwargs)
        for case_id in report.case_ids:
            self._checks.claim(case_id, actor)
        self._checks.audit("import", count=len(report.case_ids))
        return report

    def import_package(self, path: Path, **kwargs: Any) -> Any:
        actor = self._checks.check(Action.CREATE, None)
        if not _inside(Path(path), self._services.settings.quarantine_dir):
            require(actor, Action.IMPORT_SERVER_PATH)
        result = self._services.import_package(path, **kwargs)
        for case_id in result.case_ids:
            self._checks.claim(case_id, actor)
        if result.conference_id:
            self._services.set_conference_sharing(result.conference_id, own_sharing(actor))
        self._checks.audit("import", count=len(result.case_ids))
        return result

    def pull_from_pacs(self, node_name: str, accessions: Sequence[str], **kwargs: Any) -> Any:
        return self.pacs.pull_accessions(node_name, accessions, **kwargs)

    def create_conference(self, title: str, *args: Any, case_ids: Sequence[str] = (), **kwargs: Any) -> Conference:
        actor = self._checks.check(Action.CREATE, None)
        for case_id in case_ids:
            self._checks.check(Action.VIEW, self._checks.case_sharing(case_id))
        made = self._services.create_conference(title, *args, case_ids=case_ids, **kwargs)
        made = self._services.set_conference_sharing(made.id, own_sharing(actor))
        self._checks.audit("conference.edit", "conference", made.id)
        return made

    # -- acting on several things at once --------------------------------------------------
    def add_cases(self, conference_id: str, case_ids: Sequence[str]) -> Conference:
        self._checks.check(Action.EDIT, self._checks.conference_sharing(conference_id))
        for case_id in case_ids:
            self._checks.check(Action.VIEW, self._checks.case_sharing(case_id))
        result = self._services.add_cases(conference_id, case_ids)
        self._checks.audit("conference.edit", "conference", conference_id)
        self._checks.conference_changed(conference_id)
        return result

    def merge_cases(self, target_id: str, source_id: str) -> Any:
        self._checks.check(Action.EDIT, self._checks.case_sharing(target_id))
        self._checks.check(Action.DELETE, self._checks.case_sharing(source_id))
        result = self._services.merge_cases(target_id, source_id)
        self._checks.audit("case.edit", "case", target_id)
        self._checks.audit("case.delete", "case", source_id)
        return result

    def recheck(self, case_ids: Sequence[str], **kwargs: Any) -> Any:
        for case_id in case_ids:
            self._checks.check(Action.EDIT, self._checks.case_sharing(case_id))
        return self._services.recheck(case_ids, **kwargs)

    def export(self, target_id: str, export_format: Any, out: Path, **kwargs: Any) -> Any:
        kind, _, sharing = self._checks.target_of(Rule(Action.EXPORT, "t", "either"), {"t": target_id})
        self._checks.check(Action.EXPORT, sharing)
        result = self._services.export(target_id, export_format, out, **kwargs)
        self._checks.audit(
            f"{kind}.export", kind, target_id, format=str(getattr(export_format, "value", export_format))
        )
        return result

    def export_case_pptx(self, case_id: str, out: Path, **kwargs: Any) -> Any:
        self._checks.check(Action.EXPORT, self._checks.case_sharing(case_id))
        result = self._services.export_case_pptx(case_id, out, **kwargs)
        self._checks.audit("case.export", "case", case_id, format="pptx")
        return result

    # -- sharing within the department -----------------------------------------------------
    def set_case_sharing(self, case_id: str, visibility: Visibility, groups: Iterable[str] = ()) -> Case:
        """Who else sees the case; the owner stays (an admin taking a case over is a separate step)."""
        current = self._checks.case_sharing(case_id)
        actor = self._checks.check(Action.SHARE, current)
        owner = current.owner or actor.username
        result = self._services.set_case_sharing(case_id, Sharing(owner, visibility, frozenset(groups)))
        self._checks.audit("case.edit", "case", case_id)
        if self._checks._announce is not None and result.sharing != current:
            self._checks._announce.case_shared(actor, case_id, result.sharing)
        return result

    def set_conference_sharing(
        self, conference_id: str, visibility: Visibility, groups: Iterable[str] = (), *, cases_too: bool = True
    ) -> Conference:
        """Who else sees the conference and (``cases_too``) those of its cases this person may share."""
        current = self._checks.conference_sharing(conference_id)
        actor = self._checks.check(Action.SHARE, current)
        sharing = Sharing(current.owner or actor.username, visibility, frozenset(groups))
        result = self._services.set_conference_sharing(conference_id, sharing)
        self._checks.audit("conference.edit", "conference", conference_id)
        if cases_too:
            for case_id in result.case_ids:
                case_sharing = self._checks.case_sharing(case_id)
                if allowed(actor, Action.SHARE, case_sharing):
                    owner = case_sharing.owner or actor.username
                    self._services.set_case_sharing(case_id, Sharing(owner, visibility, frozenset(groups)))
        return result

    def blob_bytes(self, digest: str) -> bytes:
        """A stored file named by a case already opened (a clip, a thumbnail): content-addressed, read only."""
        self._checks.signed_in()
        return self._services.blobs.get(digest)

    def blob_exists(self, digest: str) -> bool:
        self._checks.signed_in()
        return self._services.blobs.exists(digest)

    def may(self, action: Action, sharing: Sharing | None = None) -> bool:
        """Whether this person may take ``action`` (pages use it to hide what would be refused)."""
        return allowed(self._checks.actor, action, sharing)


def _inside(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except OSError:
        return False


#: The public use cases of Services handled by a method of ActingServices rather than a rule.
METHODS = frozenset(
    {
        "case_summaries",
        "count_cases",
        "search",
        "list_cases",
        "list_conferences",
        "import_dicom",
        "import_package",
        "pull_from_pacs",
        "create_conference",
        "add_cases",
        "merge_cases",
        "recheck",
        "export",
        "export_case_pptx",
        "set_case_sharing",
        "set_conference_sharing",
    }
)
#: Services members no person may reach through the guard (the operator's CLI uses them).
NOT_OFFERED = frozenset({"store", "blobs"})
