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
class DuplicateStudy:
    """A study of this import that the library already held: a warning, not an error.

    Recognised by the keyed hash of its original Study Instance UID stored on
    the case (:attr:`casefiles.model.Case.study_keys`), or by the series of
    its (consistently remapped) study that a case holds. It names cases only,
    never the study's UIDs or key.

    ``existing_case_ids``: the cases that held the study before this import,
    newest first. ``case_id``: where this import's images of it are now: one
    of those (they joined it, as a re-import always did), or a new case (the
    existing one no longer shows the study's series, e.g. they were removed
    from it), or "" (nothing of it could be shown). ``instances_already``:
    its images in this import that the library held already (skipped);
    ``instances_new``: its images this import added to ``case_id``.
    """

    existing_case_ids: tuple[str, ...]
    case_id: str
    instances_already: int
    instances_new: int

    @property
    def existing_case_id(self) -> str:
        """The case to name and open first: the one the images joined, else the newest."""
        return self.case_id if self.joined else self.existing_case_ids[0]

    @property
    def joined(self) -> bool:
        """The images went into an existing case (nothing to merge there)."""
        return self.case_id in self.existing_case_ids

    def merge_offers(self) -> tuple[tuple[str, str], ...]:
        """(existing case, case to merge into it) for each existing case that is not where the images are."""
        if not self.case_id:
            return ()
        return tuple((existing, self.case_id) for existing in self.existing_case_ids if existing != self.case_id)


@dataclass(frozen=True, slots=True)
class ImportReport:
    """The outcome of one import: counts, the cases touched and every problem met.

    ``files_seen`` counts every file looked at (zip members, not the zips that
    held them; OS junk not at all). ``case_ids`` lists new cases and existing
    ones that received (or already held) the instances. ``deid`` totals the
    de-identifier's reports over every instance it accepted. ``duplicates``
    names each study that was already in the library (a warning: the import
    itself went ahead); a study sent twice within this import is not one.
    """

    files_seen: int
    instances_imported: int
    duplicates_skipped: int
    case_ids: tuple[str, ...]
    problems: tuple[ImportProblem, ...]
    deid: DeidReport
    burned_in_flagged: int
    duplicates: tuple[DuplicateStudy, ...] = ()
