"""Seeding the shipped samples: the cases a newcomer sees first, and proof that no fake PHI is stored."""

import contextlib

from casefiles.model import AssetKind
from casefiles.samples import seed_samples
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


def test_burned_in_banner_of_the_ultrasound_sample_is_blanked_and_flagged(seeded_data_dir):
    from casefiles.model import Review

    services = open_seeded(seeded_data_dir)
    us = next(c for c in services.list_cases() if c.modality == "US")
    instance = us.assets[0].instances[0]
    assert instance.redacted, "OCR found and blanked the banner"
    assert instance.review is Review.NEEDS_REVIEW
    assert services.dataset(instance.blob).BurnedInAnnotation == "NO"
    assert services.images_for_review(us)


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
