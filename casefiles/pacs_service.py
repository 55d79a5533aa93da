"""The PACS use cases the page and the CLI share: nodes, test, find, retrieve into cases, push a case.

Everything that reaches a PACS goes through casefiles.pacs.client, so a node
speaking DICOMweb and one speaking DIMSE behave the same here. Query matches
hold patient data: they are returned to the caller's screen, never stored.
"""

from __future__ import annotations

import contextlib
import io
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Protocol

import pydicom
from pydicom.dataset import Dataset

from casefiles.case_dicom import presentation_objects
from casefiles.config import Settings
from casefiles.errors import NotFoundError, ValidationError
from casefiles.inbox import InboxLibrary, InboxResult, inbox_handler
from casefiles.ingest import (
    POOL_THRESHOLD,
    Found,
    ImportProblem,
    ImportReport,
    ImportWorkers,
    import_arriving,
    import_workers,
)
from casefiles.jobs import JobContext, JobFunction, JobState
from casefiles.model import AssetKind, Conference
from casefiles.pacs import client
from casefiles.pacs.dimse import SeriesMatch, StudyMatch
from casefiles.pacs.nodes import PacsNode, load_nodes, nodes_from_json, nodes_to_json
from casefiles.pacs.receiver import StorageReceiver
from casefiles.pacs.results import StoreResult
from casefiles.pacs.retrieval import (
    PullReport,
    Stage,
    StudyProgress,
    StudyProgressFn,
    StudyRequest,
    no_study_progress,
    retrieve_studies,
)
from casefiles.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from casefiles.release import check_release
from casefiles.review_area import ReviewShelf
from casefiles.store import BlobStore, CaseStore


class PacsLibrary(InboxLibrary, Protocol):
    """What the PACS use cases need of the library, besides the inbox's: its settings, stores and datasets."""

    @property
    def settings(self) -> Settings: ...

    @property
    def store(self) -> CaseStore: ...

    @property
    def blobs(self) -> BlobStore: ...

    @property
    def review_area(self) -> ReviewShelf: ...

    def dataset(self, blob: str) -> Dataset: ...


@dataclass(frozen=True, slots=True)
class AccessionSearch:
    """Studies found for a list of accession numbers, and which positions found nothing."""

    matches: tuple[StudyMatch, ...]
    problems: tuple[ImportProblem, ...]


#: The library setting that holds the PACS nodes (JSON, as casefiles.pacs.nodes writes it).
NODES_SETTING = "pacs_nodes"


class PacsService:
    """PACS work on behalf of one library (its store, de-identifier and quarantine)."""

    def __init__(self, services: PacsLibrary) -> None:
        self._services = services
        self._nodes_lock = threading.Lock()

    # -- nodes --------------------------------------------------------------------------
    @property
    def legacy_nodes_path(self) -> Path:
        """Where CaseDeck ≤ 0.20 kept the nodes; moved into the library's settings when first read."""
        return self._services.settings.data_dir / "pacs_nodes.json"

    def nodes(self) -> list[PacsNode]:
        """The configured PACS nodes (none until one is added), from the library's settings."""
        store = self._services.store
        text = store.get_meta(NODES_SETTING)
        if text is None and self.legacy_nodes_path.exists():
            nodes = load_nodes(self.legacy_nodes_path)
            store.set_meta(NODES_SETTING, nodes_to_json(nodes))
            self.legacy_nodes_path.rename(self.legacy_nodes_path.with_name("pacs_nodes.json.moved-to-library"))
            return nodes
        return [] if text is None else nodes_from_json(text)

    def save_node(self, node: PacsNode) -> None:
        """Add a node, or replace the one with the same name."""
        with self._nodes_lock:
            self._services.store.set_meta(
                NODES_SETTING, nodes_to_json([n for n in self.nodes() if n.name != node.name] + [node])
            )

    def delete_node(self, name: str) -> None:
        with self._nodes_lock:
            self.node(name)  # a clear error for an unknown name
            self._services.store.set_meta(NODES_SETTING, nodes_to_json([n for n in self.nodes() if n.name != name]))

    def node(self, name: str) -> PacsNode:
        nodes = self.nodes()
        for node in nodes:
            if node.name == name:
                return node
        known = ", ".join(n.name for n in nodes) or "none yet"
        raise NotFoundError(f"There is no PACS node called {name!r} (configured: {known}).")

    def echo(self, name: str) -> float:
        """C-ECHO or a QIDO probe; seconds for the round trip."""
        return client.echo(self.node(name))

    # -- query --------------------------------------------------------------------------
    def find(
        self,
        name: str,
        *,
        patient_id: str | None = None,
        patient_name: str | None = None,
        date_from: date | str | None = None,
        date_to: date | str | None = None,
        modality: str | None = None,
    ) -> list[StudyMatch]:
        """Studies of a patient (ID or name with * and ? wildcards), optionally by date range and modality.

        A search that names nobody (empty, or wildcards only) is refused: it would list every patient.
        """
        if not any(_names_someone(value) for value in (patient_id, patient_name)):
            raise ValidationError(
                "Type a patient ID or at least part of a name: a search of wildcards alone would list every patient."
            )
        return client.find_studies(
            self.node(name),
            patient_id=patient_id or None,
            patient_name=patient_name or None,
            date_from=date_from or None,
            date_to=date_to or None,
            modality=modality or None,
        )

    def find_accessions(self, name: str, accessions: Sequence[str]) -> AccessionSearch:
        """The studies of each accession number; one that finds nothing or cannot exist is a problem, not an error."""
        wanted = list(dict.fromkeys(a.strip() for a in accessions if a and a.strip()))
        if not wanted:
            raise ValidationError("Give at least one accession number to retrieve.")
        node = self.node(name)
        matches: list[StudyMatch] = []
        problems: list[ImportProblem] = []
        seen: set[str] = set()
        for position, accession in enumerate(wanted, start=1):
            label = f"accession {position} of {len(wanted)}"
            if "\\" in accession or len(accession) > 16:
                problems.append(ImportProblem(label, "not an accession number (at most 16 characters, no backslash)"))
                continue
            found = client.find_studies(node, accession=accession)
            if not found:
                problems.append(ImportProblem(label, "no study on the PACS has this accession number"))
            for match in found:
                if match.study_uid not in seen:
                    seen.add(match.study_uid)
                    matches.append(match)
        return AccessionSearch(tuple(matches), tuple(problems))

    def series(self, name: str, study_uid: str) -> list[SeriesMatch]:
        return client.find_series(self.node(name), study_uid)

    # -- retrieve -----------------------------------------------------------------------
    def retrieve(
        self,
        name: str,
        requests: Sequence[StudyRequest],
        *,
        conference_title: str | None = None,
        conference_id: str | None = None,
        on_study: StudyProgressFn = no_study_progress,
        progress: ProgressFn = no_progress,
        cancel: CancelToken = NEVER_CANCELLED,
    ) -> tuple[PullReport, Conference | None]:
        """Retrieve, de-identify and import the chosen studies; gather them in a conference if asked.

        ``conference_id`` names an existing conference (the page's picker); ``conference_title`` the one
        with that title if it exists, else a new tumor board (the CLI's ``--conference``).
        """
        with self._workers_for(requests) as workers:

            def import_arrivals(arrivals: Iterable[Found], expected: int, report: ProgressFn) -> ImportReport:
                return self._into_library(arrivals, workers, expected=expected, progress=report, cancel=cancel)

            report = retrieve_studies(
                self.node(name),
                requests,
                import_arrivals=import_arrivals,
                quarantine_dir=self._services.settings.quarantine_dir,
                on_study=on_study,
                progress=progress,
                cancel=cancel,
            )
        return report, self._gather(conference_title, report.case_ids, conference_id)

    def _workers_for(self, requests: Sequence[StudyRequest]) -> contextlib.AbstractContextManager[ImportWorkers | None]:
        """Worker processes for the whole batch, started once; none for a few images (starting costs more)."""
        counts = [r.expected_instances for r in requests]
        if all(c is not None for c in counts) and sum(c or 0 for c in counts) <= POOL_THRESHOLD:
            return contextlib.nullcontext()
        return import_workers(self._services.deidentifier, self._services.blobs)

    def pull_accessions(
        self,
        name: str,
        accessions: Sequence[str],
        *,
        conference_title: str | None = None,
        on_study: StudyProgressFn = no_study_progress,
        progress: ProgressFn = no_progress,
        cancel: CancelToken = NEVER_CANCELLED,
    ) -> tuple[PullReport, Conference | None]:
        """Find every accession and retrieve all its studies: the CLI's and the quick path's one call."""
        search = self.find_accessions(name, accessions)
        if not search.matches:
            return PullReport((), 0, 0, search.problems), None
        requests = [StudyRequest(m.study_uid, expected_instances=m.instance_count) for m in search.matches]
        report, conference = self.retrieve(
            name, requests, conference_title=conference_title, on_study=on_study, progress=progress, cancel=cancel
        )
        return (
            PullReport(
                report.case_ids,
                report.studies_retrieved,
                report.instances_imported,
                search.problems + report.problems,
                report.duplicates,
            ),
            conference,
        )

    def _gather(
        self, conference_title: str | None, case_ids: Sequence[str], conference_id: str | None = None
    ) -> Conference | None:
        if conference_id and case_ids:
            return self._services.add_cases(conference_id, case_ids)
        title = (conference_title or "").strip()
        if not title or not case_ids:
            return None
        services = self._services
        existing = [c for c in services.list_conferences() if c.title == title]
        if existing:
            return services.add_cases(existing[0].id, case_ids)
        return services.create_conference(title, case_ids=case_ids)

    # -- receive ------------------------------------------------------------------------
    def receiver(
        self,
        *,
        ae_title: str = "CASEDECK",
        port: int = 11112,
        host: str = "127.0.0.1",
        quiet_seconds: float = 10.0,
        allowed_calling_aes: frozenset[str] | None = None,
        on_result: Callable[[InboxResult], None] | None = None,
        **limits: int,
    ) -> StorageReceiver:
        """A (not yet started) DICOM receiver that files each arriving study as a de-identified draft case.

        A study counts as complete after ``quiet_seconds`` without a new image;
        IHE TCE "For Teaching"/"For Conference" selections set key images and history. It listens on
        this computer only unless ``host`` says otherwise (0.0.0.0: every address, for workstations);
        ``limits``: max_instance_bytes, min_free_bytes, max_associations (StorageReceiver's defaults).
        """
        return StorageReceiver(
            ae_title=ae_title,
            host=host,
            port=port,
            quarantine_dir=self._services.settings.quarantine_dir,
            on_study=inbox_handler(self._services, on_result=on_result),
            quiet_seconds=quiet_seconds,
            allowed_calling_aes=allowed_calling_aes,
            import_arrivals=self._import_arriving,
            **limits,
        )

    def _import_arriving(self, arrivals: Iterable[Found]) -> ImportReport:
        """A received study de-identified while it arrives, on the workers kept for this library's imports."""
        with import_workers(self._services.deidentifier, self._services.blobs) as workers:
            return self._into_library(arrivals, workers)

    def _into_library(
        self,
        arrivals: Iterable[Found],
        workers: ImportWorkers | None,
        *,
        expected: int = 0,
        progress: ProgressFn = no_progress,
        cancel: CancelToken = NEVER_CANCELLED,
    ) -> ImportReport:
        """Instances of one study, de-identified as they arrive, into this library (pulls and the receiver)."""
        library = self._services
        return import_arriving(
            arrivals,
            store=library.store,
            blobs=library.blobs,
            deidentifier=library.deidentifier,
            quarantine_dir=library.settings.quarantine_dir,
            expected=expected,
            progress=progress,
            cancel=cancel,
            workers=workers,
            review_area=library.review_area,
        )

    # -- push ---------------------------------------------------------------------------
    def push_case(
        self,
        case_id: str,
        name: str,
        *,
        progress: ProgressFn = no_progress,
        cancel: CancelToken = NEVER_CANCELLED,
    ) -> StoreResult:
        """Send a case's de-identified DICOM instances, presentation states and key object selection.

        The release gate is asked first: a case holding anything no one has vouched for (an
        image waiting for its burned-in text review, text cleaned by older rules…) is refused
        with :class:`casefiles.release.ReleaseBlocked` and nothing is sent.
        """
        services = self._services
        case = services.get_case(case_id)
        check_release([case], way_out="PACS push")
        blobs = [
            instance.blob
            for asset in case.assets
            if asset.kind is AssetKind.DICOM_SERIES
            for instance in asset.instances
        ]
        if not blobs:
            raise ValidationError("This case holds no DICOM images to send.")
        node = self.node(name)
        # The presenter's annotations and windows as presentation states, and the key images as a
        # "For Teaching" key object selection, so a PACS viewer shows the case as it was set up.
        presentation = presentation_objects(case, services.dataset).all()

        def datasets() -> Iterator[Dataset]:
            for blob in blobs:
                yield pydicom.dcmread(io.BytesIO(services.blobs.get(blob)))
            yield from presentation

        return client.push(node, datasets(), total=len(blobs) + len(presentation), progress=progress, cancel=cancel)


def retrieval_job(
    pacs: PacsService,
    name: str,
    requests: Sequence[StudyRequest],
    *,
    conference_title: str | None = None,
    conference_id: str | None = None,
) -> JobFunction:
    """The retrieval as a background job: one step per study, cancel honoured between images."""
    stage_state = {Stage.DONE: JobState.DONE, Stage.FAILED: JobState.FAILED, Stage.CANCELLED: JobState.CANCELLED}

    def run(ctx: JobContext) -> tuple[PullReport, Conference | None]:
        def on_study(event: StudyProgress) -> None:
            same = not event.message or event.message == event.stage.value
            message = event.stage.value if same else f"{event.stage.value}: {event.message}"
            ctx.step(event.label, event.done, event.total, message, stage_state.get(event.stage, JobState.RUNNING))

        return pacs.retrieve(
            name,
            requests,
            conference_title=conference_title,
            conference_id=conference_id,
            on_study=on_study,
            progress=ctx.progress,
            cancel=ctx.cancel,
        )

    return run


def _names_someone(value: str | None) -> bool:
    """Whether a search value has a letter or digit besides wildcards and separators."""
    return any(ch.isalnum() for ch in (value or ""))
