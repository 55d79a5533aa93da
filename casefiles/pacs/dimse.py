"""DIMSE services against one PACS node: C-ECHO, C-FIND, C-GET, C-MOVE and C-STORE (pynetdicom).

Every call opens its own association and closes it before returning, so a
failed call never leaves a half-open connection behind. Query matches and
retrieved datasets hold patient data: they are returned or handed to the
caller's callback, never logged, written or put in an error message.
With ``node.tls`` our associations run over TLS (the PACS's certificate checked
against ``node.ca_file`` or the system's trust store).
"""

from __future__ import annotations

import errno
import io
import itertools
import logging
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydicom import uid as sc
from pydicom.dataset import Dataset
from pydicom.filereader import read_dataset
from pydicom.filewriter import dcmwrite
from pydicom.tag import BaseTag
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
from pynetdicom import AE, PYNETDICOM_IMPLEMENTATION_UID, PYNETDICOM_IMPLEMENTATION_VERSION, build_role, evt
from pynetdicom.association import Association
from pynetdicom.dimse_primitives import C_STORE

from casefiles.errors import Cancelled, ValidationError
from casefiles.pacs.errors import (
    AssociationRejected,
    PacsConnectionError,
    PacsError,
    PacsTimeout,
    QueryFailed,
    RetrieveInterrupted,
)
from casefiles.pacs.listeners import running_listener
from casefiles.pacs.nodes import PacsNode
from casefiles.pacs.results import RetrieveResult, StoreResult
from casefiles.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress

OnInstance = Callable[[Dataset], None]
#: Gets each retrieved instance as a DICOM file's bytes (preamble, file meta, the dataset as the
#: PACS sent it): nothing is decoded or re-encoded on the way, which is most of a retrieve's CPU.
OnEncoded = Callable[[bytes], None]

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
_STORE_WARNINGS = (0xB000, 0xB006, 0xB007)
_PENDING = (0xFF00, 0xFF01)
_CANCELLED = 0xFE00
#: PS3.8: an association may propose at most 128 presentation contexts.
_MAX_CONTEXTS = 128


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


def _tls_args(node: PacsNode) -> tuple[ssl.SSLContext, str] | None:
    """TLS settings for pynetdicom, or None for a plain connection; the certificate is always verified."""
    if not node.tls:
        return None
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=node.ca_file or None)
    except FileNotFoundError:
        raise PacsConnectionError(
            f"{_where(node)}: the CA file {node.ca_file} for its TLS certificate does not exist."
        ) from None
    except (ssl.SSLError, OSError):
        raise PacsConnectionError(
            f"{_where(node)}: the CA file {node.ca_file} is not a PEM certificate bundle — ask the PACS admin "
            "for the CA certificate that signed the PACS's TLS certificate."
        ) from None
    return context, node.host


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
    if node.tls:
        # The port answers plain TCP, so the TLS handshake is what failed.
        return PacsConnectionError(
            f"{_where(node)}: the TLS handshake failed — the port may not speak TLS (turn TLS off or use the "
            "PACS's TLS port), or its certificate is not trusted (set the CA file the PACS admin gives you)."
        )
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


#: How long pynetdicom's network thread sleeps when it finds nothing to read (its default is
#: 1 ms). Each instance of a retrieve waits for that poll twice, so a shorter one lifts C-GET
#: throughput by about a fifth (bench/bench_pacs.py) for little extra CPU.
_POLL_DELAY = 0.0001


#: The largest PDU we accept (P-DATA-TF, PS3.8 9.3.5). pynetdicom's default, 16 KB, splits a
#: 512x512 CT slice into 33 PDUs, each a trip through pynetdicom's network thread and state
#: machine; 1 MB lets the PACS send its largest (dcmtk-based ones, Orthanc among them, send at
#: most 128 KB). Only what we receive is affected; we send within what the PACS accepts.
MAX_PDU = 1024 * 1024


def _poll_faster(assoc: Association) -> None:
    dul = getattr(assoc, "dul", None)
    if dul is not None and hasattr(dul, "_run_loop_delay"):  # a private knob; skipped if it goes away
        dul._run_loop_delay = _POLL_DELAY
    _read_in_bulk(assoc)


def _read_in_bulk(assoc: Association) -> None:
    """Have pynetdicom read a PDU with a few large reads instead of 4 KB at a time.

    Its ``AssociationSocket.recv`` loops over 4 KB ``recv`` calls, each a system
    call and a bytearray append: 32 for one 128 KB PDU. Replaced on this
    association's socket only (plain TCP; a TLS socket is left as it is), and
    skipped if pynetdicom's internals change.
    """
    wrapper = getattr(getattr(assoc, "dul", None), "socket", None)
    raw = getattr(wrapper, "socket", None)
    if wrapper is None or not isinstance(raw, socket.socket) or isinstance(raw, ssl.SSLSocket):
        return
    if not callable(getattr(wrapper, "recv", None)):
        return

    def recv(nr_bytes: int) -> bytearray:
        # Same contract as AssociationSocket.recv: blocks until nr_bytes arrived, or returns short on EOF.
        buffer = bytearray(nr_bytes)
        view = memoryview(buffer)
        got = 0
        while got < nr_bytes:
            n = raw.recv_into(view[got:], nr_bytes - got)
            if not n:
                del view
                return buffer[:got]
            got += n
        del view
        return buffer

    wrapper.recv = recv


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
        max_pdu=MAX_PDU,
        ext_neg=ext_neg,
        evt_handlers=[(evt.EVT_CONN_OPEN, _on_open), *(handlers or [])],
        tls_args=_tls_args(node),
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
    _poll_faster(assoc)
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


def _check_filters(
    *,
    accession: str | None,
    patient_id: str | None,
    patient_name: str | None,
    date_from: date | str | None,
    date_to: date | str | None,
    modality: str | None,
) -> None:
    """The study search's own rules, the same over C-FIND and QIDO-RS."""
    if all(f in (None, "") for f in (accession, patient_id, patient_name, date_from, date_to, modality)):
        raise ValidationError("Give at least one search field (accession, patient ID, name, dates or modality).")
    for value, what in ((accession, "accession"), (patient_id, "patient ID"), (patient_name, "name")):
        if value is not None and "\\" in value:
            raise ValidationError(f"The {what} to search for may not contain a backslash.")


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
    _check_filters(
        accession=accession,
        patient_id=patient_id,
        patient_name=patient_name,
        date_from=date_from,
        date_to=date_to,
        modality=modality,
    )
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


def _check_uid(uid: str, what: str = "study") -> None:
    if not isinstance(uid, str) or not uid or len(uid) > 64:
        raise ValidationError(f"A {what} instance UID of 1 to 64 characters is needed.")
    if any(c not in "0123456789." for c in uid):
        raise ValidationError(f"A {what} instance UID holds only digits and dots.")


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


#: The elements a received instance is checked by, read from its start (they come before
#: the pixels): SOP Instance UID (0008,0018), Study (0020,000D) and Series (0020,000E) Instance UID.
_SOP_INSTANCE_UID, _STUDY_UID, _SERIES_UID = 0x00080018, 0x0020000D, 0x0020000E


def _past_series_uid(tag: BaseTag, vr: str | None, length: int) -> bool:
    return tag > _SERIES_UID


def _identity(data: bytes, implicit_vr: bool, little_endian: bool) -> tuple[str, str, str]:
    """(SOP instance, study, series UID) of an encoded dataset, reading only as far as the series UID."""
    ds = read_dataset(io.BytesIO(data), implicit_vr, little_endian, stop_when=_past_series_uid)

    def text(tag: int) -> str:
        elem = ds.get(tag)
        return "" if elem is None else str(elem.value or "").strip()

    return text(_SOP_INSTANCE_UID), text(_STUDY_UID), text(_SERIES_UID)


def _meta_element(tag: int, vr: bytes, value: bytes) -> bytes:
    if vr == b"OB":
        return struct.pack("<HH2sHL", 0x0002, tag, vr, 0, len(value)) + value
    return struct.pack("<HH2sH", 0x0002, tag, vr, len(value)) + value


def _uid_value(uid: str) -> bytes:
    value = uid.encode("ascii")
    return value + b"\x00" if len(value) % 2 else value


def _file_header(sop_class_uid: str, sop_instance_uid: str, transfer_syntax: str) -> bytes:
    """Preamble, "DICM" and File Meta Information (PS3.10 7.1) for a received dataset.

    The same elements pynetdicom's ``event.file_meta`` holds, encoded directly:
    building them as a pydicom dataset costs more than the rest of the receive
    path of our own.
    """
    version = PYNETDICOM_IMPLEMENTATION_VERSION.encode("ascii")
    elements = b"".join(
        (
            _meta_element(0x0001, b"OB", b"\x00\x01"),
            _meta_element(0x0002, b"UI", _uid_value(sop_class_uid)),
            _meta_element(0x0003, b"UI", _uid_value(sop_instance_uid)),
            _meta_element(0x0010, b"UI", _uid_value(transfer_syntax)),
            _meta_element(0x0012, b"UI", _uid_value(PYNETDICOM_IMPLEMENTATION_UID)),
            _meta_element(0x0013, b"SH", version + b" " if len(version) % 2 else version),
        )
    )
    group_length = struct.pack("<HH2sHL", 0x0002, 0x0000, b"UL", 4, len(elements))
    return b"\x00" * 128 + b"DICM" + group_length + elements


def _file_bytes(ds: Dataset) -> bytes:
    """``ds`` (with its file meta) as a DICOM file; for instances that reach us already decoded."""
    buffer = io.BytesIO()
    dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


class _Receiver:
    """Counts and hands over stored instances; runs on pynetdicom's association threads.

    Each SOP instance is handed over once, even when a fallback retrieve sends it again.
    With ``on_encoded`` an instance is handed over as the bytes the PACS sent,
    read only as far as needed to check it belongs to what was asked for.
    """

    def __init__(
        self,
        study_uid: str,
        series_uids: frozenset[str],
        on_instance: OnInstance | None,
        on_encoded: OnEncoded | None,
        cancel: CancelToken,
    ) -> None:
        self.study_uid = study_uid
        self.series_uids = series_uids
        self.on_instance = on_instance
        self.on_encoded = on_encoded
        self.cancel = cancel
        self.lock = threading.Lock()
        self.received: set[str] = set()
        self.refused: set[str] = set()
        self.unreadable = 0
        self.arrived = 0  # readable instances that reached us, for the position of a stray one
        self.strays: list[int] = []
        self.remote_failed = 0
        self.remote_warnings = 0

    def handle_store(self, event: evt.Event) -> int:
        if self.cancel.cancelled:
            return _STORE_OUT_OF_RESOURCES
        if self.on_encoded is not None:
            encoded = self._encoded(event)
            if encoded is not None:
                return encoded
        try:
            ds = event.dataset
            ds.file_meta = event.file_meta
        except Exception:
            return self._unreadable()
        return self.take(ds)

    def _encoded(self, event: evt.Event) -> int | None:
        """Take the instance without decoding it; None to go the decoded way (a deflated syntax)."""
        on_encoded = self.on_encoded
        assert on_encoded is not None
        try:
            request, syntax = event.request, event.context.transfer_syntax
            if syntax.is_deflated or not isinstance(request, C_STORE):
                return None
            data = event.encoded_dataset(include_meta=False)
            sop_uid, study_uid, series_uid = _identity(data, syntax.is_implicit_VR, syntax.is_little_endian)
            if not sop_uid:
                return self._unreadable()
            header = _file_header(str(request.AffectedSOPClassUID), str(request.AffectedSOPInstanceUID), str(syntax))
        except Exception:
            return self._unreadable()
        return self._accept(sop_uid, study_uid, series_uid, lambda: on_encoded(header + data))

    def _unreadable(self) -> int:
        with self.lock:
            self.unreadable += 1
        return _STORE_CANNOT_UNDERSTAND

    def take_claimed(self, ds: Dataset) -> None:
        """The receiver's claim hands instances here; raising tells the sender it was not stored."""
        if self.take(ds) != _STORE_OK:
            raise PacsError("The instance was not taken.")

    def take(self, ds: Dataset) -> int:
        if self.cancel.cancelled:
            return _STORE_OUT_OF_RESOURCES
        try:
            sop_uid = str(ds.SOPInstanceUID)
        except Exception:
            return self._unreadable()
        on_encoded, on_instance = self.on_encoded, self.on_instance
        if on_encoded is not None:

            def deliver() -> None:
                on_encoded(_file_bytes(ds))

        else:
            assert on_instance is not None

            def deliver() -> None:
                on_instance(ds)

        return self._accept(sop_uid, ds.get("StudyInstanceUID"), ds.get("SeriesInstanceUID"), deliver)

    def _accept(self, sop_uid: str, study_uid: object, series_uid: object, deliver: Callable[[], None]) -> int:
        if self.cancel.cancelled:
            return _STORE_OUT_OF_RESOURCES
        with self.lock:
            self.arrived += 1
            position = self.arrived
        if study_uid != self.study_uid or (self.series_uids and series_uid not in self.series_uids):
            # Only what we asked for is taken, whatever else arrives on our port.
            with self.lock:
                self.refused.add(sop_uid)
                self.strays.append(position)
            return _STORE_CANNOT_UNDERSTAND
        with self.lock:
            if sop_uid in self.received:
                return _STORE_OK
            try:
                deliver()
            except Exception:
                self.refused.add(sop_uid)
                return _STORE_OUT_OF_RESOURCES
            self.received.add(sop_uid)
            self.refused.discard(sop_uid)
        return _STORE_OK

    def result(self) -> RetrieveResult:
        # The PACS counts the instances we refused as failed too, hence the larger of the two.
        with self.lock:
            local = len(self.refused) + self.unreadable
            return RetrieveResult(
                len(self.received), max(local, self.remote_failed), self.remote_warnings, tuple(self.strays)
            )


def _callbacks(
    on_instance: OnInstance | None, on_encoded: OnEncoded | None
) -> tuple[OnInstance | None, OnEncoded | None]:
    if (on_instance is None) == (on_encoded is None):
        raise ValidationError("A retrieve needs exactly one of on_instance and on_encoded to hand the images to.")
    return on_instance, on_encoded


class _Refused(Exception):
    """A C-GET/C-MOVE the PACS answered with a failure status (the association is still up)."""

    def __init__(self, code: int, failed: int) -> None:
        super().__init__(code)
        self.code = code
        self.failed = failed


def _check_series(series_uids: Sequence[str] | None) -> frozenset[str]:
    if series_uids is None:
        return frozenset()
    if isinstance(series_uids, str):
        raise ValidationError("Give the series instance UIDs as a list, not one text.")
    if not series_uids:
        raise ValidationError("Choose at least one series to retrieve, or none to retrieve the whole study.")
    for uid in series_uids:
        _check_uid(uid, "series")
    return frozenset(series_uids)


def _identifier(level: str, study_uid: str, series_uid: str = "", sop_uid: str = "") -> Dataset:
    ds = Dataset()
    ds.QueryRetrieveLevel = level
    ds.StudyInstanceUID = study_uid
    if level in ("SERIES", "IMAGE"):
        ds.SeriesInstanceUID = series_uid
    if level == "IMAGE":
        ds.SOPInstanceUID = sop_uid
    return ds


def _identifiers(study_uid: str, series_uids: Sequence[str] | None) -> list[Dataset]:
    """One STUDY-level identifier, or one SERIES-level identifier per chosen series (in the order given)."""
    if not series_uids:
        return [_identifier("STUDY", study_uid)]
    return [_identifier("SERIES", study_uid, uid) for uid in dict.fromkeys(series_uids)]


def _drain(
    node: PacsNode,
    assoc: Association,
    responses: Iterator[tuple[Dataset, Dataset | None]],
    *,
    receiver: _Receiver,
    cancel: CancelToken,
    what: str,
) -> None:
    """Drain one C-GET/C-MOVE's responses into ``receiver``; raise if it did not finish."""
    final: Dataset | None = None
    for status, _ in responses:
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
    failed = int(final.get("NumberOfFailedSuboperations", 0) or 0)
    code = int(final.Status)
    if code in (0x0000, 0xB000):
        with receiver.lock:
            receiver.remote_failed += failed
            receiver.remote_warnings += int(final.get("NumberOfWarningSuboperations", 0) or 0)
        return
    result = receiver.result()
    if code == _CANCELLED:
        raise RetrieveInterrupted(f"{_where(node)} cancelled the {what}.", result)
    if code == 0xA801:
        raise RetrieveInterrupted(
            f"{_where(node)} does not know where to send the study: register our AE title "
            f"{node.our_ae_title!r} (port {node.our_port}) as a destination on the PACS.",
            result,
        )
    raise _Refused(code, failed)


#: After this many single-instance retrieves of one series fail in a row with none arriving,
#: the PACS is taken to refuse the whole series and the rest of it is counted as failed.
_GIVE_UP_AFTER = 5


def _children(node: PacsNode, identifier: Dataset) -> list[Dataset]:
    """The next level down (series of a study, instances of a series) found by C-FIND."""
    study_uid = str(identifier.StudyInstanceUID)
    if identifier.QueryRetrieveLevel == "STUDY":
        return [_identifier("SERIES", study_uid, s.series_uid) for s in find_series(node, study_uid) if s.series_uid]
    query = _identifier("IMAGE", study_uid, str(identifier.SeriesInstanceUID))
    found = _find(node, query, "the instance search")
    sop_uids = dict.fromkeys(_text(ds, "SOPInstanceUID") for ds in found)
    return [_identifier("IMAGE", study_uid, str(identifier.SeriesInstanceUID), uid) for uid in sop_uids if uid]


def _fetch(
    node: PacsNode,
    assoc: Association,
    send: Callable[[Dataset], Iterator[tuple[Dataset, Dataset | None]]],
    identifier: Dataset,
    *,
    receiver: _Receiver,
    cancel: CancelToken,
    what: str,
) -> None:
    """Retrieve ``identifier``; if the PACS refuses it, retrieve its parts one level down instead.

    Some PACSs (Orthanc among them) abandon a whole C-GET/C-MOVE at the first
    instance they cannot send, e.g. a private SOP class nobody negotiates. Going
    down to series, then to single instances, gets everything else and counts
    only the instances that really cannot come.
    """
    try:
        _drain(node, assoc, send(identifier), receiver=receiver, cancel=cancel, what=what)
        return
    except _Refused as refused:
        code, failed = refused.code, refused.failed
    if identifier.QueryRetrieveLevel == "IMAGE":
        with receiver.lock:
            receiver.remote_failed += max(1, failed)
        return
    try:
        parts = _children(node, identifier)
    except PacsError:
        parts = []
    if not parts:
        raise RetrieveInterrupted(
            f"{_where(node)} answered the {what} with failure status 0x{code:04X}.", receiver.result()
        )
    misses = 0
    for position, part in enumerate(parts):
        if part.QueryRetrieveLevel == "IMAGE":
            with receiver.lock:
                if str(part.SOPInstanceUID) in receiver.received:
                    continue
                before = len(receiver.received)
            if misses >= _GIVE_UP_AFTER:
                with receiver.lock:
                    receiver.remote_failed += sum(
                        1 for p in parts[position:] if p.SOPInstanceUID not in receiver.received
                    )
                return
            _fetch(node, assoc, send, part, receiver=receiver, cancel=cancel, what=what)
            with receiver.lock:
                misses = 0 if len(receiver.received) > before else misses + 1
        else:
            _fetch(node, assoc, send, part, receiver=receiver, cancel=cancel, what=what)


def _retrieve(
    node: PacsNode,
    assoc: Association,
    send: Callable[[Dataset], Iterator[tuple[Dataset, Dataset | None]]],
    identifiers: list[Dataset],
    *,
    receiver: _Receiver,
    cancel: CancelToken,
    what: str,
) -> RetrieveResult:
    for identifier in identifiers:
        _fetch(node, assoc, send, identifier, receiver=receiver, cancel=cancel, what=what)
    result = receiver.result()
    if result.received == 0 and result.failed:
        raise RetrieveInterrupted(
            f"{_where(node)} could send none of the {result.failed} instance(s) asked for in the {what}: "
            "they are objects (SOP class or encoding) CaseDeck does not take, or the PACS refused them — "
            "its log names the reason.",
            result,
        )
    return result


def get_study(
    node: PacsNode,
    study_uid: str,
    *,
    series_uids: Sequence[str] | None = None,
    on_instance: OnInstance | None = None,
    on_encoded: OnEncoded | None = None,
    cancel: CancelToken = NEVER_CANCELLED,
) -> RetrieveResult:
    """Retrieve a study, or only the given series of it, over our own association (C-GET).

    ``on_instance`` gets each dataset once, or ``on_encoded`` (give one of the
    two) each instance as a DICOM file's bytes, cheaper. C-GET needs no firewall opening or
    registration of a return address on the PACS, so it is the first choice
    where the PACS supports it. Instances the PACS cannot send us (a SOP class
    we did not offer) are counted in ``failed``; the rest still arrive.
    """
    _check_uid(study_uid)
    series = _check_series(series_uids)
    _callbacks(on_instance, on_encoded)
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
    receiver = _Receiver(study_uid, series, *_callbacks(on_instance, on_encoded), cancel)
    with _association(ae, node, ext_neg=roles, handlers=[(evt.EVT_C_STORE, receiver.handle_store)]) as assoc:

        def send(identifier: Dataset) -> Iterator[tuple[Dataset, Dataset | None]]:
            return assoc.send_c_get(identifier, StudyRootQueryRetrieveInformationModelGet)

        return _retrieve(
            node,
            assoc,
            send,
            _identifiers(study_uid, series_uids),
            receiver=receiver,
            cancel=cancel,
            what="retrieve (C-GET)",
        )


def move_study(
    node: PacsNode,
    study_uid: str,
    *,
    series_uids: Sequence[str] | None = None,
    on_instance: OnInstance | None = None,
    on_encoded: OnEncoded | None = None,
    cancel: CancelToken = NEVER_CANCELLED,
) -> RetrieveResult:
    """Retrieve a study, or only the given series, by C-MOVE to our own storage SCP on ``node.our_port``.

    The PACS must know our AE title and address (its admin registers them);
    our listener accepts only instances of what was asked for. ``on_instance``
    and ``on_encoded`` are as for :func:`get_study`. Not over TLS:
    the PACS would connect back to us, and CaseDeck has no certificate of its own.
    """
    _check_uid(study_uid)
    series = _check_series(series_uids)
    if node.tls:
        raise PacsError(
            f"{_where(node)} is set up for TLS, but a C-MOVE would bring the images back over a plain "
            "connection — set this node to retrieve with C-GET."
        )
    callbacks = _callbacks(on_instance, on_encoded)
    cancel.raise_if_cancelled()
    receiver = _Receiver(study_uid, series, *callbacks, cancel)
    inbox = running_listener(node.our_port, node.our_ae_title)
    if inbox is not None:
        # CaseDeck's always-on receiver already listens on our port (one AE title and port for the
        # PACS admin to register): it hands this study's instances to us instead of the inbox.
        with inbox.claim(study_uid, receiver.take_claimed):
            return _move(node, study_uid, series_uids, receiver, cancel)
    scp = _make_ae(node)
    scp.maximum_pdu_size = MAX_PDU
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
        return _move(node, study_uid, series_uids, receiver, cancel)
    finally:
        server.shutdown()


def _move(
    node: PacsNode, study_uid: str, series_uids: Sequence[str] | None, receiver: _Receiver, cancel: CancelToken
) -> RetrieveResult:
    ae = _make_ae(node)
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelMove)
    with _association(ae, node) as assoc:

        def send(identifier: Dataset) -> Iterator[tuple[Dataset, Dataset | None]]:
            return assoc.send_c_move(identifier, node.our_ae_title, StudyRootQueryRetrieveInformationModelMove)

        return _retrieve(
            node,
            assoc,
            send,
            _identifiers(study_uid, series_uids),
            receiver=receiver,
            cancel=cancel,
            what="retrieve (C-MOVE)",
        )


# --- C-STORE -----------------------------------------------------------------------------


def _store_contexts(classes: Sequence[tuple[str, str]] | None, first: Dataset) -> list[tuple[UID, UID]]:
    """Presentation contexts for a push, most specific first, within the 128 an association allows.

    The caller's (SOP class, transfer syntax) pairs and the first dataset's come
    first, each class also uncompressed; then every storage class CaseDeck knows,
    uncompressed, for whatever follows (pynetdicom converts between the
    uncompressed syntaxes, and a compressed instance without its own context is
    decompressed to fit one).
    """
    wanted: dict[tuple[UID, UID], None] = {}
    pairs = list(classes or ())
    meta = getattr(first, "file_meta", None)
    first_class, first_syntax = first.get("SOPClassUID"), meta.get("TransferSyntaxUID") if meta else None
    if first_class and first_syntax:
        pairs.append((str(first_class), str(first_syntax)))
    for cls, syntax in pairs:
        if not UID(cls).is_valid or not UID(syntax).is_transfer_syntax:
            raise ValidationError("Each class to send is a (SOP class UID, transfer syntax UID) pair.")
        wanted[(UID(cls), UID(syntax))] = None
    if len(wanted) > _MAX_CONTEXTS:
        raise ValidationError(
            f"{len(wanted)} kinds of instance cannot be sent in one association (DICOM allows {_MAX_CONTEXTS}); "
            "send them in smaller groups."
        )
    named = [cls for cls, _ in wanted]
    for cls in (*named, *COMMON_IMAGE_CLASSES, *OTHER_CLASSES):
        for syntax in UNCOMPRESSED:
            if len(wanted) < _MAX_CONTEXTS:
                wanted.setdefault((UID(cls), syntax), None)
    return list(wanted)


def _fit_context(ds: Dataset, accepted: frozenset[tuple[str, str]]) -> bool:
    """Whether ``ds`` can go over an accepted context, decompressing it (in place) if that is what fits."""
    meta = getattr(ds, "file_meta", None)
    cls = ds.get("SOPClassUID")
    syntax = meta.get("TransferSyntaxUID") if meta is not None else None
    if not cls or not syntax or not ds.get("SOPInstanceUID"):
        return False
    if (cls, syntax) in accepted:
        return True
    uncompressed = any((cls, ts) in accepted for ts in UNCOMPRESSED)
    if not UID(syntax).is_compressed:
        return uncompressed
    if not uncompressed:
        return False
    try:
        ds.decompress()
    except Exception:  # pydicom raises many kinds for pixels it cannot decode
        return False
    return True


def store_instances(
    node: PacsNode,
    datasets: Iterable[Dataset],
    *,
    classes: Sequence[tuple[str, str]] | None = None,
    total: int | None = None,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> StoreResult:
    """Send instances to ``node`` by C-STORE over one association; e.g. a de-identified case to a teaching PACS.

    ``datasets`` is iterated once, lazily (a case need not fit in memory), so
    the presentation contexts are chosen before most of it is seen: the
    (SOP class, transfer syntax) pairs in ``classes`` if the caller knows them,
    the first dataset's, and every storage class CaseDeck knows, uncompressed. An
    instance that fits none, or that the PACS refuses, is counted in
    ``failed`` and the push goes on; only an association that cannot be made,
    or a connection lost part-way, raises. ``total`` (if known) sizes the
    progress. A cancel between instances aborts the association and raises
    :class:`~casefiles.errors.Cancelled`; what was sent before stays sent.
    """
    if total is not None and (isinstance(total, bool) or not isinstance(total, int) or total < 0):
        raise ValidationError("The number of instances to send must be a whole number of at least 0.")
    cancel.raise_if_cancelled()
    items = iter(datasets)
    first = next(items, None)
    if first is None:
        raise ValidationError("There are no DICOM instances to send.")
    if not isinstance(first, Dataset):
        raise ValidationError("Only pydicom datasets can be sent to a PACS.")
    ae = _make_ae(node)
    for cls, syntax in _store_contexts(classes, first):
        ae.add_requested_context(cls, syntax)
    sent = failed = warnings = 0
    with _association(ae, node) as assoc:
        accepted = frozenset((str(cx.abstract_syntax), str(cx.transfer_syntax[0])) for cx in assoc.accepted_contexts)
        for done, ds in enumerate(itertools.chain((first,), items), start=1):
            if cancel.cancelled:
                assoc.abort()
                raise Cancelled(f"The send was cancelled; the PACS had stored {sent} instance(s) by then.")
            if not isinstance(ds, Dataset) or not _fit_context(ds, accepted):
                failed += 1
            else:
                since = time.monotonic()
                try:
                    status = assoc.send_c_store(ds)
                except (AttributeError, ValueError):  # missing UIDs, or it cannot be encoded as accepted
                    status = None
                    failed += 1
                else:
                    if not status:
                        lost = _lost(node, since, "the send")
                        if sent == 0 and not isinstance(lost, PacsTimeout):
                            # Orthanc, among others, hangs up on a store from an AE title it does not know.
                            raise AssociationRejected(
                                f"{_where(node)} ended the association when the first instance was sent — most "
                                f"often it does not accept images from our AE title {node.our_ae_title!r}: ask "
                                "the PACS admin to register it."
                            )
                        raise type(lost)(
                            f"{lost} {sent} instance(s) had been stored before; send again to complete it "
                            "(the PACS keeps one copy of each)."
                        )
                    code = int(status.Status)
                    if code == _STORE_OK:
                        sent += 1
                    elif code in _STORE_WARNINGS:
                        sent += 1
                        warnings += 1
                    else:
                        failed += 1
            progress(done, max(total or 0, done), f"{sent} sent, {failed} refused")
    return StoreResult(sent, failed, warnings)


@dataclass(frozen=True, slots=True)
class DimseClient:
    """The PACS client (``casefiles.pacs.client.PacsClient``) for a node speaking DIMSE."""

    node: PacsNode

    def echo(self) -> float:
        return echo(self.node)

    def find_studies(
        self,
        *,
        accession: str | None = None,
        patient_id: str | None = None,
        patient_name: str | None = None,
        date_from: date | str | None = None,
        date_to: date | str | None = None,
        modality: str | None = None,
    ) -> list[StudyMatch]:
        return find_studies(
            self.node,
            accession=accession,
            patient_id=patient_id,
            patient_name=patient_name,
            date_from=date_from,
            date_to=date_to,
            modality=modality,
        )

    def find_series(self, study_uid: str) -> list[SeriesMatch]:
        return find_series(self.node, study_uid)

    def retrieve(
        self,
        study_uid: str,
        *,
        series_uids: Sequence[str] | None = None,
        on_instance: OnInstance | None = None,
        on_encoded: OnEncoded | None = None,
        cancel: CancelToken = NEVER_CANCELLED,
    ) -> RetrieveResult:
        """By C-MOVE to our own port or C-GET, as the node is set up."""
        fetch = move_study if self.node.retrieve == "move" else get_study
        return fetch(
            self.node, study_uid, series_uids=series_uids, on_instance=on_instance, on_encoded=on_encoded, cancel=cancel
        )

    def push(
        self,
        datasets: Iterable[Dataset],
        *,
        total: int | None = None,
        progress: ProgressFn = no_progress,
        cancel: CancelToken = NEVER_CANCELLED,
    ) -> StoreResult:
        return store_instances(self.node, datasets, total=total, progress=progress, cancel=cancel)
