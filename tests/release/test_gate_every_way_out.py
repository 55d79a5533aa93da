"""The release gate on every way out (issue #12, findings 2 and 3).

A registrar imports a CT study with a scanner "screen save" (name and MRN burned into the corner,
no Burned In Annotation), ticks the screen save as a key image, and exports. Before the gate,
``services.export`` wrote the PPTX, PDF, HTML and package anyway and the Export page only warned.
Now every export, Present and the PACS push refuse, name the case and the item by position, and
write nothing; once a person has reviewed the image, the same exports go through.
"""

from __future__ import annotations

import socket
import subprocess
import time
import zipfile
from pathlib import Path

import pytest

from casefiles.model import AssetKind, Review
from casefiles.pacs.nodes import PacsNode
from casefiles.release import ReleaseBlocked
from casefiles.services import EXPORT_FORMATS, Services
from tests.helpers import require_tool
from tests.support.held_case import BURNED_NAME, confirm_everything
from tests.support.streamlit_server import free_port


@pytest.mark.parametrize("export_format", EXPORT_FORMATS)
def test_an_export_of_a_case_with_an_unreviewed_screen_save_is_refused_and_writes_nothing(
    services: Services, blocked_case: str, tmp_path: Path, export_format: str
) -> None:
    out = tmp_path / "out" / f"deck.{'zip' if export_format == 'package' else export_format}"
    out.parent.mkdir()
    with pytest.raises(ReleaseBlocked) as refused:
        services.export(blocked_case, export_format, out)
    message = str(refused.value)
    assert "Nothing was written" in message
    assert "image 1" in message and "burned-in text review" in message
    assert services.get_case(blocked_case).title in message  # the case, named by its cleaned title
    assert BURNED_NAME.split(maxsplit=1)[0] not in message
    assert list(out.parent.iterdir()) == []
    (blocker,) = refused.value.blockers
    assert blocker.case_id == blocked_case and blocker.asset_id is not None


def test_present_and_conference_exports_are_refused_when_one_case_is_held(
    services: Services, blocked_case: str, tmp_path: Path
) -> None:
    conference = services.create_conference("Thoracic tumour board")
    services.add_cases(conference.id, [blocked_case])
    with pytest.raises(ReleaseBlocked, match="presentation"):
        services.export(conference.id, "html", tmp_path / "show.html", way_out="presentation")
    assert not (tmp_path / "show.html").exists()
    assert services.release_blockers(conference.id)


@pytest.mark.parametrize("export_format", EXPORT_FORMATS)
def test_after_review_the_same_export_is_written(
    services: Services, blocked_case: str, tmp_path: Path, export_format: str
) -> None:
    confirm_everything(services, blocked_case)
    assert services.release_blockers(blocked_case) == ()
    suffix = "zip" if export_format == "package" else export_format
    out = services.export(blocked_case, export_format, tmp_path / f"deck.{suffix}")
    assert out.stat().st_size > 0
    if export_format in ("pptx", "package"):
        with zipfile.ZipFile(out) as archive:
            assert archive.testzip() is None


def test_export_started_while_an_image_is_being_reviewed_is_refused(services: Services, blocked_case: str) -> None:
    """A reviewer blanking one region has not confirmed the image: it still cannot leave."""
    case = services.get_case(blocked_case)
    asset, _frame, instance = services.images_for_review(case)[0]
    from casefiles.model import Region

    services.blank_region(blocked_case, asset.id, instance.sop_instance_uid, Region(0, 0, 40, 40))
    assert services.images_for_review(services.get_case(blocked_case))
    with pytest.raises(ReleaseBlocked):
        services.export_case_pptx(blocked_case, Path("/nonexistent/never-written.pptx"))


def test_a_case_whose_text_was_cleaned_by_older_rules_is_refused_without_repeating_its_title(
    services: Services, blocked_case: str, tmp_path: Path
) -> None:
    confirm_everything(services, blocked_case)
    case = services.get_case(blocked_case)
    from dataclasses import replace

    services.store.save_case(replace(case, title="CT chest (old import)", text_rules=0))
    with pytest.raises(ReleaseBlocked) as refused:
        services.export(blocked_case, "pptx", tmp_path / "deck.pptx")
    message = str(refused.value)
    assert "old import" not in message
    assert f"case {blocked_case}" in message
    assert "recheck" in message
    assert not (tmp_path / "deck.pptx").exists()


def test_an_image_stored_before_pixel_screening_existed_is_refused(
    services: Services, blocked_case: str, tmp_path: Path
) -> None:
    confirm_everything(services, blocked_case)
    case = services.get_case(blocked_case)
    from dataclasses import replace

    ct = next(a for a in case.assets if a.kind is AssetKind.DICOM_SERIES and len(a.instances) == 3)
    old = replace(ct, instances=tuple(replace(i, pixel_rules=0, review=Review.NOT_NEEDED) for i in ct.instances))
    services.store.save_case(replace(case, assets=tuple(old if a.id == ct.id else a for a in case.assets)))
    with pytest.raises(ReleaseBlocked, match="3 images from image 1 were never screened"):
        services.export(blocked_case, "pdf", tmp_path / "handout.pdf")


def test_pacs_push_is_refused_by_the_same_gate_and_nothing_reaches_the_pacs(
    services: Services, blocked_case: str, tmp_path: Path
) -> None:
    """dcmtk's storescp as the receiving PACS: nothing arrives while held; the case arrives after review."""
    storescp = require_tool("storescp", system=True)  # dcmtk, an independent peer
    inbox = tmp_path / "pacs-inbox"
    inbox.mkdir()
    peer, port = _start_storescp(storescp, inbox)
    try:
        services.save_pacs_node(PacsNode(name="teaching", ae_title="TEACHPACS", host="127.0.0.1", port=port))
        with pytest.raises(ReleaseBlocked, match="PACS push"):
            services.pacs.push_case(blocked_case, "teaching")
        assert list(inbox.iterdir()) == []
        confirm_everything(services, blocked_case)
        result = services.pacs.push_case(blocked_case, "teaching")
        assert result.sent >= 4 and not result.failed
        assert len(list(inbox.iterdir())) >= 4
    finally:
        peer.terminate()
        peer.wait(10)


def _start_storescp(storescp: str, inbox: Path) -> tuple[subprocess.Popen[bytes], int]:
    """storescp listening on a free port; another port is tried if a parallel test took the first."""
    for _attempt in range(5):
        port = free_port()
        peer = subprocess.Popen(
            [storescp, "--aetitle", "TEACHPACS", "--output-directory", str(inbox), str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and peer.poll() is None:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    time.sleep(0.2)
                    if peer.poll() is None:  # it is our storescp that answered, not another test's server
                        return peer, port
            time.sleep(0.1)
        peer.kill()
        peer.wait(10)
    raise AssertionError("storescp could not be started on a free port")
