"""Re-checking a library imported before the current rules (issue #12, scope 4).

The library is made as an older CaseDeck left it: a description naming the referring doctor
kept in a stored instance and in the case title, a screen save stored without review, and
no rules versions on anything. The gate refuses it; ``recheck`` cleans and screens it again,
holds the screen save for review, and then (after the review) the case may leave.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from casefiles.model import AssetKind, Case, Review
from casefiles.release import ReleaseBlocked
from casefiles.services import Services
from tests.dicom_factory import ct_slice
from tests.helpers import ROOT
from tests.support.held_case import screen_save

REFERRER = "Hollingsworth"
OUTSIDE_CLINIC = "Pemberton Vale Clinic"


def _as_old_import(services: Services, case: Case, pixels: dict[str, bytes]) -> Case:
    """Rewrite a freshly imported case the way an older CaseDeck stored it: PHI in kept text, screen
    saves stored with their burned-in text (``pixels`` by Burned In Annotation), no rules versions."""
    assets = []
    for asset in case.assets:
        instances = []
        for instance in asset.instances:
            ds = pydicom.dcmread(io.BytesIO(services.blobs.get(instance.blob)))
            flag = str(ds.get("BurnedInAnnotation", ""))
            if flag in pixels:
                ds.PixelData = pixels[flag]
                ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
            ds.StudyDescription = f"CT CHEST W CONTRAST per Dr {REFERRER}"
            item = Dataset()
            item.RequestedProcedureDescription = f"r/o PE, from {OUTSIDE_CLINIC}"
            ds.RequestAttributesSequence = [item]
            buffer = io.BytesIO()
            ds.save_as(buffer, enforce_file_format=True)
            blob = services.blobs.put(buffer.getvalue())
            instances.append(
                replace(
                    instance,
                    blob=blob,
                    review=Review.NOT_NEEDED,
                    text_rules=0,
                    pixel_rules=0,
                    review_original="",
                    redacted=(),
                )
            )
        assets.append(replace(asset, instances=tuple(instances), label=f"AX CHEST Dr {REFERRER}"))
    old = replace(case, title=f"CT chest per Dr {REFERRER}", assets=tuple(assets), text_rules=0)
    services.store.save_case(old)
    return old


@pytest.fixture
def old_case(services: Services, tmp_path: Path) -> str:
    folder = tmp_path / "incoming"
    folder.mkdir()
    study = generate_uid()
    series = generate_uid()
    for index in range(3):
        ct_slice(study, series, index).save_as(folder / f"ct{index}.dcm", enforce_file_format=True)
    readable, faint = screen_save(study), screen_save(study, faint=True)
    readable.save_as(folder / "screen.dcm", enforce_file_format=True)
    faint.save_as(folder / "faint.dcm", enforce_file_format=True)
    (case_id,) = services.import_dicom([folder]).case_ids
    services.review_area.wipe()
    _as_old_import(services, services.get_case(case_id), {"NO": readable.PixelData, "YES": faint.PixelData})
    return case_id


def _everything_stored(data_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(data_dir.rglob("*")) if p.is_file())


def test_recheck_cleans_old_text_holds_the_screen_save_and_then_lets_the_case_out(
    services: Services, old_case: str, data_dir: Path, tmp_path: Path
) -> None:
    with pytest.raises(ReleaseBlocked) as refused:
        services.export(old_case, "pptx", tmp_path / "before.pptx")
    assert REFERRER not in str(refused.value)  # the title made by older rules is not repeated

    report = services.recheck([old_case])

    assert report.cases == 1 and report.instances == 5
    assert report.texts_cleaned == 5
    assert report.titles_cleaned >= 2  # the title and the labels
    assert report.pixels_cleaned == 1  # the readable screen save: its name found and blanked
    assert report.newly_held == 1  # the faint one: declared, not readable, held with its original
    case = services.get_case(old_case)
    assert REFERRER not in case.title and all(REFERRER not in a.label for a in case.assets)
    stored = _everything_stored(data_dir)
    assert REFERRER.encode() not in stored and b"Pemberton" not in stored
    for asset in case.assets:
        for instance in asset.instances:
            ds = pydicom.dcmread(io.BytesIO(services.blobs.get(instance.blob)))
            assert "CT" in ds.StudyDescription and "CHEST" in ds.StudyDescription
            assert "r/o PE" in ds.RequestAttributesSequence[0].RequestedProcedureDescription

    held = services.images_for_review(case)
    assert len(held) == 1
    with pytest.raises(ReleaseBlocked, match="waits for its burned-in text review"):
        services.export(old_case, "pptx", tmp_path / "held.pptx")
    asset, _frame, instance = held[0]
    services.confirm_reviewed(old_case, asset.id, instance.sop_instance_uid)
    assert services.export(old_case, "pptx", tmp_path / "after.pptx").exists()


def test_recheck_twice_changes_nothing_the_second_time(services: Services, old_case: str) -> None:
    services.recheck()
    again = services.recheck()
    assert again.cases == 1
    assert (again.instances, again.texts_cleaned, again.titles_cleaned, again.newly_held) == (0, 0, 0, 0)


def test_recheck_keeps_an_edit_made_while_it_ran(services: Services, old_case: str) -> None:
    """The case is re-read before it is saved: the registrar's history typed meanwhile survives."""
    from casefiles.recheck import recheck_case

    class EditingShelf:
        """The store, with a registrar's edit landing between reading the files and saving."""

        def get_case(self, case_id: str) -> Case:
            return services.store.get_case(case_id)

        def summaries(self, query=None):
            return services.store.summaries(query)

        def update_case(self, case_id: str, change):
            services.update_case(case_id, {"history": "65-year-old with cough"})
            return services.store.update_case(case_id, change)

    recheck_case(EditingShelf(), services.blobs, services.review_area, old_case)
    case = services.get_case(old_case)
    assert case.history == "65-year-old with cough"
    assert all(i.text_rules and i.pixel_rules for a in case.assets for i in a.instances)


def test_an_unreadable_stored_file_is_held_for_review_not_vouched_for(services: Services, old_case: str) -> None:
    case = services.get_case(old_case)
    series = next(a for a in case.assets if a.kind is AssetKind.DICOM_SERIES and len(a.instances) == 3)
    broken = replace(series.instances[0], blob=services.blobs.put(b"not a dicom file at all"))
    series = replace(series, instances=(broken, *series.instances[1:]))
    services.store.save_case(replace(case, assets=tuple(series if a.id == series.id else a for a in case.assets)))
    report = services.recheck([old_case])
    assert report.unreadable == 1
    after = services.get_case(old_case)
    first = next(a for a in after.assets if a.id == series.id).instances[0]
    assert first.review is Review.NEEDS_REVIEW and first.text_rules == 0


def test_recheck_from_the_command_line_reports_counts_without_data(old_case: str, data_dir: Path) -> None:
    env = {**os.environ, "CASEDECK_DATA": str(data_dir), "CASEDECK_SAMPLES": "0"}
    done = subprocess.run(
        [sys.executable, "-m", "casefiles", "recheck", "--case", old_case],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    output = done.stdout + done.stderr
    assert "1 case(s) and 5 image(s) re-checked" in output
    assert "1 image(s) now wait for a burned-in text review" in output
    assert REFERRER not in output
