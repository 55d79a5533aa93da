"""DICOMweb services against one PACS node: QIDO-RS, WADO-RS and STOW-RS (dicomweb-client).

The functions mirror casefiles.pacs.dimse so callers dispatch on
``node.protocol`` and nothing else. Every call opens its own HTTP session and
closes it before returning. Query matches and retrieved datasets hold patient
data: they are returned or handed to the caller's callback, never logged,
written or put in an error message. Request URLs carry query values (patient
IDs, names), so error messages name only the node and its base URL, and the
HTTP libraries' loggers are silenced.
"""

from __future__ import annotations

import errno
import io
import logging
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from http.client import RemoteDisconnected
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from dicomweb_client.api import DICOMwebClient
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue
from pydicom.uid import ExplicitVRLittleEndian
from requests.adapters import HTTPAdapter
from requests.models import PreparedRequest
from urllib3.exceptions import NameResolutionError

from casefiles.errors import Cancelled, ValidationError
from casefiles.pacs.dimse import (
    OnEncoded,
    OnInstance,
    SeriesMatch,
    StudyMatch,
    _check_filters,
    _check_uid,
    _date_range,
)
from casefiles.pacs.errors import (
    AssociationRejected,
    InvalidNode,
    PacsConnectionError,
    PacsError,
    PacsTimeout,
    QueryFailed,
    RetrieveInterrupted,
)
from casefiles.pacs.nodes import PacsNode
from casefiles.pacs.results import RetrieveResult, StoreResult
from casefiles.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress

#: Instances per STOW-RS request: large enough to amortise the round trip, small enough that
#: one refused request costs little and a batch of images fits in memory comfortably.
STOW_BATCH = 20

#: Ask for instances in the transfer syntax the PACS holds them in: no transcoding on the
#: server (slow, sometimes lossy) and the same data a C-GET would bring.
_AS_STORED = (("application/dicom", "*"),)

_STUDY_FIELDS = (
    "StudyInstanceUID",
    "AccessionNumber",
    "PatientID",
    "PatientName",
    "StudyDate",
    "ModalitiesInStudy",
    "StudyDescription",
    "NumberOfStudyRelatedSeries",
    "NumberOfStudyRelatedInstances",
)
_SERIES_FIELDS = (
    "SeriesInstanceUID",
    "Modality",
    "SeriesNumber",
    "SeriesDescription",
    "NumberOfSeriesRelatedInstances",
)
#: HTTP statuses of a STOW-RS answer that concern the instances sent (PS3.18 10.5.3), not
#: the service: 400 (some could not be read), 409 (some refused), 413/415/422 (not accepted).
_STOW_INSTANCE_STATUSES = frozenset({400, 409, 413, 415, 422})


# --- session -----------------------------------------------------------------------------


def _quiet_http() -> None:
    # These libraries log request URLs (with the query values: patient IDs and names) and
    # failed requests with their URLs (retrying, used by dicomweb-client), and
    # the SOP instance UIDs of failed stores; keep all of it out of any application log.
    for name in ("dicomweb_client", "urllib3", "requests", "retrying"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.CRITICAL + 1)
        logger.propagate = False


def _base_url(node: PacsNode) -> str:
    """The base URL as shown in messages: no user name or password, no query."""
    parts = urlsplit(node.base_url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{host}{port}{parts.path.rstrip('/')}"


def _where(node: PacsNode) -> str:
    return f"PACS {node.name!r} ({_base_url(node)})"


class _Truncated(Exception):
    """The multipart answer ended without its closing boundary: the connection was lost."""


class _Client(DICOMwebClient):
    """dicomweb-client that notices a multipart answer cut short.

    A WADO-RS answer is often sent without a length and ended by closing the
    connection, so a PACS that dies mid-way looks like a normal end. The
    library would then parse the half-received last part as an instance; here
    that part is dropped and the loss reported instead.
    """

    def _decode_multipart_message(self, response: requests.Response, stream: bool) -> Iterator[bytes]:
        boundary = _boundary(response.headers.get("content-type", ""))
        if not stream or boundary is None:
            yield from super()._decode_multipart_message(response, stream)
            return
        closing = b"--" + boundary + b"--"
        tail = b""
        done = False
        original = response.iter_content

        def iter_content(chunk_size: int | None = 1) -> Iterator[bytes]:
            nonlocal tail, done
            for chunk in original(chunk_size=chunk_size):
                tail = (tail + chunk)[-(len(closing) + 8) :]
                yield chunk
            done = True

        response.iter_content = iter_content  # type: ignore[method-assign,assignment]
        for part in super()._decode_multipart_message(response, stream):
            if done:
                # Parts followed by a delimiter come out while data still flows; one that
                # comes out after the end of the data had no delimiter after it: cut short.
                raise _Truncated
            yield part
        if not tail.rstrip().endswith(closing):
            raise _Truncated


def _boundary(content_type: str) -> bytes | None:
    media_type, *params = (p.strip() for p in content_type.split(";"))
    if media_type.lower() != "multipart/related":
        return None
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "boundary":
            return value.strip().strip('"').encode("utf-8")
    return None


class _CAFileAdapter(HTTPAdapter):
    """Verifies certificates against the node's CA file, whatever the environment says.

    requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override ``session.verify``
    (it only honours a per-request ``verify``, which dicomweb-client does not
    pass), so the CA file is pinned here, at the transport.
    """

    def __init__(self, ca_file: str) -> None:
        super().__init__()
        self._ca_file = ca_file

    def send(  # noqa: PLR0917 - requests' own signature
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float | None, float | None] | None = None,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        proxies: dict[str, str] | None = None,
    ) -> requests.Response:
        return super().send(request, stream=stream, timeout=timeout, verify=self._ca_file, cert=cert, proxies=proxies)


@contextmanager
def _client(node: PacsNode) -> Iterator[_Client]:
    """A client with the node's credentials, CA and timeouts; its session closed on exit."""
    _quiet_http()
    if node.protocol != "dicomweb" or not node.base_url:
        raise InvalidNode(f"PACS node {node.name!r} is not set up for DICOMweb (no base URL).")
    if node.ca_file and not Path(node.ca_file).is_file():
        raise InvalidNode(f"PACS node {node.name!r}: the CA file {node.ca_file} does not exist.")
    session = requests.Session()
    try:
        if node.auth == "basic":
            session.auth = (node.username, node.secret)
        elif node.auth == "bearer":
            session.headers["Authorization"] = f"Bearer {node.secret}"
        if node.ca_file:
            session.mount("https://", _CAFileAdapter(node.ca_file))
        try:
            client = _Client(node.base_url.rstrip("/"), session=session, timeout=(node.timeout, node.timeout))
        except ValueError:
            raise InvalidNode(
                f"PACS node {node.name!r}: the DICOMweb base URL {_base_url(node)} is not usable — it should "
                "look like http://host:8042/dicom-web."
            ) from None
        # No retries: the library's retry also repeats timeouts and refused connections (with
        # back-off), which would multiply the node's timeout while a person waits. A busy
        # server's 429/503 is reported instead, and the registrar tries again.
        client.set_http_retry_params(retry=False)
        yield client
    finally:
        session.close()


# --- diagnosis ---------------------------------------------------------------------------


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps (requests -> urllib3 -> socket), each once."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        item = todo.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        linked: list[object] = [item.__cause__, item.__context__, getattr(item, "reason", None), *item.args]
        todo.extend(x for x in linked if isinstance(x, BaseException))


def _transport_failure(node: PacsNode, exc: BaseException) -> PacsError:
    """Say why no HTTP answer came, in the words dimse uses for the same faults."""
    causes = list(_causes(exc))
    if any(isinstance(c, ssl.SSLCertVerificationError) for c in causes):
        return PacsConnectionError(
            f"{_where(node)}: cannot verify the PACS's certificate — set the CA file (the certificate of the "
            "authority that signed it) in the node's settings."
        )
    if isinstance(exc, requests.exceptions.SSLError) or any(isinstance(c, ssl.SSLError) for c in causes):
        return PacsConnectionError(
            f"{_where(node)}: no secure (TLS) connection could be made — check that the base URL's "
            "http:// or https:// and port match the PACS."
        )
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return PacsTimeout(f"{_where(node)} did not answer: timed out after {node.timeout:g} s.")
    if isinstance(exc, requests.exceptions.Timeout) or any(isinstance(c, TimeoutError) for c in causes):
        return PacsTimeout(f"{_where(node)} stopped answering: timed out after {node.timeout:g} s.")
    if any(isinstance(c, socket.gaierror | NameResolutionError) for c in causes):
        return PacsConnectionError(
            f"{_where(node)}: the host name is unknown — check the spelling or use an IP address."
        )
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return PacsConnectionError(f"{_where(node)}: connection refused — is the PACS running and the port right?")
    for cause in causes:
        if isinstance(cause, OSError) and cause.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return PacsConnectionError(f"{_where(node)} cannot be reached from this computer — check the network.")
    if any(isinstance(c, RemoteDisconnected | ConnectionResetError) for c in causes):
        return PacsConnectionError(
            f"{_where(node)} closed the connection without answering — check that the base URL's http:// or "
            "https:// and port are right for the PACS's web service."
        )
    if isinstance(exc, requests.exceptions.ConnectionError) and not isinstance(
        exc, requests.exceptions.ChunkedEncodingError
    ):
        return PacsConnectionError(f"{_where(node)}: cannot connect — check the base URL and the network.")
    return PacsConnectionError(f"{_where(node)} ended the connection before answering in full.")


def _http_failure(node: PacsNode, status: int, what: str) -> PacsError:
    """Say what an HTTP error status means for the registrar; never quotes the body (PHI)."""
    if status in (401, 403):
        return AssociationRejected(
            f"{_where(node)}: the PACS refused our credentials (HTTP {status}) — check user name and password/token."
        )
    if status == 404:
        return PacsError(
            f"{_where(node)}: no DICOMweb service at {_base_url(node)} (HTTP 404) — check the base URL, e.g. "
            "http://host:8042/dicom-web."
        )
    if status in (429, 503):
        return PacsError(f"{_where(node)} is busy and refused {what} for now (HTTP {status}) — try again later.")
    if status in (408, 504):
        return PacsTimeout(f"{_where(node)} timed out answering {what} (HTTP {status}).")
    return PacsError(f"{_where(node)} answered {what} with HTTP error {status}.")


def _failure(node: PacsNode, exc: Exception, what: str) -> PacsError:
    if isinstance(exc, requests.exceptions.HTTPError) and exc.response is not None:
        return _http_failure(node, int(exc.response.status_code), what)
    if isinstance(exc, ValueError | KeyError):
        # dicomweb-client raises these when an answer is not what DICOMweb prescribes.
        return PacsError(f"{_where(node)} sent an answer to {what} that is not valid DICOMweb — is the base URL right?")
    return _transport_failure(node, exc)


# Exceptions that mean the exchange with the PACS failed (as opposed to bugs of ours).
_EXCHANGE_ERRORS = (requests.exceptions.RequestException, OSError, ValueError, KeyError)
# ... and, while instances are read from a WADO-RS answer, a part that is not DICOM.
_RETRIEVE_ERRORS = (*_EXCHANGE_ERRORS, InvalidDicomError, EOFError, _Truncated)


# --- QIDO-RS -----------------------------------------------------------------------------


def _search(node: PacsNode, what: str, run: Callable[[_Client], list[dict[str, Any]]]) -> list[Dataset]:
    with _client(node) as client:
        try:
            found = run(client)
        except _EXCHANGE_ERRORS as exc:
            error = _failure(node, exc, what)
            if type(error) is PacsError:
                raise QueryFailed(str(error)) from None
            raise error from None
    try:
        return [Dataset.from_json(item) for item in found]
    except Exception:
        raise QueryFailed(f"{_where(node)} answered {what} with results that are not valid DICOM JSON.") from None


def _text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword, "")
    if value is None:
        return ""
    if isinstance(value, list | tuple | MultiValue):
        return "\\".join(str(v) for v in value)
    return str(value)


def _int(ds: Dataset, keyword: str) -> int | None:
    value = ds.get(keyword)
    try:
        return None if value in (None, "") else int(value)
    except (TypeError, ValueError):
        return None


def echo(node: PacsNode) -> float:
    """A QIDO-RS probe (search for studies, at most one answer); the round trip in seconds.

    DICOMweb has no echo; a study search with limit 1 proves the URL, the
    credentials and the service at the cost of one small answer.
    """
    start = time.monotonic()
    _search(
        node,
        "the connection test",
        lambda client: client.search_for_studies(limit=1, fields=["StudyInstanceUID"]),
    )
    return time.monotonic() - start


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
    """Study-level QIDO-RS. ``patient_name`` may use DICOM wildcards (``*``, ``?``).

    Wildcards go to the server as the standard says (fuzzy matching off). Note:
    Orthanc 1.10 does not URL-decode QIDO query values, so a wildcard, a space
    or a ``^`` in a value finds nothing there; exact IDs, accessions, dates and
    modalities work. That is why wildcard searches are tested over C-FIND.
    """
    _check_filters(
        accession=accession,
        patient_id=patient_id,
        patient_name=patient_name,
        date_from=date_from,
        date_to=date_to,
        modality=modality,
    )
    search: dict[str, Any] = {}
    if accession:
        search["AccessionNumber"] = accession
    if patient_id:
        search["PatientID"] = patient_id
    if patient_name:
        search["PatientName"] = patient_name
    dates = _date_range(date_from, date_to)
    if dates:
        search["StudyDate"] = dates
    if modality:
        search["ModalitiesInStudy"] = modality.upper()
    found = _search(
        node,
        "the study search",
        lambda client: client.search_for_studies(
            fuzzymatching=False, fields=list(_STUDY_FIELDS), search_filters=search
        ),
    )
    return [
        StudyMatch(
            study_uid=_text(ds, "StudyInstanceUID"),
            accession=_text(ds, "AccessionNumber"),
            patient_id=_text(ds, "PatientID"),
            patient_name=_text(ds, "PatientName"),
            study_date=_text(ds, "StudyDate"),
            modalities=tuple(m for m in _text(ds, "ModalitiesInStudy").split("\\") if m),
            description=_text(ds, "StudyDescription"),
            series_count=_int(ds, "NumberOfStudyRelatedSeries"),
            instance_count=_int(ds, "NumberOfStudyRelatedInstances"),
        )
        for ds in found
    ]


def find_series(node: PacsNode, study_uid: str) -> list[SeriesMatch]:
    """Series-level QIDO-RS within one study, with each series' instance count."""
    _check_uid(study_uid)
    found = _search(
        node,
        "the series search",
        lambda client: client.search_for_series(study_uid, fields=list(_SERIES_FIELDS)),
    )
    return [
        SeriesMatch(
            series_uid=_text(ds, "SeriesInstanceUID"),
            modality=_text(ds, "Modality"),
            series_number=_int(ds, "SeriesNumber"),
            description=_text(ds, "SeriesDescription"),
            instance_count=_int(ds, "NumberOfSeriesRelatedInstances"),
        )
        for ds in found
    ]


# --- WADO-RS -----------------------------------------------------------------------------


def _check_series(series_uids: Sequence[str] | None) -> list[str | None]:
    """The series to fetch, ``[None]`` for the whole study; duplicates dropped, order kept."""
    if series_uids is None:
        return [None]
    if isinstance(series_uids, str):
        raise ValidationError("Give the series to retrieve as a list of series instance UIDs.")
    chosen: list[str | None] = []
    for uid in series_uids:
        if not isinstance(uid, str) or not uid or len(uid) > 64 or any(c not in "0123456789." for c in uid):
            raise ValidationError("A series instance UID has 1 to 64 characters, only digits and dots.")
        if uid not in chosen:
            chosen.append(uid)
    if not chosen:
        raise ValidationError("Choose at least one series to retrieve, or none to retrieve the whole study.")
    return chosen


def _missing_study(node: PacsNode, client: _Client, study_uid: str) -> PacsError:
    """A 404 on retrieve: tell a wrong base URL from a study the PACS no longer has."""
    try:
        client.search_for_studies(limit=1, search_filters={"StudyInstanceUID": study_uid})
    except _EXCHANGE_ERRORS as exc:
        return _failure(node, exc, "the retrieve (WADO-RS)")
    return PacsError(f"{_where(node)} does not have that study (or one of the chosen series) any more — search again.")


def get_study(
    node: PacsNode,
    study_uid: str,
    *,
    series_uids: Sequence[str] | None = None,
    on_instance: OnInstance,
    cancel: CancelToken = NEVER_CANCELLED,
) -> RetrieveResult:
    """Retrieve a study, or some of its series, by WADO-RS; ``on_instance`` gets each dataset.

    Instances stream in one at a time (never the whole study in memory), in
    the transfer syntax the PACS stores them in. Cancelling is honoured
    between instances; a connection lost part-way raises RetrieveInterrupted
    with the count of instances that arrived intact.
    """
    _check_uid(study_uid)
    targets = _check_series(series_uids)
    cancel.raise_if_cancelled()
    received = failed = 0
    what = "the retrieve (WADO-RS)"
    with _client(node) as client:
        for series_uid in targets:
            instances: Iterator[Dataset] | None = None
            try:
                if series_uid is None:
                    instances = client.iter_study(study_uid, media_types=_AS_STORED)
                else:
                    instances = client.iter_series(study_uid, series_uid, media_types=_AS_STORED)
                for ds in instances:
                    if cancel.cancelled:
                        raise Cancelled(f"The {what} was cancelled; {received} instance(s) had arrived.")
                    try:
                        on_instance(ds)
                    except Cancelled:
                        raise
                    except Exception:
                        # Like a C-STORE our handler refused: counted, the rest still comes.
                        failed += 1
                    else:
                        received += 1
            except requests.exceptions.HTTPError as exc:
                status = exc.response.status_code if exc.response is not None else 0
                error = _missing_study(node, client, study_uid) if status == 404 else _failure(node, exc, what)
                if received == 0 and failed == 0:
                    raise error from None
                raise RetrieveInterrupted(
                    f"{error} {received} instance(s) had arrived intact.", RetrieveResult(received, failed, 0)
                ) from None
            except _RETRIEVE_ERRORS as exc:
                if isinstance(exc, _Truncated):
                    reason = f"{_where(node)} ended the connection part-way"
                elif isinstance(exc, InvalidDicomError | EOFError):
                    reason = f"{_where(node)} sent a part that is not a whole DICOM instance"
                elif received == 0 and failed == 0 and not isinstance(exc, ValueError | KeyError):
                    raise _failure(node, exc, what) from None
                else:
                    reason = str(_failure(node, exc, what)).rstrip(".")
                raise RetrieveInterrupted(
                    f"{reason}: {received} instance(s) arrived intact before the {what} stopped — try again to "
                    "fetch the rest.",
                    RetrieveResult(received, failed, 0),
                ) from None
            finally:
                close = getattr(instances, "close", None)
                if callable(close):
                    close()  # ends the streamed response when we stop early
    return RetrieveResult(received, failed, 0)


# --- STOW-RS -----------------------------------------------------------------------------


def _part10(ds: Dataset) -> FileDataset:
    """The dataset as a DICOM file object for STOW-RS (preamble and file meta), sharing its elements."""
    meta = FileMetaDataset(getattr(ds, "file_meta", None) or FileMetaDataset())
    if "MediaStorageSOPClassUID" not in meta:
        meta.MediaStorageSOPClassUID = ds.SOPClassUID
    if "MediaStorageSOPInstanceUID" not in meta:
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    if "TransferSyntaxUID" not in meta:
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return FileDataset("", ds, file_meta=meta, preamble=b"\0" * 128)


def _stow_outcome(answer: Dataset, sent: int) -> tuple[int, int, int]:
    """(accepted, failed, warnings) from a STOW-RS answer for ``sent`` instances."""
    refused = len(answer.get("FailedSOPSequence", None) or [])
    if "ReferencedSOPSequence" in answer:
        stored = answer.ReferencedSOPSequence or []
        accepted = min(len(stored), sent)
        warnings = sum(1 for item in stored if "WarningReason" in item)
        # Parts the PACS could not even read appear in neither list (Orthanc does this).
        return accepted, max(refused, sent - accepted), min(warnings, accepted)
    if not answer:
        return sent, 0, 0  # an empty 200 answer: all stored, nothing to report
    return max(sent - refused, 0), min(refused, sent), 0


def _refusal_answer(response: requests.Response) -> Dataset:
    """The body of a 4xx STOW-RS answer as a dataset; empty if it is not DICOM JSON."""
    try:
        body = response.json()
        return Dataset.from_json(body[0] if isinstance(body, list) and body else body)
    except Exception:
        return Dataset()


def store_instances(
    node: PacsNode,
    datasets: Iterable[Dataset],
    *,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
    total: int | None = None,
) -> StoreResult:
    """Send instances by STOW-RS, ``STOW_BATCH`` per request.

    Instances the PACS refuses are counted as failed from its answer, not
    raised; an error is raised only when the PACS cannot be used at all (no
    connection, credentials, wrong URL). ``total`` (if known) only labels the
    progress.
    """
    cancel.raise_if_cancelled()
    accepted = failed = warnings = 0
    what = "the upload (STOW-RS)"

    def check_cancel() -> None:
        if cancel.cancelled:
            raise Cancelled(
                f"The upload was cancelled; {accepted} instance(s) had already been stored on the PACS."
                if accepted
                else "The upload was cancelled before anything was stored."
            )

    def report() -> None:
        done = accepted + failed
        progress(done, max(total or 0, done), f"{done} instance(s) sent")

    with _client(node) as client:
        batch: list[FileDataset] = []
        iterator = iter(datasets)
        exhausted = False
        while not exhausted:
            batch.clear()
            while len(batch) < STOW_BATCH:
                check_cancel()
                try:
                    ds = next(iterator)
                except StopIteration:
                    exhausted = True
                    break
                try:
                    batch.append(_part10(ds))
                except (AttributeError, KeyError, TypeError, ValueError):
                    failed += 1  # no SOP class/instance UID: not a storable instance
            if not batch:
                continue
            check_cancel()
            try:
                answer = client.store_instances(batch)
            except requests.exceptions.HTTPError as exc:
                response = exc.response
                status = int(response.status_code) if response is not None else 0
                if status not in _STOW_INSTANCE_STATUSES or response is None:
                    raise _stopped(_failure(node, exc, what), accepted) from None
                answer = _refusal_answer(response)
                if "ReferencedSOPSequence" not in answer and "FailedSOPSequence" not in answer:
                    answer.FailedSOPSequence = [Dataset() for _ in batch]
            except _EXCHANGE_ERRORS as exc:
                raise _stopped(_failure(node, exc, what), accepted) from None
            ok, bad, warned = _stow_outcome(answer, len(batch))
            accepted, failed, warnings = accepted + ok, failed + bad, warnings + warned
            report()
    if accepted == 0 and failed == 0:
        report()
    return StoreResult(sent=accepted, failed=failed, warnings=warnings)


def _stopped(error: PacsError, accepted: int) -> PacsError:
    """The error, saying how many instances the PACS had already taken if any."""
    if accepted == 0:
        return error
    return type(error)(f"{error} {accepted} instance(s) had been stored before it stopped.")


__all__ = ["STOW_BATCH", "echo", "find_series", "find_studies", "get_study", "store_instances"]


@dataclass(frozen=True, slots=True)
class DicomwebClient:
    """The PACS client (``casefiles.pacs.client.PacsClient``) for a node speaking DICOMweb."""

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
        """By WADO-RS; ``on_encoded`` gets each instance written as a DICOM file."""
        if on_encoded is not None:
            on_instance = _as_file_bytes(on_encoded)
        if on_instance is None:
            raise ValidationError("Give exactly one of on_instance or on_encoded to receive the instances.")
        return get_study(self.node, study_uid, series_uids=series_uids, on_instance=on_instance, cancel=cancel)

    def push(
        self,
        datasets: Iterable[Dataset],
        *,
        total: int | None = None,
        progress: ProgressFn = no_progress,
        cancel: CancelToken = NEVER_CANCELLED,
    ) -> StoreResult:
        return store_instances(self.node, datasets, total=total, progress=progress, cancel=cancel)


def _as_file_bytes(on_encoded: OnEncoded) -> OnInstance:
    def encode(ds: Dataset) -> None:
        buffer = io.BytesIO()
        ds.save_as(buffer, enforce_file_format=True)
        on_encoded(buffer.getvalue())

    return encode
