"""Share and upload links on the real app in Debian's Chromium, each opened in a fresh browser context.

The links are made through the domain (casefiles.acting.links), as the Share panel would, in a data
directory one `streamlit run app.py` serves:

(a) a share link shows its case (title, teaching text, the scrollable series) and nothing else of the
    app: no navigation, and another page's address still shows only the shared case;
(b) an expired and a withdrawn link are refused with a message, showing no case;
(c) an upload link used by an "outside" browser imports a study carrying a patient's name: it is in
    the conference, de-identified, and the link's owner has a notification.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydicom.uid import generate_uid

from casefiles.accounts.permissions import Actor, Role
from casefiles.accounts.shares import LinkKind, Links
from casefiles.acting.links import ShareLinks, link_path
from casefiles.config import Settings
from casefiles.department import open_department
from casefiles.services import Services
from casefiles.visibility import Sharing, Visibility
from tests.dicom_factory import FAKE_PHI, ct_slice, write_ct_study
from tests.support.streamlit_server import checked_chromium, streamlit_app, wait_settled

pytestmark = pytest.mark.browser

TIMEOUT_MS = 60_000
ANA = Actor("ana", Role.PRESENTER)
OWNED = Sharing("ana", Visibility.PRIVATE)
TITLE = "Shared liver teaching case"
HISTORY = "Sixty year old with right upper quadrant pain."
CONFERENCE = "GI tumor board"


@dataclasses.dataclass(frozen=True)
class Library:
    data_dir: Path
    settings: Settings
    links: ShareLinks
    case_id: str
    conference_id: str


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Library:
    root = tmp_path_factory.mktemp("share_links")
    settings = Settings(data_dir=root / "data", seed_samples=False)
    services = Services(settings)
    write_ct_study(root / "study", slices=4)
    (case_id,) = services.import_dicom([root / "study"], title=TITLE).case_ids
    case = services.update_case(case_id, {"history": HISTORY})
    services.store.save_case(dataclasses.replace(case, sharing=OWNED))
    conference = services.create_conference(CONFERENCE)
    services.store.save_conference(dataclasses.replace(conference, sharing=OWNED))
    department = open_department(services.store, settings, env={})
    department.accounts.create_user("ana", Role.PRESENTER, display_name="Ana Silva")
    return Library(root / "data", settings, ShareLinks(services, department), case_id, conference.id)


@pytest.fixture(scope="module")
def app_url(library: Library, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {**os.environ, "CASEDECK_DATA": str(library.data_dir), "CASEDECK_SAMPLES": "0"}
    log = tmp_path_factory.mktemp("share_links_log") / "streamlit.log"
    with streamlit_app("app.py", env=env, log_path=log) as url:
        yield url


def _fresh_library(library: Library) -> Services:
    """The library as another process sees it now (the app wrote to it)."""
    return Services(library.settings)


def test_a_share_link_shows_its_case_and_nothing_else(app_url: str, library: Library, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    token, _ = library.links.create_link(ANA, "case", library.case_id)
    with checked_chromium(tmp_path) as context:
        page = context.new_page()
        page.goto(app_url + link_path(LinkKind.VIEW, token))
        expect(page.get_by_text(TITLE, exact=True)).to_be_visible()
        expect(page.get_by_text(HISTORY)).to_be_visible()
        page.wait_for_function("() => window.__casedeckViewer && window.__casedeckViewer.viewers.length > 0")
        wait_settled(page)
        assert page.locator('[data-testid="stSidebarNav"]').count() == 0
        assert page.locator('[data-testid="stSidebar"]').count() == 0
        for other in ("Library", "Import", "Case library", "Safety"):
            assert page.get_by_role("link", name=other).count() == 0
        # Another page's address with the token still shows the shared case only.
        page.goto(f"{app_url}/library?share={token}")
        expect(page.get_by_text(TITLE, exact=True)).to_be_visible()
        wait_settled(page)
        assert page.get_by_text("Case library").count() == 0
        assert page.locator('[data-testid="stSidebarNav"]').count() == 0
        assert page.get_by_role("button", name="Prepare download").count() == 0  # download not allowed
    opened = [e.data for e in library.links.department.audit.events() if e.data["action"] == "share.open"]
    assert opened and opened[-1]["actor"] == "" and opened[-1]["target_id"] == library.case_id
    assert all(token not in str(e) for e in opened)


def test_expired_and_withdrawn_links_are_refused(app_url: str, library: Library, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    last_week = dt.datetime.now(dt.UTC) - dt.timedelta(days=8)
    past = dataclasses.replace(
        library.links,
        department=dataclasses.replace(
            library.links.department, links=Links(library.links.library.store, lambda: last_week)
        ),
    )
    expired, _ = past.create_link(ANA, "case", library.case_id, days=7)
    withdrawn, link = library.links.create_link(ANA, "case", library.case_id, days=30)
    library.links.revoke_link(ANA, link.key)
    with checked_chromium(tmp_path) as context:
        page = context.new_page()
        page.goto(app_url + link_path(LinkKind.VIEW, expired))
        expect(page.get_by_text("This link has expired")).to_be_visible()
        wait_settled(page)
        assert page.get_by_text(TITLE, exact=True).count() == 0
        other = context.new_page()
        other.goto(app_url + link_path(LinkKind.VIEW, withdrawn))
        expect(other.get_by_text("This link was withdrawn")).to_be_visible()
        wait_settled(other)
        assert other.get_by_text(TITLE, exact=True).count() == 0
        assert other.locator('[data-testid="stSidebarNav"]').count() == 0


def test_an_upload_link_brings_a_study_in_de_identified_and_tells_the_owner(
    app_url: str, library: Library, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    token, _ = library.links.create_link(
        ANA, "conference", library.conference_id, kind=LinkKind.UPLOAD, days=7, max_upload_bytes=50 * 1024**2
    )
    study, series = generate_uid(), generate_uid()
    files = []
    for i in range(3):
        path = tmp_path / f"IM{i}.dcm"
        ct_slice(study, series, i, size=64).save_as(path, enforce_file_format=True)
        files.append(str(path))
    with checked_chromium(tmp_path) as context:
        page = context.new_page()
        page.goto(app_url + link_path(LinkKind.UPLOAD, token))
        expect(page.get_by_text(f"For: {CONFERENCE}")).to_be_visible()
        page.locator("input[type=file]").first.set_input_files(files)
        expect(page.get_by_text("IM2.dcm")).to_be_visible()
        wait_settled(page)
        page.locator("[data-stale='false']").get_by_role("button", name="Send files", exact=True).click()
        # the first import of a fresh app loads the de-identifier: slow on a busy machine
        expect(page.get_by_text("3 image(s) received and de-identified")).to_be_visible(timeout=180_000)
        wait_settled(page)
        assert page.get_by_text("IM2.dcm").count() == 0  # a fresh uploader: nothing to send twice
        assert page.locator('[data-testid="stSidebarNav"]').count() == 0

    services = _fresh_library(library)
    (case_id,) = services.get_conference(library.conference_id).case_ids
    case = services.get_case(case_id)
    assert case.sharing.owner == "ana" and sum(len(a.instances) for a in case.assets) == 3
    stored = (
        b"".join(services.blobs.get(i.blob) for a in case.assets for i in a.instances if i.blob)
        + str(case.to_dict()).encode()
    )
    assert [phi for phi in FAKE_PHI if phi.encode() in stored] == []
    received = [e.data for e in library.links.department.audit.events() if e.data["action"] == "upload.received"]
    assert [(r["target_id"], r["count"]) for r in received] == [(library.conference_id, 3)]
    notes = library.links.department.notifications.of("ana")
    assert [n.kind for n in notes] == ["upload_arrived"] and library.conference_id in notes[0].text


def test_a_password_link_asks_for_it_and_offers_the_deck_when_allowed(
    app_url: str, library: Library, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    token, _ = library.links.create_link(ANA, "case", library.case_id, download=True, password="tumor board thursday")
    with checked_chromium(tmp_path) as context:
        page = context.new_page()
        page.goto(app_url + link_path(LinkKind.VIEW, token))
        password = page.get_by_label("Password", exact=True)
        expect(password).to_be_visible()
        assert page.get_by_text(TITLE, exact=True).count() == 0
        password.fill("not the password at all")
        page.get_by_role("button", name="Open").click()
        expect(page.get_by_text("This link needs its password")).to_be_visible()
        wait_settled(page)
        assert page.get_by_text(TITLE, exact=True).count() == 0
        page.get_by_label("Password", exact=True).fill("tumor board thursday")
        page.locator("[data-stale='false']").get_by_role("button", name="Open").click()
        expect(page.get_by_text(TITLE, exact=True)).to_be_visible()
        wait_settled(page)
        page.locator("[data-stale='false']").get_by_role("button", name="Prepare download").click()
        download_button = page.get_by_role("button", name="Download offline slide show (.html)")
        expect(download_button).to_be_visible(timeout=180_000)
        with page.expect_download() as download:
            download_button.click()
        saved = tmp_path / "shared.html"
        download.value.save_as(saved)
        assert TITLE in saved.read_text(encoding="utf-8")
