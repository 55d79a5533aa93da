"""Housekeeping on the pages through AppTest (issue #14): delete a case from the Library after a
confirmation naming what goes; edit and delete a conference on the Conferences page."""

from __future__ import annotations

import datetime as dt

from streamlit.testing.v1 import AppTest

from casefiles.config import Settings
from casefiles.model import ConferenceKind
from casefiles.services import Services
from tests.dicom_factory import write_ct_study
from tests.helpers import ROOT


def library_with(data_dir, tmp_path, *titles):
    services = Services(Settings(data_dir=data_dir, seed_samples=False))
    ids = []
    for number, title in enumerate(titles):
        write_ct_study(tmp_path / f"study{number}", slices=3)
        ids.append(services.import_dicom([tmp_path / f"study{number}"], title=title).case_ids[0])
    return services, ids


def start(monkeypatch, data_dir, page="pages/library.py") -> AppTest:
    monkeypatch.setenv("CASEDECK_DATA", str(data_dir))
    monkeypatch.setenv("CASEDECK_SAMPLES", "0")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def texts(elements):
    return " ".join(str(e.value) for e in elements)


def test_delete_a_case_in_a_conference_from_the_library(monkeypatch, data_dir, tmp_path):
    services, (doomed, kept) = library_with(data_dir, tmp_path, "Duplicate nodule", "Nodule")
    board = services.create_conference("Tumor board", case_ids=[doomed, kept])
    at = start(monkeypatch, data_dir)
    assert "2 case(s)" in texts(at.caption)

    at.button(key=f"delete_{doomed}").click().run()
    assert not at.exception, at.exception
    warning = texts(at.warning)
    assert "“Duplicate nodule” with its 1 series, 3 image(s)" in warning
    assert "“Tumor board”" in warning and "cannot be undone" in warning
    at.button(key=f"library_delete_cancel_{doomed}").click().run()
    assert not at.warning and len(services.list_cases()) == 2, "Keep it deletes nothing"

    at.button(key=f"delete_{doomed}").click().run()
    at.button(key=f"library_delete_confirm_{doomed}").click().run()
    assert not at.exception, at.exception
    assert "Deleted “Duplicate nodule”. It was taken out of “Tumor board”." in texts(at.success)
    assert "1 case(s)" in texts(at.caption)
    assert [c.id for c in services.list_cases()] == [kept]
    assert services.get_conference(board.id).case_ids == (kept,)


def test_a_case_deleted_elsewhere_meanwhile_is_a_plain_message(monkeypatch, data_dir, tmp_path):
    services, (case_id,) = library_with(data_dir, tmp_path, "Nodule")
    at = start(monkeypatch, data_dir)
    at.button(key=f"delete_{case_id}").click().run()
    services.delete_case(case_id)  # another tab, or the CLI
    at.run()
    assert not at.exception, at.exception
    assert "already deleted" in texts(at.info)


def test_edit_and_delete_a_conference(monkeypatch, data_dir, tmp_path):
    services, (case_id,) = library_with(data_dir, tmp_path, "Nodule")
    conference = services.create_conference("Test conference", case_ids=[case_id])
    at = start(monkeypatch, data_dir, "pages/conferences.py")

    at.text_input(key=f"conf_edit_title_{conference.id}").input("Grand rounds, March")
    at.selectbox(key=f"conf_edit_kind_{conference.id}").set_value(ConferenceKind.GRAND_ROUNDS)
    at.date_input(key=f"conf_edit_date_{conference.id}").set_value(dt.date(2025, 3, 14))
    next(b for b in at.button if b.label == "Save changes").click().run()
    assert not at.exception, at.exception
    assert "Conference saved." in texts(at.success)
    saved = services.get_conference(conference.id)
    assert (saved.title, saved.kind, saved.date) == (
        "Grand rounds, March",
        ConferenceKind.GRAND_ROUNDS,
        dt.date(2025, 3, 14),
    )
    assert "Grand rounds · Fri 14 Mar 2025" in texts(at.caption)

    at.button(key=f"conf_delete_{conference.id}").click().run()
    assert "Delete the conference “Grand rounds, March” (1 case(s))?" in texts(at.warning)
    at.button(key=f"conf_delete_confirm_{conference.id}").click().run()
    assert not at.exception, at.exception
    assert "Deleted the conference “Grand rounds, March”" in texts(at.success)
    assert services.list_conferences() == [] and services.get_case(case_id)
    assert "No conferences yet" in texts(at.info)


def test_a_case_in_a_running_export_is_not_deleted_and_the_library_says_why(monkeypatch, data_dir, tmp_path):
    """Bad input of issue #14: Delete pressed while a deck of the case's conference is being made."""
    from pages.ui import get_services
    from tests.test_export_while_deleting import HeldExport

    services, (case_id, other) = library_with(data_dir, tmp_path, "Nodule", "Bystander")
    board = services.create_conference("Tumor board", case_ids=[case_id])
    files = set(services.blobs.digests())
    at = start(monkeypatch, data_dir)
    export = HeldExport(get_services(), board.id, "pptx", tmp_path / "board.pptx")  # the app's own exports
    try:
        at.button(key=f"delete_{case_id}").click().run()
        at.button(key=f"library_delete_confirm_{case_id}").click().run()
        assert not at.exception, at.exception
        refused = texts(at.error).replace("\\", "")
        assert (
            "Deleting the case failed: “Nodule” cannot be deleted while the PowerPoint deck of “Tumor board”" in refused
        )
        assert "Nothing was deleted" in refused
        assert not at.success
        assert services.get_case(case_id) and services.get_conference(board.id).case_ids == (case_id,)
        assert set(services.blobs.digests()) == files, "no file was deleted"
    finally:
        deck = export.finish()
    assert deck.stat().st_size > 0

    at.button(key=f"delete_{case_id}").click().run()  # the export is done: now it goes
    at.button(key=f"library_delete_confirm_{case_id}").click().run()
    assert not at.exception, at.exception
    assert "Deleted “Nodule”. It was taken out of “Tumor board”." in texts(at.success)
    assert [c.id for c in services.list_cases()] == [other]


def test_titles_in_the_delete_confirmation_and_message_stay_text(monkeypatch, data_dir, tmp_path):
    hostile = "[Open](http://evil.example/x) :red[URGENT] **bold**"
    services, (case_id,) = library_with(data_dir, tmp_path, hostile)
    services.create_conference(f"Board {hostile}", case_ids=[case_id])
    at = start(monkeypatch, data_dir)
    at.button(key=f"delete_{case_id}").click().run()
    warning = texts(at.warning)
    assert "\\[Open\\]\\(http" in warning and "\\:red\\[URGENT\\]" in warning and "\\*\\*bold" in warning
    assert "[Open](" not in warning and ":red[" not in warning
    at.button(key=f"library_delete_confirm_{case_id}").click().run()
    assert not at.exception, at.exception
    done = texts(at.success)
    assert done.count("\\[Open\\]\\(http") == 2, done  # the case's title and the conference's
    assert "[Open](" not in done and ":red[" not in done


def test_a_conference_whose_deck_is_being_made_is_not_deleted_and_the_page_says_why(monkeypatch, data_dir, tmp_path):
    from pages.ui import get_services
    from tests.test_export_while_deleting import HeldExport

    services, (case_id,) = library_with(data_dir, tmp_path, "Nodule")
    board = services.create_conference("Tumor board", case_ids=[case_id])
    at = start(monkeypatch, data_dir, "pages/conferences.py")
    export = HeldExport(get_services(), board.id, "html", tmp_path / "board.html")
    try:
        at.button(key=f"conf_delete_{board.id}").click().run()
        at.button(key=f"conf_delete_confirm_{board.id}").click().run()
        assert not at.exception, at.exception
        refused = texts(at.error).replace("\\", "")
        assert "Deleting the conference failed: The conference “Tumor board” cannot be deleted while" in refused
        assert "Nothing was deleted" in refused
        assert services.get_conference(board.id).case_ids == (case_id,)
    finally:
        export.finish()
