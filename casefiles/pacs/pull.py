"""Pull studies from a PACS by accession number into the library, through the quarantine.

Each study is retrieved (C-GET) into its own folder inside the quarantine,
imported by the normal import pipeline (which de-identifies every instance)
and the folder is removed straight after, also on failure or cancel. A batch
goes on past an accession that fails; problems name the accession by its
position in the list, never by its value.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydicom.dataset import Dataset

from casefiles.errors import CaseDeckError, ValidationError
from casefiles.ingest import ImportProblem, ImportReport
from casefiles.pacs.dimse import find_studies, get_study
from casefiles.pacs.errors import PacsError, RetrieveInterrupted
from casefiles.pacs.nodes import PacsNode
from casefiles.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress

ImportFolder = Callable[[Path], ImportReport]


@dataclass(frozen=True, slots=True)
class PullReport:
    """What a batch pull brought in: cases made or extended, counts, and problems (screen only)."""

    case_ids: tuple[str, ...]
    studies_retrieved: int
    instances_imported: int
    problems: tuple[ImportProblem, ...]


def pull_accessions(
    node: PacsNode,
    accessions: Sequence[str],
    *,
    import_folder: ImportFolder,
    quarantine_dir: Path,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> PullReport:
    """Find each accession on ``node``, retrieve its studies and import them (de-identified)."""
    wanted = [a.strip() for a in accessions if a and a.strip()]
    if not wanted:
        raise ValidationError("Give at least one accession number to retrieve.")
    case_ids: list[str] = []
    problems: list[ImportProblem] = []
    studies = instances = 0
    for position, accession in enumerate(wanted, start=1):
        cancel.raise_if_cancelled()
        label = f"accession {position} of {len(wanted)}"
        progress(position - 1, len(wanted), f"Retrieving {label}")
        try:
            matches = find_studies(node, accession=accession)
        except PacsError as exc:
            problems.append(ImportProblem(label, f"the query failed: {exc}"))
            continue
        if not matches:
            problems.append(ImportProblem(label, "no study on the PACS has this accession number"))
            continue
        for match in matches:
            report = _retrieve_and_import(
                node,
                match.study_uid,
                label,
                import_folder=import_folder,
                quarantine_dir=quarantine_dir,
                cancel=cancel,
                problems=problems,
            )
            if report is None:
                continue
            studies += 1
            instances += report.instances_imported
            case_ids.extend(c for c in report.case_ids if c not in case_ids)
            problems.extend(ImportProblem(f"{label}: {p.item}", p.reason) for p in report.problems)
    progress(len(wanted), len(wanted), "Done")
    return PullReport(tuple(case_ids), studies, instances, tuple(problems))


def _retrieve_and_import(
    node: PacsNode,
    study_uid: str,
    label: str,
    *,
    import_folder: ImportFolder,
    quarantine_dir: Path,
    cancel: CancelToken,
    problems: list[ImportProblem],
) -> ImportReport | None:
    quarantine_dir.mkdir(parents=True, exist_ok=True)
    workspace = Path(tempfile.mkdtemp(prefix="pull-", dir=quarantine_dir))
    try:
        counter = itertools.count(1)

        def keep(ds: Dataset) -> None:
            # Raw, identifiable: written only inside this quarantine folder, under a counter name.
            ds.save_as(workspace / f"{next(counter):07d}.dcm", enforce_file_format=True)

        try:
            get_study(node, study_uid, on_instance=keep, cancel=cancel)
        except RetrieveInterrupted as exc:
            problems.append(
                ImportProblem(label, f"the retrieve stopped part-way ({exc}); the images that arrived were kept")
            )
            if exc.partial.received == 0:
                return None
        except PacsError as exc:
            problems.append(ImportProblem(label, f"the retrieve failed: {exc}"))
            return None
        try:
            return import_folder(workspace)
        except CaseDeckError as exc:
            problems.append(ImportProblem(label, f"the images could not be imported: {exc}"))
            return None
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
