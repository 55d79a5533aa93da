"""A batch pull overlaps retrieval and import across studies, with a bounded quarantine (issue #18).

Against the real Orthanc: while one study is de-identified the next comes off the PACS; a slow
import holds the retrieval back (at most two studies in the quarantine at once); a cancel while
a study is being imported discards it and the one waiting, keeps nothing of them and leaves the
quarantine empty.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from casefiles.config import Settings
from casefiles.ingest import ImportReport
from casefiles.pacs import PacsNode
from casefiles.pacs.retrieval import Stage, StudyProgress, StudyRequest, retrieve_studies
from casefiles.progress import CancelToken, ProgressFn
from casefiles.services import Services
from tests.pacs.conftest import LoadedStudy


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

    def slow_import(folder: Path, report: ProgressFn) -> ImportReport:
        time.sleep(1.0)  # a slow de-identification (OCR of an ultrasound, a loaded disk)
        return services.import_dicom([folder], progress=report)

    pulled = retrieve_studies(
        node, _three(studies), import_folder=slow_import, quarantine_dir=quarantine, on_study=on_study
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

    def cancelled_import(folder: Path, report: ProgressFn) -> ImportReport:
        second_waits.wait(30)  # study 2 is off the PACS (or coming) while study 1 is imported ...
        time.sleep(0.5)
        token.cancel()  # ... when the registrar presses Cancel
        return services.import_dicom([folder], progress=report, cancel=token)

    pulled = retrieve_studies(
        node,
        _three(studies),
        import_folder=cancelled_import,
        quarantine_dir=quarantine,
        on_study=on_study,
        cancel=token,
    )

    assert pulled.case_ids == () and pulled.studies_retrieved == 0
    assert services.count_cases() == 0, "nothing of a cancelled study is kept"
    assert [(p.item, p.reason) for p in pulled.problems][-1] == ("studies 1 to 3", "not retrieved: cancelled")
    assert not any(quarantine.iterdir()), "the quarantine is empty afterwards"
