"""CaseDeck's always-on DICOM receiver: a storage SCP that turns what workstations send into studies.

Radiologists send a study (and an IHE TCE key object selection "For Teaching"
or "For Conference") from their PACS workstation to CaseDeck's AE title. Each
instance is written, as it arrived, into a folder of its own inside the
quarantine, named by a counter; key object selections are read in memory and
never written. A study is complete when nothing more has arrived for it for
``quiet_seconds``: the selection may come before or after its images. Then
``on_study`` (the inbox, which de-identifies) runs on a worker thread, and the
study's folder is removed afterwards whatever happened.

With ``import_arrivals`` (issue #18), each instance also goes on to the import
as soon as it is written (a bounded queue: a slow import holds the sender
back), so a study is de-identified while it arrives; when it is complete the
import files it, and ``on_study`` receives the import's outcome with it.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import math
import queue
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from pydicom.dataset import Dataset
from pynetdicom import AE, evt
from pynetdicom.transport import ThreadedAssociationServer

from casefiles.errors import CaseDeckError, StorageError, ValidationError
from casefiles.ingest import Found, ImportReport
from casefiles.ingest.quarantine import QuarantineFolder
from casefiles.pacs.dimse import (
    COMMON_IMAGE_CLASSES,
    COMPRESSED,
    OTHER_CLASSES,
    UNCOMPRESSED,
    Verification,
    _quiet_pynetdicom,
)
from casefiles.pacs.errors import PacsConnectionError, PacsError
from casefiles.pacs.listeners import register, unregister
from casefiles.pacs.tce import KOS_SOP_CLASS, TceError, TeachingSelection, parse_kos
from casefiles.pacs.validators import MAX_INSTANCE_BYTES, check_ae_title

OnInstance = Callable[[Dataset], None]

# C-STORE statuses (PS3.4 B.2.3).
_OK = 0x0000
_OUT_OF_RESOURCES = 0xA700
#: Limits a sender cannot push past: one instance's size, the free space left, associations at once.
DEFAULT_MAX_INSTANCE_BYTES = MAX_INSTANCE_BYTES
DEFAULT_MIN_FREE_BYTES = 2 * 2**30
DEFAULT_MAX_ASSOCIATIONS = 8
_CANNOT_UNDERSTAND = 0xC000
#: How long stop() lets a sender finish an association that is under way.
_STOP_GRACE_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class ReceivedStudy:
    """One complete study as received: raw files in ``folder`` (quarantine) and its TCE selections.

    ``folder`` is removed as soon as ``on_study`` returns; ``instance_count``
    may be 0 when only a key object selection arrived (for a study filed before).
    """

    folder: Path
    instance_count: int
    selections: tuple[TeachingSelection, ...]
    calling_ae: str
    #: The import of the study's instances, done while they arrived: returns its report or raises its error.
    #: None when the receiver was given no ``import_arrivals`` (the folder is to be imported).
    imported: Callable[[], ImportReport] | None = None


@dataclass(frozen=True, slots=True)
class ReceiverStatus:
    """What the receiver is doing, for a status line; ``last_problem`` never holds patient data."""

    running: bool
    port: int
    studies_waiting: int
    instances_waiting: int
    studies_filed: int
    instances_received: int
    problems: int
    last_problem: str


OnStudy = Callable[[ReceivedStudy], None]
#: Imports a study's instances while they arrive (each a whole file in the quarantine), filing it at the end.
ImportArrivals = Callable[[Iterable[Found]], ImportReport]
#: Instances of one study written but not yet taken by its import; beyond this the sender waits.
ARRIVALS_WAITING = 64


class _StudyImport:
    """One study's import, running in a thread of its own from the study's first instance to its filing."""

    def __init__(self, import_arrivals: ImportArrivals) -> None:
        self._queue: queue.Queue[Found | None] = queue.Queue(maxsize=ARRIVALS_WAITING)
        self._report: ImportReport | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, args=(import_arrivals,), name="casedeck-receiver-import", daemon=True
        )
        self._thread.start()

    def put(self, found: Found) -> None:
        """Hand on one written instance; waits while the import is behind (the sender waits with it)."""
        while self._thread.is_alive():
            try:
                self._queue.put(found, timeout=0.2)
                return
            except queue.Full:
                continue
        # The import ended early (it failed): the study's files stay for the filing to report.

    def finish(self) -> ImportReport:
        """Nothing more will arrive: wait for the import to file the study; its report, or its error raised."""
        while self._thread.is_alive():
            try:
                self._queue.put(None, timeout=0.2)
                break
            except queue.Full:
                continue
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._report is not None
        return self._report

    def _run(self, import_arrivals: ImportArrivals) -> None:
        try:
            self._report = import_arrivals(self._arrivals())
        except BaseException as exc:  # raised to the filing thread by finish()
            self._error = exc
            self._drain()

    def _arrivals(self) -> Iterator[Found]:
        while (found := self._queue.get()) is not None:
            yield found

    def _drain(self) -> None:
        try:
            while True:
                self._queue.get_nowait()
        except queue.Empty:
            pass


@dataclass(slots=True)
class _Pending:
    """A study still receiving (guarded by the receiver's lock)."""

    folder: Path
    calling_ae: str
    last_arrival: float
    instances: int = 0
    writing: int = 0
    selections: list[TeachingSelection] = field(default_factory=list)
    importing: _StudyImport | None = None
    arrived: int = 0  # instances begun, for their position ("image 7") in the import's problems


class StorageReceiver:
    """A storage SCP (C-STORE, C-ECHO) on ``host:port`` that hands each complete study to ``on_study``.

    Use as a context manager, or call :meth:`start` and :meth:`stop`. Only
    calling AE titles in ``allowed_calling_aes`` may send when it is given;
    the called AE title must be ``ae_title``.
    """

    def __init__(
        self,
        *,
        ae_title: str,
        host: str,
        port: int,
        quarantine_dir: Path,
        on_study: OnStudy,
        quiet_seconds: float = 10.0,
        allowed_calling_aes: frozenset[str] | None = None,
        max_instance_bytes: int = DEFAULT_MAX_INSTANCE_BYTES,
        min_free_bytes: int = DEFAULT_MIN_FREE_BYTES,
        max_associations: int = DEFAULT_MAX_ASSOCIATIONS,
        import_arrivals: ImportArrivals | None = None,
    ) -> None:
        check_ae_title(ae_title, "The receiver's AE title")
        for name, value, least in (
            ("max_instance_bytes", max_instance_bytes, 1),
            ("min_free_bytes", min_free_bytes, 0),
            ("max_associations", max_associations, 1),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValidationError(f"The receiver's {name} must be a whole number of at least {least}.")
        if not isinstance(host, str):
            raise ValidationError("The receiver's host must be text: an address of this computer, e.g. 0.0.0.0.")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValidationError(f"The receiver's port must be a whole number from 1 to 65535, not {port!r}.")
        if not callable(on_study):
            raise ValidationError("on_study must be a function that files a received study.")
        if (
            isinstance(quiet_seconds, bool)
            or not isinstance(quiet_seconds, int | float)
            or not math.isfinite(quiet_seconds)
            or quiet_seconds <= 0
        ):
            raise ValidationError(f"quiet_seconds must be a positive number of seconds, not {quiet_seconds!r}.")
        if allowed_calling_aes is not None:
            if isinstance(allowed_calling_aes, str) or not isinstance(allowed_calling_aes, frozenset | set):
                raise ValidationError("allowed_calling_aes must be a set of AE titles (or None to accept any).")
            if not allowed_calling_aes:
                raise ValidationError("allowed_calling_aes is empty: nobody could send. Give None to accept any.")
            for title in allowed_calling_aes:
                check_ae_title(title, "An allowed calling AE title")
        self._ae_title = ae_title
        self._host = host
        self._port = port
        self._quarantine_dir = Path(quarantine_dir)
        self._on_study = on_study
        self._quiet = float(quiet_seconds)
        self._allowed = frozenset(allowed_calling_aes) if allowed_calling_aes is not None else None
        self._max_instance_bytes = max_instance_bytes
        self._min_free_bytes = min_free_bytes
        self._max_associations = max_associations
        self._import_arrivals = import_arrivals

        self._lock = threading.Lock()
        self._pending: dict[str, _Pending] = {}
        self._claims: dict[str, OnInstance] = {}
        self._studies = itertools.count(1)
        self._files = itertools.count(1)
        self._filed = 0
        self._received = 0
        self._problems = 0
        self._last_problem = ""
        self._root: Path | None = None
        self._folder: QuarantineFolder | None = None
        self._server: ThreadedAssociationServer | None = None
        self._filer: ThreadPoolExecutor | None = None
        self._monitor: threading.Thread | None = None
        self._stop_monitor = threading.Event()
        self._stopping = threading.Event()

    # -- life cycle ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port listened on (the one the system chose, if 0 was asked for)."""
        server = self._server
        return int(server.server_address[1]) if server is not None else self._port

    @property
    def ae_title(self) -> str:
        return self._ae_title

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        """Listen; raises :class:`PacsConnectionError` if the port cannot be used."""
        if self._server is not None:
            return
        # Locked while the receiver runs, so a CaseDeck starting on the same data folder leaves it alone.
        folder = QuarantineFolder(self._quarantine_dir, "receiver-")
        root = folder.path
        _quiet_pynetdicom()
        ae = AE(ae_title=self._ae_title)
        ae.require_called_aet = True
        ae.maximum_associations = self._max_associations  # more at once are rejected (local limit exceeded)
        ae.require_calling_aet = sorted(self._allowed) if self._allowed is not None else []
        ae.add_supported_context(Verification)
        for cls in COMMON_IMAGE_CLASSES:
            ae.add_supported_context(cls, [*UNCOMPRESSED, *COMPRESSED])
        for cls in OTHER_CLASSES:
            ae.add_supported_context(cls, [*UNCOMPRESSED, *COMPRESSED])
        try:
            server = ae.start_server(
                (self._host, self._port),
                block=False,
                evt_handlers=[(evt.EVT_C_STORE, self._handle_store)],
            )
        except OSError as exc:
            folder.remove()
            if exc.errno == errno.EADDRINUSE:
                raise PacsConnectionError(
                    f"Port {self._port} is already in use on this computer, so CaseDeck cannot receive studies "
                    "there — close the other program (another CaseDeck?) or choose another port, and tell the "
                    "PACS admin the new one."
                ) from None
            if exc.errno == errno.EACCES:
                raise PacsConnectionError(
                    f"CaseDeck may not listen on port {self._port} (ports below 1024 need administrator "
                    "rights) — choose a port above 1024, e.g. 11112."
                ) from None
            raise PacsConnectionError(
                f"Cannot listen on {self._host or 'all addresses'}, port {self._port} ({exc.strerror})."
            ) from None
        if server is None:  # only a blocking server returns None
            folder.remove()
            raise PacsError("The DICOM receiver did not start.")
        self._root = root
        self._folder = folder
        self._stopping.clear()
        self._stop_monitor.clear()
        self._filer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="casedeck-inbox")
        self._monitor = threading.Thread(target=self._watch, name="casedeck-receiver-quiet", daemon=True)
        self._server = server
        register(self.port, self)
        self._monitor.start()

    def stop(self) -> None:
        """Stop listening, file every study still waiting (nothing is lost), then empty the quarantine folder."""
        server = self._server
        if server is None:
            return
        unregister(self.port, self)
        self._stopping.set()
        server.shutdown()  # no new associations
        deadline = time.monotonic() + _STOP_GRACE_SECONDS
        for assoc in list(server.active_associations):
            assoc.join(timeout=max(0.0, deadline - time.monotonic()))
            if assoc.is_alive():
                assoc.abort()
                assoc.join(timeout=1.0)
        self._stop_monitor.set()
        if self._monitor is not None:
            self._monitor.join()
        self._file_due(everything=True)
        if self._filer is not None:
            self._filer.shutdown(wait=True)
        if self._folder is not None:
            try:
                self._folder.remove()
            except StorageError:
                self._problem("The receiver's quarantine folder could not be removed; restart CaseDeck to wipe it.")
        self._folder = None
        self._server = None
        self._filer = None
        self._monitor = None
        self._root = None

    def __enter__(self) -> StorageReceiver:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def status(self) -> ReceiverStatus:
        with self._lock:
            return ReceiverStatus(
                running=self._server is not None,
                port=self.port,
                studies_waiting=len(self._pending),
                instances_waiting=sum(p.instances for p in self._pending.values()),
                studies_filed=self._filed,
                instances_received=self._received,
                problems=self._problems,
                last_problem=self._last_problem,
            )

    @contextmanager
    def claim(self, study_uid: str, on_instance: OnInstance) -> Iterator[None]:
        """While inside, instances of ``study_uid`` go to ``on_instance`` (e.g. a C-MOVE retrieve), not the inbox.

        ``on_instance`` gets the dataset with its file meta, on an association
        thread; if it raises, the sender is told the instance was not stored.
        """
        if not isinstance(study_uid, str) or not _is_uid(study_uid.strip()):
            raise ValidationError("A study instance UID of 1 to 64 digits and dots is needed to claim a study.")
        if not callable(on_instance):
            raise ValidationError("on_instance must be a function taking a dataset.")
        uid = study_uid.strip()
        with self._lock:
            if uid in self._claims:
                raise PacsError("This study is already being retrieved through the receiver; wait for it to finish.")
            self._claims[uid] = on_instance
        try:
            yield
        finally:
            with self._lock:
                self._claims.pop(uid, None)

    # -- association threads ------------------------------------------------------------------

    def _handle_store(self, event: evt.Event) -> int:
        if self._stopping.is_set():
            return _OUT_OF_RESOURCES
        calling_ae = _calling_ae(event)
        try:
            ds: Dataset = event.dataset
            sop_class = str(event.request.AffectedSOPClassUID or ds.get("SOPClassUID", ""))
            study_uid = str(ds.get("StudyInstanceUID", "") or "").strip()
        except Exception:
            self._problem("An instance could not be read and was refused (damaged or not DICOM).")
            return _CANNOT_UNDERSTAND
        with self._lock:
            claimed = self._claims.get(study_uid)
        if claimed is not None:
            return self._hand_over(event, ds, claimed)
        if sop_class == KOS_SOP_CLASS:
            return self._keep_selection(ds, calling_ae, study_uid)
        if not _is_uid(study_uid):
            self._problem("An instance without a valid Study Instance UID was refused.")
            return _CANNOT_UNDERSTAND
        return self._keep_file(event, study_uid, calling_ae)

    def _hand_over(self, event: evt.Event, ds: Dataset, on_instance: OnInstance) -> int:
        try:
            ds.file_meta = event.file_meta
            on_instance(ds)
        except Exception as exc:
            self._problem(_describe("A retrieved instance could not be kept", exc))
            return _OUT_OF_RESOURCES
        with self._lock:
            self._received += 1
        return _OK

    def _keep_selection(self, ds: Dataset, calling_ae: str, study_uid: str) -> int:
        with self._lock:  # the study it came with waits for it to be read (reading it may take a while)
            busy = self._pending.get(study_uid)
            if busy is not None:
                busy.writing += 1
        try:
            selection = parse_kos(ds)
        except TceError as exc:
            self._problem(f"A key object selection was refused: {exc}")
            return _CANNOT_UNDERSTAND
        finally:
            if busy is not None:
                with self._lock:
                    busy.writing -= 1
                    busy.last_arrival = time.monotonic()
        with self._lock:
            pending = self._pending_for(selection.study_uid, calling_ae)
            pending.selections.append(selection)
            pending.last_arrival = time.monotonic()
            self._received += 1
        return _OK

    def _keep_file(self, event: evt.Event, study_uid: str, calling_ae: str) -> int:
        try:
            data = event.encoded_dataset(include_meta=True)
        except Exception:
            self._problem("An instance could not be read and was refused (damaged or not DICOM).")
            return _CANNOT_UNDERSTAND
        if len(data) > self._max_instance_bytes:
            self._problem(
                f"An instance of {len(data) // 2**20} MB was refused: larger than the receiver's limit of "
                f"{self._max_instance_bytes // 2**20} MB."
            )
            return _OUT_OF_RESOURCES
        try:
            free = shutil.disk_usage(self._quarantine_dir).free
        except OSError:
            free = 0
        if free - len(data) < self._min_free_bytes:
            self._problem(
                "Instances are refused: the disk holding CaseDeck's data is nearly full "
                f"(less than {self._min_free_bytes // 2**30} GB would be left). Free some space."
            )
            return _OUT_OF_RESOURCES
        with self._lock:
            pending = self._pending_for(study_uid, calling_ae)
            pending.writing += 1  # the study is not filed while a file of it is being written
            path = pending.folder / f"{next(self._files):07d}.dcm"
            pending.arrived += 1
            position = pending.arrived
            if self._import_arrivals is not None and pending.importing is None:
                pending.importing = _StudyImport(self._import_arrivals)
            importing = pending.importing
        written = False
        try:
            path.write_bytes(data)
            written = True
            if importing is not None:
                importing.put(Found(f"image {position}", path))
        except OSError as exc:
            self._problem(f"A received instance could not be written to the quarantine ({exc.strerror}).")
        finally:
            with self._lock:
                pending.writing -= 1
                pending.last_arrival = time.monotonic()
                if written:
                    pending.instances += 1
                    self._received += 1
        return _OK if written else _OUT_OF_RESOURCES

    def _pending_for(self, study_uid: str, calling_ae: str) -> _Pending:
        """The waiting study for ``study_uid``, made (with its folder) if new; call with the lock held."""
        pending = self._pending.get(study_uid)
        if pending is None:
            assert self._root is not None
            folder = self._root / f"study-{next(self._studies):05d}"
            folder.mkdir()
            pending = _Pending(folder=folder, calling_ae=calling_ae, last_arrival=time.monotonic())
            self._pending[study_uid] = pending
        return pending

    # -- filing -------------------------------------------------------------------------------

    def _watch(self) -> None:
        tick = min(0.25, self._quiet / 4)
        while not self._stop_monitor.wait(tick):
            self._file_due(everything=False)

    def _file_due(self, *, everything: bool) -> None:
        """Hand complete studies (quiet long enough, or all of them) to the filing thread."""
        now = time.monotonic()
        with self._lock:
            due = [
                uid
                for uid, p in self._pending.items()
                if everything or (p.writing == 0 and now - p.last_arrival >= self._quiet)
            ]
            studies = [self._pending.pop(uid) for uid in due]
        filer = self._filer
        for pending in studies:
            if filer is None:  # not running: nothing can file it, but the raw files must still go
                if pending.importing is not None:
                    with contextlib.suppress(Exception):
                        pending.importing.finish()  # its reader is done with the files before they go
                shutil.rmtree(pending.folder, ignore_errors=True)
                continue
            filer.submit(self._file, pending)

    def _file(self, pending: _Pending) -> None:
        importing = pending.importing
        received = ReceivedStudy(
            folder=pending.folder,
            instance_count=pending.instances,
            selections=tuple(pending.selections),
            calling_ae=pending.calling_ae,
            imported=importing.finish if importing is not None else None,
        )
        try:
            self._on_study(received)
        except Exception as exc:
            self._problem(_describe("A received study could not be filed", exc))
        else:
            with self._lock:
                self._filed += 1
        finally:
            shutil.rmtree(pending.folder, ignore_errors=True)
            if pending.folder.exists():
                self._problem("A received study's raw files could not be removed; restart CaseDeck to wipe them.")

    def _problem(self, text: str) -> None:
        with self._lock:
            self._problems += 1
            self._last_problem = text


def _calling_ae(event: evt.Event) -> str:
    try:
        return str(event.assoc.requestor.ae_title).strip()
    except Exception:
        return ""


def _describe(what: str, exc: BaseException) -> str:
    # CaseDeck's own errors are worded without patient data; anything else is named by its type only.
    if isinstance(exc, CaseDeckError):
        return f"{what}: {exc}"
    return f"{what} ({type(exc).__name__})."


def _is_uid(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 64 and all(c in "0123456789." for c in value)
