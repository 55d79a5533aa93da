"""The From PACS page through AppTest, against the real Orthanc in the private namespace."""

from __future__ import annotations

import time

from streamlit.testing.v1 import AppTest

from tests.dicom_factory import FAKE_ACCESSION, FAKE_PHI
from tests.helpers import ROOT


def test_configure_test_find_and_retrieve(node, monkeypatch, tmp_path):
    monkeypatch.setenv("CASEDECK_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("CASEDECK_SAMPLES", "0")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.run()
    at.switch_page("pages/pacs.py").run()
    at.text_input(key="pacs_name").input("Local Orthanc")
    at.text_input(key="pacs_ae").input(node.ae_title)
    at.text_input(key="pacs_host").input(node.host)
    at.number_input(key="pacs_port").set_value(node.port)
    at.text_input(key="pacs_our_ae").input(node.our_ae_title)
    at.number_input(key="pacs_our_port").set_value(node.our_port)
    next(b for b in at.button if b.label == "Save node").click().run()
    assert not at.exception, at.exception

    at.button(key="pacs_echo").click().run()
    assert any("answered" in s.value for s in at.success)

    at.text_area(key="pacs_accessions").input(f"{FAKE_ACCESSION}\nNO-SUCH-ACCESSION").run()
    at.button(key="pacs_find").click().run()
    assert not at.exception, at.exception
    assert at.dataframe, "a table of matching studies"

    assert any("Accession 2 of 2" in w.value for w in at.warning), "the accession that found nothing is named"
    at.selectbox(key="pacs_conference_choice").set_value("New conference…").run()
    at.text_input(key="pacs_conference").input("Tumor board").run()
    at.button(key="pacs_pull").click().run()
    assert not at.exception, at.exception
    # The retrieval runs in the background; the page polls it (a fragment every second in the browser).
    deadline = time.monotonic() + 120
    while not any("imported and de-identified" in s.value for s in at.success):
        assert time.monotonic() < deadline, "the retrieval did not finish"
        time.sleep(0.5)
        at.run()
        assert not at.exception, at.exception
    bars = [p.proto.text for p in at.get("progress")]
    assert any("Study 1 of" in text for text in bars), bars
    shown = "\n".join(str(e.value) for e in (*at.success, *at.warning, *at.markdown))
    assert not any(phi in shown for phi in FAKE_PHI)
    assert [b for b in at.button if b.key and b.key.startswith("pacs_open_")]


def test_a_closed_port_is_a_clear_message(node, monkeypatch, tmp_path):
    from casefiles.config import Settings
    from casefiles.pacs import PacsNode
    from casefiles.services import Services
    from tests.pacs.conftest import free_port

    data = tmp_path / "data"
    Services(Settings(data_dir=data, seed_samples=False)).save_pacs_node(
        PacsNode("Closed", node.ae_title, "127.0.0.1", free_port(), node.our_ae_title, node.our_port)
    )
    monkeypatch.setenv("CASEDECK_DATA", str(data))
    monkeypatch.setenv("CASEDECK_SAMPLES", "0")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/pacs.py").run()
    at.button(key="pacs_echo").click().run()
    assert not at.exception
    assert any("refused" in e.value for e in at.error)
