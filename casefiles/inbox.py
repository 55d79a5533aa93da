"""The inbox: a study sent to CaseDeck's receiver becomes a de-identified draft case.

The study's raw files go through the normal import (which de-identifies and
merges into an existing case of the same study). Each IHE TCE key object
selection that came with it, or later on its own, then marks its images as key
images, adds the sender's description to the case history and tags the case;
"For Conference" cases are added to the conference "Conference inbox".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from casefiles.deid import Deidentifier
from casefiles.deid.table import Option
from casefiles.errors import CaseDeckError, ImportFailure
from casefiles.ingest import DuplicateStudy, ImportProblem, ImportReport
from casefiles.model import AssetKind, Case, Conference, KeyImage
from casefiles.pacs.receiver import ReceivedStudy
from casefiles.pacs.tce import KosTitle, TeachingSelection
from casefiles.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from casefiles.store import CaseQuery

INBOX_TAG = "inbox"
CONFERENCE_INBOX = "Conference inbox"
_TITLE_TAGS = {
    KosTitle.FOR_TEACHING: "for teaching",
    KosTitle.FOR_CONFERENCE: "for conference",
    KosTitle.OF_INTEREST: "of interest",
}
_MAX_HISTORY = 20_000  # as casefiles.model.Case checks it


class InboxLibrary(Protocol):
    """What the inbox needs of the library: import (de-identifying), read and edit cases, conferences.

    ``casefiles.services.Services`` is one; the inbox never imports it, so the use cases above can
    build the receiver without an import cycle.
    """

    @property
    def deidentifier(self) -> Deidentifier: ...

    def import_dicom(
        self, sources: Sequence[Path], *, progress: ProgressFn = no_progress, cancel: CancelToken = NEVER_CANCELLED
    ) -> ImportReport: ...

    def get_case(self, case_id: str) -> Case: ...

    def list_cases(self, case_filter: CaseQuery | None = None) -> list[Case]: ...

    def update_case(self, case_id: str, changes: Mapping[str, Any]) -> Case: ...

    def set_key_images(self, case_id: str, key_images: Iterable[KeyImage]) -> Case: ...

    def list_conferences(self) -> list[Conference]: ...

    def create_conference(self, title: str, *, case_ids: Sequence[str] = ()) -> Conference: ...

    def add_cases(self, conference_id: str, case_ids: Sequence[str]) -> Conference: ...


@dataclass(frozen=True, slots=True)
class InboxResult:
    """What filing one received study did: cases made or touched, key images set, and problems (screen only)."""

    case_ids: tuple[str, ...]
    key_images_added: int
    problems: tuple[ImportProblem, ...]
    #: Studies received that were already in the library (a warning, as the import reports it).
    duplicates: tuple[DuplicateStudy, ...] = ()


def file_received_study(services: InboxLibrary, received: ReceivedStudy) -> InboxResult:
    """Import ``received`` (de-identified) and apply its teaching selections to the cases.

    A selection whose images were filed earlier (its study sent before it)
    still finds them: the library is searched by the de-identified UIDs.
    Problems with single files or selections are reported, not raised.
    """
    case_ids: list[str] = []
    problems: list[ImportProblem] = []
    duplicates: tuple[DuplicateStudy, ...] = ()
    if received.instance_count > 0:
        try:
            # Imported while it arrived (the receiver's import_arrivals), or now from its folder.
            report = received.imported() if received.imported else services.import_dicom([received.folder])
        except CaseDeckError as exc:
            problems.append(ImportProblem("received study", f"it could not be imported: {exc}"))
        else:
            case_ids += report.case_ids
            problems += report.problems
            duplicates = report.duplicates
    added = 0
    for number, selection in enumerate(received.selections, start=1):
        label = f"key object selection {number} of {len(received.selections)}"
        try:
            touched, count = _apply_selection(services, selection, case_ids, label, problems)
        except CaseDeckError as exc:
            problems.append(ImportProblem(label, f"it could not be applied: {exc}"))
            continue
        added += count
        case_ids += [c for c in touched if c not in case_ids]
    for case_id in case_ids:
        _add_tags(services, case_id, [INBOX_TAG])
    return InboxResult(tuple(dict.fromkeys(case_ids)), added, tuple(problems), duplicates)


def inbox_handler(
    services: InboxLibrary, *, on_result: Callable[[InboxResult], None] | None = None
) -> Callable[[ReceivedStudy], None]:
    """An ``on_study`` for :class:`~casefiles.pacs.receiver.StorageReceiver` that files into ``services``.

    Raises :class:`~casefiles.errors.ImportFailure` when a received study
    produced no case at all, so the receiver counts and shows the problem.
    """

    def on_study(received: ReceivedStudy) -> None:
        result = file_received_study(services, received)
        if on_result is not None:
            on_result(result)
        if not result.case_ids and (received.instance_count or received.selections):
            first = result.problems[0] if result.problems else None
            why = f" ({first.item}: {first.reason})" if first else ""
            raise ImportFailure(f"Nothing of a received study could be filed{why}.")

    return on_study


def _apply_selection(
    services: InboxLibrary,
    selection: TeachingSelection,
    imported: list[str],
    label: str,
    problems: list[ImportProblem],
) -> tuple[list[str], int]:
    """Key images, history, tags and conference for one selection; (cases touched, key images added)."""
    retain = Option.RETAIN_UIDS in services.deidentifier.profile.options

    def stored(uid: str) -> str:
        return uid if retain else services.deidentifier.remap_uid(uid)

    wanted = {stored(uid): n for n, uid in enumerate(selection.referenced_sop_uids)}
    study = stored(selection.study_uid)
    found: dict[str, list[tuple[int, KeyImage]]] = {}
    for case in _candidates(services, study, imported):
        for order, key in _key_images_in(case, wanted):
            found.setdefault(case.id, []).append((order, key))
    located = sum(len(keys) for keys in found.values())
    what = f"the “{selection.title.value}” selection" if selection.title is not KosTitle.OTHER else "the selection"
    if not located:
        problems.append(
            ImportProblem(
                label,
                f"none of the {len(wanted)} images of {what} is in the library — send the study itself too",
            )
        )
        return [], 0
    if located < len(wanted):
        problems.append(
            ImportProblem(label, f"{len(wanted) - located} of the {len(wanted)} images of {what} were not received")
        )
    added = 0
    for case_id, keys in found.items():
        added += _add_key_images(services, case_id, [k for _, k in sorted(keys, key=lambda pair: pair[0])])
        _add_description(services, case_id, selection.description, label, problems)
        title_tag = _TITLE_TAGS.get(selection.title)
        if title_tag:
            _add_tags(services, case_id, [title_tag])
    if selection.title is KosTitle.FOR_CONFERENCE:
        _add_to_conference_inbox(services, list(found))
    return list(found), added


def _candidates(services: InboxLibrary, study_uid: str, imported: list[str]) -> list[Case]:
    """Cases just imported, then every case holding a series of the selection's study."""
    cases: dict[str, Case] = {}
    for case_id in imported:
        cases[case_id] = services.get_case(case_id)
    for case in services.list_cases(CaseQuery(study_uid=study_uid)):
        cases.setdefault(case.id, case)
    return list(cases.values())


def _key_images_in(case: Case, wanted: dict[str, int]) -> Iterable[tuple[int, KeyImage]]:
    """(position in the selection, key image) of each wanted instance in ``case``; its first frame."""
    for asset in case.assets:
        if asset.kind is not AssetKind.DICOM_SERIES:
            continue
        frame = 0
        for instance in asset.instances:
            order = wanted.get(instance.sop_instance_uid)
            if order is not None:
                yield order, KeyImage(asset_id=asset.id, frame=frame)
            frame += instance.frames


def _add_key_images(services: InboxLibrary, case_id: str, keys: list[KeyImage]) -> int:
    case = services.get_case(case_id)
    present = {(k.asset_id, k.frame) for k in case.key_images}
    new = [k for k in keys if (k.asset_id, k.frame) not in present]
    if new:
        services.set_key_images(case_id, (*case.key_images, *new))
    return len(new)


def _add_description(
    services: InboxLibrary, case_id: str, description: str, label: str, problems: list[ImportProblem]
) -> None:
    """Append the sender's (already cleaned) description to the history, once."""
    text = description.strip()
    if not text:
        return
    history = services.get_case(case_id).history
    if text in history:
        return
    combined = f"{history.rstrip()}\n\n{text}" if history.strip() else text
    if len(combined) > _MAX_HISTORY:
        problems.append(ImportProblem(label, "the description was not added: the case history is full"))
        return
    services.update_case(case_id, {"history": combined})


def _add_tags(services: InboxLibrary, case_id: str, tags: list[str]) -> None:
    case = services.get_case(case_id)
    if all(t in case.tags for t in tags):
        return
    services.update_case(case_id, {"tags": [*case.tags, *tags]})


def _add_to_conference_inbox(services: InboxLibrary, case_ids: list[str]) -> None:
    conference = next((c for c in services.list_conferences() if c.title == CONFERENCE_INBOX), None)
    if conference is None:
        services.create_conference(CONFERENCE_INBOX, case_ids=case_ids)
    else:
        services.add_cases(conference.id, case_ids)
