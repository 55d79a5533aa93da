"""Retrieve chosen studies (or some of their series) into the library, one quarantine folder per study.

Each study is retrieved into its own folder inside the quarantine, imported by
the normal import pipeline (which de-identifies every instance) and the folder
is removed straight after, also on failure or cancel. A batch goes on past a
study that fails. Problems and progress name a study by its position in the
batch ("study 2 of 5"), never by an accession, name or UID.

Retrieval and import overlap across studies (issue #18): while one study is
de-identified, the next is coming off the PACS. The quarantine holds at most two
studies of a batch, so a slow import holds the PACS back. A study is imported
whole or not at all, as before.
"""

from __future__ import annotations

import itertools
import queue
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

#: Studies a batch keeps in the quarantine at once: one being imported, the next retrieved meanwhile.
STUDIES_IN_QUARANTINE = 2
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
    problems: list[ImportProblem] = []
    imported: dict[int, ImportReport] = {}
    importer = _Importer(import_folder, on_study, cancel, problems, imported)
    importer.start()
    cancelled_from: int | None = None
    try:
        for position, request in enumerate(requests, start=1):
            label = _label(position, count)
            progress(position - 1, count, f"Retrieving {label}")
            try:
                importer.take_a_slot(cancel)  # waits while two studies are in the quarantine
                cancel.raise_if_cancelled()
                retrieved = _retrieve(
                    node,
                    request,
                    position,
                    label,
                    quarantine_dir=quarantine_dir,
                    on_study=on_study,
                    cancel=cancel,
                    problems=importer.problems_lock,
                    problem_list=problems,
                )
            except Cancelled:
                cancelled_from = position
                break
            if retrieved is None:
                importer.free_a_slot()  # nothing to import: its folder is gone already
            else:
                importer.hand_over(retrieved)
    finally:
        importer.finish()  # the studies handed over are imported (or, after a cancel, discarded)
    first_lost = min([p for p in importer.cancelled] + ([cancelled_from] if cancelled_from else []), default=None)
    if first_lost is not None:
        # Studies finished before the cancel stay in the library; say which were not fetched.
        problems.append(ImportProblem(f"studies {first_lost} to {count}", "not retrieved: cancelled"))
        for rest in range(first_lost, count + 1):
            if rest not in imported:
                on_study(StudyProgress(rest, _label(rest, count), Stage.CANCELLED, 0, 0, "cancelled"))
    case_ids: list[str] = []
    duplicates: list[DuplicateStudy] = []
    instances = 0
    for position in sorted(imported):
        report = imported[position]
        instances += report.instances_imported
        case_ids.extend(c for c in report.case_ids if c not in case_ids)
        duplicates.extend(report.duplicates)
        problems.extend(ImportProblem(f"{_label(position, count)}: {p.item}", p.reason) for p in report.problems)
    progress(count, count, "Done")
    return PullReport(tuple(case_ids), len(imported), instances, tuple(problems), tuple(duplicates))


@dataclass(frozen=True, slots=True)
class _Retrieved:
    """A study wholly in its quarantine folder, waiting to be imported (the importer removes the folder)."""

    position: int
    label: str
    workspace: QuarantineFolder
    expected: int


class _Importer:
    """The second stage: imports retrieved studies one by one in a thread, while the next is retrieved.

    At most two studies are in the quarantine at once (one imported, one retrieved or waiting):
    ``take_a_slot`` holds the retrieval back until the importer has removed a folder. After a
    cancel, a waiting study is discarded unimported and its folder removed.
    """

    def __init__(
        self,
        import_folder: ImportFolder,
        on_study: StudyProgressFn,
        cancel: CancelToken,
        problems: list[ImportProblem],
        imported: dict[int, ImportReport],
    ) -> None:
        self._import_folder = import_folder
        self._on_study = on_study
        self._cancel = cancel
        self._problems = problems
        self.problems_lock = threading.Lock()
        self.imported = imported
        self.cancelled: list[int] = []
        self._waiting: queue.Queue[_Retrieved | None] = queue.Queue()
        self._slots = threading.Semaphore(STUDIES_IN_QUARANTINE)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="casedeck-pull-import", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def take_a_slot(self, cancel: CancelToken) -> None:
        while not self._slots.acquire(timeout=0.2):
            cancel.raise_if_cancelled()

    def free_a_slot(self) -> None:
        self._slots.release()

    def hand_over(self, retrieved: _Retrieved) -> None:
        self._waiting.put(retrieved)

    def finish(self) -> None:
        self._waiting.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        while (retrieved := self._waiting.get()) is not None:
            try:
                if self._cancel.cancelled:
                    self.cancelled.append(retrieved.position)
                    continue
                report = _import(retrieved, self._import_folder, self._on_study, self._fail)
                if report is not None:
                    self.imported[retrieved.position] = report
            except Cancelled:
                self.cancelled.append(retrieved.position)
            except BaseException as exc:  # raised in the caller's thread by finish(); the rest is discarded
                if self._error is None:
                    self._error = exc
            finally:
                retrieved.workspace.remove()
                self._slots.release()

    def _fail(self, label: str, reason: str) -> None:
        with self.problems_lock:
            self._problems.append(ImportProblem(label, reason))


def _label(position: int, count: int) -> str:
    return f"study {position} of {count}"


def _retrieve(
    node: PacsNode,
    request: StudyRequest,
    position: int,
    label: str,
    *,
    quarantine_dir: Path,
    on_study: StudyProgressFn,
    cancel: CancelToken,
    problems: threading.Lock,
    problem_list: list[ImportProblem],
) -> _Retrieved | None:
    """The first stage: the study into its own quarantine folder (None: nothing to import, folder removed)."""
    expected = request.expected_instances or 0

    def report(stage: Stage, done: int, total: int, message: str = "") -> None:
        on_study(StudyProgress(position, label, stage, done, total, message))

    def problem(reason: str) -> None:
        with problems:
            problem_list.append(ImportProblem(label, reason))

    def fail(reason: str) -> None:
        problem(reason)
        report(Stage.FAILED, 0, expected, reason)

    workspace = QuarantineFolder(quarantine_dir, "pull-")
    handed_over = False
    try:
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
            (workspace.path / f"{next(counter):07d}.dcm").write_bytes(data)
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
                problem(
                    f"{outcome.failed} image(s) could not be retrieved (the PACS refused to send them, or they "
                    "are of a kind CaseDeck does not take); the others were"
                )
        except RetrieveInterrupted as exc:
            problem(f"the retrieve stopped part-way ({exc}); the images that arrived were kept")
            if exc.partial.received == 0:
                report(Stage.FAILED, 0, expected, "nothing arrived")
                return None
        except PacsError as exc:
            fail(f"the retrieve failed: {exc}")
            return None
        if received == 0:
            fail("the PACS sent no images for this study")
            return None
        handed_over = True
        return _Retrieved(position, label, workspace, expected)
    finally:
        if not handed_over:
            workspace.remove()


def _import(
    retrieved: _Retrieved,
    import_folder: ImportFolder,
    on_study: StudyProgressFn,
    fail: Callable[[str, str], None],
) -> ImportReport | None:
    """The second stage: de-identify and store one retrieved study (the caller removes its folder)."""

    def report(stage: Stage, done: int, total: int, message: str = "") -> None:
        on_study(StudyProgress(retrieved.position, retrieved.label, stage, done, total, message))

    def importing(done: int, total: int, message: str) -> None:
        report(Stage.IMPORTING, done, total, "de-identifying")

    try:
        result = import_folder(retrieved.workspace.path, importing)
    except Cancelled:
        raise
    except CaseDeckError as exc:
        reason = f"the images could not be imported: {exc}"
        fail(retrieved.label, reason)
        report(Stage.FAILED, 0, retrieved.expected, reason)
        return None
    report(Stage.DONE, result.instances_imported, result.instances_imported, "done")
    return result
