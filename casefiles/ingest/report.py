"""What the user hands to an import, and what the import hands back.

Problems are for the screen and the CLI only, never logged or persisted.
They name items by position ("file 14 of 500", "item 3 of 40 in the zip",
"upload 2 of 5"), never by a file or folder name or a path: those often hold
the patient's name. Their reasons never contain patient data.
"""

from __future__ import annotations

from dataclasses import dataclass

from casefiles.deid import DeidReport
from casefiles.errors import ValidationError


@dataclass(frozen=True, slots=True)
class Upload:
    """A browser upload: the name the browser gave and its bytes."""

    name: str
    data: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise ValidationError(f"Upload name must be text, not {type(self.name).__name__}.")
        if not isinstance(self.data, bytes | bytearray | memoryview):
            raise ValidationError(f"Upload data must be bytes, not {type(self.data).__name__}.")


@dataclass(frozen=True, slots=True)
class ImportProblem:
    """One thing that could not be imported: where it was (by position only), and why, in plain words."""

    item: str
    reason: str


@dataclass(frozen=True, slots=True)
class ImportReport:
    """The outcome of one import: counts, the cases touched and every problem met.

    ``files_seen`` counts every file looked at (zip members, not the zips that
    held them; OS junk not at all). ``case_ids`` lists new cases and existing
    ones that received (or already held) the instances. ``deid`` totals the
    de-identifier's reports over every instance it accepted.
    """

    files_seen: int
    instances_imported: int
    duplicates_skipped: int
    case_ids: tuple[str, ...]
    problems: tuple[ImportProblem, ...]
    deid: DeidReport
    burned_in_flagged: int
