"""dcmtk's ``getscu`` as the transport of a C-GET: the bytes come off the PACS in C, not in Python.

Where Debian's dcmtk is installed, a pull lets ``getscu`` receive the study into
the study's quarantine folder (issue #18): it writes each instance as the PACS
sends it, and each file is handed on as soon as it is whole (``getscu`` writes
one instance at a time, so every file but the newest is whole; all are once it
has ended). Files of another study or series than asked for, and instances sent
twice, are deleted before anyone reads them, as the pynetdicom path refuses them.

It is chosen with ``CASEDECK_PACS_TRANSPORT=dcmtk``; the default stays pynetdicom.
Why not by default: getscu accepts uncompressed transfer syntaxes and one
compressed syntax of its choice only, so a PACS holding JPEG, JPEG 2000 or RLE
images decompresses them for it, and the library then keeps bigger files than
pynetdicom's path (which takes every syntax as stored) would. A department
whose PACS stores uncompressed images, the common case for CT and MR, gets the
same stored bytes either way (tested) and a faster transfer with dcmtk.

Nothing identifying goes on the command line: the study and series UIDs are in a
query file inside the quarantine, and the command line holds only AE titles,
host, port and quarantine paths. What ``getscu`` prints is read for its status
and dropped, never logged. Without dcmtk, on a TLS or C-MOVE node, the pull
uses pynetdicom.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset

from casefiles.pacs.dimse import MAX_PDU as _OUR_MAX_PDU
from casefiles.pacs.errors import PacsConnectionError, PacsError, RetrieveInterrupted
from casefiles.pacs.nodes import PacsNode
from casefiles.pacs.results import RetrieveResult
from casefiles.progress import NEVER_CANCELLED, CancelToken

#: The setting that picks the transport of a C-GET: "pynetdicom" (the default) or "dcmtk".
TRANSPORT_SETTING = "CASEDECK_PACS_TRANSPORT"
#: The largest PDU getscu accepts (its own limit); the PACS may send smaller ones.
GETSCU_MAX_PDU = min(_OUR_MAX_PDU, 131072)
_POLL_SECONDS = 0.01
_TAGS = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")
_FAILED = re.compile(r"Number of Failed Sub-?operations\s*:\s*(\d+)", re.IGNORECASE)
_WARNED = re.compile(r"Number of Warning Sub-?operations\s*:\s*(\d+)", re.IGNORECASE)

#: Hands over one whole instance file (the callee moves it away); raising stops the retrieve.
OnFile = Callable[[Path], None]


@functools.cache
def getscu_program() -> str | None:
    """dcmtk's ``getscu`` on this computer, or None (pynetdicom ships a script of the same name: not that one)."""
    own_bin = Path(sys.prefix) / "bin"
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if not folder or Path(folder).resolve() == own_bin.resolve():
            continue
        found = shutil.which("getscu", path=folder)
        if found is None:
            continue
        try:
            version = subprocess.run([found, "--version"], capture_output=True, text=True, timeout=10, check=False)
        except (OSError, subprocess.SubprocessError):
            continue
        if "dcmtk" in version.stdout.lower():
            return found
    return None


def uses_dcmtk(node: PacsNode) -> bool:
    """Whether a pull from ``node`` goes through getscu: chosen, a plain DIMSE C-GET node, and dcmtk present."""
    choice = os.environ.get(TRANSPORT_SETTING, "pynetdicom").strip().lower()
    if choice != "dcmtk":
        return False
    suitable = node.protocol == "dimse" and node.retrieve == "get" and not node.tls
    return suitable and getscu_program() is not None


def get_study_files(
    node: PacsNode,
    study_uid: str,
    *,
    series_uids: Sequence[str] | None = None,
    workdir: Path,
    on_file: OnFile,
    cancel: CancelToken = NEVER_CANCELLED,
) -> RetrieveResult:
    """C-GET a study (or some of its series) with getscu into ``workdir`` (inside the quarantine).

    Each whole instance of the study is given to ``on_file`` as it arrives,
    which must move it out of ``workdir``. Raises Cancelled on a cancel (getscu
    is stopped), PacsError when nothing could be retrieved, RetrieveInterrupted
    when getscu stopped part-way.
    """
    program = getscu_program()
    if program is None:
        raise PacsError("dcmtk's getscu is not installed on this computer.")
    incoming = workdir / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    queries = _query_files(workdir, study_uid, series_uids)
    command = [
        program, "-S", "-aet", node.our_ae_title, "-aec", node.ae_title,
        "-pdu", str(GETSCU_MAX_PDU), "-to", str(_seconds(node.timeout)), "-ta", str(_seconds(node.timeout)),
        "-td", str(_seconds(node.timeout)), "-v", "-od", str(incoming), node.host, str(node.port),
        *(str(q) for q in queries),
    ]  # fmt: skip
    wanted = _Wanted(study_uid, frozenset(series_uids or ()))
    # What getscu prints holds UIDs: kept in an unnamed temp file, read for its status, then gone.
    with tempfile.TemporaryFile() as output:
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                env={**os.environ, "TCP_NODELAY": "1"},  # dcmtk leaves Nagle on otherwise: ~40 ms per instance
            )
        except OSError as exc:
            raise PacsError(f"dcmtk's getscu could not be started ({exc.strerror}).") from None
        try:
            while process.poll() is None:
                cancel.raise_if_cancelled()
                _hand_over(incoming, wanted, on_file, all_whole=False)
                time.sleep(_POLL_SECONDS)
            _hand_over(incoming, wanted, on_file, all_whole=True)
            cancel.raise_if_cancelled()
        except BaseException:
            _stop(process)
            raise
        output.seek(0)
        printed = output.read().decode("latin-1", "replace")
    return _outcome(node, process.returncode, printed, wanted)


class _Wanted:
    """What was asked for, and what came: instances handed on, refused (other study/series), unreadable."""

    def __init__(self, study_uid: str, series_uids: frozenset[str]) -> None:
        self.study_uid = study_uid
        self.series_uids = series_uids
        self.received: set[str] = set()
        self.refused = 0
        self.arrived = 0  # files looked at, in the order getscu wrote them
        self.strays: list[int] = []  # positions of those of another study or series

    def takes(self, path: Path) -> bool:
        self.arrived += 1
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=list(_TAGS))
            study, series, sop = (str(ds.get(tag, "")) for tag in _TAGS)
        except Exception:
            self.refused += 1
            return False
        if study != self.study_uid or (self.series_uids and series not in self.series_uids) or not sop:
            self.refused += 1
            if sop:
                self.strays.append(self.arrived)
            return False
        if sop in self.received:
            return False  # sent twice: the first copy is on its way already
        self.received.add(sop)
        return True


def _hand_over(incoming: Path, wanted: _Wanted, on_file: OnFile, *, all_whole: bool) -> None:
    """Give on every whole file in ``incoming``: all of them once getscu has ended, else all but the newest."""
    try:
        entries = [(entry.stat().st_mtime_ns, entry.name, Path(entry.path)) for entry in os.scandir(incoming)]
    except FileNotFoundError:
        return
    if not entries:
        return
    entries.sort()
    if not all_whole:
        newest = entries[-1][0]
        entries = [e for e in entries if e[0] < newest]  # the newest may still be being written
    for _, _, path in entries:
        if wanted.takes(path):
            on_file(path)
        else:
            path.unlink(missing_ok=True)


def _query_files(workdir: Path, study_uid: str, series_uids: Sequence[str] | None) -> list[Path]:
    """One query file per C-GET: the whole study, or each series (UIDs never go on a command line)."""
    identifiers: list[Dataset] = []
    wanted: Sequence[str | None] = series_uids or [None]
    for series_uid in wanted:
        ds = Dataset()
        ds.QueryRetrieveLevel = "SERIES" if series_uid else "STUDY"
        ds.StudyInstanceUID = study_uid
        if series_uid:
            ds.SeriesInstanceUID = series_uid
        identifiers.append(ds)
    paths = []
    for number, ds in enumerate(identifiers, start=1):
        path = workdir / f"query-{number}.dcm"
        pydicom.dcmwrite(path, ds, implicit_vr=False, little_endian=True)
        paths.append(path)
    return paths


def _seconds(timeout: float) -> int:
    return max(1, round(timeout))


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _outcome(node: PacsNode, returncode: int, printed: str, wanted: _Wanted) -> RetrieveResult:
    failed = sum(int(n) for n in _FAILED.findall(printed))
    warned = sum(int(n) for n in _WARNED.findall(printed))
    result = RetrieveResult(len(wanted.received), max(failed, wanted.refused), warned, tuple(wanted.strays))
    if returncode == 0:
        return result
    where = f"PACS {node.name!r} ({node.host}:{node.port})"
    if "Association Rejected" in printed or "association rejected" in printed.lower():
        raise PacsError(f"{where} refused the association — check the AE titles on both sides.")
    if wanted.received:
        raise RetrieveInterrupted(
            f"{where} stopped part-way; {len(wanted.received)} instance(s) arrived intact", result
        )
    if "connection refused" in printed.lower():
        raise PacsConnectionError(f"{where}: connection refused — is the PACS running and the port right?")
    raise PacsError(f"The retrieve from {where} failed (dcmtk getscu ended with status {returncode}).")


__all__ = ["TRANSPORT_SETTING", "get_study_files", "getscu_program", "uses_dcmtk"]
