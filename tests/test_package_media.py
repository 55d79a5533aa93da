"""Teaching-file packages carry a case's photos, video clips and PowerPoint slides, and leave its PDFs behind.

The real chain throughout: media added to a case through the services (scrubbed
on the way in), the package exporter, and the package import into a second,
fresh library, which scrubs every media file again as if it were an upload.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import ExifTags, Image
from pptx import Presentation

from casefiles.annotations.model import Arrow, Point
from casefiles.config import Settings
from casefiles.model import Asset, AssetKind, Case
from casefiles.package_import import PackageImportResult
from casefiles.services import Services, open_services
from exporters.package import export_conference_package
from tests.dicom_factory import write_ct_study

FAKE = "FAKE^PATIENT"
FFMPEG = Path("/usr/bin/ffmpeg")
FFPROBE = Path("/usr/bin/ffprobe")
PDF_EXPLAINED = "The PDF itself stays in the library it came from; pages added to the case as images are included."
PHOTO_SIZE = (640, 480)


@dataclass(frozen=True, slots=True)
class Source:
    """The first library: one case (a CT series, a photo, a clip, a deck, a PDF and one of its pages)."""

    services: Services
    conference_id: str
    case_id: str
    package: Path


# -- making the inputs -----------------------------------------------------------------------------


def _photo(path: Path) -> Path:
    """A phone photo whose EXIF names the patient, with a camera make and a GPS position."""
    ramp = np.linspace(0, 255, PHOTO_SIZE[0], dtype=np.uint8)
    pixels = np.stack([np.tile(ramp, (PHOTO_SIZE[1], 1))] * 3, axis=-1)
    pixels[100:200, 200:300] = (200, 30, 30)  # the lesion
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "FakePhone"
    exif[ExifTags.Base.Artist] = FAKE
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (52.0, 22.0, 1.0),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (4.0, 53.0, 2.0),
    }
    Image.fromarray(pixels).save(path, "JPEG", exif=exif, quality=90)
    assert FAKE.encode() in path.read_bytes()
    return path


def _clip(path: Path) -> Path:
    subprocess.run(
        [str(FFMPEG), "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=10", "-t", "2",
         "-metadata", f"title={FAKE}", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)],
        check=True, timeout=60,
    )  # fmt: skip
    assert FAKE.encode() in path.read_bytes()
    return path


def _deck(path: Path) -> Path:
    prs = Presentation()
    prs.core_properties.author = FAKE
    for n in range(3):
        slide = prs.slides.add_slide(prs.slide_layouts[1])
        slide.shapes.title.text = f"Referring team slide {n + 1}"
    prs.save(str(path))
    return path


def _pdf(path: Path) -> Path:
    pages = [Image.new("RGB", (595, 842), shade) for shade in ("white", "lightgray")]
    pages[0].save(path, "PDF", save_all=True, append_images=pages[1:], author=FAKE, title=FAKE)
    return path


# -- fixtures --------------------------------------------------------------------------------------


def _library(path: Path) -> Services:
    return open_services(Settings(data_dir=path, seed_samples=False))


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Source:
    if not FFMPEG.is_file() or not FFPROBE.is_file():
        pytest.skip("Debian's ffmpeg/ffprobe (/usr/bin) is not installed; video clips cannot be made or checked.")
    root = tmp_path_factory.mktemp("package-media")
    services = _library(root / "source")
    case_id = services.import_dicom(write_ct_study(root / "ct", slices=2)).case_ids[0]
    inputs = [_photo(root / "photo.jpg"), _clip(root / "clip.mp4"), _deck(root / "deck.pptx"), _pdf(root / "r.pdf")]
    report = services.import_media(case_id, inputs)
    assert report.problems == ()
    photo, clip, deck, document = report.asset_ids
    services.add_pdf_pages(case_id, document, [1])
    services.set_asset_caption(case_id, photo, "Clinical photo: ulcerated lesion")
    services.set_asset_caption(case_id, clip, "Endoscopy")
    services.choose_slides(case_id, deck, [0, 2])
    services.toggle_key_image(case_id, photo, 0, None)
    arrow = Arrow(start=Point(120, 60), end=Point(240, 140), text="ulcer")
    services.annotate_key_image(case_id, photo, 0, [arrow])
    series = services.get_case(case_id).assets[0]
    services.toggle_key_image(case_id, series.id, 1, None)
    conference = services.create_conference("Tumor board", case_ids=[case_id])
    package = export_conference_package(services.bundle(conference.id), services.media(), root / "board.zip")
    return Source(services, conference.id, case_id, package)


@dataclass(frozen=True, slots=True)
class Imported:
    services: Services
    result: PackageImportResult
    progress: tuple[tuple[int, int], ...]


@pytest.fixture(scope="module")
def imported(source: Source, tmp_path_factory: pytest.TempPathFactory) -> Imported:
    elsewhere = _library(tmp_path_factory.mktemp("elsewhere") / "data")
    steps: list[tuple[int, int]] = []
    result = elsewhere.import_package(
        source.package, progress=lambda done, total, _message: steps.append((done, total))
    )
    return Imported(elsewhere, result, tuple(steps))


def _import(source: Source, tmp_path: Path, changes: Mapping[str, bytes | None]) -> tuple[Services, Case, list[str]]:
    """Import a copy of the package with members replaced (bytes) or removed (None); the case and problems."""
    altered = tmp_path / "altered.zip"
    with zipfile.ZipFile(source.package) as src, zipfile.ZipFile(altered, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename not in changes:
                dst.writestr(info, src.read(info))
        for name, data in changes.items():
            if data is not None:
                dst.writestr(name, data)
    elsewhere = _library(tmp_path / "elsewhere")
    result = elsewhere.import_package(altered)
    problems = [f"{p.item}: {p.reason}" for p in result.problems]
    return elsewhere, elsewhere.get_case(result.case_ids[0]), problems


# -- what the user sees ----------------------------------------------------------------------------


def seen(asset: Asset) -> tuple[object, ...]:
    return (asset.kind, asset.label, asset.caption, asset.chosen)


def test_photos_clips_and_slides_come_back_with_their_key_images_and_the_pdf_is_explained(
    source: Source, imported: Imported, tmp_path: Path
) -> None:
    elsewhere, result = imported.services, imported.result
    before = source.services.get_case(source.case_id)
    after = elsewhere.get_case(result.case_ids[0])

    assert [f"{p.item}: {p.reason}" for p in result.problems] == [
        f"package › case 1, item 5: a PDF is not carried by packages, because its text (a referral letter, "
        f"a report) can name the patient and CaseDeck cannot check text. {PDF_EXPLAINED.rstrip('.')}"
    ]
    carried = [a for a in before.assets if a.kind is not AssetKind.DOCUMENT]
    assert [seen(a) for a in after.assets] == [seen(a) for a in carried]
    assert [a.kind for a in after.assets] == [
        AssetKind.DICOM_SERIES, AssetKind.IMAGE, AssetKind.VIDEO, AssetKind.SLIDE_DECK, AssetKind.IMAGE
    ]  # fmt: skip
    assert after.asset(after.assets[3].id).chosen == (0, 2)
    assert after.assets[4].caption == "PDF 1, page 2"
    assert after.key_images == before.key_images  # the photo's arrow and the CT frame, same asset ids
    assert [type(a).__name__ for a in after.key_images[0].annotations] == ["Arrow"]
    assert elsewhere.render_key_image(after, after.key_images[0])  # the arrow burns into the photo

    photo, clip, deck, page = after.assets[1:]
    with Image.open(io.BytesIO(elsewhere.blobs.get(photo.blob or ""))) as im:
        assert im.size == PHOTO_SIZE
        assert not im.getexif()
    for asset in (photo, clip, deck, page):
        assert asset.thumbnail and elsewhere.blobs.exists(asset.thumbnail), asset.label
    assert len(deck.previews) == 3 and all(elsewhere.blobs.exists(p) for p in deck.previews)
    assert elsewhere.slide_titles(after, deck.id) == tuple(f"Referring team slide {n}" for n in (1, 2, 3))
    assert _probe(elsewhere, clip, tmp_path / "clip.mp4") == ("h264", True)
    assert list(elsewhere.settings.quarantine_dir.iterdir()) == []
    # progress counts the 2 DICOM files and the 4 media files (and the saving step)
    assert {total for _done, total in imported.progress} == {7} and imported.progress[-1] == (7, 7)
    assert [done for done, _total in imported.progress] == sorted(done for done, _total in imported.progress)


def _probe(services: Services, clip: Asset, where: Path) -> tuple[str, bool]:
    where.write_bytes(services.blobs.get(clip.blob or ""))
    out = subprocess.run(
        [str(FFPROBE), "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name:format=duration",
         "-of", "json", str(where)],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    info = json.loads(out.stdout)
    return info["streams"][0]["codec_name"], float(info["format"]["duration"]) > 1.5


def _holds(data: bytes, text: bytes, depth: int = 0) -> bool:
    """Whether ``text`` is in ``data``, or in any member of it if it is a zip (a .pptx is one)."""
    if text in data:
        return True
    if depth > 2 or not data.startswith(b"PK\x03\x04"):
        return False
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return any(_holds(zf.read(info), text, depth + 1) for info in zf.infolist())


def _files(root: Path) -> Iterator[Path]:
    return (p for p in root.rglob("*") if p.is_file())


def test_the_patients_name_is_in_no_member_of_the_package_and_no_file_of_the_library_it_reaches(
    source: Source, imported: Imported
) -> None:
    with zipfile.ZipFile(source.package) as zf:
        named = [info.filename for info in zf.infolist() if _holds(zf.read(info), FAKE.encode())]
    assert named == []
    library = Path(str(imported.services.settings.data_dir))
    blobs = list(_files(Path(str(imported.services.settings.blob_dir))))
    assert len(blobs) > 10, "the media, their thumbnails and slide pictures were stored"
    assert [p.name for p in _files(library) if _holds(p.read_bytes(), FAKE.encode())] == []


def test_media_go_in_under_counter_names_stored_as_they_are_and_listed_in_the_manifest(source: Source) -> None:
    case = source.services.get_case(source.case_id)
    with zipfile.ZipFile(source.package) as zf:
        media = {i.filename: i for i in zf.infolist() if i.filename.startswith("media/")}
        manifest = json.loads(zf.read("manifest.json"))
        readme = zf.read("README.txt").decode()
        stored = {name: zf.read(name) for name in media}

    assert sorted(media) == [f"media/case-01/item-0{n}" for n in ("2.jpg", "3.mp4", "4.pptx", "6.jpg")]
    assert {i.compress_type for i in media.values()} == {zipfile.ZIP_STORED}, "already compressed: not deflated"
    listing = manifest["contents"][0]["media"]
    assert [(m["asset_id"], m["kind"], m["path"]) for m in listing] == [
        (a.id, a.kind.value, name) for a, name in zip(case.assets[1:4] + case.assets[5:], sorted(media), strict=True)
    ]
    files = source.services.media()
    for asset, name in zip(case.assets[1:4] + case.assets[5:], sorted(media), strict=True):
        assert stored[name] == files.asset_file(case, asset), "the stored, scrubbed file as it is"
    pdf = case.assets[4]
    assert pdf.kind is AssetKind.DOCUMENT and files.asset_file(case, pdf) not in stored.values()
    assert PDF_EXPLAINED in " ".join(readme.split()) and "media/case-NN/item-MM" in readme


def test_an_unreadable_stored_file_is_left_out_of_the_package_and_the_rest_is_packed(
    source: Source, tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(source.services.settings.data_dir, copy, ignore=shutil.ignore_patterns("quarantine"))
    services = _library(copy)
    case = services.get_case(source.case_id)
    clip = case.assets[2]
    assert clip.kind is AssetKind.VIDEO and clip.blob
    Path(str(services.settings.blob_dir), clip.blob[:2], clip.blob).unlink()

    package = services.export(source.conference_id, "package", tmp_path / "p.zip")

    with zipfile.ZipFile(package) as zf:
        names = zf.namelist()
        listing = json.loads(zf.read("manifest.json"))["contents"][0]["media"]
    assert [m["path"] for m in listing] == [
        "media/case-01/item-02.jpg",
        None,
        "media/case-01/item-04.pptx",
        "media/case-01/item-06.jpg",
    ]
    assert not [n for n in names if n.endswith(".mp4")] and len([n for n in names if n.endswith(".dcm")]) == 2


# -- bad input ---------------------------------------------------------------------------------------


def _with_macros(source: Source) -> bytes:
    """The package's (scrubbed) deck with a VBA project added: a .pptm posing as the case's .pptx."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(_deck_bytes(source))) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        dst.writestr("ppt/vbaProject.bin", b"\xd0\xcf\x11\xe0" + bytes(508))
    return out.getvalue()


def _deck_bytes(source: Source) -> bytes:
    with zipfile.ZipFile(source.package) as zf:
        return zf.read("media/case-01/item-04.pptx")


@pytest.mark.parametrize(
    ("case_name", "member", "reason"),
    [
        ("garbage", "media/case-01/item-02.jpg", r"not a format CaseDeck can add"),
        ("deck posing as a photo", "media/case-01/item-02.jpg", r"a PowerPoint deck where the case has an image"),
        ("missing", "media/case-01/item-03.mp4", r"the file of a video clip is not in the package"),
        ("macros", "media/case-01/item-04.pptx", r"macros"),
    ],
)
def test_a_bad_media_member_is_reported_by_position_and_the_rest_is_imported(
    source: Source, tmp_path: Path, case_name: str, member: str, reason: str
) -> None:
    replacement = {
        "garbage": lambda: b"this is not a picture " * 40,
        "deck posing as a photo": lambda: _deck_bytes(source),
        "missing": lambda: None,
        "macros": lambda: _with_macros(source),
    }[case_name]()
    before = source.services.get_case(source.case_id)
    position = int(member.rsplit("item-", 1)[1][:2])
    bad = before.assets[position - 1]

    elsewhere, after, problems = _import(source, tmp_path, {member: replacement})

    mine = [p for p in problems if p.startswith(f"package › case 1, item {position}: ")]
    assert len(mine) == 1 and re.search(reason, mine[0]) and mine[0].endswith("; left out"), problems
    assert len(problems) == 2, "this item and the PDF, nothing else"
    expected = [a for a in before.assets if a.id != bad.id and a.kind is not AssetKind.DOCUMENT]
    assert [seen(a) for a in after.assets] == [seen(a) for a in expected]
    assert [k.asset_id for k in after.key_images] == [k.asset_id for k in before.key_images if k.asset_id != bad.id]
    assert all(a.blob is None or elsewhere.blobs.exists(a.blob) for a in after.assets)
    assert list(elsewhere.settings.quarantine_dir.iterdir()) == []


def test_chosen_slides_the_deck_does_not_have_are_dropped_and_said(source: Source, tmp_path: Path) -> None:
    with zipfile.ZipFile(source.package) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    deck = manifest["cases"][0]["assets"][3]
    assert deck["kind"] == "slide_deck" and deck["chosen"] == [0, 2]
    deck["chosen"] = [2, 7, 0]

    _elsewhere, after, problems = _import(source, tmp_path, {"manifest.json": json.dumps(manifest).encode()})

    assert after.assets[3].chosen == (2, 0)
    assert [p for p in problems if "item 4" in p] == [
        "package › case 1, item 4: the deck has no slide 8, chosen for the conference; not chosen any more"
    ]
