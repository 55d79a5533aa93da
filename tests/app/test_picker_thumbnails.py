"""Every case picker shows title · modality · date and a picture, and tells equal titles apart (issue #14,
scope 4): the Case page's picker (shared with the Export page), the Library's cards, and the Conferences
page's New conference and Add cases pickers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from casefiles.config import Settings
from casefiles.services import Services
from tests.dicom_factory import write_ct_study
from tests.support.app_pages import open_page

TITLE = "Solitary pulmonary nodule"


@pytest.fixture
def library(tmp_path: Path) -> tuple[Path, list[str]]:
    """Two CT cases of one title and a third of another."""
    data = tmp_path / "data"
    services = Services(Settings(data_dir=data, seed_samples=False))
    ids = [
        services.import_dicom(write_ct_study(tmp_path / f"ct{number}", slices=2), title=title).case_ids[0]
        for number, title in enumerate((TITLE, TITLE, "Pneumothorax"))
    ]
    assert all(services.get_case(case_id).assets[0].thumbnail for case_id in ids)
    return data, ids


def _pictures(at: AppTest) -> list[tuple[str, Any]]:
    """Every picture on the page as (caption, its image element), in page order."""
    return [(image.caption, image) for element in at.get("image") for image in element.proto.imgs]


def _captions(at: AppTest) -> list[str]:
    return [caption for caption, _ in _pictures(at)]


def _date(data: Path, case_id: str) -> str:
    return Services(Settings(data_dir=data, seed_samples=False)).get_case(case_id).created.date().isoformat()


def _picker_row(at: AppTest) -> Any:
    """The row of the Case page's picker: the picker, and beside it the picked case's picture."""
    return next(
        block
        for block in at.main.children.values()
        if getattr(block, "type", None) == "flex_container" and block.get("selectbox") and block.get("image")
    )


def test_the_case_picker_tells_equal_titles_apart_and_shows_the_picked_case_s_picture(
    monkeypatch: pytest.MonkeyPatch, library: tuple[Path, list[str]]
) -> None:
    data, (first, second, _) = library
    at = open_page(monkeypatch, data, "pages/case.py", case=first)
    picker = at.selectbox(key="case_picker")
    assert picker.format_func(first) == f"{TITLE} · CT · {_date(data, first)} · #{first[:6]}"
    assert picker.format_func(second) == f"{TITLE} · CT · {_date(data, second)} · #{second[:6]}"
    row = _picker_row(at)
    assert [s.key for s in row.get("selectbox")] == ["case_picker"]
    assert len(row.get("image")) == 1, "the picked case's picture beside the picker"

    picker.set_value(second).run()
    assert not at.exception, at.exception
    assert at.query_params["case"] == second
    assert len(_picker_row(at).get("image")) == 1


def test_library_cards_show_modality_and_date_and_tell_equal_titles_apart(
    monkeypatch: pytest.MonkeyPatch, library: tuple[Path, list[str]]
) -> None:
    data, (first, second, _) = library
    at = open_page(monkeypatch, data, "pages/library.py")
    captions = [str(c.value).replace("\\", "") for c in at.caption]  # shown as text (plain() escapes)
    cards = [c for c in captions if c.startswith("CT · ")]
    assert len(cards) == 3, captions
    for case_id in (first, second):
        assert [c for c in cards if c.startswith(f"CT · {_date(data, case_id)}") and c.endswith(f" · #{case_id[:6]}")]
    assert len([c for c in cards if "#" not in c]) == 1, "a title of its own needs no id"
    assert len(_pictures(at)) == 3


def test_conference_pickers_show_the_chosen_cases_pictures(
    monkeypatch: pytest.MonkeyPatch, library: tuple[Path, list[str]]
) -> None:
    data, (first, second, other) = library
    at = open_page(monkeypatch, data, "pages/conferences.py")
    assert _pictures(at) == []
    at.multiselect(key="conf_new_cases").select(first).select(second).run()
    assert not at.exception, at.exception
    captions = _captions(at)
    assert [c for c in captions if c.startswith(TITLE)] == [
        f"{TITLE} · CT · {_date(data, first)} · #{first[:6]}",
        f"{TITLE} · CT · {_date(data, second)} · #{second[:6]}",
    ]
    at.text_input(key="conf_new_title").input("Tumor board")
    next(b for b in at.button if b.label == "Create conference").click().run()
    assert not at.exception, at.exception
    conference = Services(Settings(data_dir=data, seed_samples=False)).list_conferences()[0]
    assert conference.case_ids == (first, second)

    adding = at.multiselect(key=f"conf_add_{conference.id}")
    assert adding.options and all(re.search(r" · CT · \d{4}-\d\d-\d\d$", o) for o in adding.options)
    adding.select(other).run()
    assert not at.exception, at.exception
    assert f"Pneumothorax · CT · {_date(data, other)}" in _captions(at)


def test_the_training_set_picker_tells_equal_titles_apart_and_shows_the_chosen(
    monkeypatch: pytest.MonkeyPatch, library: tuple[Path, list[str]]
) -> None:
    data, ids = library
    at = open_page(monkeypatch, data, "pages/training_sets.py")
    picker = at.multiselect(key="ts_new_cases")
    labels = list(picker.options)  # as shown
    equal = [label for label in labels if label.startswith(TITLE)]
    assert len(equal) == 2 and len(set(equal)) == 2, labels  # not two identical entries

    picker.set_value([ids[1]]).run()

    assert len(_pictures(at)) == 1, "the chosen case's picture is shown"
