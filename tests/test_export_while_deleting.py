"""Issue #14, bad input: deleting a case while an export of it runs, and a case whose files are missing.

While an export is being written, its cases and conference are not deleted (nor merged away): the
refusal says what runs, and nothing is deleted. A file an edit no longer needs (a region blacked out)
is deleted only once the export that reads it is done. An export that meets a missing stored file
stops with a clear message and leaves no file behind.
"""

from __future__ import annotations

import threading
import zipfile
from pathlib import Path

import pytest

from casefiles.config import Settings
from casefiles.errors import BusyError, ExportError
from casefiles.model import Case, KeyImage, Region
from casefiles.services import Services
from tests.dicom_factory import write_ct_study


@pytest.fixture
def services(tmp_path: Path) -> Services:
    return Services(Settings(data_dir=tmp_path / "data", seed_samples=False))


def _case(services: Services, tmp_path: Path, name: str, title: str) -> Case:
    case_id = services.import_dicom(write_ct_study(tmp_path / name, slices=3), title=title).case_ids[0]
    case = services.get_case(case_id)
    return services.set_key_images(case_id, [KeyImage(asset_id=case.assets[0].id, frame=1)])


class HeldExport:
    """An export in a thread that waits, at its first progress report, until it is let go."""

    def __init__(self, services: Services, target_id: str, export_format: str, out: Path) -> None:
        self.started = threading.Event()
        self.go = threading.Event()
        self.result: Path | None = None
        self.error: BaseException | None = None

        def progress(done: int, total: int, message: str) -> None:
            self.started.set()
            assert self.go.wait(60), "the test never let the export go on"

        def run() -> None:
            try:
                self.result = services.export(target_id, export_format, out, progress=progress)
            except BaseException as exc:  # reported to the test
                self.error = exc

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert self.started.wait(60), "the export never started"

    def finish(self) -> Path:
        self.go.set()
        self.thread.join(120)
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


def test_a_case_in_a_running_export_is_not_deleted_and_the_refusal_says_what_runs(services, tmp_path) -> None:
    case = _case(services, tmp_path, "ct", "Nodule case")
    bystander = _case(services, tmp_path, "ct2", "Bystander")
    board = services.create_conference("Tumor board", case_ids=[case.id, bystander.id])
    files = set(services.blobs.digests())

    export = HeldExport(services, board.id, "pptx", tmp_path / "board.pptx")
    assert [r.what for r in services.running_exports()] == ["the PowerPoint deck of “Tumor board”"]
    with pytest.raises(BusyError) as refused:
        services.delete_case(case.id)
    message = str(refused.value)
    assert "“Nodule case” cannot be deleted while the PowerPoint deck of “Tumor board” is being made" in message
    assert "Nothing was deleted" in message
    with pytest.raises(BusyError, match="The conference “Tumor board” cannot be deleted"):
        services.delete_conference(board.id)
    with pytest.raises(BusyError, match="cannot be merged"):
        services.merge_cases(bystander.id, case.id)
    assert services.get_case(case.id) == case and services.get_conference(board.id) == board
    assert set(services.blobs.digests()) == files, "no file was deleted"

    deck = export.finish()
    assert zipfile.is_zipfile(deck)
    assert services.running_exports() == ()
    services.delete_case(case.id)  # done: now it goes
    assert [c.id for c in services.list_cases()] == [bystander.id]


def test_a_single_case_export_holds_that_case_only(services, tmp_path) -> None:
    case = _case(services, tmp_path, "ct", "Exported alone")
    other = _case(services, tmp_path, "ct2", "Not exported")
    export = HeldExport(services, case.id, "html", tmp_path / "case.html")
    with pytest.raises(BusyError, match="while the HTML show of “Exported alone” is being made"):
        services.delete_case(case.id)
    services.delete_case(other.id)  # not in the export
    assert export.finish().read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_a_file_an_edit_replaces_during_an_export_is_deleted_once_the_export_is_done(services, tmp_path) -> None:
    case = _case(services, tmp_path, "ct", "Blanked while exported")
    series = case.assets[0]
    old_blob = series.instances[1].blob
    export = HeldExport(services, case.id, "pdf", tmp_path / "case.pdf")
    blanked = services.black_out(case.id, series.id, [Region(0, 0, 8, 8)], frame=1)
    assert blanked.asset(series.id).instances[1].blob != old_blob
    assert services.blobs.exists(old_blob), "the export still reads it"
    assert export.finish().read_bytes().startswith(b"%PDF")
    assert not services.blobs.exists(old_blob), "deleted once the export was done"


@pytest.mark.parametrize(("export_format", "suffix"), [("pptx", "pptx"), ("pdf", "pdf"), ("html", "html"),
                                                      ("package", "zip")])  # fmt: skip
def test_an_export_meeting_a_missing_file_stops_with_a_message_and_leaves_no_file(
    services, tmp_path, export_format, suffix
) -> None:
    case = _case(services, tmp_path, "ct", "Damaged case")
    board = services.create_conference("Board", case_ids=[case.id])
    for digest in case.assets[0].blob_ids:
        services.blobs.delete(digest)
        services.pixels.forget(digest)  # as in a new process: nothing read before
    out = tmp_path / "out" / f"board.{suffix}"
    out.parent.mkdir()
    with pytest.raises(ExportError) as stopped:
        services.export(board.id, export_format, out)
    message = str(stopped.value)
    assert "Stored files of “Damaged case” are missing" in message and "no file was written" in message
    assert list(out.parent.iterdir()) == [], "no file, whole or partial"
    assert services.running_exports() == ()
