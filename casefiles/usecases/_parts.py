"""Small pieces the case-item use cases share: finding an item or image in a copy of a case, a stored
file copied out for the tools that want a path, and putting a re-made file into the case as it is now.

Not a use case: it imports none, and the use cases may all import it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from casefiles.errors import NotFoundError
from casefiles.model import Asset, Case, Instance


class CheckedEdits(Protocol):
    """The checked edit every case edit makes (:class:`casefiles.usecases.case_editing.CaseEdits`)."""

    @property
    def lock(self) -> AbstractContextManager[Any]: ...

    def checked(self, case_id: str, loaded: Case | None, aspect: Callable[[Case], object]) -> Case: ...

    def save(self, stored: Case, **changes: Any) -> Case: ...


class ReadableFiles(Protocol):
    """Reading a stored file (:class:`casefiles.store.BlobStore`)."""

    def get(self, digest: str) -> bytes: ...


def asset_or_none(case: Case, asset_id: str) -> Asset | None:
    """The case's item ``asset_id`` as it is in this copy of the case (None when it has none)."""
    return next((a for a in case.assets if a.id == asset_id), None)


def asset_part(case: Case, asset_id: str, name: str) -> object:
    """One field of an item of the case (None when the case has no such item): what an edit overwrites."""
    asset = asset_or_none(case, asset_id)
    return None if asset is None else getattr(asset, name)


def instance_or_none(case: Case, asset_id: str, sop_instance_uid: str) -> Instance | None:
    """One image of a series as it is in this copy of the case (None when it has none)."""
    asset = asset_or_none(case, asset_id)
    return next((i for i in asset.instances if i.sop_instance_uid == sop_instance_uid), None) if asset else None


def find_instance(asset: Asset, sop_instance_uid: str) -> Instance:
    for instance in asset.instances:
        if instance.sop_instance_uid == sop_instance_uid:
            return instance
    raise NotFoundError("That image is no longer part of this series.")


@contextlib.contextmanager
def stored_copy(files: ReadableFiles, quarantine_dir: Path, blob: str, name: str) -> Iterator[Path]:
    """A stored file copied as ``name`` into a fresh quarantine folder (the tools want a path); wiped after."""
    from casefiles.ingest import QuarantineFolder

    with QuarantineFolder(quarantine_dir, "media-") as work:
        path = work / name
        path.write_bytes(files.get(blob))
        yield path


def save_file_change(
    edits: CheckedEdits,
    case_id: str,
    asset_id: str,
    changed: Asset,
    *,
    loaded: Case | None,
    aspect: Callable[[Case], object],
) -> Case:
    """Put a re-made file (and thumbnail) of an item into the case as it is now: its caption, review
    and every other item keep what other edits saved meanwhile (call with the edit lock held)."""
    stored = edits.checked(case_id, loaded, aspect)
    current = stored.asset(asset_id)  # NotFoundError if the item went meanwhile
    updated = replace(current, blob=changed.blob, thumbnail=changed.thumbnail)
    return edits.save(stored, assets=tuple(updated if a.id == asset_id else a for a in stored.assets))
