"""`python -m casefiles receive`: the same receiver and inbox as the app, for a server without a browser."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from casefiles.config import Settings
from casefiles.services import Services
from tests.dicom_factory import FAKE_PHI
from tests.helpers import ROOT
from tests.inbox.kit import send, write_kos
from tests.support.streamlit_server import free_port


def test_receive_files_a_sent_study_with_its_teaching_selection_and_stops_cleanly(tmp_path: Path, study) -> None:
    data = tmp_path / "data"
    port = free_port()
    env = {**os.environ, "CASEDECK_DATA": str(data), "CASEDECK_SAMPLES": "0"}
    receiving = subprocess.Popen(
        [sys.executable, "-m", "casefiles", "receive", "--host", "127.0.0.1", "--port", str(port),
         "--quiet-seconds", "0.5", "--allow-ae", "WORKSTATION"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert receiving.stderr is not None and receiving.stdout is not None
        assert "receiving as CASEDECK" in receiving.stderr.readline()
        kos = write_kos(tmp_path / "kos.dcm", study, study[1:3])
        sent = send(port, [kos, *study])
        assert sent.returncode == 0, sent.stderr
        case_line = receiving.stdout.readline()  # printed when the study is filed
        assert "2 key image(s)" in case_line, case_line
        refused = send(port, study, calling="STRANGER")
        assert refused.returncode != 0, "a calling AE title not in --allow-ae is rejected"
    finally:
        receiving.send_signal(signal.SIGTERM)
        _out, err = receiving.communicate(timeout=60)
    assert receiving.returncode == 0, err
    assert "1 study(ies) filed" in err and "Traceback" not in err
    library = Services(Settings(data_dir=data, seed_samples=False))
    (case,) = library.list_cases()
    assert case.id == case_line.split(",")[0].strip()
    assert "inbox" in case.tags and len(case.key_images) == 2
    assert "tree-in-bud" in case.history and "Quimby" not in case.history
    assert not any(library.settings.quarantine_dir.iterdir())
    for path in data.rglob("*"):
        if path.is_file():
            blob = path.read_bytes().lower()
            assert not any(phi.lower().encode() in blob for phi in FAKE_PHI), path.name
