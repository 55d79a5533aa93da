"""One metadata stripper for every JPEG, PNG and TIFF that CaseDeck keeps (issue #12 finding 5).

A picture whose structure is damaged cannot be cleaned with certainty: it is
refused with a clear message, never passed through with its EXIF. Every path
that keeps a picture's bytes goes through :mod:`casefiles.media.metadata`:
pictures inside PowerPoint decks and JPEGs inside PDFs; photo uploads are
re-encoded from their pixels, and a damaged one is refused too.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image
from pptx import Presentation
from pptx.util import Inches

from casefiles.config import Settings
from casefiles.errors import DeidentificationError
from casefiles.ingest import Upload
from casefiles.media import metadata
from casefiles.media.metadata import strip_jpeg, strip_metadata, strip_png, strip_tiff
from casefiles.model import AssetKind
from casefiles.services import Services
from tests.dicom_factory import write_ct_study
from tests.support.tagged_images import (
    DAMAGED_JPEGS,
    picture_pixels,
    planted_in,
    png_bad_checksum,
    png_cut_inside_a_chunk,
    tagged_jpeg,
    tagged_png,
    tagged_tiff,
    tiff_damaged_data,
)

# -- the stripper itself -----------------------------------------------------------------------


def test_a_whole_jpeg_loses_every_metadata_segment_and_keeps_its_pixels() -> None:
    original = tagged_jpeg()
    assert planted_in(original)
    clean = strip_jpeg(original)
    assert planted_in(clean) == []
    with Image.open(io.BytesIO(clean)) as image:
        assert dict(image.getexif()) == {} and "comment" not in image.info and "xmp" not in image.info
    assert picture_pixels(clean) == picture_pixels(original)
    assert strip_jpeg(clean) == clean  # nothing left to strip


@pytest.mark.parametrize("damaged", list(DAMAGED_JPEGS.values()), ids=list(DAMAGED_JPEGS))
def test_a_damaged_jpeg_is_refused_not_passed_through(damaged: Callable[[], bytes]) -> None:
    with pytest.raises(DeidentificationError, match="damaged") as raised:
        strip_jpeg(damaged())
    assert "metadata" in str(raised.value) and planted_in(str(raised.value).encode()) == []


def test_a_jpeg_that_ends_without_its_end_marker_is_refused() -> None:
    data = tagged_jpeg()
    with pytest.raises(DeidentificationError, match="damaged"):
        strip_jpeg(data[: data.rindex(b"\xff\xd9")] + b"Quillfeather")


def test_whatever_follows_the_end_of_a_jpeg_is_dropped() -> None:
    clean = strip_jpeg(tagged_jpeg() + b"\xff\xd8 Pettigrew trailer")
    assert clean.endswith(b"\xff\xd9") and planted_in(clean) == []


def test_a_whole_png_keeps_only_chunks_that_draw_the_picture() -> None:
    original = tagged_png()
    assert planted_in(original)
    clean = strip_png(original)
    assert planted_in(clean) == [] and b"prVt" not in clean and b"eXIf" not in clean
    assert picture_pixels(clean) == picture_pixels(original)


@pytest.mark.parametrize("damaged", [png_cut_inside_a_chunk, png_bad_checksum])
def test_a_damaged_png_is_refused(damaged: Callable[[], bytes]) -> None:
    with pytest.raises(DeidentificationError, match="damaged"):
        strip_png(damaged())


def test_a_tiff_is_rewritten_from_its_pixels_without_its_tags() -> None:
    original = tagged_tiff()
    assert planted_in(original)
    clean = strip_tiff(original)
    assert clean[:4] in (b"II*\x00", b"MM\x00*") and planted_in(clean) == []
    assert picture_pixels(clean) == picture_pixels(original)


def test_a_damaged_tiff_is_refused() -> None:
    with pytest.raises(DeidentificationError, match="damaged"):
        strip_tiff(tiff_damaged_data())


def test_strip_metadata_goes_by_content_not_by_name() -> None:
    assert planted_in(strip_metadata(tagged_png())) == []
    assert planted_in(strip_metadata(tagged_jpeg())) == []
    with pytest.raises(DeidentificationError, match="not a JPEG, PNG or TIFF"):
        strip_metadata(b"GIF89a Quillfeather")


def test_there_is_one_stripper() -> None:
    """No other module keeps a JPEG/PNG segment walker of its own (they name the segments and chunks they keep)."""
    root = Path(metadata.__file__).parent.parent.parent
    signs = (rb"ICC_PROFILE\x00", rb'b"tEXt"', rb'b"IHDR"')
    walkers = [
        str(path.relative_to(root))
        for folder in ("casefiles", "exporters")
        for path in (root / folder).rglob("*.py")
        if path.name != "metadata.py" and any(sign in path.read_bytes() for sign in signs)
    ]
    assert walkers == []


# -- every path that keeps a picture ------------------------------------------------------------


@pytest.fixture
def library(tmp_path: Path) -> tuple[Services, str]:
    services = Services(Settings(data_dir=tmp_path / "data", seed_samples=False))
    case_id = services.import_dicom(write_ct_study(tmp_path / "ct", slices=2)).case_ids[0]
    return services, case_id


def stored_leaks(data_dir: Path) -> list[str]:
    """Planted strings anywhere in the library, inside stored zips (decks) too."""
    found: list[str] = []
    for path in data_dir.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        found += [f"{path.name}: {s}" for s in planted_in(data)]
        if data[:4] == b"PK\x03\x04":
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                found += [f"{path.name} › {m}: {s}" for m in zf.namelist() for s in planted_in(zf.read(m))]
    return found


def deck_with_picture(picture: bytes, *, replace_with: bytes | None = None) -> bytes:
    """A one-slide deck showing ``picture``; its media file then swapped for ``replace_with``."""
    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[6])
    slide.shapes.add_picture(io.BytesIO(picture), Inches(1), Inches(1), Inches(4), Inches(3))
    buffer = io.BytesIO()
    prs.save(buffer)
    if replace_with is None:
        return buffer.getvalue()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info, replace_with if info.filename.startswith("ppt/media/") else data)
    return out.getvalue()


@pytest.mark.parametrize("damaged", list(DAMAGED_JPEGS.values()), ids=list(DAMAGED_JPEGS))
def test_a_damaged_photo_upload_is_reported_and_nothing_stored(
    library: tuple[Services, str], tmp_path: Path, damaged: Callable[[], bytes]
) -> None:
    services, case_id = library
    report = services.import_media(case_id, [Upload("Quillfeather.jpg", damaged())])
    assert report.asset_ids == ()
    assert [p.item for p in report.problems] == ["file 1 of 1"]
    assert "damaged" in report.problems[0].reason
    assert stored_leaks(tmp_path / "data") == []


@pytest.mark.parametrize("damaged", list(DAMAGED_JPEGS.values()), ids=list(DAMAGED_JPEGS))
def test_a_deck_with_a_damaged_picture_is_refused_and_nothing_stored(
    library: tuple[Services, str], tmp_path: Path, damaged: Callable[[], bytes]
) -> None:
    services, case_id = library
    deck = deck_with_picture(tagged_jpeg(), replace_with=damaged())
    report = services.import_media(case_id, [Upload("board.pptx", deck)])
    assert report.asset_ids == ()
    assert [p.item for p in report.problems] == ["file 1 of 1"]
    reason = report.problems[0].reason
    assert "picture" in reason and "damaged" in reason and "metadata" in reason
    assert stored_leaks(tmp_path / "data") == []


@pytest.mark.parametrize(
    ("picture", "damaged"),
    [(tagged_png, png_cut_inside_a_chunk), (tagged_png, png_bad_checksum), (tagged_tiff, tiff_damaged_data)],
    ids=["png cut short", "png bad checksum", "tiff damaged"],
)
def test_a_deck_with_a_damaged_png_or_tiff_is_refused(
    library: tuple[Services, str],
    tmp_path: Path,
    picture: Callable[[], bytes],
    damaged: Callable[[], bytes],
) -> None:
    services, case_id = library
    report = services.import_media(
        case_id, [Upload("board.pptx", deck_with_picture(picture(), replace_with=damaged()))]
    )
    assert report.asset_ids == () and "damaged" in report.problems[0].reason
    assert stored_leaks(tmp_path / "data") == []


@pytest.mark.parametrize("picture", [tagged_jpeg, tagged_png, tagged_tiff], ids=["jpeg", "png", "tiff"])
def test_a_deck_keeps_its_pictures_without_their_metadata(
    library: tuple[Services, str], tmp_path: Path, picture: Callable[[], bytes]
) -> None:
    services, case_id = library
    report = services.import_media(case_id, [Upload("board.pptx", deck_with_picture(picture()))])
    assert report.problems == () and len(report.asset_ids) == 1
    asset = services.get_case(case_id).asset(report.asset_ids[0])
    assert asset.kind is AssetKind.SLIDE_DECK
    stored = Presentation(io.BytesIO(services.blobs.get(asset.blob or ""))).slides[0].shapes[0].image.blob
    assert picture_pixels(stored) == picture_pixels(picture())
    assert stored_leaks(tmp_path / "data") == []


def test_a_pdf_with_a_damaged_jpeg_is_refused(library: tuple[Services, str], tmp_path: Path) -> None:
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import NameObject, StreamObject

    from tests.media.pdf.pdf_factory import identifying_pdf

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(identifying_pdf())))
    for obj in writer._objects:
        if obj is not None and obj.get("/Subtype") == "/Image":
            StreamObject.set_data(obj, DAMAGED_JPEGS["cut after the EXIF"]())
            obj[NameObject("/Filter")] = NameObject("/DCTDecode")
    pdf = io.BytesIO()
    writer.write(pdf)
    services, case_id = library
    report = services.import_media(case_id, [Upload("referral.pdf", pdf.getvalue())])
    assert report.asset_ids == () and "cannot be removed" in report.problems[0].reason
    assert stored_leaks(tmp_path / "data") == []
