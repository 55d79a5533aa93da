"""Importing files while they arrive (a PACS pull, the receiver): raw input leaves the quarantine early.

Each arriving file is identifiable until it is de-identified. It is deleted as
soon as the import has stored it, not when the whole study is done: the
quarantine holds only what is still on its way, and the end of a large study
does not wait for hundreds of files to be deleted at once.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from casefiles.config import Settings
from casefiles.ingest import Found, import_arriving, import_workers
from casefiles.services import Services
from tests.dicom_factory import write_ct_study


def _arriving(folder: Path, sources: list[Path], still_there: list[bool]) -> Iterator[Found]:
    """Copies each source into ``folder`` as it 'arrives', noting whether earlier ones were still there."""
    copied: list[Path] = []
    for number, source in enumerate(sources, start=1):
        if len(copied) >= 8:  # well past the workers' window: those long stored must be gone
            still_there.append(copied[-8].exists())
        target = folder / f"{number:07d}.dcm"
        shutil.copyfile(source, target)
        copied.append(target)
        yield Found(f"image {number}", target)


@pytest.mark.parametrize("pooled", [False, True], ids=["in-process", "workers"])
def test_each_arriving_file_is_deleted_once_it_is_stored(tmp_path: Path, pooled: bool) -> None:
    services = Services(Settings(data_dir=tmp_path / "data", seed_samples=False))
    sources = write_ct_study(tmp_path / "pacs", slices=20)
    arrivals = services.settings.quarantine_dir / "arrivals"
    arrivals.mkdir(parents=True)
    still_there: list[bool] = []
    common = {
        "store": services.store,
        "blobs": services.blobs,
        "deidentifier": services.deidentifier,
        "quarantine_dir": services.settings.quarantine_dir,
    }
    if pooled:
        with import_workers(services.deidentifier, services.blobs, 2) as workers:
            report = import_arriving(_arriving(arrivals, sources, still_there), workers=workers, **common)  # type: ignore[arg-type]
    else:
        report = import_arriving(_arriving(arrivals, sources, still_there), **common)  # type: ignore[arg-type]

    assert report.instances_imported == 20
    assert still_there and not any(still_there), "files long stored were still in the quarantine"
    assert not any(arrivals.iterdir())
