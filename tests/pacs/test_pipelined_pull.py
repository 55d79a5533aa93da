"""A pull de-identifies while it receives, with a bounded quarantine (issue #18).

Against the real Orthanc: a study's instances are de-identified while the rest are still coming
off the PACS, and a slow import holds the PACS back (a bounded queue); while one study is
de-identified the next comes off the PACS (at most two studies in the quarantine at once); a
cancel while a study is being imported discards it and the one waiting, keeps nothing of them
and leaves the quarantine empty.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest

from casefiles.config import Settings
from casefiles.ingest import Found, ImportReport
from casefiles.pacs import PacsNode, retrieval
from casefiles.pacs.retrieval import ImportArrivals, Stage, StudyProgress, StudyRequest, retrieve_studies
from casefiles.progress import NEVER_CANCELLED, CancelToken, ProgressFn
from casefiles.services import Services
from tests.pacs.conftest import LoadedStudy
from tests.support.arrivals import import_arrivals_into


def _importing(
    services: Services,
    *,
    first: Callable[[], None] = lambda: None,
    each: Callable[[Found], None] = lambda found: None,
    cancel: CancelToken = NEVER_CANCELLED,
) -> ImportArrivals:
    """The pull's import into ``services``' library, with hooks: before the first image, at each one."""

    def import_arrivals(arrivals: Iterable[Found], expected: int, report: ProgressFn) -> ImportReport:
        def watched() -> Iterator[Found]:
            for number, found in enumerate(arrivals):
                if number == 0:
                    first()
                each(found)
                yield found

        return import_arrivals_into(services, cancel=cancel)(watched(), expected, report)

    return import_arrivals


def _count(study: LoadedStudy) -> int:
    return sum(len(sops) for sops in study.sop_uids_by_series.values())


def _three(studies: dict[str, LoadedStudy]) -> list[StudyRequest]:
    chosen = sorted(studies.values(), key=lambda s: s.study_uid)[:3]
    assert len(chosen) == 3
    return [StudyRequest(s.study_uid) for s in chosen]


def test_the_next_study_comes_off_the_pacs_while_one_is_imported_and_the_quarantine_stays_bounded(
    node: PacsNode, studies: dict[str, LoadedStudy], tmp_path: Path
) -> None:
    services = Services(Settings(data_dir=tmp_path / "data", seed_samples=False))
    quarantine = services.settings.quarantine_dir
    events: list[tuple[float, int, Stage]] = []
    most_folders = [0]

    def on_study(event: StudyProgress) -> None:
        events.append((time.monotonic(), event.position, event.stage))
        if quarantine.exists():
            pulls = sum(1 for folder in quarantine.iterdir() if folder.name.startswith("pull-"))
            most_folders[0] = max(most_folders[0], pulls)

    def slow(found: Found) -> None:
        time.sleep(0.2)  # a slow de-identification (OCR of an ultrasound, a loaded disk)

    pulled = retrieve_studies(
        node,
        _three(studies),
        import_arrivals=_importing(services, each=slow),
        quarantine_dir=quarantine,
        on_study=on_study,
    )

    assert pulled.studies_retrieved == 3 and len(pulled.case_ids) == 3
    first_done = min(t for t, position, stage in events if position == 1 and stage is Stage.DONE)
    second_retrieving = min(t for t, position, stage in events if position == 2 and stage is Stage.RETRIEVING)
    assert second_retrieving < first_done, "study 2 was retrieved only after study 1 was imported"
    assert most_folders[0] <= 2, "more than two studies waited in the quarantine"
    assert not any(quarantine.iterdir()), "the quarantine is empty afterwards"


def test_a_cancel_during_an_import_discards_it_and_the_study_waiting(
    node: PacsNode, studies: dict[str, LoadedStudy], tmp_path: Path
) -> None:
    services = Services(Settings(data_dir=tmp_path / "data", seed_samples=False))
    quarantine = services.settings.quarantine_dir
    token = CancelToken()
    second_waits = threading.Event()

    def on_study(event: StudyProgress) -> None:
        if event.position == 2 and event.stage is Stage.RETRIEVING and event.done > 0:
            second_waits.set()

    def cancel_once_study_2_comes(found: Found) -> None:
        if second_waits.is_set():
            return
        second_waits.wait(30)  # study 2 is off the PACS (or coming) while study 1 is imported ...
        time.sleep(0.5)
        token.cancel()  # ... when the registrar presses Cancel

    imported_until_cancel = _importing(services, each=cancel_once_study_2_comes, cancel=token)

    def study_1_waits_for_study_2(arrivals: Iterable[Found], expected: int, report: ProgressFn) -> ImportReport:
        # Study 1's images are de-identified only once all have arrived, so study 2 can start coming.
        return imported_until_cancel(list(arrivals), expected, report)

    pulled = retrieve_studies(
        node,
        _three(studies),
        import_arrivals=study_1_waits_for_study_2,
        quarantine_dir=quarantine,
        on_study=on_study,
        cancel=token,
    )

    assert pulled.case_ids == () and pulled.studies_retrieved == 0
    assert services.count_cases() == 0, "nothing of a cancelled study is kept"
    assert [(p.item, p.reason) for p in pulled.problems][-1] == ("studies 1 to 3", "not retrieved: cancelled")
    assert not any(quarantine.iterdir()), "the quarantine is empty afterwards"


def test_a_study_is_de_identified_while_it_arrives_and_a_slow_import_holds_the_pacs_back(
    node: PacsNode, studies: dict[str, LoadedStudy], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retrieval, "ARRIVALS_WAITING", 2)
    services = Services(Settings(data_dir=tmp_path / "data", seed_samples=False))
    biggest = max(studies.values(), key=_count)
    count = _count(biggest)
    assert count >= 6, "the test needs a study of several images"
    received = [0]
    ahead: list[int] = []  # at each image the import takes: how many the PACS had sent by then

    def on_study(event: StudyProgress) -> None:
        if event.stage is Stage.RETRIEVING:
            received[0] = max(received[0], event.done)

    taken = [0]

    def slow(found: Found) -> None:
        taken[0] += 1
        ahead.append(received[0] - taken[0])
        time.sleep(0.3)  # de-identifying takes longer than receiving

    pulled = retrieve_studies(
        node,
        [StudyRequest(biggest.study_uid)],
        import_arrivals=_importing(services, each=slow),
        quarantine_dir=services.settings.quarantine_dir,
        on_study=on_study,
    )

    assert pulled.instances_imported == count and len(pulled.case_ids) == 1
    assert ahead[0] < count - 1, "the first image was de-identified only after the study had arrived"
    # Received but not yet taken: the queue (2), one being written, one in the PACS's hands.
    assert max(ahead) <= 2 + 2, f"the PACS ran ahead of a slow import: {ahead}"
    assert not any(services.settings.quarantine_dir.iterdir()), "the quarantine is empty afterwards"
