"""The From PACS page's receiver through AppTest: a workstation sends a study with a TCE "For Conference"
selection (dcmtk's storescu), and it shows up as a filed draft case, in the inbox and the conference inbox."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from pages.ui import case_key
from tests.dicom_factory import FAKE_PHI, write_ct_study
from tests.helpers import ROOT
from tests.inbox.kit import CLEAN_PART, FOR_CONFERENCE, send, write_kos
from tests.pacs.conftest import free_port

#: The page's receiver waits 10 s without a new image before it files a study.
FILED_WITHIN_SECONDS = 40


def _status(at: AppTest) -> str:
    return "\n".join(s.value for s in at.success if s.value.startswith("Receiving on port"))


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("0.0.0.0", port))  # the page's receiver listens on all addresses (only lo here)
        except OSError:
            return False
    return True


def test_a_study_sent_to_the_page_receiver_becomes_an_inbox_case(monkeypatch, tmp_path: Path) -> None:
    from pages.ui import stop_app_receiver

    monkeypatch.setenv("CASEDECK_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("CASEDECK_SAMPLES", "0")
    images = write_ct_study(tmp_path / "sent", slices=3)
    kos = write_kos(tmp_path / "kos.dcm", images, [images[1]], title=FOR_CONFERENCE)
    port = free_port()

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/pacs.py").run()
    try:
        assert at.text_input(key="receive_ae").value == "CASEDECK"
        at.number_input(key="receive_port").set_value(port)
        at.button(key="receive_start").click().run()
        assert not at.exception, at.exception
        assert f"Receiving on port {port}: 0 study(ies) filed" in _status(at)
        assert not _port_is_free(port)

        sent = send(port, [*images, kos])
        assert sent.returncode == 0, sent.stderr[-2000:]

        deadline = time.monotonic() + FILED_WITHIN_SECONDS
        while "1 study(ies) filed" not in _status(at):
            assert time.monotonic() < deadline, f"not filed within {FILED_WITHIN_SECONDS} s: {_status(at)!r}"
            time.sleep(1.0)
            at.run()
            assert not at.exception, at.exception
        assert not at.warning, [w.value for w in at.warning]  # no problem reported by the receiver
        assert any("1 draft case(s)" in m.value for m in at.markdown)
        (open_button,) = [b for b in at.button if b.key and b.key.startswith("inbox_open_")]
        assert open_button.label.startswith("Open: ")
        case_title = open_button.label.removeprefix("Open: ")
        assert not any(phi in case_title for phi in FAKE_PHI)

        at.button(key="receive_stop").click().run()
        assert not at.exception, at.exception
        assert not _status(at), "the status is gone once the receiver stopped"
        assert at.button(key="receive_start"), "it can be started again"
        assert _port_is_free(port), "stopping frees the port"
    finally:
        stop_app_receiver()

    # The inbox's button opens the draft case, with the sender's description as its history (PHI removed).
    open_button = next(b for b in at.button if b.key and b.key.startswith("inbox_open_"))
    open_button.click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == case_title
    history = at.text_area(key=case_key(at.query_params["case"], "case_history")).value
    assert CLEAN_PART in history
    assert not any(phi in history for phi in FAKE_PHI)

    # "For Conference" puts it in the conference inbox.
    at.switch_page("pages/conferences.py").run()
    assert not at.exception, at.exception
    picker = at.selectbox(key="conf_picker")
    assert [label.split(" · ")[0] for label in picker.options] == ["Conference inbox"]  # title · date · kind
    assert any(m.value.startswith(f"**1. {case_title}**") for m in at.markdown)
