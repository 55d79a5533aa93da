"""DICOMweb faults Orthanc does not produce, against small local HTTP(S) servers on loopback.

Each server plays one misbehaving (or strict) PACS: one that drops the
connection in the middle of a WADO-RS answer, one that lists refused instances
in a STOW-RS answer, one behind TLS with its own certificate authority. The
real-Orthanc tests are in tests/pacs/test_dicomweb.py.
"""

from __future__ import annotations

import io
import json
import logging
import shutil
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from casefiles.errors import Cancelled, ValidationError
from casefiles.pacs import AssociationRejected, InvalidNode, PacsConnectionError, PacsNode
from casefiles.pacs.dicomweb import echo, find_studies, get_study, store_instances
from casefiles.pacs.errors import QueryFailed, RetrieveInterrupted
from casefiles.progress import CancelToken
from tests.dicom_factory import FAKE_MRN, FAKE_NAME, ct_slice

BOUNDARY = "casedeck-test-boundary"
STUDY_UID = "1.2.826.0.1.3680043.8.498.1"


@dataclass
class Seen:
    """What the fake PACS received."""

    paths: list[str] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)


Answer = Callable[[BaseHTTPRequestHandler], None]


@contextmanager
def fake_pacs(answer: Answer, *, tls: ssl.SSLContext | None = None) -> Iterator[tuple[str, Seen]]:
    """A one-behaviour DICOMweb server on 127.0.0.1; yields its base URL and what it saw."""
    seen = Seen()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _any(self) -> None:
            seen.paths.append(self.path)
            seen.headers.append(dict(self.headers))
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.headers.get("Transfer-Encoding") == "chunked":
                while size := int(self.rfile.readline().strip(), 16):
                    body += self.rfile.read(size)
                    self.rfile.readline()
                self.rfile.readline()
            seen.bodies.append(body)
            answer(self)

        do_GET = do_POST = _any

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    scheme = "https" if tls else "http"
    try:
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}/dicom-web", seen
    finally:
        server.shutdown()
        server.server_close()


def node_for(base_url: str, **changes: object) -> PacsNode:
    settings: dict[str, object] = {
        "name": "fake",
        "ae_title": "FAKE",
        "host": "127.0.0.1",
        "port": 104,
        "protocol": "dicomweb",
        "base_url": base_url,
        "timeout": 5,
    }
    settings.update(changes)
    return PacsNode(**settings)  # type: ignore[arg-type]


def send_json(handler: BaseHTTPRequestHandler, status: int, body: object) -> None:
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/dicom+json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def part10(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def multipart(instances: list[bytes]) -> bytes:
    out = b""
    for data in instances:
        out += f"--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n".encode() + data + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


def wado_answer(body: bytes) -> Answer:
    """Send ``body`` as a multipart WADO-RS answer ended by closing the connection (as Orthanc does)."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", f'multipart/related; type="application/dicom"; boundary={BOUNDARY}')
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(body)
        handler.wfile.flush()
        handler.close_connection = True

    return answer


def three_slices() -> list[Dataset]:
    series = generate_uid()
    return [ct_slice(STUDY_UID, series, i) for i in range(3)]


# --- WADO-RS cut short -------------------------------------------------------------------


def test_a_whole_wado_answer_is_received_in_full() -> None:
    slices = three_slices()
    with fake_pacs(wado_answer(multipart([part10(ds) for ds in slices]))) as (url, seen):
        got: list[Dataset] = []
        result = get_study(node_for(url), STUDY_UID, on_instance=got.append)
    assert (result.received, result.failed) == (3, 0)
    assert [ds.SOPInstanceUID for ds in got] == [ds.SOPInstanceUID for ds in slices]
    accept = seen.headers[0]["Accept"]
    assert 'transfer-syntax="*"' in accept or "transfer-syntax=*" in accept  # as stored, no transcoding


@pytest.mark.parametrize("cut", ["inside the third instance", "right after the second instance"])
def test_a_wado_answer_cut_short_keeps_only_whole_instances(cut: str) -> None:
    slices = [part10(ds) for ds in three_slices()]
    body = multipart(slices)
    if cut.startswith("inside"):
        end = body.index(slices[2]) + len(slices[2]) // 2
    else:  # the delimiter after the second instance arrives, then nothing
        delimiter = f"--{BOUNDARY}".encode()
        end = body.index(delimiter, body.index(slices[1])) + len(delimiter)
    with fake_pacs(wado_answer(body[:end])) as (url, _seen):
        got: list[Dataset] = []
        with pytest.raises(RetrieveInterrupted, match="ended the connection part-way: 2 instance") as info:
            get_study(node_for(url), STUDY_UID, on_instance=got.append)
    assert info.value.partial.received == len(got) == 2


def test_a_failing_instance_handler_is_counted_and_the_rest_still_arrives() -> None:
    with fake_pacs(wado_answer(multipart([part10(ds) for ds in three_slices()]))) as (url, _seen):
        calls = 0

        def disk_full_once(ds: Dataset) -> None:
            nonlocal calls
            calls += 1
            if calls == 2:
                raise OSError("disk full")

        result = get_study(node_for(url), STUDY_UID, on_instance=disk_full_once)
    assert (result.received, result.failed) == (2, 1)


# --- diagnosis and PHI -------------------------------------------------------------------


def test_a_server_error_names_the_status_but_not_the_query_or_the_body(caplog: pytest.LogCaptureFixture) -> None:
    def fail(handler: BaseHTTPRequestHandler) -> None:
        send_json(handler, 500, {"error": f"cannot search for {FAKE_MRN} {FAKE_NAME}"})

    caplog.set_level(logging.DEBUG)
    with fake_pacs(fail) as (url, seen):
        node = node_for(url.replace("http://", "http://admin:pw@"))
        with pytest.raises(QueryFailed, match="HTTP error 500") as info:
            find_studies(node, patient_id=FAKE_MRN)
    assert FAKE_MRN in seen.paths[0]  # the query did go out...
    message = str(info.value)
    assert FAKE_MRN not in message and "QUIMBY" not in message  # ...but is in no message
    assert "admin" not in message and "pw@" not in message  # nor are credentials in the URL
    assert url in message
    assert FAKE_MRN not in caplog.text  # nor in any log


def test_a_bearer_token_is_sent_as_an_authorization_header() -> None:
    with fake_pacs(lambda handler: send_json(handler, 200, [])) as (url, seen):
        assert find_studies(node_for(url, auth="bearer", secret="tok-123"), accession="A1") == []
    assert seen.headers[0]["Authorization"] == "Bearer tok-123"
    assert "AccessionNumber=A1" in seen.paths[0] and "fuzzymatching=false" in seen.paths[0]


def test_a_forbidden_answer_is_a_credentials_problem() -> None:
    with (
        fake_pacs(lambda handler: send_json(handler, 403, {})) as (url, _seen),
        pytest.raises(AssociationRejected, match="refused our credentials"),
    ):
        echo(node_for(url, auth="basic", username="u", secret="p"))


def test_an_unknown_host_is_named_as_such() -> None:
    with pytest.raises(PacsConnectionError, match="host name is unknown"):
        echo(node_for("http://no-such-host.invalid/dicom-web"))


def test_a_missing_ca_file_is_a_setting_problem(tmp_path: Path) -> None:
    with pytest.raises(InvalidNode, match="CA file"):
        echo(node_for("https://127.0.0.1:1/dicom-web", ca_file=str(tmp_path / "absent.pem")))


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "pacs.pem", folder / "pacs.key"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def test_tls_without_our_ca_file_cannot_verify_and_with_it_works(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with fake_pacs(lambda handler: send_json(handler, 200, []), tls=context) as (url, _seen):
        with pytest.raises(PacsConnectionError, match="cannot verify the PACS's certificate — set the CA file"):
            echo(node_for(url))
        assert echo(node_for(url, ca_file=str(cert))) > 0


def test_plain_http_to_a_tls_port_is_explained(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with (
        fake_pacs(lambda handler: send_json(handler, 200, []), tls=context) as (url, _seen),
        pytest.raises(PacsConnectionError, match=r"without answering — check that the base URL's http:// or https://"),
    ):
        echo(node_for(url.replace("https://", "http://"), timeout=2))


# --- STOW-RS answers ---------------------------------------------------------------------


def stow_answer(status: int, stored: list[Dataset], refused: list[Dataset], warned: int = 0) -> Answer:
    def item(ds: Dataset, extra: dict[str, object]) -> dict[str, object]:
        return {
            "00081150": {"vr": "UI", "Value": [str(ds.SOPClassUID)]},
            "00081155": {"vr": "UI", "Value": [str(ds.SOPInstanceUID)]},
            **extra,
        }

    body = {
        "00081199": {
            "vr": "SQ",
            "Value": [
                item(ds, {"00081196": {"vr": "US", "Value": [0xB000]}} if i < warned else {})
                for i, ds in enumerate(stored)
            ],
        },
        "00081198": {"vr": "SQ", "Value": [item(ds, {"00081197": {"vr": "US", "Value": [0xA700]}}) for ds in refused]},
    }
    return lambda handler: send_json(handler, status, body)


def test_stow_counts_refused_and_warned_instances_from_the_answer() -> None:
    slices = three_slices()
    with fake_pacs(stow_answer(202, slices[:2], slices[2:], warned=1)) as (url, seen):
        result = store_instances(node_for(url), slices)
    assert (result.sent, result.failed, result.warnings) == (2, 1, 1)
    assert seen.paths == ["/dicom-web/studies"]
    assert seen.headers[0]["Content-Type"].startswith("multipart/related")


def test_stow_all_refused_with_409_is_a_count_not_an_error() -> None:
    slices = three_slices()
    with fake_pacs(stow_answer(409, [], slices)) as (url, _seen):
        result = store_instances(node_for(url), slices)
    assert (result.sent, result.failed, result.complete) == (0, 3, False)


def parts(body: bytes, content_type: str) -> list[bytes]:
    """The parts of a multipart/related body, split the plain way (not with the code under test)."""
    boundary = content_type.split("boundary=")[1].strip('"').encode()
    chunks = body.split(b"--" + boundary)[1:-1]
    return [chunk.split(b"\r\n\r\n", 1)[1].removesuffix(b"\r\n") for chunk in chunks]


def test_stow_sends_whole_dicom_files_in_batches_even_without_file_meta() -> None:
    slices = [ct_slice(STUDY_UID, generate_uid(), i) for i in range(45)]
    for ds in slices[:5]:
        del ds.file_meta  # as a de-identifier might hand them over
    with fake_pacs(lambda handler: send_json(handler, 200, {})) as (url, seen):
        result = store_instances(node_for(url), iter(slices), total=45)
    assert (result.sent, result.failed) == (45, 0)
    assert len(seen.bodies) == 3  # 20 + 20 + 5
    sent = [
        p for body, headers in zip(seen.bodies, seen.headers, strict=True) for p in parts(body, headers["Content-Type"])
    ]
    assert len(sent) == 45
    for data, original in zip(sent, slices, strict=True):
        assert data[128:132] == b"DICM"  # a DICOM file: preamble, prefix, file meta
        ds = pydicom.dcmread(io.BytesIO(data))
        assert ds.SOPInstanceUID == original.SOPInstanceUID
        assert ds.file_meta.MediaStorageSOPInstanceUID == original.SOPInstanceUID
        assert ds.PixelData == original.PixelData


def test_stow_counts_an_instance_without_uids_as_failed_and_sends_the_rest() -> None:
    slices = three_slices()
    del slices[0].file_meta
    del slices[0].SOPInstanceUID
    with fake_pacs(lambda handler: send_json(handler, 200, {})) as (url, seen):
        result = store_instances(node_for(url), slices)
    assert (result.sent, result.failed) == (2, 1)
    assert len(parts(seen.bodies[0], seen.headers[0]["Content-Type"])) == 2


def test_stow_with_nothing_accepted_because_of_credentials_raises() -> None:
    with (
        fake_pacs(lambda handler: send_json(handler, 401, {})) as (url, _seen),
        pytest.raises(AssociationRejected, match="refused our credentials"),
    ):
        store_instances(node_for(url), three_slices())


# --- validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "series",
    [["1.2.x"], [""], "1.2.3", []],
    ids=["letters", "empty-uid", "a-string-not-a-list", "empty-list"],
)
def test_bad_series_choices_are_refused_before_any_request(series: object) -> None:
    with pytest.raises(ValidationError):
        get_study(node_for("http://127.0.0.1:1/dicom-web"), STUDY_UID, series_uids=series, on_instance=print)  # type: ignore[arg-type]


def test_a_search_needs_a_filter_and_no_backslash() -> None:
    node = node_for("http://127.0.0.1:1/dicom-web")
    with pytest.raises(ValidationError, match="at least one"):
        find_studies(node)
    with pytest.raises(ValidationError, match="backslash"):
        find_studies(node, patient_id="A\\B")


def test_stow_cancelled_after_a_batch_says_what_the_pacs_already_has() -> None:
    token = CancelToken()
    slices = [ct_slice(STUDY_UID, generate_uid(), i) for i in range(45)]
    with (
        fake_pacs(lambda handler: send_json(handler, 200, {})) as (url, seen),
        pytest.raises(Cancelled, match="20 instance\\(s\\) had already been stored"),
    ):
        store_instances(node_for(url), slices, progress=lambda done, total, msg: token.cancel(), cancel=token)
    assert len(seen.bodies) == 1
