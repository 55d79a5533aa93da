"""De-identify a folder tree of DICOM files into another folder, without importing.

Output names are derived from the de-identified UIDs only, never from input
names (folder names often hold patient names). The report holds counts and
reasons, and identifies failed inputs by their ordinal in the sorted walk,
never by path.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
from pydicom.errors import InvalidDicomError

from casefiles.deid import Deidentifier, DeidReport
from casefiles.errors import DeidentificationError, ImportFailure, ValidationError
from casefiles.ingest.reading import encode, source_syntax
from casefiles.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress

_JUNK = frozenset({".DS_Store", "Thumbs.db", "DICOMDIR", "desktop.ini"})


@dataclass(frozen=True, slots=True)
class TreeProblem:
    ordinal: int  # 1-based position of the input file in the sorted walk
    reason: str
    quarantined: bool


@dataclass(slots=True)
class TreeReport:
    files_seen: int = 0
    written: int = 0
    problems: list[TreeProblem] = field(default_factory=list)
    deid: DeidReport = DeidReport.EMPTY

    @property
    def quarantined(self) -> int:
        return sum(1 for p in self.problems if p.quarantined)

    def to_json(self) -> str:
        return json.dumps(
            {
                "files_seen": self.files_seen,
                "written": self.written,
                "quarantined": self.quarantined,
                "problems": [
                    {"file_number": p.ordinal, "reason": p.reason, "quarantined": p.quarantined} for p in self.problems
                ],
                "deidentification": _report_counts(self.deid),
            },
            indent=2,
        )


def _report_counts(report: DeidReport) -> dict[str, object]:
    return {
        "removed": report.removed,
        "emptied": report.emptied,
        "replaced": report.replaced,
        "cleaned": report.cleaned,
        "uids_remapped": report.uids_remapped,
        "dates_shifted": report.dates_shifted,
        "private_removed": report.private_removed,
        "burned_in_suspected": report.burned_in_suspected,
    }


def _short(uid: str) -> str:
    return hashlib.sha256(uid.encode()).hexdigest()[:16]


def input_files(src: Path) -> list[Path]:
    """Every regular file under ``src`` (or ``src`` itself), in a stable order."""
    if src.is_file():
        return [src]
    if not src.is_dir():
        raise ValidationError("The source folder does not exist or cannot be read.")
    return sorted(p for p in src.rglob("*") if p.is_file() and p.name not in _JUNK)


def deidentify_tree(
    src: Path,
    dst: Path,
    deidentifier: Deidentifier,
    *,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> TreeReport:
    """De-identify every DICOM file under ``src`` into ``dst/<study>/<series>/<instance>.dcm``."""
    src, dst = Path(src).resolve(), Path(dst).resolve()
    if dst == src or src in dst.parents:
        raise ValidationError("The destination must not be inside the source folder.")
    files = input_files(src)
    report = TreeReport(files_seen=len(files))
    for ordinal, path in enumerate(files, start=1):
        cancel.raise_if_cancelled()
        progress(ordinal - 1, len(files), f"De-identifying {ordinal} of {len(files)}")
        try:
            ds = pydicom.dcmread(path)
        except (InvalidDicomError, EOFError, OSError, ValueError, KeyError, TypeError):
            report.problems.append(TreeProblem(ordinal, "not a readable DICOM file; skipped", False))
            continue
        try:
            result = deidentifier.deidentify(ds)
        except DeidentificationError as exc:
            report.problems.append(TreeProblem(ordinal, str(exc), True))
            continue
        out = result.dataset
        target = (
            dst
            / f"study-{_short(str(out.get('StudyInstanceUID', 'unknown')))}"
            / f"series-{_short(str(out.get('SeriesInstanceUID', 'unknown')))}"
            / f"{_short(str(out.SOPInstanceUID))}.dcm"
        )
        try:
            data = encode(out, fallback_syntax=source_syntax(ds))
        except ImportFailure as exc:
            report.problems.append(TreeProblem(ordinal, str(exc), True))
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        report.written += 1
        report.deid = report.deid.merged(result.report)
    progress(len(files), len(files), "Done")
    return report
