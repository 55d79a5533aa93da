"""A study imported again is recognised by a keyed hash of its original Study Instance UID (issue #17).

The key (``Case.study_keys``) is HMAC-SHA256 under a key derived from the
installation secret; it is never the UID, never holds it, and never shows in
a log or a message. Re-importing warns (``ImportReport.duplicates``) and names
the case that holds the study; when the images land in a case of their own,
merging them into the existing case is offered and works.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pydicom
import pytest

from casefiles.config import Settings
from casefiles.deid import Deidentifier
from casefiles.deid.keys import STUDY_KEY_DOMAIN, remap_uid, study_key
from casefiles.errors import ValidationError
from casefiles.inbox import file_received_study
from casefiles.ingest import DuplicateStudy, ImportReport, Upload, import_sources
from casefiles.model import AssetKind, Case
from casefiles.pacs import client
from casefiles.pacs.nodes import PacsNode
from casefiles.pacs.receiver import ReceivedStudy
from casefiles.pacs.retrieval import StudyRequest, retrieve_studies
from casefiles.services import Services
from casefiles.store import CaseQuery
from tests.support.arrivals import import_arrivals_into

if TYPE_CHECKING:
    from conftest import Library, Study

    MakeStudy = Callable[..., Study]


@pytest.fixture
def deid(secret: bytes) -> Deidentifier:
    return Deidentifier(secret)


def run(lib: Library, deid: Deidentifier, sources: list[Path | Upload], **kwargs: object) -> ImportReport:
    return import_sources(
        sources,
        store=lib.store,
        blobs=lib.blobs,
        deidentifier=deid,
        quarantine_dir=lib.quarantine,
        review_area=lib.review_area,
        **kwargs,  # type: ignore[arg-type]
    )


def the_case(lib: Library) -> Case:
    (case,) = lib.store.list_cases()
    return case


def late_slice(study: Study, folder: Path, *, new_series: bool = False) -> Path:
    """One more image of ``study``: of its first series, or of a series it did not have."""
    folder.mkdir(parents=True, exist_ok=True)
    extra = pydicom.dcmread(study.files[0])
    extra.SOPInstanceUID = extra.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid()
    if new_series:
        extra.SeriesInstanceUID = pydicom.uid.generate_uid()
        extra.SeriesNumber = 9
        extra.SeriesDescription = "Late delayed phase"
    path = folder / "late.dcm"
    extra.save_as(path, enforce_file_format=True)
    return path


# -- the key ---------------------------------------------------------------------------------------


def test_the_key_is_a_domain_separated_hmac_never_the_uid(secret: bytes, deid: Deidentifier) -> None:
    uid = "1.2.840.113619.2.55.3.604688119.969.1268071029.320"
    key = study_key(secret, uid)
    derived = hmac.new(secret, STUDY_KEY_DOMAIN, hashlib.sha256).digest()
    assert key == hmac.new(derived, uid.encode(), hashlib.sha256).hexdigest()
    assert len(key) == 64 and set(key) <= set("0123456789abcdef")
    assert key != uid and uid not in key and uid.replace(".", "") not in key
    # not the remapped UID's hash either: the de-identified UID tells nothing about the key
    remapped = remap_uid(secret, uid)
    assert hmac.new(secret, uid.encode(), hashlib.sha256).hexdigest() != key
    assert remapped.removeprefix("2.25.") not in key and key not in remapped
    assert deid.study_key(uid) == key == deid.study_key(f" {uid}\x00")  # as a padded DICOM value holds it
    assert deid.study_key("") == "" and study_key(secret, "  ") == ""


def test_another_installation_secret_gives_other_keys(secret: bytes) -> None:
    uid = "1.2.3.4.5.6.7"
    other = bytes(reversed(range(32)))
    assert study_key(secret, uid) == study_key(secret, uid)
    assert study_key(other, uid) != study_key(secret, uid)
    assert Deidentifier(other).study_key(uid) != Deidentifier(secret).study_key(uid)
    assert study_key(secret, "1.2.3.4.5.6.8") != study_key(secret, uid)


def test_a_case_takes_only_well_formed_keys_and_says_so_without_the_value() -> None:
    key = "a" * 64
    case = Case(id="c1", title="T", study_keys=(key, key))
    assert case.study_keys == (key,)
    assert Case.from_dict(case.to_dict()).study_keys == (key,)
    assert Case.from_dict({k: v for k, v in case.to_dict().items() if k != "study_keys"}).study_keys == ()
    for bad in ("1.2.840.10008.1", "A" * 64, "a" * 63):
        with pytest.raises(ValidationError) as raised:
            Case(id="c1", title="T", study_keys=(bad,))
        assert bad not in str(raised.value)


# -- re-importing -----------------------------------------------------------------------------------


def test_reimporting_the_same_study_warns_and_names_the_case(
    tmp_path: Path, library: Library, deid: Deidentifier, make_study: MakeStudy
) -> None:
    study = make_study(tmp_path / "in", slices=4, second_series_slices=2)
    first = run(library, deid, [tmp_path / "in"])
    assert first.duplicates == ()
    case = the_case(library)
    assert case.study_keys == (deid.study_key(study.study_uid),)
    edited = library.store.save_case(case.edited(title="Renamed: PE teaching case", diagnosis="PE"))

    again = run(library, deid, [tmp_path / "in"])
    assert again.duplicates == (DuplicateStudy((case.id,), case.id, 6, 0),)
    assert again.duplicates[0].joined and again.duplicates[0].merge_offers() == ()
    assert again.case_ids == (case.id,) and (again.instances_imported, again.duplicates_skipped) == (0, 6)
    assert the_case(library) == edited  # renamed, edited: still the same case, untouched


def test_new_series_join_the_existing_case_and_are_still_reported(
    tmp_path: Path, library: Library, deid: Deidentifier, make_study: MakeStudy
) -> None:
    study = make_study(tmp_path / "in", slices=3, second_series_slices=2)
    run(library, deid, [tmp_path / "in"])
    case = the_case(library)
    late_slice(study, tmp_path / "late", new_series=True)

    again = run(library, deid, [tmp_path / "in", tmp_path / "late"])
    assert again.duplicates == (DuplicateStudy((case.id,), case.id, 5, 1),)
    grown = the_case(library)
    assert grown.id == case.id and len(grown.assets) == 3
    assert grown.study_keys == case.study_keys


def test_the_same_study_twice_in_one_batch_is_one_new_case_and_no_warning(
    tmp_path: Path, library: Library, deid: Deidentifier, make_study: MakeStudy
) -> None:
    make_study(tmp_path / "in", slices=3, second_series_slices=2)
    shutil.copytree(tmp_path / "in", tmp_path / "copy")
    report = run(library, deid, [tmp_path / "in", tmp_path / "copy"])
    assert report.duplicates == ()
    assert (report.instances_imported, report.duplicates_skipped) == (5, 5)
    assert len(library.store.list_cases()) == 1


def test_a_deleted_case_is_not_named_and_the_study_comes_back_as_a_new_case(
    tmp_path: Path, library: Library, deid: Deidentifier, make_study: MakeStudy
) -> None:
    study = make_study(tmp_path / "in", slices=3, second_series_slices=0)
    run(library, deid, [tmp_path / "in"])
    gone = the_case(library)
    library.store.delete_case(gone.id)

    again = run(library, deid, [tmp_path / "in"])
    assert again.duplicates == ()
    back = the_case(library)
    assert back.id != gone.id and back.study_keys == (deid.study_key(study.study_uid),)


def test_a_case_that_no_longer_shows_the_study_gets_a_second_case_with_a_merge_offer(
    tmp_path: Path, library: Library, deid: Deidentifier, make_study: MakeStudy
) -> None:
    """Today's behaviour made explicit: the study's series left the first case, so a re-import
    makes a second case (nothing holds its series); the warning names the first and offers the merge."""
    make_study(tmp_path / "in", slices=3, second_series_slices=0)
    run(library, deid, [tmp_path / "in"])
    first = the_case(library)
    emptied = library.store.save_case(first.edited(assets=(), key_images=()))

    again = run(library, deid, [tmp_path / "in"])
    (second,) = [c for c in library.store.list_cases() if c.id != first.id]
    assert again.duplicates == (DuplicateStudy((first.id,), second.id, 0, 3),)
    assert again.duplicates[0].merge_offers() == ((first.id, second.id),)
    assert second.study_keys == emptied.study_keys


def test_a_case_from_before_study_keys_learns_its_key_when_new_images_of_it_come(
    tmp_path: Path, library: Library, deid: Deidentifier, make_study: MakeStudy
) -> None:
    """No migration is possible (the original UIDs are gone); the study is still found by its series."""
    study = make_study(tmp_path / "in", slices=3, second_series_slices=0)
    run(library, deid, [tmp_path / "in"])
    legacy = library.store.save_case(replace(the_case(library), study_keys=()))
    assert library.store.summaries(CaseQuery(study_key=deid.study_key(study.study_uid))) == []

    nothing_new = run(library, deid, [tmp_path / "in"])
    assert nothing_new.duplicates == (DuplicateStudy((legacy.id,), legacy.id, 3, 0),)
    assert the_case(library) == legacy  # nothing new: untouched

    late_slice(study, tmp_path / "late")
    run(library, deid, [tmp_path / "late"])
    assert the_case(library).study_keys == (deid.study_key(study.study_uid),)


def test_worker_processes_compute_the_same_keys(
    tmp_path: Path, library: Library, deid: Deidentifier, make_study: MakeStudy
) -> None:
    study = make_study(tmp_path / "in", slices=4, second_series_slices=2)
    run(library, deid, [tmp_path / "in"], workers=2, pool_threshold=1)
    case = the_case(library)
    assert case.study_keys == (deid.study_key(study.study_uid),)
    again = run(library, deid, [tmp_path / "in"], workers=2, pool_threshold=1)
    assert again.duplicates == (DuplicateStudy((case.id,), case.id, 6, 0),)


def test_neither_the_uid_nor_the_key_is_logged_or_shown(
    tmp_path: Path,
    library: Library,
    deid: Deidentifier,
    make_study: MakeStudy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    study = make_study(tmp_path / "in", slices=3, second_series_slices=2)
    caplog.set_level(logging.DEBUG)
    first = run(library, deid, [tmp_path / "in"])
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "x.dcm").write_bytes(b"not dicom")
    again = run(library, deid, [tmp_path / "in", tmp_path / "junk"])
    key = deid.study_key(study.study_uid)
    said = caplog.text + repr(first) + repr(again) + "".join(p.item + p.reason for p in again.problems)
    for secret_text in (study.study_uid, key, *study.series_uids):
        assert secret_text not in said
    assert study.study_uid not in library.db_text()  # the key is stored, the original UID never
    assert key in library.db_text()


def test_another_installation_does_not_recognise_the_study(
    tmp_path: Path, library: Library, make_study: MakeStudy, make_library: Callable[[Path], Library]
) -> None:
    study = make_study(tmp_path / "in", slices=2, second_series_slices=0)
    here, there = Deidentifier(bytes(range(32))), Deidentifier(bytes(range(1, 33)))
    run(library, here, [tmp_path / "in"])
    other = run(library, there, [tmp_path / "in"])  # as if the library were imported with another secret
    assert other.duplicates == ()
    assert len(library.store.list_cases()) == 2
    assert {c.study_keys for c in library.store.list_cases()} == {
        (here.study_key(study.study_uid),),
        (there.study_key(study.study_uid),),
    }


# -- merging, PACS pulls, the receiver and packages ----------------------------------------------


@pytest.fixture
def services(tmp_path: Path) -> Services:
    return Services(Settings(data_dir=tmp_path / "data", seed_samples=False))


def test_merge_into_the_existing_case_works_and_joins_the_keys(
    tmp_path: Path, services: Services, make_study: MakeStudy
) -> None:
    make_study(tmp_path / "in", slices=3, second_series_slices=2)
    (first_id,) = services.import_dicom([tmp_path / "in"]).case_ids
    first = services.get_case(first_id)
    services.store.save_case(first.edited(assets=(), key_images=(), diagnosis="Pulmonary embolism"))

    again = services.import_dicom([tmp_path / "in"])
    (offer,) = again.duplicates[0].merge_offers()
    assert offer[0] == first_id
    merged = services.merge_cases(*offer)
    assert merged.id == first_id and merged.diagnosis == "Pulmonary embolism"
    assert merged.study_keys == first.study_keys
    assert sum(len(a.instances) for a in merged.assets if a.kind is AssetKind.DICOM_SERIES) == 5
    assert [c.id for c in services.case_summaries()] == [first_id]

    third = services.import_dicom([tmp_path / "in"])  # now the study is where it belongs
    assert third.duplicates == (DuplicateStudy((first_id,), first_id, 5, 0),)


def test_merge_still_refuses_cases_of_different_studies(
    tmp_path: Path, services: Services, make_study: MakeStudy
) -> None:
    make_study(tmp_path / "a", slices=2, second_series_slices=0, seed=1)
    make_study(tmp_path / "b", slices=2, second_series_slices=0, seed=2)
    (a,) = services.import_dicom([tmp_path / "a"]).case_ids
    (b,) = services.import_dicom([tmp_path / "b"]).case_ids
    with pytest.raises(ValidationError, match="not of the same study"):
        services.merge_cases(a, b)


def test_a_pacs_pull_of_a_study_already_here_reports_it(
    tmp_path: Path, services: Services, make_study: MakeStudy, monkeypatch: pytest.MonkeyPatch
) -> None:
    study = make_study(tmp_path / "in", slices=2, second_series_slices=1)
    (case_id,) = services.import_dicom([tmp_path / "in"]).case_ids

    class Outcome:
        failed = 0
        strays: tuple[int, ...] = ()

    def retrieve(node: object, study_uid: str, *, on_encoded: Callable[[bytes], None], **_: object) -> Outcome:
        for path in study.files:
            on_encoded(path.read_bytes())
        return Outcome()

    monkeypatch.setattr(client, "retrieve", retrieve)
    report = retrieve_studies(
        PacsNode(name="pacs", ae_title="PACS", host="127.0.0.1", port=104),
        [StudyRequest(study.study_uid)],
        import_arrivals=import_arrivals_into(services),
        quarantine_dir=services.settings.quarantine_dir,
    )
    assert report.duplicates == (DuplicateStudy((case_id,), case_id, 3, 0),)


def test_the_receiver_reports_a_study_sent_again(tmp_path: Path, services: Services, make_study: MakeStudy) -> None:
    make_study(tmp_path / "in", slices=2, second_series_slices=0)
    received = ReceivedStudy(folder=tmp_path / "in", instance_count=2, selections=(), calling_ae="MODALITY")
    first = file_received_study(services, received)
    assert first.duplicates == ()
    again = file_received_study(services, received)
    assert again.duplicates == (DuplicateStudy(first.case_ids, first.case_ids[0], 2, 0),)


def test_a_package_carries_no_study_keys_and_its_cases_get_none(
    tmp_path: Path, services: Services, make_study: MakeStudy
) -> None:
    import json
    import zipfile

    make_study(tmp_path / "in", slices=2, second_series_slices=0)
    (case_id,) = services.import_dicom([tmp_path / "in"]).case_ids
    conference = services.create_conference("Board", case_ids=[case_id])
    out = tmp_path / "board.zip"
    services.export(conference.id, "package", out)
    with zipfile.ZipFile(out) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    assert "study_keys" not in manifest["cases"][0]

    # an altered package claiming keys: they are dropped
    manifest["cases"][0]["study_keys"] = list(services.get_case(case_id).study_keys)
    altered = tmp_path / "altered.zip"
    with zipfile.ZipFile(out) as src, zipfile.ZipFile(altered, "w") as dst:
        for item in src.infolist():
            data = json.dumps(manifest).encode() if item.filename == "manifest.json" else src.read(item)
            dst.writestr(item, data)
    result = services.import_package(altered)
    assert [services.get_case(i).study_keys for i in result.case_ids] == [()]


def test_the_cli_says_which_case_already_holds_the_study(tmp_path: Path, make_study: MakeStudy) -> None:
    import os
    import subprocess
    import sys

    from tests.helpers import ROOT

    study = make_study(tmp_path / "in", slices=2, second_series_slices=0)
    env = {**os.environ, "CASEDECK_DATA": str(tmp_path / "data"), "CASEDECK_SAMPLES": "0"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "casefiles", *args]
        return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=True)

    (case_id,) = cli("import", str(tmp_path / "in")).stdout.split()
    again = cli("import", str(tmp_path / "in"))
    assert f"already in the library: case {case_id} (2 image(s) there already, 0 new)" in again.stderr
    assert study.study_uid not in again.stdout + again.stderr
