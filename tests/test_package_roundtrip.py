"""Teaching-file packages: export a conference, import it elsewhere, get the same teaching cases back.

Runs the real chain: DICOM import with de-identification, the services' media
source, the package exporter, and the package import into a fresh data
directory (another installation, so another secret).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np
import pydicom
import pytest

from casefiles.config import Settings
from casefiles.errors import Cancelled, ImportFailure, RenderError
from casefiles.model import Case, CasePlan, ConferenceKind, KeyImage, Window
from casefiles.package_import import PackageImportResult, import_package
from casefiles.progress import CancelToken
from casefiles.services import Services
from exporters.package import export_conference_package
from tests.dicom_factory import FAKE_PHI, ct_slice, write_ct_study


@pytest.fixture
def source(tmp_path: Path) -> tuple[Services, str]:
    """A library with one two-series CT case, edited and with key images, in a quiz conference."""
    services = Services(Settings(data_dir=tmp_path / "source"))
    report = services.import_dicom([write_ct_study(tmp_path / "study", slices=6, series=2)[0].parent])
    case = services.get_case(report.case_ids[0])
    first, second = case.assets
    services.set_key_images(
        case.id,
        [
            KeyImage(first.id, 2, Window(40, 400), "Apical mass"),
            KeyImage(second.id, 5, None, "Rib erosion — ضلع"),
            KeyImage(first.id, 4, Window(-600, 1500), ""),
        ],
    )
    services.update_case(
        case.id,
        {
            "title": "Right apical mass",
            "history": "58-year-old smoker with shoulder pain.",
            "findings": "Apical mass invading the chest wall.",
            "diagnosis": "Superior sulcus tumour",
            "differential": ["Metastasis", "Lymphoma"],
            "teaching_points": ["Check the apices."],
            "tags": "lung, apex",
        },
    )
    conference = services.create_conference("Unknown cases, week 48", ConferenceKind.UNKNOWN_CASE_QUIZ)
    conference = services.add_cases(conference.id, [case.id])
    services.set_plan(conference.id, CasePlan(case.id, key_images=(2, 0), reveal=True))
    return services, conference.id


def export(services: Services, conference_id: str, out: Path) -> Path:
    return export_conference_package(services.bundle(conference_id), services.media(), out)


def import_into(services: Services, package: Path) -> PackageImportResult:
    return import_package(
        package,
        store=services.store,
        blobs=services.blobs,
        deidentifier=services.deidentifier,
        quarantine_dir=services.settings.quarantine_dir,
    )


def rewrite(package: Path, out: Path, changes: Mapping[str, bytes | None]) -> Path:
    """A copy of ``package`` with members replaced (bytes), removed (None) or added."""
    with zipfile.ZipFile(package) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename not in changes:
                dst.writestr(info.filename, src.read(info))
        for name, data in changes.items():
            if data is not None:
                dst.writestr(name, data)
    return out


def pixels(services: Services, case: Case) -> list[np.ndarray]:
    return [
        pydicom.dcmread(io.BytesIO(services.blobs.get(i.blob))).pixel_array for a in case.assets for i in a.instances
    ]


def seen_by_user(case: Case) -> dict[str, object]:
    return {
        "title": case.title,
        "history": case.history,
        "findings": case.findings,
        "diagnosis": case.diagnosis,
        "differential": case.differential,
        "teaching_points": case.teaching_points,
        "tags": case.tags,
        "modality": case.modality,
        "body_part": case.body_part,
        "key_images": case.key_images,
        "series": [(a.label, a.modality, len(a.instances), a.frame_count, a.default_window) for a in case.assets],
    }


def test_a_package_imported_elsewhere_gives_the_same_cases_and_conference(
    tmp_path: Path, source: tuple[Services, str]
) -> None:
    services, conference_id = source
    package = export(services, conference_id, tmp_path / "week48.zip")
    elsewhere = Services(Settings(data_dir=tmp_path / "elsewhere"))

    result = import_into(elsewhere, package)

    assert result.problems == ()
    original = services.bundle(conference_id)
    copy = elsewhere.bundle(result.conference_id)
    assert [seen_by_user(c) for c in copy.cases] == [seen_by_user(c) for c in original.cases]
    for before, after in zip(original.cases, copy.cases, strict=True):
        assert all(
            np.array_equal(a, b) for a, b in zip(pixels(services, before), pixels(elsewhere, after), strict=True)
        )
        # another installation's secret remaps the UIDs again: references were rebuilt, not copied
        assert {i.sop_instance_uid for a in before.assets for i in a.instances}.isdisjoint(
            i.sop_instance_uid for a in after.assets for i in a.instances
        )
        assert all(a.thumbnail and elsewhere.blobs.exists(a.thumbnail) for a in after.assets)
        assert elsewhere.render_key_image(after, after.key_images[0])  # the key image renders
    assert (copy.conference.title, copy.conference.kind) == (original.conference.title, original.conference.kind)
    assert [(p.key_images, p.reveal) for p in copy.conference.items] == [((2, 0), True)]
    assert list(elsewhere.settings.quarantine_dir.iterdir()) == []


def test_the_package_layout_is_generic_documented_and_deterministic(
    tmp_path: Path, source: tuple[Services, str]
) -> None:
    services, conference_id = source
    first = export(services, conference_id, tmp_path / "a.zip")
    second = export(services, conference_id, tmp_path / "b.zip")
    assert first.read_bytes() == second.read_bytes()

    with zipfile.ZipFile(first) as zf:
        names = zf.namelist()
        generic = re.compile(
            r"README\.txt|manifest\.json|dicom/case-\d\d/series-\d\d/\d{4}\.dcm|"
            r"cases/case-\d\d/(MIRCdocument\.xml|images/key-\d\d\.(png|jpg)|thumbnails/series-\d\d\.png)"
        )
        assert all(generic.fullmatch(n) for n in names), names
        assert {i.date_time for i in zf.infolist()} == {(2000, 1, 1, 0, 0, 0)}
        manifest = json.loads(zf.read("manifest.json"))
        readme = zf.read("README.txt").decode()
        mirc = ET.fromstring(zf.read("cases/case-01/MIRCdocument.xml"))
    assert (manifest["format"], manifest["version"]) == ("casedeck-package", 1)
    case = services.get_case(services.bundle(conference_id).cases[0].id)
    assert case.study_keys  # the library keeps them; the package leaves them behind (issue #17)
    assert manifest["cases"] == [json.loads(json.dumps({k: v for k, v in case.to_dict().items() if k != "study_keys"}))]
    assert sum(len(s["files"]) for s in manifest["contents"][0]["series"]) == 12
    assert "manifest.json" in readme and "MIRCdocument" in readme
    assert mirc.tag == "MIRCdocument" and mirc.findtext("title") == "Right apical mass"
    sections = {s.get("heading"): [p.text for p in s.iter("p")] for s in mirc.iter("section")}
    assert sections["Diagnosis"] == ["Superior sulcus tumour"] and sections["DDx"] == ["Metastasis", "Lymphoma"]
    assert [i.get("src") for i in mirc.iter("image")] == [f"images/key-0{n}.png" for n in (1, 2, 3)]


def test_dicom_with_phi_slipped_into_a_package_is_de_identified_on_import(
    tmp_path: Path, source: tuple[Services, str]
) -> None:
    services, conference_id = source
    package = export(services, conference_id, tmp_path / "p.zip")
    raw = io.BytesIO()
    ct_slice("2.25.1234567", "2.25.7654321", 0).save_as(raw, enforce_file_format=True)
    assert FAKE_PHI[2].encode() in raw.getvalue()
    tampered = rewrite(package, tmp_path / "tampered.zip", {"dicom/case-01/series-01/0001.dcm": raw.getvalue()})
    elsewhere = Services(Settings(data_dir=tmp_path / "elsewhere"))

    result = import_into(elsewhere, tampered)

    case = elsewhere.get_case(result.case_ids[0])
    assert case.assets[0].frame_count == 6
    for blob in (i.blob for a in case.assets for i in a.instances):
        data = elsewhere.blobs.get(blob)
        assert not [phi for phi in FAKE_PHI if phi.encode() in data]
    ds = pydicom.dcmread(io.BytesIO(elsewhere.blobs.get(case.assets[0].instances[0].blob)))
    assert ds.PatientIdentityRemoved == "YES"


def test_a_member_that_would_escape_the_folder_gets_the_package_refused(
    tmp_path: Path, source: tuple[Services, str]
) -> None:
    services, conference_id = source
    package = export(services, conference_id, tmp_path / "p.zip")
    evil = rewrite(package, tmp_path / "evil.zip", {"../../escaped.txt": b"gotcha", "/etc/escaped.txt": b"x"})
    elsewhere = Services(Settings(data_dir=tmp_path / "elsewhere"))

    with pytest.raises(ImportFailure, match="outside its folder"):
        import_into(elsewhere, evil)

    assert elsewhere.list_cases() == [] and elsewhere.store.list_conferences() == []
    assert not list(tmp_path.rglob("escaped.txt"))
    assert list(elsewhere.settings.quarantine_dir.iterdir()) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"version": 2}, "format version 2; this CaseDeck reads version 1, so update CaseDeck"),
        ({"version": "1"}, "format version unknown"),
        ({"format": "something-else"}, "not a CaseDeck teaching-file package"),
    ],
)
def test_a_manifest_of_another_format_or_version_is_refused_with_a_plain_reason(
    tmp_path: Path, source: tuple[Services, str], change: dict[str, object], message: str
) -> None:
    services, conference_id = source
    package = export(services, conference_id, tmp_path / "p.zip")
    with zipfile.ZipFile(package) as zf:
        manifest = json.loads(zf.read("manifest.json")) | change
    altered = rewrite(package, tmp_path / "v.zip", {"manifest.json": json.dumps(manifest).encode()})
    elsewhere = Services(Settings(data_dir=tmp_path / "elsewhere"))

    with pytest.raises(ImportFailure, match=re.escape(message)):
        import_into(elsewhere, altered)
    assert elsewhere.list_cases() == []


def test_a_zip_without_a_manifest_is_not_a_package(tmp_path: Path, source: tuple[Services, str]) -> None:
    services, conference_id = source
    package = export(services, conference_id, tmp_path / "p.zip")
    bare = rewrite(package, tmp_path / "bare.zip", {"manifest.json": None})
    with pytest.raises(ImportFailure, match=r"no manifest\.json"):
        import_into(Services(Settings(data_dir=tmp_path / "elsewhere")), bare)


def test_a_series_missing_a_file_is_left_out_with_its_key_images_and_reported(
    tmp_path: Path, source: tuple[Services, str]
) -> None:
    services, conference_id = source
    package = export(services, conference_id, tmp_path / "p.zip")
    damaged = rewrite(package, tmp_path / "d.zip", {"dicom/case-01/series-02/0003.dcm": None})
    elsewhere = Services(Settings(data_dir=tmp_path / "elsewhere"))

    result = import_into(elsewhere, damaged)

    case = elsewhere.get_case(result.case_ids[0])
    assert len(case.assets) == 1 and case.assets[0].frame_count == 6
    assert [k.caption for k in case.key_images] == ["Apical mass", ""]
    assert [(p.item, "missing" in p.reason) for p in result.problems] == [("package › case 1, series 2", True)]
    # the plan picked key images 2 and 0; they are now 1 and 0
    assert elsewhere.store.get_conference(result.conference_id).items[0].key_images == (1, 0)


def test_importing_a_package_twice_never_overwrites_the_first_copy(
    tmp_path: Path, source: tuple[Services, str]
) -> None:
    services, conference_id = source
    package = export(services, conference_id, tmp_path / "p.zip")
    elsewhere = Services(Settings(data_dir=tmp_path / "elsewhere"))

    first = import_into(elsewhere, package)
    elsewhere.update_case(first.case_ids[0], {"title": "Edited after the first import"})
    second = import_into(elsewhere, package)

    assert set(first.case_ids).isdisjoint(second.case_ids) and first.conference_id != second.conference_id
    assert elsewhere.get_case(first.case_ids[0]).title == "Edited after the first import"
    assert elsewhere.get_case(second.case_ids[0]).title == "Right apical mass"
    assert elsewhere.store.get_conference(second.conference_id).case_ids == second.case_ids


class _BrokenKeyImages:
    """The real media source, except that key images cannot be rendered."""

    def __init__(self, services: Services) -> None:
        self._real = services.media()

    def __getattr__(self, name: str) -> object:
        return getattr(self._real, name)

    def key_image(self, case: Case, key: KeyImage, /) -> bytes:
        raise RenderError("The stored image cannot be decoded.")


def test_key_images_that_cannot_be_rendered_are_left_out_but_the_package_is_whole(
    tmp_path: Path, source: tuple[Services, str]
) -> None:
    services, conference_id = source
    package = export_conference_package(services.bundle(conference_id), _BrokenKeyImages(services), tmp_path / "p.zip")

    with zipfile.ZipFile(package) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        assert not [n for n in zf.namelist() if "/images/" in n]
        assert list(ET.fromstring(zf.read("cases/case-01/MIRCdocument.xml")).iter("image")) == []
    assert [i["path"] for i in manifest["contents"][0]["key_images"]] == [None, None, None]
    result = import_into(Services(Settings(data_dir=tmp_path / "elsewhere")), package)
    assert result.problems == ()


def test_a_cancelled_export_or_import_leaves_nothing_behind(tmp_path: Path, source: tuple[Services, str]) -> None:
    services, conference_id = source
    token = CancelToken()
    token.cancel()
    out = tmp_path / "exports"
    out.mkdir()
    with pytest.raises(Cancelled):
        export_conference_package(services.bundle(conference_id), services.media(), out / "p.zip", cancel=token)
    assert list(out.iterdir()) == []

    package = export(services, conference_id, out / "p.zip")
    elsewhere = Services(Settings(data_dir=tmp_path / "elsewhere"))
    with pytest.raises(Cancelled):
        import_package(
            package,
            store=elsewhere.store,
            blobs=elsewhere.blobs,
            deidentifier=elsewhere.deidentifier,
            quarantine_dir=elsewhere.settings.quarantine_dir,
            cancel=token,
        )
    assert elsewhere.list_cases() == [] and list(elsewhere.settings.quarantine_dir.iterdir()) == []


def test_a_title_or_label_naming_someone_in_a_package_is_cleaned_whatever_the_manifest_claims(
    tmp_path: Path, source: tuple[Services, str]
) -> None:
    """A package from elsewhere is not trusted for its text either: its manifest may claim current rules."""
    import json

    services, conference_id = source
    package = export(services, conference_id, tmp_path / "p.zip")
    with zipfile.ZipFile(package) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    manifest["cases"][0]["title"] = "Right apical mass, referred by Dr Ashworth-Blyth"
    manifest["cases"][0]["assets"][0]["label"] = "AX CHEST per Dr Ashworth-Blyth"
    manifest["cases"][0]["text_rules"] = 99
    tampered = rewrite(package, tmp_path / "tampered.zip", {"manifest.json": json.dumps(manifest).encode()})
    elsewhere = Services(Settings(data_dir=tmp_path / "elsewhere"))

    case = elsewhere.get_case(import_into(elsewhere, tampered).case_ids[0])

    assert "Ashworth" not in case.title and "apical mass" in case.title
    assert "Ashworth" not in case.assets[0].label and "CHEST" in case.assets[0].label
    assert elsewhere.release_blockers(case.id) == ()  # cleaned here, by the current rules
