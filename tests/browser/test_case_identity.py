"""Issue #14, finding 1, on the real app in Debian's Chromium: edits never land in the wrong case.

One `streamlit run app.py` serves a data directory seeded with small CT cases; each test uses its
own cases and reads what the app stored back from the data directory:

(a) open case A, switch to case B with the picker, Save: B keeps its own text (and back/forward
    bring the form of the case shown);
(b) two cases with the same title: open the first from the library, pick the second in the Case picker,
    scroll its series (a rerun), mark a key image and draw an arrow on it in the viewer: the page stays on
    the second case and the key image and its arrow are stored there;
(c) two tabs on two cases type and save at once: each case keeps its own tab's text;
(d) a save made on a case another tab changed meanwhile is refused with the message, the other
    tab's text is kept, what was typed stays in the form, and after a reload the save goes through.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from casefiles.config import Settings
from casefiles.model import Case
from casefiles.services import STALE_EDIT_MESSAGE, Services
from casefiles.store.tinydb_store import TinyDBCaseStore
from pages.ui import case_key
from tests.dicom_factory import ct_slice
from tests.support.streamlit_server import checked_chromium, streamlit_app, wait_settled

pytestmark = pytest.mark.browser

TIMEOUT_MS = 60_000
SLICES = 6
SAME_TITLE = "Same title twice"
VIEWER = "window.__casedeckViewer.viewers[0]"

#: The cases each test works on: name -> (title, history, diagnosis).
CASES = {
    "A": ("Identity case A", "History written for A.", "Diagnosis of A"),
    "B": ("Identity case B", "History written for B.", "Diagnosis of B"),
    "C": (SAME_TITLE, "History of the first one.", "First"),
    "D": (SAME_TITLE, "History of the second one.", "Second"),
    "E": ("Two tabs case E", "E as imported.", ""),
    "F": ("Two tabs case F", "F as imported.", ""),
    "G": ("Stale save case G", "G as imported.", "G diagnosis"),
}


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Case]]:
    """A data directory holding the cases of CASES, each a small CT series of its own study."""
    from pydicom.uid import generate_uid

    root = tmp_path_factory.mktemp("identity")
    services = Services(Settings(data_dir=root / "data", seed_samples=False))
    cases: dict[str, Case] = {}
    for name, (title, history, diagnosis) in CASES.items():
        source = root / f"in_{name}"
        source.mkdir()
        study, series = generate_uid(), generate_uid()
        for i in range(SLICES):
            ct_slice(study, series, i, size=64).save_as(source / f"{i}.dcm", enforce_file_format=True)
        (case_id,) = services.import_dicom([source], title=title).case_ids
        cases[name] = services.update_case(case_id, {"history": history, "diagnosis": diagnosis})
    return root / "data", cases


@pytest.fixture(scope="module")
def app_url(library: tuple[Path, dict[str, Case]], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir, _ = library
    env = {**os.environ, "CASEDECK_DATA": str(data_dir), "CASEDECK_SAMPLES": "0"}
    log = tmp_path_factory.mktemp("identity_log") / "streamlit.log"
    with streamlit_app("app.py", env=env, log_path=log) as url:
        yield url


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    """A Chromium context; each tab is its own Streamlit session. Screenshots of every tab are left in tmp_path."""
    with checked_chromium(tmp_path, timeout_ms=TIMEOUT_MS) as context:
        yield context


def stored(data_dir: Path, case_id: str) -> Case:
    """The case as the app wrote it (a new store object reads the file afresh)."""
    store = TinyDBCaseStore(data_dir / "library")
    return Services(Settings(data_dir=data_dir, seed_samples=False), store=store).get_case(case_id)


def stored_cases(data_dir: Path) -> list[Case]:
    """The library in the order the app lists it."""
    store = TinyDBCaseStore(data_dir / "library")
    return Services(Settings(data_dir=data_dir, seed_samples=False), store=store).list_cases()


def wait_stored(data_dir: Path, case_id: str, condition: Callable[[Case], bool], what: str) -> Case:
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while True:
        case = stored(data_dir, case_id)
        if condition(case):
            return case
        if time.monotonic() > deadline:
            raise AssertionError(f"the app never stored {what}: {case.history!r}, {len(case.key_images)} key image(s)")
        time.sleep(0.2)


def field(page: Any, label: str) -> Any:
    """A text field of the form as the page now shows it (not one left over from the run before)."""
    return page.locator("[data-testid='stElementContainer'][data-stale='false']").get_by_role("textbox", name=label)


def save_button(page: Any) -> Any:
    """The form's Save button as the page now shows it (a rerun briefly shows the old one too)."""
    return page.locator("[data-testid='stElementContainer'][data-stale='false']").get_by_role(
        "button", name="Save case"
    )


def history(page: Any) -> Any:
    return field(page, "Clinical history")


def pick(page: Any, option: str, nth: int = 0) -> None:
    """Choose a case in the Case picker by its label's beginning (the title; ``nth`` among equal ones).

    A rerun that starts while the list is open (the viewer reporting its first slice) closes it:
    the list is opened again then, as a user would.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _attempt in range(4):
        wait_settled(page)
        page.locator(".st-key-case_picker").get_by_role("combobox").click()
        try:
            page.get_by_role("option", name=re.compile("^" + re.escape(option))).nth(nth).click(timeout=10_000)
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
            continue
        wait_settled(page)
        return
    raise AssertionError(f"the picker never offered {option!r}")


def open_case_page(page: Any, url: str, title: str) -> None:
    from playwright.sync_api import expect

    page.goto(url)
    expect(page.get_by_role("heading", name=title, exact=True)).to_be_visible()
    wait_settled(page)


def test_switching_case_with_the_picker_then_saving_never_writes_the_first_case_into_the_second(
    library: tuple[Path, dict[str, Case]], app_url: str, browser: Any
) -> None:
    from playwright.sync_api import expect

    data_dir, cases = library
    a, b = cases["A"], cases["B"]
    page = browser.new_page()
    page.goto(app_url + "/library")
    expect(page.get_by_text("Case library")).to_be_visible()
    page.get_by_role("link", name="Case", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    wait_settled(page)

    pick(page, a.title)
    expect(page.get_by_role("heading", name=a.title, exact=True)).to_be_visible()
    expect(history(page)).to_have_value(a.history)
    pick(page, b.title)
    expect(page.get_by_role("heading", name=b.title, exact=True)).to_be_visible()
    # Save as a user would: once the form shows B (until then the click may meet a half-drawn form).
    expect(history(page)).to_have_value(b.history)
    save_button(page).click()
    wait_settled(page)

    after = stored(data_dir, b.id)
    assert (after.title, after.history, after.diagnosis) == (b.title, b.history, b.diagnosis), (
        "B's text changed on a save of B's own form"
    )
    expect(history(page)).to_have_value(b.history)
    assert f"case={b.id}" in page.url

    # Back and forward: the URL names the case, and the form follows it.
    page.go_back()
    expect(page.get_by_role("heading", name=a.title, exact=True)).to_be_visible()
    expect(history(page)).to_have_value(a.history)
    assert f"case={a.id}" in page.url
    page.go_forward()
    expect(page.get_by_role("heading", name=b.title, exact=True)).to_be_visible()
    expect(history(page)).to_have_value(b.history)
    history(page).fill("B, edited after going back and forth.")
    save_button(page).click()
    wait_stored(data_dir, b.id, lambda c: c.history == "B, edited after going back and forth.", "B's new text")
    assert stored(data_dir, a.id).history == a.history


def test_the_second_of_two_cases_with_one_title_stays_open_through_a_rerun(
    library: tuple[Path, dict[str, Case]], app_url: str, browser: Any
) -> None:
    from playwright.sync_api import expect

    data_dir, cases = library
    first, second = cases["C"], cases["D"]
    asset_id = second.assets[0].id
    page = browser.new_page()
    page.goto(app_url + "/library")
    # The first one is opened from the library, then the second.
    expect(page.get_by_text("Case library")).to_be_visible()
    page.locator(f".st-key-open_{first.id} button").click()
    expect(history(page)).to_have_value(first.history)
    wait_settled(page)
    # The picker lists both under one title: choose the second by its place among them.
    same = [c.id for c in stored_cases(data_dir) if c.title == SAME_TITLE]
    pick(page, SAME_TITLE, same.index(second.id))
    expect(history(page)).to_have_value(second.history)  # today: the first one's, it cannot be picked
    wait_settled(page)

    # A wheel scroll in the viewer reruns the page (it learns the slice shown).
    page.wait_for_function(f"() => window.__casedeckViewer && {VIEWER} && {VIEWER}.root.dataset.firstImageMs")
    start = page.evaluate(f"() => {VIEWER}.state().frame")
    canvas = page.locator("canvas.cdsv-canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    for _ in range(2):
        page.mouse.wheel(0, 100)
    frame = start + 2
    # The mark button of the second case's series at that slice: the rerun kept the second case.
    expect(page.locator(f"[class*='st-key-key_toggle_{asset_id}_{frame}']")).to_be_attached()
    wait_settled(page)
    expect(history(page)).to_have_value(second.history)
    assert f"case={second.id}" in page.url
    picker = page.locator(".st-key-case_picker").get_by_role("combobox")
    expect(picker).to_have_value(re.compile(f"^{SAME_TITLE} · CT · .* · #{second.id[:6]}$"))  # told apart

    page.get_by_role("button", name="Mark as key image").click()
    marked = wait_stored(data_dir, second.id, lambda c: len(c.key_images) == 1, "the key image on the second case")
    assert (marked.key_images[0].asset_id, marked.key_images[0].frame) == (asset_id, frame)
    assert stored(data_dir, first.id).key_images == ()
    expect(history(page)).to_have_value(second.history)
    wait_settled(page)

    # An arrow drawn in the viewer (its Annotate mode) lands on the second case, on that slice.
    page.get_by_role("button", name="Annotate").click()
    page.wait_for_function(f"() => {VIEWER}.state().annotating === true")
    view = page.evaluate(f"() => {VIEWER}.state().imageView")
    rect = page.locator("canvas.cdsv-overlay").bounding_box()
    tail, head = (16, 16), (44, 40)  # image pixels of the 64 x 64 slice
    page.mouse.move(rect["x"] + view["x"] + tail[0] * view["scaleX"], rect["y"] + view["y"] + tail[1] * view["scaleY"])
    page.mouse.down()
    page.mouse.move(
        rect["x"] + view["x"] + head[0] * view["scaleX"], rect["y"] + view["y"] + head[1] * view["scaleY"], steps=8
    )
    page.mouse.up()
    drawn = wait_stored(
        data_dir,
        second.id,
        lambda c: [type(a).__name__ for k in c.key_images for a in k.annotations] == ["Arrow"],
        "the arrow on the second case",
    )
    assert (drawn.key_images[0].asset_id, drawn.key_images[0].frame) == (asset_id, frame)
    assert stored(data_dir, first.id).key_images == (), "nothing drawn on the first case"
    wait_settled(page)
    assert f"case={second.id}" in page.url
    expect(history(page)).to_have_value(second.history)


def test_two_tabs_on_two_cases_saving_at_once_each_keep_their_own_text(
    library: tuple[Path, dict[str, Case]], app_url: str, browser: Any
) -> None:
    from playwright.sync_api import expect

    data_dir, cases = library
    e, f = cases["E"], cases["F"]
    tab_e, tab_f = browser.new_page(), browser.new_page()
    open_case_page(tab_e, f"{app_url}/case?case={e.id}", e.title)
    open_case_page(tab_f, f"{app_url}/case?case={f.id}", f.title)
    expect(history(tab_e)).to_have_value(e.history)
    expect(history(tab_f)).to_have_value(f.history)

    history(tab_e).fill("Typed in the tab of E.")
    history(tab_f).fill("Typed in the tab of F.")
    save_button(tab_e).click()
    save_button(tab_f).click()
    for tab in (tab_e, tab_f):
        expect(tab.get_by_text("Saved.")).to_be_visible()

    wait_stored(data_dir, e.id, lambda c: c.history == "Typed in the tab of E.", "E's text")
    wait_stored(data_dir, f.id, lambda c: c.history == "Typed in the tab of F.", "F's text")
    # A reload of each tab opens the same case again, with its own text.
    for tab, case, text in ((tab_e, e, "Typed in the tab of E."), (tab_f, f, "Typed in the tab of F.")):
        tab.reload()
        expect(tab.get_by_role("heading", name=case.title, exact=True)).to_be_visible()
        expect(history(tab)).to_have_value(text)


def test_a_save_on_a_case_another_tab_changed_is_refused_and_nothing_is_lost(
    library: tuple[Path, dict[str, Case]], app_url: str, browser: Any
) -> None:
    from playwright.sync_api import expect

    data_dir, cases = library
    g = cases["G"]
    mine, other = browser.new_page(), browser.new_page()
    for tab in (mine, other):  # each opens the Case page and picks G
        tab.goto(app_url + "/case")
        expect(tab.get_by_role("heading", level=1)).to_be_visible()
        wait_settled(tab)
        pick(tab, g.title)
        expect(tab.get_by_role("heading", name=g.title, exact=True)).to_be_visible()
        expect(history(tab)).to_have_value(g.history)

    history(other).fill("The other tab's history.")
    save_button(other).click()
    wait_stored(data_dir, g.id, lambda c: c.history == "The other tab's history.", "the other tab's text")

    history(mine).fill("My history, typed on the old copy.")
    field(mine, "Diagnosis").fill("My diagnosis")
    save_button(mine).click()
    expect(mine.get_by_text(STALE_EDIT_MESSAGE)).to_be_visible()
    wait_settled(mine)
    after = stored(data_dir, g.id)
    assert (after.history, after.diagnosis) == ("The other tab's history.", g.diagnosis), "nothing was saved"
    expect(history(mine)).to_have_value("My history, typed on the old copy.")  # what I typed is still there

    mine.get_by_role("button", name=re.compile("^Reload the case")).click()
    expect(history(mine)).to_have_value("The other tab's history.")
    wait_settled(mine)  # the reload's rerun is over: one form, one Save button
    field(mine, "Diagnosis").fill("My diagnosis")
    save_button(mine).click()
    expect(mine.get_by_text("Saved.")).to_be_visible()
    done = wait_stored(data_dir, g.id, lambda c: c.diagnosis == "My diagnosis", "the diagnosis after the reload")
    assert done.history == "The other tab's history."
    assert case_key(g.id, "case_history") == f"case_history-{g.id}"  # the form's keys name the case
