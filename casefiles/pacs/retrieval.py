"""Retrieve chosen studies (or some of their series) into the library, de-identifying as they arrive.

Each instance goes from the association into the study's own folder inside
the quarantine and straight on to the import, which de-identifies it while the
next ones are still coming (issue #18): the import waits for the PACS, and a
slow import holds the PACS back (a bounded queue between the two: the PACS's
next C-STORE is answered only when there is room). A study's case is filed
when its last instance is stored; its folder is removed straight after, also
on failure or cancel. While one study's last images are de-identified the
next study comes off the PACS; the quarantine holds at most two studies of a
batch. A batch goes on past a study that fails. Problems and progress name a
study by its position in the batch ("study 2 of 5"), never by an accession,
name or UID.
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from casefiles.errors import Cancelled, CaseDeckError, ValidationError
from casefiles.ingest import DuplicateStudy, Found, ImportProblem, ImportReport
from casefiles.ingest.quarantine import QuarantineFolder
from casefiles.pacs import client, dcmtk
from casefiles.pacs.dimse import _check_uid
from casefiles.pacs.errors import PacsError, RetrieveInterrupted
from casefiles.pacs.nodes import PacsNode
from casefiles.pacs.validators import MAX_INSTANCE_BYTES
from casefiles.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress

#: Studies a batch keeps in the quarantine at once: one being imported, the next retrieved meanwhile.
STUDIES_IN_QUARANTINE = 2
#: Instances of a study received but not yet taken by the import; beyond this the PACS waits.
ARRIVALS_WAITING = 64
#: Imports the instances of one study while they arrive: (arrivals, expected count, progress) -> report.
ImportArrivals = Callable[[Iterable[Found], int, ProgressFn], ImportReport]


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
    import_arrivals: ImportArrivals,
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
    importer = _Importer(import_arrivals, on_study, cancel, problems, imported)
    importer.start()
    cancelled_from: int | None = None
    try:
        for position, request in enumerate(requests, start=1):
            label = _label(position, count)
            progress(position - 1, count, f"Retrieving {label}")
            try:
                importer.take_a_slot(cancel)  # waits while two studies are in the quarantine
                cancel.raise_if_cancelled()
            except Cancelled:
                cancelled_from = position
                break
            workspace = QuarantineFolder(quarantine_dir, "pull-")
            study = _Arriving(
                position, label, workspace, request.expected_instances, cancel=cancel, problem=importer.problem
            )
            importer.hand_over(study)  # the import starts on its first instance, while the rest arrive
            try:
                _retrieve(node, request, study, on_study=on_study, cancel=cancel, problem=importer.problem)
            except Cancelled:
                study.abandon()
                cancelled_from = position
                break
            except BaseException:
                study.abandon()  # an unforeseen fault: its import must not wait for instances that never come
                raise
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


class _Abandoned(CaseDeckError):
    """The retrieve of a study failed in a way that keeps none of it: its import stops and saves nothing."""


class _Arriving:
    """One study's instances on their way from the association to the import.

    The retrieve writes each instance into the study's quarantine folder and
    :meth:`put` s it here; the import takes them from :meth:`arrivals` as they
    come. The queue is bounded: when the import falls behind, ``put`` waits,
    and with it the answer to the PACS's C-STORE.
    """

    def __init__(
        self,
        position: int,
        label: str,
        workspace: QuarantineFolder,
        expected: int | None,
        *,
        cancel: CancelToken,
        problem: Callable[[str, str], None],
    ) -> None:
        self.position = position
        self._problem = problem
        self.label = label
        self.workspace = workspace
        self.expected = expected or 0
        self.received = 0
        self.closed = threading.Event()  # the retrieve is over: no instance will come any more
        self._queue: queue.Queue[Found | None] = queue.Queue(maxsize=ARRIVALS_WAITING)
        self._abandoned = threading.Event()
        #: Stops this study's retrieve: the user's cancel, or its import giving up.
        self.cancel = _EitherCancel(cancel, self._abandoned)
        self._counter = itertools.count(1)

    def put(self, data: bytes) -> int:
        """Write one instance (raw, identifiable) into the quarantine folder and queue it; its arrival number.

        Raises PacsError for an instance over the size limit (said as a problem by its position):
        the PACS is told it was not stored, and sends the rest.
        """
        self.cancel.raise_if_cancelled()
        number = next(self._counter)
        if len(data) > MAX_INSTANCE_BYTES:
            self._too_large(number)
            raise PacsError("The instance is larger than the limit.")
        path = self.workspace.path / f"{number:07d}.dcm"
        path.write_bytes(data)
        return self._queue_up(Found(f"image {number}", path), number)

    def put_file(self, whole: Path) -> int:
        """Queue an instance another program wrote inside this study's folder (moved, not copied).

        A file over the size limit is deleted and said as a problem by its position.
        """
        self.cancel.raise_if_cancelled()
        number = next(self._counter)
        if whole.stat().st_size > MAX_INSTANCE_BYTES:
            whole.unlink()
            self._too_large(number)
            return self.received
        path = self.workspace.path / f"{number:07d}.dcm"
        whole.rename(path)
        return self._queue_up(Found(f"image {number}", path), number)

    def _too_large(self, number: int) -> None:
        limit = MAX_INSTANCE_BYTES / 2**20
        self._problem(self.label, f"image {number} is larger than the limit of {limit:,.0f} MB; it was not kept")

    def _queue_up(self, found: Found, number: int) -> int:
        while True:
            self.cancel.raise_if_cancelled()
            try:
                self._queue.put(found, timeout=0.2)
                break
            except queue.Full:
                continue  # the import is behind: the PACS waits for our answer meanwhile
        self.received = number
        return number

    def close(self) -> None:
        """Nothing more will arrive: the import files the study once it has taken what is queued."""
        self.closed.set()
        self._put_end()

    def abandon(self) -> None:
        """Keep nothing of this study: its import raises and saves nothing."""
        self._abandoned.set()
        self.close()

    def _put_end(self) -> None:
        while True:
            try:
                self._queue.put(None, timeout=0.2)
                return
            except queue.Full:
                if self._abandoned.is_set():
                    self._drain()

    def _drain(self) -> None:
        try:
            while True:
                self._queue.get_nowait()
        except queue.Empty:
            pass

    def arrivals(self, cancel: CancelToken) -> Iterator[Found]:
        """Each instance as it arrives, until the retrieve is over; raises if the study is abandoned."""
        while True:
            try:
                found = self._queue.get(timeout=0.2)
            except queue.Empty:
                cancel.raise_if_cancelled()
                continue
            cancel.raise_if_cancelled()
            if self._abandoned.is_set():
                raise _Abandoned("The retrieve of this study failed; nothing of it is kept.")
            if found is None:
                return
            yield found


class _EitherCancel(CancelToken):
    """Cancelled when the user cancels the batch, or when one study is abandoned."""

    __slots__ = ("_batch",)

    def __init__(self, batch: CancelToken, study: threading.Event) -> None:
        super().__init__()
        self._batch = batch
        self._event = study

    @property
    def cancelled(self) -> bool:
        return self._event.is_set() or self._batch.cancelled

    def raise_if_cancelled(self) -> None:
        if self.cancelled:
            raise Cancelled("The operation was cancelled; nothing partial was kept.")


class _Importer:
    """The second stage, in a thread: imports each study while its instances arrive, one study at a time.

    At most two studies are in the quarantine at once (one imported, the next
    retrieved or waiting): ``take_a_slot`` holds the retrieval back until the
    importer has removed a folder. After a cancel, a waiting study is discarded
    unimported and its folder removed.
    """

    def __init__(
        self,
        import_arrivals: ImportArrivals,
        on_study: StudyProgressFn,
        cancel: CancelToken,
        problems: list[ImportProblem],
        imported: dict[int, ImportReport],
    ) -> None:
        self._import_arrivals = import_arrivals
        self._on_study = on_study
        self._cancel = cancel
        self._problems = problems
        self._problems_lock = threading.Lock()
        self.imported = imported
        self.cancelled: list[int] = []
        self._waiting: queue.Queue[_Arriving | None] = queue.Queue()
        self._slots = threading.Semaphore(STUDIES_IN_QUARANTINE)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="casedeck-pull-import", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def take_a_slot(self, cancel: CancelToken) -> None:
        while not self._slots.acquire(timeout=0.2):
            cancel.raise_if_cancelled()

    def hand_over(self, study: _Arriving) -> None:
        self._waiting.put(study)

    def problem(self, label: str, reason: str) -> None:
        with self._problems_lock:
            self._problems.append(ImportProblem(label, reason))

    def finish(self) -> None:
        self._waiting.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        while (study := self._waiting.get()) is not None:
            try:
                if self._cancel.cancelled:
                    self.cancelled.append(study.position)
                    continue
                report = self._import(study)
                if report is not None:
                    self.imported[study.position] = report
            except Cancelled:
                self.cancelled.append(study.position)
            except BaseException as exc:  # raised in the caller's thread by finish(); the rest is discarded
                if self._error is None:
                    self._error = exc
                study.abandon()
            finally:
                # Whatever happened, nothing more of this study is wanted: a retrieve still running
                # stops, and one waiting for room to say it is complete is let go (after a cancel no
                # one would ever take what it queued).
                study.abandon()
                study.workspace.remove()
                self._slots.release()

    def _import(self, study: _Arriving) -> ImportReport | None:
        """De-identify and store one study as it arrives (the caller removes its folder)."""

        def report(stage: Stage, done: int, total: int, message: str = "") -> None:
            self._on_study(StudyProgress(study.position, study.label, stage, done, total, message))

        def importing(done: int, total: int, message: str) -> None:
            if study.closed.is_set():  # while images arrive, the retrieve reports the study's progress
                report(Stage.IMPORTING, done, max(total, study.received), "de-identifying")

        try:
            result = self._import_arrivals(study.arrivals(self._cancel), study.expected, importing)
        except _Abandoned:
            return None  # the retrieve said why
        except Cancelled:
            raise
        except CaseDeckError as exc:
            reason = f"the images could not be imported: {exc}"
            self.problem(study.label, reason)
            report(Stage.FAILED, 0, study.expected, reason)
            return None
        if result.instances_imported == 0 and study.received == 0:
            return None  # nothing arrived: the retrieve said why
        report(Stage.DONE, result.instances_imported, result.instances_imported, "done")
        return result


def _ordinal(number: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st ..."""
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def _label(position: int, count: int) -> str:
    return f"study {position} of {count}"


def _retrieve(
    node: PacsNode,
    request: StudyRequest,
    study: _Arriving,
    *,
    on_study: StudyProgressFn,
    cancel: CancelToken,
    problem: Callable[[str, str], None],
) -> None:
    """The first stage: the study's instances into its quarantine folder and on to the import, as they come.

    Closes ``study`` when the retrieve is over; abandons it when the retrieve
    failed in a way that keeps nothing. Raises Cancelled on a cancel.
    """
    expected = study.expected
    label = study.label
    lock = threading.Lock()

    def report(stage: Stage, done: int, total: int, message: str = "") -> None:
        on_study(StudyProgress(study.position, label, stage, done, total, message))

    def fail(reason: str) -> None:
        problem(label, reason)
        report(Stage.FAILED, 0, expected, reason)

    def received(done: int) -> None:
        report(Stage.RETRIEVING, done, max(expected, done), f"{done} image(s) received")

    def keep_encoded(data: bytes) -> None:
        with lock:  # one instance at a time, in the order the PACS sent them
            done = study.put(data)
        received(done)

    def keep_file(path: Path) -> None:
        received(study.put_file(path))

    report(Stage.RETRIEVING, 0, expected, "retrieving")
    series_uids = request.series_uids or None
    try:
        if dcmtk.uses_dcmtk(node):
            workdir = study.workspace.path / "transport"
            workdir.mkdir()
            outcome = dcmtk.get_study_files(
                node,
                request.study_uid,
                series_uids=series_uids,
                workdir=workdir,
                on_file=keep_file,
                cancel=study.cancel,
            )
        else:
            outcome = client.retrieve(
                node, request.study_uid, series_uids=series_uids, on_encoded=keep_encoded, cancel=study.cancel
            )
        for position in outcome.strays:
            problem(label, f"the instance that came {_ordinal(position)} is of another study or series; not kept")
        if outcome.failed:
            problem(
                label,
                f"{outcome.failed} image(s) could not be retrieved (the PACS refused to send them, or they "
                "are of a kind CaseDeck does not take); the others were",
            )
    except Cancelled:
        if cancel.cancelled:
            raise
        return  # the import gave up on this study (and said why): nothing more of it is wanted
    except RetrieveInterrupted as exc:
        problem(label, f"the retrieve stopped part-way ({exc}); the images that arrived were kept")
        if exc.partial.received == 0:
            report(Stage.FAILED, 0, expected, "nothing arrived")
            study.abandon()
            return
    except PacsError as exc:
        fail(f"the retrieve failed: {exc}")
        study.abandon()
        return
    except OSError as exc:  # the quarantine could not take the instance (a full disk): said without its path
        fail(f"the images could not be kept for de-identification: {exc.strerror or type(exc).__name__}")
        study.abandon()
        return
    cancel.raise_if_cancelled()
    if study.received == 0:
        fail("the PACS sent no images for this study")
        study.abandon()
        return
    study.close()
