"""Retrieve chosen studies (or some of their series) into the library, one quarantine folder per study.

Each study is retrieved into its own folder inside the quarantine, imported by
the normal import pipeline (which de-identifies every instance) and the folder
is removed straight after, also on failure or cancel. A batch goes on past a
study that fails. Problems and progress name a study by its position in the
batch ("study 2 of 5"), never by an accession, name or UID.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from casefiles.errors import Cancelled, CaseDeckError, ValidationError
from casefiles.ingest import DuplicateStudy, ImportProblem, ImportReport
from casefiles.ingest.quarantine import QuarantineFolder
from casefiles.pacs import client
from casefiles.pacs.dimse import _check_uid
from casefiles.pacs.errors import PacsError, RetrieveInterrupted
from casefiles.pacs.nodes import PacsNode
from casefiles.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress

#: Imports one quarantine folder (de-identifying it), reporting progress as it goes.
ImportFolder = Callable[[Path, ProgressFn], ImportReport]


@dataclass(frozen=True, slots=True)
class StudyRequest:
    """One study to fetch; ``series_uids`` empty means the whole study. Holds UIDs: memory only."""

    study_uid: str
    series_uids: tuple[str, ...] = ()
    expected_instances: int | None = None

    def __post_init__(self) -> None:
        _check_uid(self.study_uid)
        object.__setattr__(self, "series_uids", tuple(self.series_uids))
        for uid in self.series_uids:
            _check_uid(uid)
        if self.expected_instances is not None and self.expected_instances < 0:
            raise ValidationError("The expected number of images cannot be negative.")


class Stage(Enum):
    WAITING = "waiting"
    RETRIEVING = "retrieving"
    IMPORTING = "de-identifying"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class StudyProgress:
    """Where one study of a batch is; ``label`` is positional ("study 2 of 5"), never PHI."""

    position: int
    label: str
    stage: Stage
    done: int
    total: int
    message: str = ""


StudyProgressFn = Callable[[StudyProgress], None]


def no_study_progress(event: StudyProgress) -> None:
    """The default: report nothing."""


@dataclass(frozen=True, slots=True)
class PullReport:
    """What a batch brought in: cases made or extended, counts, and problems (screen only).

    ``duplicates``: the studies that were already in the library (a warning, as the import reports it).
    """

    case_ids: tuple[str, ...]
    studies_retrieved: int
    instances_imported: int
    problems: tuple[ImportProblem, ...]
    duplicates: tuple[DuplicateStudy, ...] = ()


def retrieve_studies(
    node: PacsNode,
    requests: Sequence[StudyRequest],
    *,
    import_folder: ImportFolder,
    quarantine_dir: Path,
    on_study: StudyProgressFn = no_study_progress,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> PullReport:
    """Retrieve, de-identify and import each requested study; carries on past failures.

    A cancel stops the batch between images: the study in progress is discarded
    with its quarantine folder, the studies finished before it are kept and
    reported, and the rest are listed as not retrieved.
    """
    if not requests:
        raise ValidationError("Choose at least one study to retrieve.")
    count = len(requests)
    for position in range(1, count + 1):
        expected = requests[position - 1].expected_instances or 0
        on_study(StudyProgress(position, _label(position, count), Stage.WAITING, 0, expected))
    case_ids: list[str] = []
    problems: list[ImportProblem] = []
    duplicates: list[DuplicateStudy] = []
    studies = instances = 0
    for position, request in enumerate(requests, start=1):
        label = _label(position, count)
        progress(position - 1, count, f"Retrieving {label}")
        try:
            cancel.raise_if_cancelled()
            report = _retrieve_and_import(
                node,
                request,
                position,
                label,
                import_folder=import_folder,
                quarantine_dir=quarantine_dir,
                on_study=on_study,
                cancel=cancel,
                problems=problems,
            )
        except Cancelled:
            # Studies finished before the cancel stay in the library; say which were not fetched.
            problems.append(ImportProblem(f"studies {position} to {count}", "not retrieved: cancelled"))
            for rest in range(position, count + 1):
                on_study(StudyProgress(rest, _label(rest, count), Stage.CANCELLED, 0, 0, "cancelled"))
            break
        if report is None:
            continue
        studies += 1
        instances += report.instances_imported
        case_ids.extend(c for c in report.case_ids if c not in case_ids)
        duplicates.extend(report.duplicates)
        problems.extend(ImportProblem(f"{label}: {p.item}", p.reason) for p in report.problems)
    progress(count, count, "Done")
    return PullReport(tuple(case_ids), studies, instances, tuple(problems), tuple(duplicates))


def _label(position: int, count: int) -> str:
    return f"study {position} of {count}"


def _retrieve_and_import(
    node: PacsNode,
    request: StudyRequest,
    position: int,
    label: str,
    *,
    import_folder: ImportFolder,
    quarantine_dir: Path,
    on_study: StudyProgressFn,
    cancel: CancelToken,
    problems: list[ImportProblem],
) -> ImportReport | None:
    expected = request.expected_instances or 0

    def report(stage: Stage, done: int, total: int, message: str = "") -> None:
        on_study(StudyProgress(position, label, stage, done, total, message))

    def fail(reason: str) -> None:
        problems.append(ImportProblem(label, reason))
        report(Stage.FAILED, 0, expected, reason)

    with QuarantineFolder(quarantine_dir, "pull-") as workspace:
        counter = itertools.count(1)
        lock = threading.Lock()
        received = 0
        report(Stage.RETRIEVING, 0, expected, "retrieving")

        def received_one() -> None:
            nonlocal received
            with lock:
                received += 1
                done = received
            report(Stage.RETRIEVING, done, max(expected, done), f"{done} image(s) received")

        def keep_encoded(data: bytes) -> None:
            # Raw, identifiable: written only inside this quarantine folder, under a counter name.
            (workspace / f"{next(counter):07d}.dcm").write_bytes(data)
            received_one()

        try:
            outcome = client.retrieve(
                node,
                request.study_uid,
                series_uids=request.series_uids or None,
                on_encoded=keep_encoded,
                cancel=cancel,
            )
            if outcome.failed:
                problems.append(
                    ImportProblem(
                        label,
                        f"{outcome.failed} image(s) could not be retrieved (the PACS refused to send them, or they "
                        "are of a kind CaseDeck does not take); the others were",
                    )
                )
        except RetrieveInterrupted as exc:
            problems.append(
                ImportProblem(label, f"the retrieve stopped part-way ({exc}); the images that arrived were kept")
            )
            if exc.partial.received == 0:
                report(Stage.FAILED, 0, expected, "nothing arrived")
                return None
        except PacsError as exc:
            fail(f"the retrieve failed: {exc}")
            return None
        if received == 0:
            fail("the PACS sent no images for this study")
            return None

        def importing(done: int, total: int, message: str) -> None:
            report(Stage.IMPORTING, done, total, "de-identifying")

        try:
            result = import_folder(workspace, importing)
        except CaseDeckError as exc:
            fail(f"the images could not be imported: {exc}")
            return None
        report(Stage.DONE, result.instances_imported, result.instances_imported, "done")
        return result
