"""Editing a case: the form's fields and the key images, each edit checked against what its editor saw.

:class:`CaseEdits` also holds the check every other case edit (media, review,
annotations) makes: with the shared edit lock held, :meth:`CaseEdits.checked`
returns the stored case only if what the edit overwrites did not change since
the page showed it (``loaded=``), and :meth:`CaseEdits.save` saves it with a
strictly newer version.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from typing import Any, Protocol

from casefiles.errors import StaleEditError, ValidationError
from casefiles.model import CASE_EDITABLE_FIELDS, Case, Difficulty, KeyImage, Window, utcnow
from casefiles.usecases._values import as_text_list

#: What an edit made on an outdated copy of a case is told (the page shows it as it is).
STALE_EDIT_MESSAGE = "This case changed since you opened it — reload it to see the changes; nothing was saved."

EDITABLE_FIELDS = frozenset(CASE_EDITABLE_FIELDS)


class CaseRecords(Protocol):
    """The part of the store contract (:class:`casefiles.store.CaseStore`) an edit uses."""

    def get_case(self, case_id: str) -> Case: ...

    def save_case(self, case: Case) -> Case: ...


class CaseEdits:
    """Checked edits of the cases in ``records``, under ``edit_lock`` (the one lock all edits share)."""

    def __init__(self, records: CaseRecords, *, edit_lock: AbstractContextManager[Any]) -> None:
        self._records = records
        self.lock = edit_lock

    def update(self, case_id: str, changes: Mapping[str, Any], *, loaded: Case | None = None) -> Case:
        """Apply edits from the case form; unknown fields are refused, not ignored.

        ``loaded`` is the case as the form was filled from (its ``updated`` is the version the edit
        carries): if the stored case has moved on since, and any field this edit writes differs from
        what the form was filled with, :class:`StaleEditError` is raised and nothing is saved.
        """
        unknown = set(changes) - EDITABLE_FIELDS
        if unknown:
            raise ValidationError(f"These case fields cannot be edited: {', '.join(sorted(unknown))}.")
        normalised = dict(changes)
        for name in ("differential", "teaching_points", "tags"):
            if name in normalised:
                normalised[name] = as_text_list(normalised[name], split_commas=name == "tags")
        if "difficulty" in normalised and not isinstance(normalised["difficulty"], Difficulty):
            try:
                normalised["difficulty"] = Difficulty(normalised["difficulty"])
            except ValueError as exc:
                raise ValidationError("Difficulty must be introductory, intermediate or advanced.") from exc
        with self.lock:
            stored = self.checked(case_id, loaded, lambda c: tuple(getattr(c, name) for name in sorted(normalised)))
            return self.save(stored, **normalised)

    def set_key_images(self, case_id: str, key_images: Iterable[KeyImage], *, loaded: Case | None = None) -> Case:
        """Replace the case's key images; with ``loaded``, refused if the stored ones changed since."""
        with self.lock:
            stored = self.checked(case_id, loaded, lambda c: c.key_images)
            return self.save(stored, key_images=tuple(key_images))

    def toggle_key_image(
        self, case_id: str, asset_id: str, frame: int, window: Window | None, *, loaded: Case | None = None
    ) -> Case:
        """Mark a frame as key image (with its window), or unmark it if it already is one.

        With ``loaded`` (the case as the page showed it), refused if that frame was marked or unmarked since.
        """
        with self.lock:
            stored = self.checked(case_id, loaded, lambda c: key_image_at(c, asset_id, frame))
            kept = tuple(k for k in stored.key_images if not (k.asset_id == asset_id and k.frame == frame))
            if len(kept) == len(stored.key_images):
                kept = (*stored.key_images, KeyImage(asset_id=asset_id, frame=frame, window=window))
            return self.save(stored, key_images=kept)

    def checked(self, case_id: str, loaded: Case | None, aspect: Callable[[Case], object]) -> Case:
        """The stored case, if an edit made on ``loaded`` may be saved on it (call with :attr:`lock` held).

        The edit is refused if what it overwrites (``aspect``) differs between the stored case and
        ``loaded``, i.e. changed since the editor loaded it (``updated`` alone cannot tell: it is
        stored to the second): another tab's text, key image or annotation is never lost, while an
        unrelated change (a clip added by a background job, a region blacked out) does not block
        saving the text.
        """
        stored = self._records.get_case(case_id)
        if loaded is None:
            return stored
        if loaded.id != case_id:
            raise StaleEditError(
                "This form was opened for another case — reload the case to edit it; nothing was saved."
            )
        # By content, not only by ``updated``: timestamps are stored to the second, so a save made in
        # the same second as the page was shown (an unchecked one: a background import) has the same.
        if aspect(stored) != aspect(loaded):
            raise StaleEditError(STALE_EDIT_MESSAGE)
        return stored

    def save(self, stored: Case, **changes: Any) -> Case:
        """Save ``stored`` with ``changes``, its version strictly newer than the one it replaces; returns it
        as stored (with the store's new version, so a further edit made on it is not refused)."""
        now = utcnow()
        case = stored.edited(updated=max(now, stored.updated + dt.timedelta(microseconds=1)), **changes)
        return self._records.save_case(case)


def key_image_at(case: Case, asset_id: str, frame: int) -> KeyImage | None:
    """The key image of ``case`` on that frame, if it is one."""
    return next((k for k in case.key_images if k.asset_id == asset_id and k.frame == frame), None)
