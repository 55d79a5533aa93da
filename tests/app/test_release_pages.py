"""The release gate on the pages: what holds a case back is shown before anyone presses Export."""

from __future__ import annotations

from pathlib import Path

import pytest

from casefiles.config import Settings
from casefiles.services import Services
from tests.app.test_pages import rendered_text, start_app
from tests.support.held_case import BURNED_NAME, confirm_everything


@pytest.fixture
def services(data_dir: Path) -> Services:
    return Services(Settings(data_dir=data_dir))


def test_export_page_names_the_held_image_and_disables_the_deck_and_the_push(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path, blocked_case: str
) -> None:
    at = start_app(monkeypatch, data_dir)
    at.switch_page("pages/export.py").run()
    assert not at.exception, at.exception
    text = rendered_text(at)
    assert "Nothing can be exported, presented or sent yet" in text
    assert "image 1 waits for its burned-in text review" in text
    assert BURNED_NAME.split()[0] not in text
    assert at.button(key="export_build").disabled
    assert [b for b in at.button if b.key and b.key.startswith("export_release_open_")]


def test_conference_page_disables_present_and_export_while_a_case_is_held(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path, services: Services, blocked_case: str
) -> None:
    services.create_conference("Thoracic tumour board", case_ids=[blocked_case])
    at = start_app(monkeypatch, data_dir)
    at.switch_page("pages/conferences.py").run()
    assert not at.exception, at.exception
    assert at.button(key="conf_present").disabled
    assert at.button(key="conf_export").disabled
    assert "burned-in text review" in rendered_text(at)


def test_safety_page_lists_held_cases_and_rechecks_the_library(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path, blocked_case: str
) -> None:
    at = start_app(monkeypatch, data_dir)
    at.switch_page("pages/safety.py").run()
    assert not at.exception, at.exception
    assert "1 case(s) held back." in rendered_text(at)
    at.button(key="safety_recheck").click().run()
    assert not at.exception, at.exception


def test_export_page_builds_the_deck_once_nothing_is_held(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path, services: Services, blocked_case: str
) -> None:
    confirm_everything(services, blocked_case)
    at = start_app(monkeypatch, data_dir)
    at.switch_page("pages/export.py").run()
    assert not at.button(key="export_build").disabled
    at.button(key="export_build").click().run()
    assert not at.exception, at.exception
    assert any("ready" in s.value for s in at.success)
