"""Seeding the shipped samples: the cases a newcomer sees first, and proof that no fake PHI is stored."""

import contextlib
import io
import json
import shutil
import zipfile

from PIL import Image
from pptx import Presentation

from casefiles.model import AssetKind
from casefiles.samples import SAMPLE_ROOT, seed_samples
from sample_data.media_synth import PLANTED
from sample_data.synth import FAKE_PHI


def open_seeded(path):
    from casefiles.config import Settings
    from casefiles.services import Services

    return Services(Settings(data_dir=path))


def test_seeded_library_has_authored_cases_with_key_images(seeded_data_dir):
    services = open_seeded(seeded_data_dir)
    cases = services.list_cases()
    assert len(cases) == 4
    assert {c.modality for c in cases} == {"CT", "MR", "CR", "US"}
    for case in cases:
        assert case.history and case.diagnosis and case.teaching_points
        assert case.key_images, case.title
        for key in case.key_images:
            assert services.render_key_image(case, key)[:4] in (b"\x89PNG", b"\xff\xd8\xff\xe0", b"\xff\xd8\xff\xdb")
    ct = next(c for c in cases if c.modality == "CT")
    assert len([a for a in ct.assets if a.kind is AssetKind.DICOM_SERIES]) == 2


def test_seeding_happens_once(services):
    assert len(seed_samples(services)) == 4
    assert seed_samples(services) == []


def test_no_planted_identifier_survives_anywhere_in_the_data_dir(seeded_data_dir):
    data_dir = seeded_data_dir
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert len(files) > 70
    for path in files:
        data = path.read_bytes().lower()
        for phi in FAKE_PHI:
            assert phi.lower().encode() not in data, f"{phi!r} found in {path.relative_to(data_dir)}"
        assert not any(phi.lower() in str(path).lower() for phi in FAKE_PHI)


def test_burned_in_banner_of_the_ultrasound_sample_is_blanked_on_every_frame_and_cleared(seeded_data_dir):
    """Screening found the banner on every frame of the cine, blanked it, and found nothing left:
    the sample may be presented without a review, and its speckle keeps its pixels (issue #13)."""
    from casefiles.model import Review
    from casefiles.redaction import find_burned_in_text

    services = open_seeded(seeded_data_dir)
    us = next(c for c in services.list_cases() if c.modality == "US")
    instance = us.assets[0].instances[0]
    assert instance.redacted, "the banner was found and blanked"
    assert instance.review is Review.NOT_NEEDED
    ds = services.dataset(instance.blob)
    assert ds.BurnedInAnnotation == "NO"
    left = find_burned_in_text(ds)  # an independent reader: only the depth scale's numbers may remain
    assert all(f.box.x > 0.85 * int(ds.Columns) for f in left), left
    blanked = sum(r.width * r.height for r in instance.redacted)
    assert blanked < 0.12 * int(ds.Rows) * int(ds.Columns), "only the text lines are boxed, not the anatomy"
    assert services.release_blockers(us.id) == ()


def test_an_interrupted_first_start_resumes_without_duplicates(services, monkeypatch):
    """If the app is stopped half-way through seeding, the next start adds only the missing samples."""
    from casefiles import samples

    real_import = services.import_dicom
    calls = {"n": 0}

    def import_then_die(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # the terminal was closed during the third sample
        return real_import(*args, **kwargs)

    monkeypatch.setattr(services, "import_dicom", import_then_die)
    with contextlib.suppress(KeyboardInterrupt):
        samples.seed_samples(services)
    assert len(services.list_cases()) == 2
    monkeypatch.setattr(services, "import_dicom", real_import)
    assert len(samples.seed_samples(services)) == 2
    titles = [c.title for c in services.list_cases()]
    assert len(titles) == 4 and len(set(titles)) == 4


# --- the CT case's tumour-board media (issue #6) -------------------------------------------------

MEDIA_DIR = SAMPLE_ROOT / "media"


def _manifest_media():
    manifest = json.loads((SAMPLE_ROOT / "cases.json").read_text(encoding="utf-8"))
    return next(c for c in manifest["cases"] if c["study"] == "study01_ct_chest")["media"]


def _readable_parts(data: bytes):
    """The bytes a reader can reach: the file, every member of a zip (PPTX), every decoded PDF stream."""
    yield data
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            for name in package.namelist():
                yield from _readable_parts(package.read(name))
    elif data[:5] == b"%PDF-":
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(data))
        numbers = {n for table in reader.xref.values() for n in table} | set(reader.xref_objStm)
        for number in sorted(numbers):
            obj = reader.get_object(number)
            yield repr(obj).encode()
            if hasattr(obj, "get_data"):
                yield obj.get_data()


def _planted_in(data: bytes, needles) -> list[str]:
    parts = [p.lower() for p in _readable_parts(data)]
    return [s for s in needles if any(s.lower().encode() in p for p in parts)]


def test_the_ct_case_holds_its_tumour_board_media(seeded_data_dir):
    services = open_seeded(seeded_data_dir)
    ct = next(c for c in services.list_cases() if c.modality == "CT")
    media = _manifest_media()
    kinds = [(a.kind, a.label) for a in ct.assets]
    assert kinds == [
        (AssetKind.DICOM_SERIES, kinds[0][1]),
        (AssetKind.DICOM_SERIES, kinds[1][1]),
        (AssetKind.IMAGE, "Image 1"),
        (AssetKind.IMAGE, "Image 2"),
        (AssetKind.VIDEO, "Video 1"),
        (AssetKind.DOCUMENT, "PDF 1"),
        (AssetKind.IMAGE, "Image 3"),  # page 1 of the referral letter, added as a picture
        (AssetKind.SLIDE_DECK, "Slides 1"),
    ], "labels come from the kind, never from the shipped file names"
    micrograph, photo, clip, letter, page, deck = ct.assets[2:]
    assert [a.caption for a in (micrograph, photo, clip, letter, deck)] == [m["caption"] for m in media]
    assert page.caption == "PDF 1, page 1"
    assert deck.chosen == (0, 1)
    assert len(deck.previews) == (2 if shutil.which("soffice") else 0), "a picture per slide with LibreOffice"
    assert clip.media_type == "video/mp4" and services.video_info(ct, clip.id).duration_s > 2.5
    for asset in (micrograph, photo, clip, letter, page):
        assert asset.thumbnail and services.blobs.exists(asset.thumbnail), asset.label

    keys = [k for k in ct.key_images if k.asset_id == micrograph.id]
    assert len(keys) == 1 and keys[0].caption == media[0]["caption"]
    assert len(ct.key_images) == 3, "the two CT key images and the micrograph"
    assert services.render_key_image(ct, keys[0])[:3] in (b"\x89PN", b"\xff\xd8\xff")

    # the phone stored the photo sideways with an EXIF turn; the case keeps it upright
    with Image.open(MEDIA_DIR / "biopsy_cores_photo.jpg") as shipped:
        assert shipped.width < shipped.height
    with Image.open(io.BytesIO(services.blobs.get(photo.blob))) as stored:
        assert stored.width > stored.height


def test_shipped_media_carry_fake_phi_that_the_library_does_not(seeded_data_dir):
    """The shipped files hold the planted names (so this proves scrubbing); no stored byte does."""
    shipped = {p.name: p.read_bytes() for p in sorted(MEDIA_DIR.iterdir())}
    assert len(shipped) == 5
    for name, data in shipped.items():
        assert len(_planted_in(data, PLANTED)) >= 2, f"{name} lost its planted metadata"
    assert set(_planted_in(shipped["mdt_summary.pptx"], PLANTED)) >= {"JOHN SMITH", "WELBY^MARCUS^^DR"}

    services = open_seeded(seeded_data_dir)
    ct = next(c for c in services.list_cases() if c.modality == "CT")
    blobs = [b for a in ct.assets for b in (a.blob, a.thumbnail, *a.previews) if b]
    assert len(blobs) >= 12
    for blob in blobs:
        assert _planted_in(services.blobs.get(blob), FAKE_PHI) == [], blob
    for path in (p for p in seeded_data_dir.rglob("*") if p.is_file()):
        assert _planted_in(path.read_bytes(), FAKE_PHI) == [], path.relative_to(seeded_data_dir)

    deck = Presentation(io.BytesIO(services.blobs.get(ct.assets[-1].blob)))
    assert (deck.core_properties.author, deck.core_properties.last_modified_by) == ("", "")
    assert not any(slide.has_notes_slide for slide in deck.slides), "speaker notes are dropped"
    clip = services.blobs.get(ct.assets[4].blob)
    assert b"2024-07-10" not in clip and b"\xa9xyz" not in clip, "no creation time, no location"


def test_seeding_again_adds_no_media(seeded_data_dir):
    services = open_seeded(seeded_data_dir)
    before = {c.id: c.assets for c in services.list_cases()}
    blobs = sorted(p.name for p in (seeded_data_dir / "blobs").rglob("*") if p.is_file())
    assert seed_samples(services) == []
    assert {c.id: c.assets for c in services.list_cases()} == before
    assert sorted(p.name for p in (seeded_data_dir / "blobs").rglob("*") if p.is_file()) == blobs


def test_seeding_without_libreoffice_still_adds_the_slides(data_dir, tmp_path, monkeypatch):
    """LibreOffice only draws slide pictures; without it the deck is added with no previews."""
    from casefiles.config import Settings
    from casefiles.services import Services

    root = tmp_path / "samples"
    root.mkdir()
    manifest = json.loads((SAMPLE_ROOT / "cases.json").read_text(encoding="utf-8"))
    manifest["cases"] = [c for c in manifest["cases"] if c["study"] == "study01_ct_chest"]
    (root / "cases.json").write_text(json.dumps(manifest), encoding="utf-8")
    for folder in ("studies", "media"):
        (root / folder).symlink_to(SAMPLE_ROOT / folder)
    tools = tmp_path / "bin"  # a PATH with the OCR engine the DICOM import uses, and no soffice
    tools.mkdir()
    tesseract = shutil.which("tesseract")
    if tesseract:
        (tools / "tesseract").symlink_to(tesseract)
    monkeypatch.setenv("PATH", str(tools))

    services = Services(Settings(data_dir=data_dir))
    assert len(seed_samples(services, root=root)) == 1
    ct = services.list_cases()[0]
    deck = next(a for a in ct.assets if a.kind is AssetKind.SLIDE_DECK)
    assert deck.previews == () and deck.chosen == (0, 1)
    assert [a.kind for a in ct.assets].count(AssetKind.IMAGE) == 3
    assert _planted_in(services.blobs.get(deck.blob), FAKE_PHI) == []
