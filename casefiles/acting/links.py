"""Share and upload links as use cases: who may make them, what a visitor sees, what an upload does (issue #16).

``casefiles.accounts.shares`` keeps the tokens; this module adds what makes a link safe to hand
out: only someone allowed to share the case or conference makes or lists its links, every make,
revoke, open and refusal is audited (ids, counts and reasons; never a token, a title or a
name), and what a visitor sees has passed the release gate *when it is shown*: a case or
conference holding anything CaseDeck cannot vouch for shows "not ready to share" and no image
(fail closed, as every other way out).

Upload links import through the normal de-identifying import, inside a folder of the quarantine
that is wiped afterwards, so an outside hospital's CD is treated like any other study:

* **conference target**: every new case the upload made is added to the conference;
* **case target**: images of the case's own study join the case (the import files a study
  into the case that holds it, as always); a study of another exam or patient cannot join a
  case, so it becomes a case of its own next to it (the outcome says so) and the owner decides
  (merge it, or put both in a conference). Pictures and documents are added on the case page.

New cases belong to the link's owner and take the target's visibility and groups, so whoever
sees the conference or case sees what was uploaded to it. A study that already was in the
library receives the new images as in any import; it is not added to the conference (the
uploader must not be able to pull someone else's case into it). The size limit holds for each
upload and is checked before a byte is written.

A visitor has no account: their events are audited with an empty actor and the link's id
(``link``: the first characters of the stored hash, which is not the token).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, Protocol

from casefiles.accounts.permissions import Action, Actor, PermissionDenied, allowed, require
from casefiles.accounts.shares import (
    DEFAULT_EXPIRY_DAYS,
    SHARE,
    Grant,
    Link,
    LinkKind,
    LinkRefused,
    token_key,
)
from casefiles.config import Settings
from casefiles.deid.freetext import clean_free_text
from casefiles.department import Department
from casefiles.errors import CaseDeckError, NotFoundError, ValidationError
from casefiles.ingest import ImportReport, Upload
from casefiles.ingest.quarantine import QuarantineFolder
from casefiles.model import Case, Conference
from casefiles.notify.messages import Recipient, UploadArrived
from casefiles.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from casefiles.release import Blocker
from casefiles.store import CaseQuery, CaseSummary
from casefiles.store.records import Record
from casefiles.visibility import Sharing

log = logging.getLogger("casedeck.links")

#: How a visitor's events name them: nobody (they have no account); the ``link`` detail says which link.
VISITOR = ""
#: The way out the release gate names when a share link's deck is asked for.
WAY_OUT = "share link"
#: Formats a visitor may download when the link allows it.
DECK_FORMATS = {"html": "offline slide show (.html)", "pptx": "PowerPoint deck (.pptx)"}
NOT_READY = (
    "This {what} is not ready to share yet: CaseDeck cannot vouch for all of its images or text. "
    "Ask the person who shared it to finish its review; the link will show it then."
)
GONE = "What this link shared is no longer in CaseDeck; ask the person who shared it."
_UPLOAD_FOLDER = "upload-link-"
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


class Library(Protocol):
    """The part of :class:`casefiles.services.Services` links use."""

    @property
    def settings(self) -> Settings: ...

    @property
    def store(self) -> LinkStore: ...

    def get_case(self, case_id: str) -> Case: ...

    def get_conference(self, conference_id: str) -> Conference: ...

    def release_blockers(self, target_id: str) -> tuple[Blocker, ...]: ...

    def export(
        self,
        target_id: str,
        export_format: str,
        out: Path,
        *,
        way_out: str | None = None,
        progress: ProgressFn = no_progress,
        cancel: CancelToken = NEVER_CANCELLED,
    ) -> Path: ...

    def import_dicom(
        self,
        sources: Sequence[Path | Upload],
        *,
        title: str | None = None,
        author: str = "",
        progress: ProgressFn = no_progress,
        cancel: CancelToken = NEVER_CANCELLED,
    ) -> ImportReport: ...

    def add_cases(self, conference_id: str, case_ids: Sequence[str]) -> Conference: ...


class LinkStore(Protocol):
    """What is used of the store directly: a link's record (read without opening it), the cases, re-owning one."""

    def get_record(self, kind: str, key: str) -> Record | None: ...

    def summaries(self, query: CaseQuery | None = None) -> list[CaseSummary]: ...

    def update_case(self, case_id: str, change: Callable[[Case], Case]) -> Case: ...


class UploadRefused(CaseDeckError):
    """An upload through a link was refused before anything was imported."""


@dataclass(frozen=True, slots=True)
class SharedView:
    """What a share link shows now: its cases (empty when not ready), or the message that says why not."""

    grant: Grant
    target_kind: str
    title: str  # the conference's or case's title, only when the gate passed; else ""
    cases: tuple[Case, ...]
    ready: bool
    message: str = ""

    @property
    def may_download(self) -> bool:
        return self.ready and self.grant.may_download


@dataclass(frozen=True, slots=True)
class UploadTarget:
    """What an upload link shows its visitor before they upload: a safe name, the limit, the expiry."""

    grant: Grant
    name: str
    max_bytes: int
    expires: dt.datetime | None


@dataclass(frozen=True, slots=True)
class UploadOutcome:
    """What an upload did: images imported, cases made or joined, and problems by position."""

    bytes: int
    images: int
    new_case_ids: tuple[str, ...]  # added to the conference, or next to the case
    joined_target: bool  # a case target received images of its own study
    already_in_library: int  # other cases that already held the uploaded studies
    problems: tuple[str, ...]


def link_status(link: Link, now: dt.datetime | None = None) -> str:
    """The link's state for the list of a target's links: active, expired or revoked."""
    now = now or dt.datetime.now(dt.UTC)
    if link.revoked:
        return "revoked"
    return "expired" if link.expired(now) else "active"


def link_path(kind: LinkKind, token: str) -> str:
    """The app-relative address of a link (``/?share=…`` or ``/?upload=…``); the page prefixes the public URL."""
    return f"/?{'share' if kind is LinkKind.VIEW else 'upload'}={token}"


def safe_title(title: str, fallback: str) -> str:
    """``title`` when the free-text cleaner vouches for all of it, else ``fallback`` (for visitors)."""
    cleaned = " ".join(title.split())
    if cleaned and len(cleaned) <= 120 and clean_free_text(cleaned) == cleaned:
        return cleaned
    return fallback


def _well_formed(token: str) -> bool:
    return 0 < len(token) <= 200 and set(token) <= _TOKEN_CHARS


@dataclass(frozen=True)
class ShareLinks:
    """The link use cases over the library (a Services) and the department (links, audit, notifications)."""

    library: Library
    department: Department
    #: Now, for re-checking an open link on later reruns (the department's links keep their own clock).
    clock: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))

    # -- for signed-in people -------------------------------------------------------
    def _sharing(self, target_kind: str, target_id: str) -> Sharing:
        if target_kind == "case":
            return self.library.get_case(target_id).sharing
        if target_kind == "conference":
            return self.library.get_conference(target_id).sharing
        raise ValidationError("A link opens one case or one conference.")

    def create_link(
        self,
        actor: Actor | None,
        target_kind: str,
        target_id: str,
        *,
        kind: LinkKind = LinkKind.VIEW,
        days: int = DEFAULT_EXPIRY_DAYS,
        download: bool = False,
        password: str | None = None,
        max_upload_bytes: int = 0,
        where: str = "",
    ) -> tuple[str, Link]:
        """A new link to a case or conference the actor may share: the token (shown once) and the link."""
        require(actor, Action.SHARE, self._sharing(target_kind, target_id))
        assert actor is not None  # require() refused an anonymous visitor
        token, link = self.department.links.create(
            owner=actor.username,
            target_kind=target_kind,
            target_id=target_id,
            kind=kind,
            days=days,
            download=download,
            password=password or None,
            max_upload_bytes=max_upload_bytes if kind is LinkKind.UPLOAD else 0,
        )
        self.department.audit.record(
            actor.username,
            "share.create",
            target_kind=target_kind,
            target_id=target_id,
            where=where,
            kind=kind.value,
            link=link.key[:16],
        )
        return token, link

    def links_for(self, actor: Actor | None, target_kind: str, target_id: str) -> list[Link]:
        """The links of a case or conference, newest first, for someone allowed to share it."""
        require(actor, Action.SHARE, self._sharing(target_kind, target_id))
        return sorted(self.department.links.links_of(target_kind, target_id), key=lambda k: k.created, reverse=True)

    def revoke_link(self, actor: Actor | None, link_key: str, where: str = "") -> Link:
        """Withdraw a link: its owner may, and so may anyone allowed to share what it opens."""
        if actor is None:
            raise PermissionDenied("Sign in first.")
        record = self.library.store.get_record(SHARE, link_key)
        if record is None:
            raise NotFoundError("There is no such link (it may have been removed).")
        link = Link.of(record)
        if actor.username != link.owner:
            try:
                sharing = self._sharing(link.target_kind, link.target_id)
            except NotFoundError:  # what it opened is gone: only its owner and admins may tidy it
                if not allowed(actor, Action.SHARE, Sharing()):
                    raise PermissionDenied("Only the person who made this link may withdraw it.") from None
            else:
                require(actor, Action.SHARE, sharing)
        revoked = self.department.links.revoke(link.key)
        self.department.audit.record(
            actor.username,
            "share.revoke",
            target_kind=link.target_kind,
            target_id=link.target_id,
            where=where,
            kind=link.kind.value,
            link=link.key[:16],
        )
        return revoked

    # -- for visitors -------------------------------------------------------------------
    def needs_password(self, token: str) -> bool:
        """Whether this link asks for a password (asked before opening, so no failure is counted)."""
        if not _well_formed(token):
            return False
        record = self.library.store.get_record(SHARE, token_key(token))
        return record is not None and Link.of(record).has_password

    def _open(self, token: str, password: str | None, where: str, kind: LinkKind) -> Grant:
        """Open and audit (share.open, or share.refused with the refusal's type, never the token)."""
        link_id = token_key(token)[:16] if _well_formed(token) else ""
        self.department.link_attempts.check(where)  # before any work: a scanner waits, and is not logged again
        try:
            grant = self.department.links.open(token, password)
            if grant.link.kind is not kind:
                raise LinkRefused(
                    "This is an upload link, not a link to view a case."
                    if kind is LinkKind.VIEW
                    else "This link is for viewing a case; it does not take uploads."
                )
        except LinkRefused as exc:
            self.department.link_attempts.refused(where)
            details = {"link": link_id} if link_id else {}
            self.department.audit.record(VISITOR, "share.refused", where=where, reason=type(exc).__name__, **details)
            raise
        self.department.audit.record(
            VISITOR,
            "share.open",
            target_kind=grant.link.target_kind,
            target_id=grant.link.target_id,
            where=where,
            kind=grant.link.kind.value,
            link=grant.link.key[:16],
        )
        return grant

    def open_shared(self, token: str, password: str | None = None, *, where: str = "") -> SharedView:
        """What a view link shows now; :class:`LinkRefused` for a bad, expired, revoked or locked link."""
        return self.view_of(self._open(token, password, where, LinkKind.VIEW))

    def view_of(self, grant: Grant) -> SharedView:
        """The shared case or conference as the release gate lets it out at this moment (fail closed)."""
        link = grant.link
        what = "case" if link.target_kind == "case" else "conference"
        cases: tuple[Case, ...]
        try:
            if link.target_kind == "case":
                title, cases = "", (self.library.get_case(link.target_id),)
            else:
                conference = self.library.get_conference(link.target_id)
                title = conference.title
                cases = tuple(self.library.get_case(i) for i in conference.case_ids)
            blockers = self.library.release_blockers(link.target_id)
        except NotFoundError:
            return SharedView(grant, link.target_kind, "", (), ready=False, message=GONE)
        if blockers:
            return SharedView(grant, link.target_kind, "", (), ready=False, message=NOT_READY.format(what=what))
        if link.target_kind == "case":
            title = cases[0].title
        return SharedView(grant, link.target_kind, title, cases, ready=True)

    def still_open(self, view: SharedView) -> SharedView:
        """The view again on a later rerun: refused once the link was revoked or expired meanwhile.

        Not counted as another open (a page reruns on every scroll); the gate is asked again.
        """
        record = self.library.store.get_record(SHARE, view.grant.link.key)
        if record is None:
            raise LinkRefused("This link is not valid (it may have been mistyped, or removed).")
        link = Link.of(record)
        if link.revoked:
            raise LinkRefused("This link was withdrawn by the person who shared it.")
        if link.expired(self.clock()):
            raise LinkRefused("This link has expired; ask the person who shared it for a new one.")
        return self.view_of(Grant(link))

    def shared_deck(
        self,
        view: SharedView,
        out_dir: Path,
        export_format: str = "html",
        *,
        where: str = "",
        progress: ProgressFn = no_progress,
        cancel: CancelToken = NEVER_CANCELLED,
    ) -> Path:
        """The shared case or conference as a deck a visitor may download, when the link allows it.

        The export asks the release gate itself (way out "share link"): nothing is written for a
        case that became not ready since the page was drawn.
        """
        if not view.may_download:
            raise PermissionDenied("This link does not allow downloading; view the case here instead.")
        if export_format not in DECK_FORMATS:
            raise ValidationError(f"A shared deck is one of {', '.join(DECK_FORMATS)}.")
        link = self.still_open(view).grant.link
        out = Path(out_dir) / f"casedeck-{link.target_id}.{export_format}"
        written = self.library.export(
            link.target_id, export_format, out, way_out=WAY_OUT, progress=progress, cancel=cancel
        )
        self.department.audit.record(
            VISITOR,
            f"{link.target_kind}.export",
            target_kind=link.target_kind,
            target_id=link.target_id,
            where=where,
            format=export_format,
            link=link.key[:16],
        )
        return written

    # -- upload links ---------------------------------------------------------------------
    def open_upload(self, token: str, password: str | None = None, *, where: str = "") -> UploadTarget:
        """What an upload link takes: the target by a name safe to show an outsider, and the limit."""
        grant = self._open(token, password, where, LinkKind.UPLOAD)
        link = grant.link
        try:
            if link.target_kind == "case":
                name = safe_title(self.library.get_case(link.target_id).title, "a case")
            else:
                name = safe_title(self.library.get_conference(link.target_id).title, "a conference")
        except NotFoundError:
            raise LinkRefused(GONE) from None
        return UploadTarget(grant, name, link.max_upload_bytes, link.expires)

    def receive_upload(
        self,
        token: str,
        files: Sequence[Upload],
        *,
        password: str | None = None,
        where: str = "",
        progress: ProgressFn = no_progress,
        cancel: CancelToken = NEVER_CANCELLED,
    ) -> UploadOutcome:
        """Import what an upload link received, de-identified on arrival, and tell the link's owner.

        Refused with nothing imported when the link does not open, nothing was chosen, or the files
        are larger than the link's limit. See the module doc for where the new cases go.
        """
        grant = self._open(token, password, where, LinkKind.UPLOAD)
        link = grant.link
        size = sum(len(f.data) for f in files)
        try:
            if not files:
                raise UploadRefused("Choose at least one DICOM file or a zip of a study.")
            if size > link.max_upload_bytes:
                raise UploadRefused(
                    f"These files are {_size(size)}, more than this link takes ({_size(link.max_upload_bytes)}); "
                    "nothing was imported. Send fewer files at a time, or ask for a link with a larger limit."
                )
            try:
                target_sharing = self._sharing(link.target_kind, link.target_id)
            except NotFoundError:
                raise UploadRefused(GONE) from None
        except UploadRefused as exc:
            self.department.audit.record(
                VISITOR,
                "share.refused",
                target_kind=link.target_kind,
                target_id=link.target_id,
                where=where,
                reason=type(exc).__name__,
                bytes=size,
                link=link.key[:16],
            )
            raise
        before = self._known_cases()
        with QuarantineFolder(self.library.settings.quarantine_dir, _UPLOAD_FOLDER) as folder:
            paths = []
            for number, upload in enumerate(files, start=1):
                # Named by position: the browser's file name may carry a patient's name.
                path = folder / f"{number:05d}{'.zip' if upload.name.lower().endswith('.zip') else '.dcm'}"
                path.write_bytes(bytes(upload.data))
                paths.append(path)
            report = self.library.import_dicom(paths, progress=progress, cancel=cancel)
        new = tuple(i for i in report.case_ids if i not in before)
        for case_id in new:
            self._own(case_id, link.owner, target_sharing)
        if link.target_kind == "conference" and new:
            self.library.add_cases(link.target_id, new)
        joined = link.target_kind == "case" and link.target_id in report.case_ids
        outcome = UploadOutcome(
            bytes=size,
            images=report.instances_imported,
            new_case_ids=new,
            joined_target=joined,
            already_in_library=len(report.case_ids) - len(new) - int(joined),
            problems=tuple(f"{p.item}: {p.reason}" for p in report.problems),
        )
        self.department.audit.record(
            VISITOR,
            "upload.received",
            target_kind=link.target_kind,
            target_id=link.target_id,
            where=where,
            count=report.instances_imported,
            bytes=size,
            link=link.key[:16],
        )
        if report.instances_imported:
            self._tell_owner(link)
        return outcome

    def _known_cases(self) -> frozenset[str]:
        """The ids of every case now (the store's own list, not one person's view of it)."""
        return frozenset(s.id for s in self.library.store.summaries())

    def _own(self, case_id: str, owner: str, target: Sharing) -> None:
        """A new case from an upload belongs to the link's owner, visible like the target it came for."""
        sharing = Sharing(owner, target.visibility, target.groups)
        self.library.store.update_case(case_id, lambda case: replace(case, sharing=sharing))

    def _tell_owner(self, link: Link) -> None:
        """The link's owner is told in the app (and by mail when set up); a failure never undoes the upload."""
        try:
            try:
                user = self.department.accounts.user(link.owner)
                name, email = user.display_name or user.username, user.email or None
            except NotFoundError:  # the local operator, or an account removed since
                name, email = link.owner, None
            try:
                recipient = Recipient(link.owner, name, email)
            except ValidationError:
                recipient = Recipient(link.owner, "colleague", None)
            target: Literal["case", "conference"] = "case" if link.target_kind == "case" else "conference"
            self.department.notify(UploadArrived(recipient, target, link.target_id))
        except CaseDeckError as exc:
            log.warning("The owner of an upload link could not be told (%s)", type(exc).__name__)


def _size(n: int) -> str:
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("kB", 1024)):
        if n >= factor:
            return f"{n / factor:.1f} {unit}"
    return f"{n} bytes"
