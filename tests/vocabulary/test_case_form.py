"""The case editor's vocabulary pickers through AppTest (#17): body part, diagnosis category and tags.

Each picker offers what is known (the vocabulary's body regions and categories, the installation's
own terms among them; the library's tags) and also takes a value typed in. Saving stores them on
the case; the form's stale-edit protection is unchanged (tests/app, tests/browser).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from casefiles.config import Settings
from casefiles.department import LOCAL_OPERATOR
from casefiles.services import Services
from casefiles.usecases.vocabulary_terms import VocabularyTerms
from pages.ui import case_key
from tests.dicom_factory import write_ct_study
from tests.helpers import ROOT


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[AppTest, Services, str]:
    data = tmp_path / "data"
    services = Services(Settings(data_dir=data, seed_samples=False))
    case_id = services.import_dicom(write_ct_study(tmp_path / "ct", slices=2)).case_ids[0]
    other = services.import_dicom(write_ct_study(tmp_path / "ct2", slices=2)).case_ids[0]
    services.update_case(case_id, {"tags": ["tumour board"], "body_part": "CHEST"})
    services.update_case(other, {"tags": ["teaching", "neuro"]})
    VocabularyTerms(LOCAL_OPERATOR, services.store).add("category", "Erdheim-Chester disease", ["ECD"])
    monkeypatch.setenv("CASEDECK_DATA", str(data))
    monkeypatch.setenv("CASEDECK_SAMPLES", "0")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.query_params["case"] = case_id
    at.switch_page("pages/case.py").run()
    assert not at.exception, at.exception
    assert at.query_params["case"] == case_id
    return at, services, case_id


def _save(at: AppTest) -> None:
    next(b for b in at.button if b.label == "Save case").click().run()
    assert not at.exception, at.exception
    assert any("Saved" in s.value for s in at.success), [e.value for e in at.error]


def test_the_pickers_offer_the_vocabulary_and_the_librarys_tags(opened: tuple[AppTest, Services, str]) -> None:
    at, _, case_id = opened
    body = at.selectbox(key=case_key(case_id, "case_body_part"))
    assert body.value == "CHEST", "the case's own value stays, though the vocabulary does not have it"
    assert {"Liver", "Brain", "Knee", "CHEST"} <= set(body.options)
    category = at.selectbox(key=case_key(case_id, "case_category"))
    assert category.value == ""
    assert {"Hepatocellular carcinoma", "Pneumothorax", "Erdheim-Chester disease"} <= set(category.options)
    tags = at.multiselect(key=case_key(case_id, "case_tags"))
    assert tags.value == ["tumour board"]
    assert {"tumour board", "teaching", "neuro"} <= set(tags.options)


def test_a_category_a_body_region_and_a_new_tag_are_saved(opened: tuple[AppTest, Services, str]) -> None:
    at, services, case_id = opened
    at.selectbox(key=case_key(case_id, "case_category")).select("Hepatocellular carcinoma")
    at.selectbox(key=case_key(case_id, "case_body_part")).select("Liver")
    at.multiselect(key=case_key(case_id, "case_tags")).select("teaching").select("liver MR 2026")
    _save(at)
    saved = services.get_case(case_id)
    assert saved.category == "Hepatocellular carcinoma"
    assert saved.body_part == "Liver"
    assert saved.tags == ("tumour board", "teaching", "liver mr 2026")  # tags are kept lower case
    assert at.multiselect(key=case_key(case_id, "case_tags")).value == ["tumour board", "teaching", "liver MR 2026"]


def test_values_not_in_the_vocabulary_are_offered_and_kept(opened: tuple[AppTest, Services, str]) -> None:
    # A value typed into a picker reaches the page as text (AppTest's selectbox can only pick an
    # option: typing is in tests/browser/test_case_vocabulary.py); stored, it is offered and kept.
    at, services, case_id = opened
    services.update_case(case_id, {"category": "Rare histiocytic disorder", "body_part": "Sternoclavicular joint"})
    at.run()
    at.button(key=case_key(case_id, "form_reload")).click().run()
    category = at.selectbox(key=case_key(case_id, "case_category"))
    assert category.value == "Rare histiocytic disorder" and "Rare histiocytic disorder" in category.options
    assert at.selectbox(key=case_key(case_id, "case_body_part")).value == "Sternoclavicular joint"
    at.multiselect(key=case_key(case_id, "case_tags")).unselect("tumour board")
    _save(at)
    saved = services.get_case(case_id)
    assert (saved.category, saved.body_part, saved.tags) == ("Rare histiocytic disorder", "Sternoclavicular joint", ())


def test_clearing_the_category_saves_it_as_not_set(opened: tuple[AppTest, Services, str]) -> None:
    at, services, case_id = opened
    services.update_case(case_id, {"category": "Pneumothorax"})
    at.run()
    assert any("changed elsewhere" in w.value for w in at.warning), "the stale-edit protection is kept"
    at.button(key=case_key(case_id, "form_reload")).click().run()
    assert at.selectbox(key=case_key(case_id, "case_category")).value == "Pneumothorax"
    at.selectbox(key=case_key(case_id, "case_category")).select("")
    _save(at)
    assert services.get_case(case_id).category == ""
