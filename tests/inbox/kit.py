"""Helpers for the inbox tests: TCE key object selections built with highdicom, sent with dcmtk's storescu."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pydicom
import pytest
from highdicom.ko import KeyObjectSelection, KeyObjectSelectionDocument
from pydicom.sr.coding import Code
from pydicom.uid import generate_uid

from casefiles.inbox import InboxResult
from casefiles.pacs.receiver import ReceiverStatus, StorageReceiver

#: dcmtk's storescu by path: pynetdicom installs a script of the same name into the venv.
STORESCU = Path("/usr/bin/storescu")
FOR_TEACHING = Code("113004", "DCM", "For Teaching")
FOR_CONFERENCE = Code("113005", "DCM", "For Conference")
#: What a radiologist types at the workstation, patient details included by habit.
DESCRIPTION = "Classic tree-in-bud pattern, Mr Quimby MRN77120934 seen 2024-03-12. Compare with the prior."
CLEAN_PART = "Classic tree-in-bud pattern"


def storescu() -> str:
    if not STORESCU.exists():
        message = "dcmtk's storescu is not installed (Debian package dcmtk; scripts/test installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return str(STORESCU)


def send(
    port: int, files: Sequence[Path], *, calling: str = "WORKSTATION", called: str = "CASEDECK"
) -> subprocess.CompletedProcess[str]:
    """Send ``files`` in this order, in one association, going on past a refused one (-nh)."""
    return subprocess.run(
        [storescu(), "-nh", "-aet", calling, "-aec", called, "127.0.0.1", str(port), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def write_kos(
    path: Path,
    images: Sequence[Path],
    selected: Sequence[Path],
    *,
    title: Code = FOR_TEACHING,
    description: str | None = DESCRIPTION,
) -> Path:
    """A KOS (TID 2010) in the images' study selecting ``selected``, as a workstation sends it."""
    evidence = []
    for image in images:
        ds = pydicom.dcmread(image, stop_before_pixels=True)
        # Attributes the general study module needs, which the test images leave out.
        ds.StudyID = ds.get("StudyID", "1")
        ds.ReferringPhysicianName = ds.get("ReferringPhysicianName", "")
        evidence.append(ds)
    chosen = {pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID for p in selected}
    content = KeyObjectSelection(
        document_title=title,
        referenced_objects=[ds for ds in evidence if ds.SOPInstanceUID in chosen],
        description=description,
    )
    kos = KeyObjectSelectionDocument(
        evidence=evidence,
        content=content,
        series_instance_uid=generate_uid(),
        series_number=99,
        sop_instance_uid=generate_uid(),
        instance_number=1,
    )
    kos.save_as(path, enforce_file_format=True)
    return path


def sop_uids(paths: Sequence[Path]) -> list[str]:
    return [str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID) for p in paths]


class Results:
    """Collects what the inbox filed; tests wait for a number of filings (not for a time)."""

    def __init__(self) -> None:
        self._items: list[InboxResult] = []
        self._changed = threading.Condition()

    def add(self, result: InboxResult) -> None:
        with self._changed:
            self._items.append(result)
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float = 60.0) -> list[InboxResult]:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._items) >= count, timeout=timeout):
                raise AssertionError(f"only {len(self._items)} of {count} studies were filed")
            return list(self._items)


def settled_status(receiver: StorageReceiver, done: Callable[[ReceiverStatus], bool]) -> ReceiverStatus:
    """The receiver's status once ``done`` holds: it is updated just after on_study returns."""
    deadline = time.monotonic() + 60
    while True:
        status = receiver.status()
        if done(status) or time.monotonic() > deadline:
            return status
        time.sleep(0.02)
