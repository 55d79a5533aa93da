"""The Conferences page is bound to ``?conference=<id>`` and every widget that edits a conference names it
(issue #14, scope 1), through AppTest: what is ticked for one conference never lands in another, a save
made on an outdated copy is refused with a way to reload, and the pickers tell equal titles apart."""

from __future__ import annotations

import datetime as dt

from streamlit.testing.v1 import AppTest

from casefiles.config import Settings
from casefiles.model import CasePlan, ConferenceKind, KeyImage
from casefiles.services import STALE_CONFERENCE_MESSAGE, Services
from tests.dicom_factory import write_ct_study
from tests.helpers import ROOT


def library(data_dir, tmp_path, *titles):
    services = Services(Settings(data_dir=data_dir, seed_samples=False))
    ids = []
    for number, title in enumerate(titles):
        write_ct_study(tmp_path / f"study{number}", slices=2)
        case_id = services.import_dicom([tmp_path / f"study{number}"], title=title).case_ids[0]
        asset = services.get_case(case_id).assets[0]
        services.set_key_images(case_id, [KeyImage(asset_id=asset.id, frame=0), KeyImage(asset_id=asset.id, frame=1)])
        ids.append(case_id)
    return services, ids


def open_page(monkeypatch, data_dir, conference_id=None) -> AppTest:
    monkeypatch.setenv("CASEDECK_DATA", str(data_dir))
    monkeypatch.setenv("CASEDECK_SAMPLES", "0")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/conferences.py")
    if conference_id is not None:
        at.query_params["conference"] = conference_id
    at.run()
    assert not at.exception, at.exception
    return at


def texts(elements) -> str:
    return " ".join(str(e.value) for e in elements)


def test_the_url_names_the_conference_and_a_picker_change_goes_into_it(monkeypatch, data_dir, tmp_path) -> None:
    services, (case_id,) = library(data_dir, tmp_path, "Nodule")
    first = services.create_conference("Tumor board", case_ids=[case_id])
    second = services.create_conference("Grand rounds", ConferenceKind.GRAND_ROUNDS, case_ids=[case_id])
    at = open_page(monkeypatch, data_dir, second.id)
    assert at.selectbox(key="conf_picker").value == second.id
    assert at.text_input(key=f"conf_edit_title_{second.id}").value == "Grand rounds"

    at.selectbox(key="conf_picker").set_value(first.id).run()
    assert not at.exception, at.exception
    assert at.query_params["conference"] == [first.id] or at.query_params["conference"] == first.id
    assert at.text_input(key=f"conf_edit_title_{first.id}").value == "Tumor board"


def test_what_is_ticked_for_a_case_in_one_conference_never_lands_in_another(monkeypatch, data_dir, tmp_path) -> None:
    services, (case_id,) = library(data_dir, tmp_path, "Shared case")
    first = services.create_conference("Tumor board", case_ids=[case_id])
    second = services.create_conference("Grand rounds", case_ids=[case_id])
    at = open_page(monkeypatch, data_dir, first.id)
    at.checkbox(key=f"conf_reveal_{case_id}_{first.id}").check().run()
    at.multiselect(key=f"conf_keys_{case_id}_{first.id}").unselect(1).run()
    assert not at.exception, at.exception
    assert services.get_conference(first.id).plan(case_id) == CasePlan(case_id, key_images=(0,), reveal=True)

    at.selectbox(key="conf_picker").set_value(second.id).run()  # the same case, in the other conference
    assert not at.exception, at.exception
    assert services.get_conference(second.id).plan(case_id) == CasePlan(case_id), "nothing written into it"
    assert at.checkbox(key=f"conf_reveal_{case_id}_{second.id}").value is False
    assert at.multiselect(key=f"conf_keys_{case_id}_{second.id}").value == [0, 1]


def test_a_plan_changed_in_another_tab_is_shown_and_an_outdated_tick_refused(monkeypatch, data_dir, tmp_path) -> None:
    services, (case_id,) = library(data_dir, tmp_path, "Nodule")
    board = services.create_conference("Tumor board", case_ids=[case_id])
    at = open_page(monkeypatch, data_dir, board.id)
    services.set_plan(board.id, CasePlan(case_id, reveal=True))  # another tab, meanwhile
    at.checkbox(key=f"conf_stacks_{case_id}_{board.id}").check().run()  # ticked on the page as it was
    assert not at.exception, at.exception
    assert STALE_CONFERENCE_MESSAGE in texts(at.error)
    assert services.get_conference(board.id).plan(case_id) == CasePlan(case_id, reveal=True), "the other tab's kept"
    assert at.checkbox(key=f"conf_reveal_{case_id}_{board.id}").value is True, "the page shows it now"
    assert at.checkbox(key=f"conf_stacks_{case_id}_{board.id}").value is False


def test_a_conference_saved_on_an_outdated_form_is_refused_and_reloads(monkeypatch, data_dir, tmp_path) -> None:
    services, (case_id,) = library(data_dir, tmp_path, "Nodule")
    board = services.create_conference("Tumor board", case_ids=[case_id], date=dt.date(2025, 3, 13))
    at = open_page(monkeypatch, data_dir, board.id)
    services.update_conference(board.id, {"title": "Tumor board, Thursday"})  # another tab renames it
    at.text_input(key=f"conf_edit_title_{board.id}").input("Tumor board, March")
    next(b for b in at.button if b.label == "Save changes").click().run()
    assert not at.exception, at.exception
    assert STALE_CONFERENCE_MESSAGE in texts(at.warning)
    assert services.get_conference(board.id).title == "Tumor board, Thursday", "nothing was saved"
    assert at.text_input(key=f"conf_edit_title_{board.id}").value == "Tumor board, March", "what I typed stays"

    at.button(key=f"conf_edit_reload_{board.id}").click().run()
    assert at.text_input(key=f"conf_edit_title_{board.id}").value == "Tumor board, Thursday"
    at.date_input(key=f"conf_edit_date_{board.id}").set_value(dt.date(2025, 3, 14))
    next(b for b in at.button if b.label == "Save changes").click().run()
    assert "Conference saved." in texts(at.success)
    saved = services.get_conference(board.id)
    assert (saved.title, saved.date) == ("Tumor board, Thursday", dt.date(2025, 3, 14))


def test_pickers_show_title_date_kind_and_tell_equal_titles_apart(monkeypatch, data_dir, tmp_path) -> None:
    services, (one, two, _three) = library(data_dir, tmp_path, "Same title", "Same title", "Other")
    first = services.create_conference("Weekly board", date=dt.date(2025, 3, 14), case_ids=[_three])
    second = services.create_conference("Weekly board", date=dt.date(2025, 3, 14))
    at = open_page(monkeypatch, data_dir, first.id)
    picker = at.selectbox(key="conf_picker")
    assert sorted(picker.options) == sorted(
        [f"Weekly board · 2025-03-14 · Tumor board · #{c.id[:6]}" for c in (first, second)]
    )
    add = at.multiselect(key=f"conf_add_{first.id}")
    created = {c.id: c.created.date().isoformat() for c in services.list_cases()}
    assert sorted(add.options) == sorted(f"Same title · CT · {created[c]} · #{c[:6]}" for c in (one, two))


def test_the_running_order_changed_in_another_tab_is_a_message_and_nothing_is_lost(
    monkeypatch, data_dir, tmp_path
) -> None:
    """Two tabs on one conference (bad input of issue #14): ↑ pressed on a case the other tab has taken out
    changes nothing (no traceback), and the page then shows the order as stored, where the next moves act."""
    services, (one, two, three) = library(data_dir, tmp_path, "One", "Two", "Three")
    board = services.create_conference("Tumor board", case_ids=[one, two])
    at = open_page(monkeypatch, data_dir, board.id)
    services.remove_case(board.id, two)  # the other tab takes Two out, and adds Three
    services.add_cases(board.id, [three])

    at.button(key=f"conf_up_{two}_{board.id}").click().run()  # Two, as this page still shows it
    assert not at.exception, at.exception
    assert not at.error, texts(at.error)
    assert services.get_conference(board.id).case_ids == (one, three), "the other tab's order is kept"
    assert f"conf_up_{two}_{board.id}" not in [b.key for b in at.button], "the page shows the order as stored"

    at.button(key=f"conf_down_{one}_{board.id}").click().run()
    assert not at.exception, at.exception
    assert services.get_conference(board.id).case_ids == (three, one)
    at.button(key=f"conf_remove_{one}_{board.id}").click().run()
    assert services.get_conference(board.id).case_ids == (three,)
