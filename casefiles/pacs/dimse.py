"""DIMSE services against one PACS node: C-ECHO, C-FIND, C-GET and C-MOVE (pynetdicom).

Every call opens its own association and closes it before returning, so a
failed call never leaves a half-open connection behind. Query matches and
retrieved datasets hold patient data: they are returned or handed to the
caller's callback, never logged, written or put in an error message.
"""

from __future__ import annotations

import errno
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydicom import uid as sc
from pydicom.dataset import Dataset
from pydicom.uid import (
    JPEG2000,
    UID,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLosslessSV1,
    RLELossless,
)
from pynetdicom import AE, build_role, evt
from pynetdicom.association import Association

from casefiles.errors import Cancelled, ValidationError
from casefiles.pacs.errors import (
    AssociationRejected,
    PacsConnectionError,
    PacsError,
    PacsTimeout,
    QueryFailed,
    RetrieveInterrupted,
)
from casefiles.pacs.nodes import PacsNode
from casefiles.progress import NEVER_CANCELLED, CancelToken

OnInstance = Callable[[Dataset], None]

# pynetdicom creates its SOP class names at run time, so they are spelled out here for the type checker.
Verification = UID("1.2.840.10008.1.1")
StudyRootQueryRetrieveInformationModelFind = UID("1.2.840.10008.5.1.4.1.2.2.1")
StudyRootQueryRetrieveInformationModelMove = UID("1.2.840.10008.5.1.4.1.2.2.2")
StudyRootQueryRetrieveInformationModelGet = UID("1.2.840.10008.5.1.4.1.2.2.3")

UNCOMPRESSED = (ExplicitVRLittleEndian, ImplicitVRLittleEndian)
COMPRESSED = (JPEGBaseline8Bit, JPEGLosslessSV1, JPEG2000Lossless, JPEG2000, RLELossless)

# Image classes offered with every syntax (7 contexts each), the rarer ones uncompressed
# only (2 each): 14 * 7 + 10 * 2 + 1 query/retrieve context = 119 of the 128 an
# association may propose. Peers (Orthanc among them) accept one syntax per context.
COMMON_IMAGE_CLASSES = (
    sc.CTImageStorage,
    sc.MRImageStorage,
    sc.ComputedRadiographyImageStorage,
    sc.DigitalXRayImageStorageForPresentation,
    sc.DigitalMammographyXRayImageStorageForPresentation,
    sc.UltrasoundImageStorage,
    sc.UltrasoundMultiFrameImageStorage,
    sc.SecondaryCaptureImageStorage,
    sc.MultiFrameGrayscaleByteSecondaryCaptureImageStorage,
    sc.MultiFrameGrayscaleWordSecondaryCaptureImageStorage,
    sc.MultiFrameTrueColorSecondaryCaptureImageStorage,
    sc.NuclearMedicineImageStorage,
    sc.PositronEmissionTomographyImageStorage,
    sc.XRayAngiographicImageStorage,
)
OTHER_CLASSES = (
    sc.EnhancedCTImageStorage,
    sc.EnhancedMRImageStorage,
    sc.XRayRadiofluoroscopicImageStorage,
    sc.DigitalXRayImageStorageForProcessing,
    sc.KeyObjectSelectionDocumentStorage,
    sc.BasicTextSRStorage,
    sc.EnhancedSRStorage,
    sc.ComprehensiveSRStorage,
    sc.GrayscaleSoftcopyPresentationStateStorage,
    sc.EncapsulatedPDFStorage,
)

# Failure statuses a storage handler returns (PS3.4 B.2.3).
_STORE_OK = 0x0000
_STORE_CANNOT_UNDERSTAND = 0xC000
_STORE_OUT_OF_RESOURCES = 0xA700
_PENDING = (0xFF00, 0xFF01)
_CANCELLED = 0xFE00


@dataclass(frozen=True, slots=True)
class StudyMatch:
    """One study found by C-FIND. Holds PHI: keep in memory, never log."""

    study_uid: str
    accession: str
    patient_id: str
    patient_name: str
    study_date: str
    modalities: tuple[str, ...]
    description: str
    series_count: int | None
    instance_count: int | None


@dataclass(frozen=True, slots=True)
class SeriesMatch:
    """One series of a study found by C-FIND."""

    series_uid: str
    modality: str
    series_number: int | None
    description: str
    instance_count: int | None


@dataclass(frozen=True, slots=True)
class RetrieveResult:
    """How a retrieve went: instances handed to the caller, and those the PACS or we gave up on."""

    received: int
    failed: int
    warnings: int


# --- association -------------------------------------------------------------------------


def _quiet_pynetdicom() -> None:
    # pynetdicom logs identifiers and dataset contents at debug level; keep all of it out of
    # any log the application configures. Our own exceptions carry what went wrong.
    logger = logging.getLogger("pynetdicom")
    logger.setLevel(logging.CRITICAL + 1)
    logger.propagate = False


def _make_ae(node: PacsNode) -> AE:
    _quiet_pynetdicom()
    ae = AE(ae_title=node.our_ae_title)
    ae.acse_timeout = node.timeout
    ae.dimse_timeout = node.timeout
    ae.network_timeout = node.timeout
    ae.connection_timeout = node.timeout
    return ae


def _where(node: PacsNode) -> str:
    return f"PACS {node.name!r} ({node.host}:{node.port})"


def _tcp_failure(node: PacsNode, elapsed: float) -> PacsError:
    """Say why no connection was made; probes once more to learn the socket error."""
    if elapsed >= node.timeout * 0.95:
        return PacsTimeout(f"{_where(node)} did not answer: timed out after {node.timeout:g} s.")
    try:
        with socket.create_connection((node.host, node.port), timeout=min(node.timeout, 5.0)):
            pass
    except socket.gaierror:
        return PacsConnectionError(
            f"{_where(node)}: the host name is unknown — check the spelling or use an IP address."
        )
    except TimeoutError:
        return PacsTimeout(f"{_where(node)} did not answer: timed out after {min(node.timeout, 5.0):g} s.")
    except ConnectionRefusedError:
        return PacsConnectionError(f"{_where(node)}: connection refused — is the PACS running and the port right?")
    except OSError as exc:
        if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return PacsConnectionError(f"{_where(node)} cannot be reached from this computer — check the network.")
        return PacsConnectionError(f"{_where(node)}: cannot connect ({exc.strerror}).")
    return PacsConnectionError(f"{_where(node)}: the connection failed — try again; if it persists, check the port.")


def _rejection(node: PacsNode, assoc: Association) -> PacsError:
    primitive = assoc.acceptor.primitive
    source = getattr(primitive, "result_source", None)
    reason = getattr(primitive, "diagnostic", None)
    if source == 1 and reason == 3:
        return AssociationRejected(
            f"{_where(node)} rejected our AE title {node.our_ae_title!r} — ask the PACS admin to register it "
            f"(host of this computer, port {node.our_port})."
        )
    if source == 1 and reason == 7:
        return AssociationRejected(
            f"{_where(node)} does not answer to the AE title {node.ae_title!r} — check the PACS's AE title "
            "with its admin."
        )
    if getattr(primitive, "result", None) == 2:
        return AssociationRejected(f"{_where(node)} is busy and refused the association for now — try again later.")
    return AssociationRejected(
        f"{_where(node)} rejected the association (called AE {node.ae_title!r}, our AE {node.our_ae_title!r}) "
        "— ask the PACS admin to check both AE titles are registered."
    )


@contextmanager
def _association(
    ae: AE, node: PacsNode, *, ext_neg: list[Any] | None = None, handlers: list[Any] | None = None
) -> Iterator[Association]:
    """An established association, released on exit (aborted if the body raised); never a dead one."""
    opened = threading.Event()

    def _on_open(event: evt.Event) -> None:
        opened.set()

    start = time.monotonic()
    assoc = ae.associate(
        node.host,
        node.port,
        ae_title=node.ae_title,
        ext_neg=ext_neg,
        evt_handlers=[(evt.EVT_CONN_OPEN, _on_open), *(handlers or [])],
    )
    if not assoc.is_established:
        elapsed = time.monotonic() - start
        if not opened.is_set():
            raise _tcp_failure(node, elapsed)
        if assoc.is_rejected:
            raise _rejection(node, assoc)
        if elapsed >= node.timeout * 0.95:
            raise PacsTimeout(
                f"{_where(node)} accepted the connection but did not answer: timed out after {node.timeout:g} s."
            )
        raise AssociationRejected(
            f"{_where(node)} aborted the association — it may not support what CaseDeck asked for "
            "(query/retrieve at study level); ask the PACS admin."
        )
    ok = False
    try:
        yield assoc
        ok = True
    finally:
        if assoc.is_established:
            if ok:
                assoc.release()
            else:
                assoc.abort()


def _lost(node: PacsNode, since: float, what: str) -> PacsError:
    """No answer came: a timeout if we waited the full time, else the PACS hung up on us."""
    if time.monotonic() - since >= node.timeout * 0.95:
        return PacsTimeout(f"{_where(node)} stopped answering during {what}: timed out after {node.timeout:g} s.")
    return PacsConnectionError(f"{_where(node)} ended the connection during {what}.")


# --- C-ECHO ------------------------------------------------------------------------------


def echo(node: PacsNode) -> float:
    """C-ECHO ("DICOM ping"); returns the round trip in seconds, association included."""
    ae = _make_ae(node)
    ae.add_requested_context(Verification)
    start = time.monotonic()
    with _association(ae, node) as assoc:
        status = assoc.send_c_echo()
        if not status:
            raise _lost(node, start, "the echo")
        if status.Status != 0x0000:
            raise PacsError(f"{_where(node)} answered the echo with failure status 0x{status.Status:04X}.")
    return time.monotonic() - start


# --- C-FIND ------------------------------------------------------------------------------


def _date_range(date_from: date | str | None, date_to: date | str | None) -> str:
    def one(value: date | str | None, what: str) -> str:
        if value is None:
            return ""
        if isinstance(value, date):
            return value.strftime("%Y%m%d")
        text = value.replace("-", "")
        if len(text) != 8 or not text.isdigit():
            raise ValidationError(f"The {what} date must be a date or YYYYMMDD / YYYY-MM-DD text.")
        return text

    low, high = one(date_from, "from"), one(date_to, "to")
    if low and high and low > high:
        raise ValidationError("The 'from' date is after the 'to' date.")
    if not low and not high:
        return ""
    if low == high:
        return low
    return f"{low}-{high}"


def _text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword, "")
    return "" if value is None else str(value)


def _int(ds: Dataset, keyword: str) -> int | None:
    value = ds.get(keyword)
    try:
        return None if value in (None, "") else int(value)
    except (TypeError, ValueError):
        return None


def _find(node: PacsNode, query: Dataset, what: str) -> list[Dataset]:
    ae = _make_ae(node)
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    found: list[Dataset] = []
    with _association(ae, node) as assoc:
        since = time.monotonic()
        final = None
        for status, identifier in assoc.send_c_find(query, StudyRootQueryRetrieveInformationModelFind):
            if not status:
                break
            final = status.Status
            if final in _PENDING and identifier is not None:
                found.append(identifier)
        if final is None:
            lost = _lost(node, since, what)
            if isinstance(lost, PacsTimeout):
                raise lost
            # Orthanc, among others, hangs up on a query from an AE title it does not know.
            raise QueryFailed(
                f"{_where(node)} ended the association without answering {what} — most often it does not "
                f"accept queries from our AE title {node.our_ae_title!r}: ask the PACS admin to register it."
            )
        if final in _PENDING:
            raise _lost(node, since, what)
        if final == 0xA700:
            raise QueryFailed(f"{_where(node)} ran out of resources answering {what} — narrow the search.")
        if final in (0xA900, 0xC000) or (final & 0xF000) == 0xC000:
            raise QueryFailed(
                f"{_where(node)} refused {what} (status 0x{final:04X}) — it may not allow queries from our "
                f"AE title {node.our_ae_title!r}; ask the PACS admin."
            )
        if final == _CANCELLED:
            raise QueryFailed(f"{_where(node)} cancelled {what}.")
        if final != 0x0000:
            raise QueryFailed(f"{_where(node)} answered {what} with failure status 0x{final:04X}.")
    return found


def find_studies(
    node: PacsNode,
    *,
    accession: str | None = None,
    patient_id: str | None = None,
    patient_name: str | None = None,
    date_from: date | str | None = None,
    date_to: date | str | None = None,
    modality: str | None = None,
) -> list[StudyMatch]:
    """Study-level C-FIND (study root). ``patient_name`` may use DICOM wildcards (``*``, ``?``)."""
    filters = (accession, patient_id, patient_name, date_from, date_to, modality)
    if all(f in (None, "") for f in filters):
        raise ValidationError("Give at least one search field (accession, patient ID, name, dates or modality).")
    for value, what in ((accession, "accession"), (patient_id, "patient ID"), (patient_name, "name")):
        if value is not None and "\\" in value:
            raise ValidationError(f"The {what} to search for may not contain a backslash.")
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.StudyInstanceUID = ""
    query.AccessionNumber = accession or ""
    query.PatientID = patient_id or ""
    query.PatientName = patient_name or ""
    query.StudyDate = _date_range(date_from, date_to)
    query.ModalitiesInStudy = (modality or "").upper()
    query.StudyDescription = ""
    query.NumberOfStudyRelatedSeries = ""
    query.NumberOfStudyRelatedInstances = ""
    matches = []
    for ds in _find(node, query, "the study search"):
        modalities = ds.get("ModalitiesInStudy", "")
        if isinstance(modalities, str):
            modalities = [m for m in modalities.split("\\") if m]
        matches.append(
            StudyMatch(
                study_uid=_text(ds, "StudyInstanceUID"),
                accession=_text(ds, "AccessionNumber"),
                patient_id=_text(ds, "PatientID"),
                patient_name=_text(ds, "PatientName"),
                study_date=_text(ds, "StudyDate"),
                modalities=tuple(str(m) for m in modalities),
                description=_text(ds, "StudyDescription"),
                series_count=_int(ds, "NumberOfStudyRelatedSeries"),
                instance_count=_int(ds, "NumberOfStudyRelatedInstances"),
            )
        )
    return matches


def _check_uid(study_uid: str) -> None:
    if not isinstance(study_uid, str) or not study_uid or len(study_uid) > 64:
        raise ValidationError("A study instance UID of 1 to 64 characters is needed.")
    if any(c not in "0123456789." for c in study_uid):
        raise ValidationError("A study instance UID holds only digits and dots.")


def find_series(node: PacsNode, study_uid: str) -> list[SeriesMatch]:
    """Series-level C-FIND within one study, with each series' instance count."""
    _check_uid(study_uid)
    query = Dataset()
    query.QueryRetrieveLevel = "SERIES"
    query.StudyInstanceUID = study_uid
    query.SeriesInstanceUID = ""
    query.Modality = ""
    query.SeriesNumber = ""
    query.SeriesDescription = ""
    query.NumberOfSeriesRelatedInstances = ""
    return [
        SeriesMatch(
            series_uid=_text(ds, "SeriesInstanceUID"),
            modality=_text(ds, "Modality"),
            series_number=_int(ds, "SeriesNumber"),
            description=_text(ds, "SeriesDescription"),
            instance_count=_int(ds, "NumberOfSeriesRelatedInstances"),
        )
        for ds in _find(node, query, "the series search")
    ]


# --- retrieve ----------------------------------------------------------------------------


class _Receiver:
    """Counts and hands over stored instances; runs on pynetdicom's association threads."""

    def __init__(self, study_uid: str, on_instance: OnInstance, cancel: CancelToken) -> None:
        self.study_uid = study_uid
        self.on_instance = on_instance
        self.cancel = cancel
        self.lock = threading.Lock()
        self.received = 0
        self.failed = 0

    def handle_store(self, event: evt.Event) -> int:
        if self.cancel.cancelled:
            return _STORE_OUT_OF_RESOURCES
        try:
            ds = event.dataset
            ds.file_meta = event.file_meta
        except Exception:
            with self.lock:
                self.failed += 1
            return _STORE_CANNOT_UNDERSTAND
        if ds.get("StudyInstanceUID") != self.study_uid:
            # Only the study we asked for is taken, whatever else arrives on our port.
            with self.lock:
                self.failed += 1
            return _STORE_CANNOT_UNDERSTAND
        try:
            with self.lock:
                self.on_instance(ds)
                self.received += 1
        except Exception:
            with self.lock:
                self.failed += 1
            return _STORE_OUT_OF_RESOURCES
        return _STORE_OK

    def result(self, remote_failed: int = 0, remote_warnings: int = 0) -> RetrieveResult:
        with self.lock:
            return RetrieveResult(self.received, max(self.failed, remote_failed), remote_warnings)


def _retrieve_identifier(study_uid: str) -> Dataset:
    ds = Dataset()
    ds.QueryRetrieveLevel = "STUDY"
    ds.StudyInstanceUID = study_uid
    return ds


def _run_retrieve(
    node: PacsNode,
    assoc: Association,
    responses: Iterator[tuple[Dataset, Dataset | None]],
    *,
    receiver: _Receiver,
    cancel: CancelToken,
    what: str,
) -> RetrieveResult:
    final: Dataset | None = None
    for status, _identifier in responses:
        if not status:
            break
        final = status
        if status.Status in _PENDING and cancel.cancelled:
            assoc.abort()
            break
    if cancel.cancelled:
        raise Cancelled(f"The {what} was cancelled; {receiver.result().received} instance(s) had arrived.")
    if final is None or final.Status in _PENDING:
        partial = receiver.result()
        raise RetrieveInterrupted(
            f"{_where(node)} stopped during the {what}: {partial.received} instance(s) arrived intact before "
            "the connection was lost — try again to fetch the rest.",
            partial,
        )
    remote_failed = int(final.get("NumberOfFailedSuboperations", 0) or 0)
    remote_warnings = int(final.get("NumberOfWarningSuboperations", 0) or 0)
    result = receiver.result(remote_failed, remote_warnings)
    code = final.Status
    if code in (0x0000, 0xB000):
        return result
    if code == _CANCELLED:
        raise RetrieveInterrupted(f"{_where(node)} cancelled the {what}.", result)
    if code == 0xA801:
        raise RetrieveInterrupted(
            f"{_where(node)} does not know where to send the study: register our AE title "
            f"{node.our_ae_title!r} (port {node.our_port}) as a destination on the PACS.",
            result,
        )
    raise RetrieveInterrupted(f"{_where(node)} answered the {what} with failure status 0x{code:04X}.", result)


def get_study(
    node: PacsNode, study_uid: str, *, on_instance: OnInstance, cancel: CancelToken = NEVER_CANCELLED
) -> RetrieveResult:
    """Retrieve a whole study over our own association (C-GET); ``on_instance`` gets each dataset.

    C-GET needs no firewall opening or registration of a return address on the
    PACS, so it is the first choice where the PACS supports it.
    """
    _check_uid(study_uid)
    cancel.raise_if_cancelled()
    ae = _make_ae(node)
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
    storage_classes = (*COMMON_IMAGE_CLASSES, *OTHER_CLASSES)
    for cls in COMMON_IMAGE_CLASSES:
        for syntax in (*UNCOMPRESSED, *COMPRESSED):
            ae.add_requested_context(cls, syntax)
    for cls in OTHER_CLASSES:
        for syntax in UNCOMPRESSED:
            ae.add_requested_context(cls, syntax)
    roles = [build_role(cls, scp_role=True) for cls in storage_classes]
    receiver = _Receiver(study_uid, on_instance, cancel)
    with _association(ae, node, ext_neg=roles, handlers=[(evt.EVT_C_STORE, receiver.handle_store)]) as assoc:
        responses = assoc.send_c_get(_retrieve_identifier(study_uid), StudyRootQueryRetrieveInformationModelGet)
        return _run_retrieve(node, assoc, responses, receiver=receiver, cancel=cancel, what="retrieve (C-GET)")


def move_study(
    node: PacsNode, study_uid: str, *, on_instance: OnInstance, cancel: CancelToken = NEVER_CANCELLED
) -> RetrieveResult:
    """Retrieve a study by C-MOVE to our own storage SCP, listening on ``node.our_port`` meanwhile.

    The PACS must know our AE title and address (its admin registers them);
    our listener accepts only instances of the study asked for.
    """
    _check_uid(study_uid)
    cancel.raise_if_cancelled()
    receiver = _Receiver(study_uid, on_instance, cancel)
    scp = _make_ae(node)
    for cls in (*COMMON_IMAGE_CLASSES, *OTHER_CLASSES):
        scp.add_supported_context(cls, [*UNCOMPRESSED, *COMPRESSED])
    try:
        server = scp.start_server(
            ("", node.our_port), block=False, evt_handlers=[(evt.EVT_C_STORE, receiver.handle_store)]
        )
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise PacsConnectionError(
                f"Port {node.our_port} is already in use on this computer, so the study cannot be received "
                "there — close the other program or choose another port for us (and tell the PACS admin)."
            ) from None
        raise PacsConnectionError(
            f"Cannot listen on port {node.our_port} to receive the study ({exc.strerror})."
        ) from None
    if server is None:  # only a blocking server returns None
        raise PacsError("The storage listener for the C-MOVE did not start.")
    try:
        ae = _make_ae(node)
        ae.add_requested_context(StudyRootQueryRetrieveInformationModelMove)
        with _association(ae, node) as assoc:
            responses = assoc.send_c_move(
                _retrieve_identifier(study_uid), node.our_ae_title, StudyRootQueryRetrieveInformationModelMove
            )
            return _run_retrieve(node, assoc, responses, receiver=receiver, cancel=cancel, what="retrieve (C-MOVE)")
    finally:
        server.shutdown()
