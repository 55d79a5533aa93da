"""Issue #13 on the real app, in Debian's Chromium: the burned-in text review of a held image.

The data directory is prepared before `streamlit run app.py` starts: a CT study whose faint
"screen save" is held for review (stored blank, its original encrypted in the review area), with
one wrong proposed box over the body. On the Case page the reviewer unticks and removes that box,
adds the missing one over the burned-in name, and confirms. The stored image is then the original
with exactly that box blanked, the review area is empty and nothing blocks the release.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
import pytest

from casefiles.config import Settings
from casefiles.model import Region, Review
from casefiles.services import Services
from pages.ui import case_key
from tests.support.browser import case_page
from tests.support.held_case import held_case
from tests.support.streamlit_server import streamlit_app, wait_settled

pytestmark = pytest.mark.browser

TIMEOUT_MS = 60_000
WRONG = Region(100, 100, 40, 40)  # over the body: covers no text
CORNER = Region(0, 0, 130, 36)  # where the name and MRN are burned in


@dataclass(frozen=True)
class Held:
    data_dir: Path
    case_id: str
    title: str
    asset_id: str
    sop: str
    original: np.ndarray


def _services(data_dir: Path) -> Services:
    """A fresh view of the library on disk (the app process writes it)."""
    return Services(Settings(data_dir=data_dir, seed_samples=False))


@pytest.fixture
def held(tmp_path: Path) -> Held:
    data_dir = tmp_path / "data"
    services = _services(data_dir)
    case_id = held_case(services, tmp_path)
    ((asset, _frame, instance),) = services.images_for_review(services.get_case(case_id))
    services.set_review_boxes(case_id, asset.id, instance.sop_instance_uid, [WRONG])
    ((_asset, _frame, instance),) = services.images_for_review(services.get_case(case_id))
    assert instance.redacted == (WRONG,) and instance.review_original
    original = pydicom.dcmread(io.BytesIO(services.review_area.get(instance.review_original))).pixel_array
    assert original[0:36, 0:130].any(), "the faint burned-in text is in the original"
    return Held(data_dir, case_id, services.get_case(case_id).title, asset.id, instance.sop_instance_uid, original)


@pytest.fixture
def app_url(held: Held, tmp_path: Path) -> Iterator[str]:
    env = {**os.environ, "CASEDECK_DATA": str(held.data_dir), "CASEDECK_SAMPLES": "0"}
    with streamlit_app("app.py", env=env, log_path=tmp_path / "streamlit.log") as url:
        yield url


def _settled(page) -> None:  # type: ignore[no-untyped-def]
    """Wait until the script run is over and no stale element from the run before is left on the page."""
    wait_settled(page)


def _set_number(page, key: str, value: int) -> None:  # type: ignore[no-untyped-def]
    """Type ``value`` into the number input keyed ``key`` and commit it (Streamlit commits on Enter)."""
    from playwright.sync_api import expect

    field = page.locator(f".st-key-{key} input")
    field.fill(str(value))
    field.press("Enter")
    expect(field).to_have_value(str(value))
    _settled(page)


def test_remove_a_wrong_box_add_a_missing_one_and_confirm_in_chromium(held: Held, app_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    with case_page(app_url, held.title, screenshot=tmp_path / "review_flow.png", timeout_ms=TIMEOUT_MS) as (
        page,
        errors,
    ):
        review = page.get_by_text(re.compile(r"^Review burned-in text \(1 left\)"))
        expect(review).to_be_visible()
        _settled(page)

        # Untick the wrong box and remove it.
        wrong = page.get_by_text(re.compile(r"^Box 1: x 100, y 100, 40 × 40 px"))
        expect(wrong).to_be_visible()
        wrong.click()
        expect(page.get_by_role("checkbox", name=re.compile(r"^Box 1: x 100"))).not_to_be_checked()
        _settled(page)
        remove = page.locator(f".st-key-{case_key(held.case_id, 'review_remove')} button")
        expect(remove).to_be_visible()
        remove.click()
        expect(wrong).to_have_count(0)
        expect(page.get_by_text(re.compile(r"· 0 box\(es\)"))).to_be_visible()
        _settled(page)

        # Add the missing box over the burned-in name and MRN.
        _set_number(page, case_key(held.case_id, "redact_x"), CORNER.x)
        _set_number(page, case_key(held.case_id, "redact_y"), CORNER.y)
        _set_number(page, case_key(held.case_id, "redact_w"), CORNER.width)
        _set_number(page, case_key(held.case_id, "redact_h"), CORNER.height)
        page.locator(f".st-key-{case_key(held.case_id, 'redact_apply')} button").click()
        expect(page.get_by_text(re.compile(r"^Box 1: x 0, y 0, 130 × 36 px"))).to_be_visible()
        expect(page.get_by_text(re.compile(r"· 1 box\(es\)"))).to_be_visible()
        _settled(page)

        # Confirm: the review area on the page goes away.
        confirm = page.locator(f".st-key-{case_key(held.case_id, 'review_confirm')} button")
        expect(confirm).to_have_text("Blank the boxes: no identifying text left")
        confirm.click()
        expect(review).to_have_count(0)
        expect(page.get_by_role("heading", name=held.title)).to_be_visible()
        assert errors == [], "the page threw in the browser"

    services = _services(held.data_dir)
    case = services.get_case(held.case_id)
    (instance,) = [i for i in case.asset(held.asset_id).instances if i.sop_instance_uid == held.sop]
    assert instance.review is Review.CONFIRMED
    assert instance.review_original == ""
    assert instance.redacted == (CORNER,)
    stored = services.dataset(instance.blob).pixel_array
    assert stored.shape == held.original.shape
    assert not stored[0:36, 0:130].any(), "the added box is blanked"
    outside = np.ones(stored.shape, dtype=bool)
    outside[0:36, 0:130] = False
    np.testing.assert_array_equal(stored[outside], held.original[outside])  # the removed box is not blanked
    assert services.review_area_usage() == (0, 0), "the original was wiped"
    assert services.release_blockers(held.case_id) == ()
