"""Importing a study that holds more than radiology: a referral PDF, an endoscopy clip, a slide, photographs.

Real files made at test time, the real de-identifier, a real library on disk, Debian's ffprobe to check clips.
"""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.uid import generate_uid
from pypdf import PdfReader

from casefiles.imaging import modality_frame
from casefiles.imaging.stack import cine_frame_rate
from casefiles.ingest import ImportReport
from casefiles.ingest.nonradiology import LABEL_LEFT_OUT
from casefiles.model import Asset, AssetKind, Case
from tests.dicom_factory import ct_slice
from tests.helpers import require_tool
from tests.ingest.nonradiology import objects
from tests.support.phi_paths import folder_position

if TYPE_CHECKING:
    from tests.ingest.conftest import Library

    RunImport = Callable[..., ImportReport]


def _save(ds: pydicom.Dataset, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def _write_ct(folder: Path, study_uid: str) -> None:
    ds = ct_slice(study_uid, generate_uid(), 0)
    ds.PatientName, ds.PatientID = objects.PATIENT_NAME, objects.PATIENT_ID
    _save(ds, folder / "ct.dcm")


def _ffprobe(data: bytes, folder: Path) -> dict[str, object]:
    exe = require_tool("ffprobe")
    path = folder / "probe.mp4"
    path.write_bytes(data)
    out = subprocess.run(
        [exe, "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        check=True,
        capture_output=True,
    )
    path.unlink()
    return dict(json.loads(out.stdout))


def _by_label(case: Case) -> dict[str, Asset]:
    return {a.label: a for a in case.assets}


def _only_case(lib: Library) -> Case:
    cases = lib.store.list_cases()
    assert len(cases) == 1
    return cases[0]


def _stored_dicoms(lib: Library) -> list[pydicom.Dataset]:
    found = []
    for data in lib.all_blob_bytes():
        if data[128:132] == b"DICM":
            found.append(pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True))
    return found


def _stored_pictures(lib: Library) -> list[Image.Image]:
    pictures = []
    for data in lib.all_blob_bytes():
        if data.startswith((b"\x89PNG", b"\xff\xd8")):
            pictures.append(Image.open(io.BytesIO(data)).convert("RGB"))
    return pictures


def _looks_like(picture: Image.Image, reference: Image.Image) -> bool:
    """Whether ``picture`` is ``reference`` (at any size): mean difference under 10 grey levels."""
    scaled = np.asarray(reference.convert("RGB").resize(picture.size), dtype=np.int16)
    return float(np.abs(np.asarray(picture, dtype=np.int16) - scaled).mean()) < 10


@pytest.fixture
def mixed_study(tmp_path: Path, h264: bytes) -> tuple[Path, objects.Slide]:
    """A folder with a CT slice, a referral PDF, an endoscopy clip, a slide pyramid (+ label, overview),
    a clinical photograph, an ultrasound cine and an encapsulated STL model."""
    folder = tmp_path / "in"
    study = generate_uid()
    _write_ct(folder, study)
    _save(objects.encapsulated_pdf(objects.pdf_with_author(), study_uid=study), folder / "referral.dcm")
    _save(objects.video_dicom(h264, study_uid=study, frames=25), folder / "scope.dcm")
    slide = objects.write_slide(folder / "slide", study_uid=study, sides=(4096, 2048, 1024), tile=512)
    _save(objects.vl_photograph(study_uid=study), folder / "photo.dcm")
    _save(objects.us_cine(study_uid=study), folder / "cine.dcm")
    _save(objects.encapsulated_stl(study_uid=study), folder / "model.dcm")
    return folder, slide


@pytest.mark.parametrize("workers", [1, 2], ids=["in-process", "worker-processes"])
def test_a_mixed_study_becomes_one_case_with_a_document_a_clip_and_a_slide(
    tmp_path: Path,
    library: Library,
    run_import: RunImport,
    mixed_study: tuple[Path, objects.Slide],
    assert_no_phi: Callable[[Library], None],
    workers: int,
) -> None:
    folder, slide = mixed_study

    report = run_import(library, [folder], workers=workers, pool_threshold=0)

    case = _only_case(library)
    assets = _by_label(case)
    assert {label: asset.kind for label, asset in assets.items()} == {
        "AX CHEST": AssetKind.DICOM_SERIES,
        "PDF 1": AssetKind.DOCUMENT,
        "Video 1": AssetKind.VIDEO,
        "Slide 1": AssetKind.IMAGE,
        "Clinical photo": AssetKind.DICOM_SERIES,
        "Cardiac cine": AssetKind.DICOM_SERIES,
    }
    reasons = sorted(p.reason for p in report.problems)
    assert reasons == sorted(
        [LABEL_LEFT_OUT, "not an image or document CaseDeck shows (an encapsulated STL 3D model); left out"]
    ), "the label and the overview are reported once for their slide"
    for label in ("PDF 1", "Video 1", "Slide 1"):
        asset = assets[label]
        assert asset.study_uid == assets["AX CHEST"].study_uid and asset.series_uid
        assert asset.thumbnail is not None and library.blobs.get(asset.thumbnail).startswith(b"\x89PNG")

    # The PDF: scrubbed (no info dictionary, no author), previews of its page.
    pdf = assets["PDF 1"]
    assert pdf.media_type == "application/pdf" and pdf.blob is not None
    reader = PdfReader(io.BytesIO(library.blobs.get(pdf.blob)))
    assert len(reader.pages) == 1
    assert not reader.metadata
    assert len(pdf.previews) == 1

    # The clip: an H.264 MP4 that plays for about the declared second.
    clip = assets["Video 1"]
    assert clip.media_type == "video/mp4" and clip.blob is not None
    probe = _ffprobe(library.blobs.get(clip.blob), tmp_path)
    streams = probe["streams"]
    assert isinstance(streams, list) and [s["codec_name"] for s in streams] == ["h264"]
    assert 0.8 <= float(probe["format"]["duration"]) <= 1.2  # type: ignore[index]

    # The slide: the 2048 level (the smallest reaching 2048 px), colours where they were drawn.
    picture = Image.open(io.BytesIO(library.blobs.get(assets["Slide 1"].blob or "")))
    assert picture.format == "JPEG" and picture.size == (2048, 2048)
    rgb = np.asarray(picture.convert("RGB"), dtype=np.int16)
    assert np.abs(rgb[512, 512] - objects.RED).max() < 25  # the red square, top-left quarter
    assert np.abs(rgb[1536, 1536] - (20, 40, 210)).max() < 25  # the blue one, bottom-right

    # The slide label never reached the library, in any form.
    stored = _stored_dicoms(library)
    flavours = [str(ds.ImageType[2]) for ds in stored if ds.SOPClassUID == objects.VL_WSI]
    assert sorted(flavours) == ["VOLUME"] * 3, "the three levels, and no label or overview"
    label = objects.label_picture()
    assert not any(_looks_like(p, label) for p in _stored_pictures(library))

    # The photograph: JPEG YCbCr shown in true colour (the red patch stays red), thumbnail too.
    photo = assets["Clinical photo"]
    frame = modality_frame(pydicom.dcmread(io.BytesIO(library.blobs.get(photo.instances[0].blob))), 0)
    assert frame.shape == (64, 96, 3)
    assert np.abs(frame[32, 10].astype(int) - objects.RED).max() < 20
    assert np.abs(frame[32, 80].astype(int) - 240).max() < 20
    thumb = np.asarray(Image.open(io.BytesIO(library.blobs.get(photo.thumbnail or ""))).convert("RGB"), dtype=int)
    assert np.abs(thumb[thumb.shape[0] // 2, 2] - objects.RED).max() < 20

    # The ultrasound cine: all frames, and its rate for playing.
    cine = assets["Cardiac cine"]
    assert cine.frame_count == 6
    assert cine_frame_rate(pydicom.dcmread(io.BytesIO(library.blobs.get(cine.instances[0].blob)))) == 20

    assert slide.level_sides == (4096, 2048, 1024)
    assert_no_phi(library)


def test_importing_the_study_again_adds_no_second_document_clip_or_slide(
    library: Library, run_import: RunImport, tmp_path: Path, h264: bytes
) -> None:
    folder = tmp_path / "in"
    study = generate_uid()
    _save(objects.encapsulated_pdf(objects.pdf_with_author(), study_uid=study), folder / "referral.dcm")
    _save(objects.video_dicom(h264, study_uid=study, frames=25), folder / "scope.dcm")
    objects.write_slide(folder / "slide", study_uid=study, sides=(512, 256), with_label=False)
    first = run_import(library, [folder])
    case = _only_case(library)
    assert sorted(a.label for a in case.assets) == ["PDF 1", "Slide 1", "Video 1"]
    assert first.instances_imported == 4

    second = run_import(library, [folder])

    again = _only_case(library)
    assert second.case_ids == (case.id,)
    assert [a.id for a in again.assets] == [a.id for a in case.assets]
    assert (second.instances_imported, second.duplicates_skipped) == (0, 4)

    # A second clip of the same study, in a new series, is added next to the first.
    more = tmp_path / "more"
    _save(objects.video_dicom(h264, study_uid=study, frames=25), more / "scope2.dcm")
    run_import(library, [more])
    assert sorted(a.label for a in _only_case(library).assets) == ["PDF 1", "Slide 1", "Video 1", "Video 2"]


def test_damaged_objects_are_reported_and_everything_else_imported(
    library: Library, run_import: RunImport, tmp_path: Path, h264: bytes
) -> None:
    folder = tmp_path / "in"
    study = generate_uid()
    _write_ct(folder, study)
    garbage = bytes(range(256)) * 8
    _save(objects.encapsulated_pdf(garbage, study_uid=study), folder / "a_garbage_pdf.dcm")
    _save(objects.encapsulated_pdf(_encrypted_pdf(), study_uid=study), folder / "b_locked_pdf.dcm")
    _save(objects.video_dicom(h264[: len(h264) // 3], study_uid=study, frames=25), folder / "c_cut_video.dcm")
    objects.write_slide(folder / "slide", study_uid=study, sides=(1024, 512), drop_tile_of_level=0, with_label=False)
    _save(objects.encapsulated_pdf(objects.pdf_with_author(), study_uid=study), folder / "d_good_pdf.dcm")

    report = run_import(library, [folder])

    problems = {p.item: p.reason for p in report.problems}
    assert "not a PDF" in problems[folder_position(folder, folder / "a_garbage_pdf.dcm")]
    assert "password" in problems[folder_position(folder, folder / "b_locked_pdf.dcm")]
    cut = [reason for item, reason in problems.items() if item.startswith("Video 1")]
    assert len(cut) == 1 and "damaged or incomplete" in cut[0] and "left out" in cut[0]
    tile = [reason for item, reason in problems.items() if item.startswith("Slide 1")]
    assert len(tile) == 1 and "another level was used" in tile[0]
    assert len(report.problems) == 4, report.problems

    case = _only_case(library)
    assert sorted(a.label for a in case.assets) == ["AX CHEST", "PDF 1", "Slide 1"]
    slide = next(a for a in case.assets if a.label == "Slide 1")
    assert Image.open(io.BytesIO(library.blobs.get(slide.blob or ""))).size == (512, 512)


def test_a_study_whose_only_object_cannot_be_converted_makes_no_empty_case(
    library: Library, run_import: RunImport, tmp_path: Path, h264: bytes
) -> None:
    folder = tmp_path / "in"
    _save(objects.video_dicom(h264[:2000], study_uid=generate_uid(), frames=25), folder / "cut.dcm")

    report = run_import(library, [folder])

    assert library.store.list_cases() == []
    assert report.case_ids == () and len(report.problems) == 1


def test_a_photograph_from_pydicoms_test_files_keeps_its_colours(library: Library, run_import: RunImport) -> None:
    from pydicom.data import get_testdata_file

    path = get_testdata_file("SC_rgb_jpeg_dcmtk.dcm")  # in the wheel: no download
    if path is None:
        pytest.skip("pydicom's test file is not installed")
    original = pydicom.dcmread(path)
    expected = modality_frame(original, 0).astype(int)

    report = run_import(library, [Path(path)])

    assert report.problems == ()
    (asset,) = _only_case(library).assets
    stored = pydicom.dcmread(io.BytesIO(library.blobs.get(asset.instances[0].blob)))
    shown = modality_frame(stored, 0).astype(int)
    assert shown.shape == expected.shape and np.abs(shown - expected).max() <= 2
    assert expected[..., 0].max() > 200 and expected[..., 1].max() > 200  # really colour, really read


def _encrypted_pdf() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(objects.pdf_with_author())))
    writer.encrypt(user_password="", owner_password="owner-secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
