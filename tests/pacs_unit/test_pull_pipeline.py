"""The pull's pipeline without a PACS (issue #18): the transfer is simulated, the import is the real one.

A cancel while the next study has finished arriving but waits, its queue full, for the import of the
one before must end the batch (nothing of either kept, the quarantine empty), never hang it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from casefiles.config import Settings
from casefiles.ingest import Found, ImportReport
from casefiles.pacs import client, retrieval
from casefiles.pacs.nodes import PacsNode
from casefiles.pacs.results import RetrieveResult
from casefiles.pacs.retrieval import Stage, StudyProgress, StudyRequest, retrieve_studies
from casefiles.progress import CancelToken, ProgressFn
from casefiles.services import Services
from tests.dicom_factory import write_ct_study
from tests.support.arrivals import import_arrivals_into


def test_a_cancel_while_a_full_study_waits_for_the_import_ends_the_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retrieval, "ARRIVALS_WAITING", 4)
    services = Services(Settings(data_dir=tmp_path / "data", seed_samples=False))
    studies = {}
    for name, slices in (("one", 10), ("two", 4)):  # study 2 fills its queue of 4 exactly
        studies[name] = write_ct_study(tmp_path / name, slices=slices)
    uids = {name: _study_uid(files) for name, files in studies.items()}

    def retrieve(node: object, study_uid: str, *, on_encoded: Callable[[bytes], None], **_: object) -> RetrieveResult:
        name = next(n for n, uid in uids.items() if uid == study_uid)
        for path in studies[name]:
            on_encoded(path.read_bytes())
        return RetrieveResult(len(studies[name]), 0, 0)

    monkeypatch.setattr(client, "retrieve", retrieve)
    token = CancelToken()
    second_arrived = threading.Event()

    def on_study(event: StudyProgress) -> None:
        if event.position == 2 and event.stage is Stage.RETRIEVING and event.done >= 4:
            second_arrived.set()  # study 2's queue is full: its retrieve waits for the import

    def import_arrivals(arrivals: Iterable[Found], expected: int, report: ProgressFn) -> ImportReport:
        def first_waits() -> Iterable[Found]:
            yield from arrivals
            if not token.cancelled:  # study 1, all arrived: its import is slow to finish ...
                assert second_arrived.wait(20), "study 2 did not arrive meanwhile"
                time.sleep(0.5)  # study 2's retrieve is now waiting to say it is complete
                token.cancel()  # ... and the registrar presses Cancel

        return import_arrivals_into(services, cancel=token)(first_waits(), expected, report)

    outcome: list[object] = []
    batch = threading.Thread(
        target=lambda: outcome.append(
            retrieve_studies(
                PacsNode(name="pacs", ae_title="PACS", host="127.0.0.1", port=104),
                [StudyRequest(uids["one"]), StudyRequest(uids["two"])],
                import_arrivals=import_arrivals,
                quarantine_dir=services.settings.quarantine_dir,
                on_study=on_study,
                cancel=token,
            )
        ),
        daemon=True,
    )
    batch.start()
    batch.join(30)

    assert not batch.is_alive(), "the batch hung after the cancel"
    (report,) = outcome
    assert report.case_ids == () and services.count_cases() == 0  # type: ignore[attr-defined]
    assert not any(services.settings.quarantine_dir.iterdir()), "the quarantine is empty afterwards"


def _study_uid(files: list[Path]) -> str:
    import pydicom

    return str(pydicom.dcmread(files[0], stop_before_pixels=True).StudyInstanceUID)


def _pull_in_thread(services: Services, requests: list[StudyRequest], outcome: list[object]) -> threading.Thread:
    def run() -> None:
        try:
            outcome.append(
                retrieve_studies(
                    PacsNode(name="pacs", ae_title="PACS", host="127.0.0.1", port=104),
                    requests,
                    import_arrivals=import_arrivals_into(services),
                    quarantine_dir=services.settings.quarantine_dir,
                )
            )
        except BaseException as exc:  # the test looks at what the caller would have seen
            outcome.append(exc)

    batch = threading.Thread(target=run, daemon=True)
    batch.start()
    batch.join(30)
    return batch


def test_a_full_quarantine_fails_that_study_says_so_and_the_next_is_pulled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = Services(Settings(data_dir=tmp_path / "data", seed_samples=False))
    studies = {name: write_ct_study(tmp_path / name, slices=3) for name in ("full", "fine")}
    uids = {name: _study_uid(files) for name, files in studies.items()}

    def retrieve(node: object, study_uid: str, *, on_encoded: Callable[[bytes], None], **_: object) -> RetrieveResult:
        name = next(n for n, uid in uids.items() if uid == study_uid)
        for number, path in enumerate(studies[name], start=1):
            if name == "full" and number == 2:
                raise OSError(28, "No space left on device", str(path))
            on_encoded(path.read_bytes())
        return RetrieveResult(len(studies[name]), 0, 0)

    monkeypatch.setattr(client, "retrieve", retrieve)
    outcome: list[object] = []
    batch = _pull_in_thread(services, [StudyRequest(uids["full"]), StudyRequest(uids["fine"])], outcome)

    assert not batch.is_alive(), "the batch hung after the disk filled up"
    (report,) = outcome
    assert not isinstance(report, BaseException), report
    assert len(report.case_ids) == 1 and report.studies_retrieved == 1  # type: ignore[attr-defined]
    (problem,) = report.problems  # type: ignore[attr-defined]
    assert problem.item == "study 1 of 2" and "No space left on device" in problem.reason
    assert str(tmp_path) not in problem.reason
    assert not any(services.settings.quarantine_dir.iterdir())


def test_an_unforeseen_fault_in_the_retrieve_ends_the_batch_at_once_and_keeps_nothing_of_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = Services(Settings(data_dir=tmp_path / "data", seed_samples=False))
    files = write_ct_study(tmp_path / "one", slices=3)

    def retrieve(node: object, study_uid: str, *, on_encoded: Callable[[bytes], None], **_: object) -> object:
        on_encoded(files[0].read_bytes())
        raise RuntimeError("a defect in the transport")

    monkeypatch.setattr(client, "retrieve", retrieve)
    outcome: list[object] = []
    batch = _pull_in_thread(services, [StudyRequest(_study_uid(files))], outcome)

    assert not batch.is_alive(), "the batch hung: the import waited for instances that never came"
    (error,) = outcome
    assert isinstance(error, RuntimeError)
    assert services.count_cases() == 0  # type: ignore[attr-defined]
    assert not any(services.settings.quarantine_dir.iterdir())
