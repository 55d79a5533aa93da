"""`python -m casefiles media`: the Case page's media section for scripts (add scrubbed, caption, pages, black out)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from casefiles.config import Settings
from casefiles.model import AssetKind
from casefiles.services import Services
from tests.dicom_factory import write_ct_study
from tests.helpers import ROOT


def _pdf(path: Path) -> Path:
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path))
    pdf.setAuthor("FAKE^PATIENT")
    for page in range(3):
        pdf.drawString(72, 720, f"page {page + 1}")
        pdf.showPage()
    pdf.save()
    return path


def test_add_caption_take_pages_and_black_out(tmp_path: Path) -> None:
    data = tmp_path / "data"
    services = Services(Settings(data_dir=data, seed_samples=False))
    case_id = services.import_dicom(write_ct_study(tmp_path / "in", slices=2)).case_ids[0]
    env = {**os.environ, "CASEDECK_DATA": str(data), "CASEDECK_SAMPLES": "0"}
    photo = tmp_path / "Smith_John_wound.png"
    Image.fromarray(np.full((80, 120, 3), 180, np.uint8)).save(photo)
    junk = tmp_path / "notes.pptx"
    junk.write_bytes(b"not a deck at all")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "casefiles", "media", case_id, *args],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, check=False,
        )  # fmt: skip

    added = cli("--add", str(photo), str(_pdf(tmp_path / "referral.pdf")), str(junk))
    assert added.returncode == 0, added.stderr
    assert added.stdout.splitlines()[:2] == ["2\tImage 1", "3\tPDF 1"]
    assert "file 3 of 3" in added.stderr and "Traceback" not in added.stderr
    assert "Smith" not in added.stdout + added.stderr and "notes.pptx" not in added.stderr

    captioned = cli("--item", "2", "--caption", "Wound at day 3", "--key")
    assert captioned.returncode == 0, captioned.stderr
    assert "Wound at day 3" in captioned.stdout and "1 key image(s)" in captioned.stdout

    pages = cli("--item", "3", "--pages", "1,3")
    assert pages.returncode == 0, pages.stderr
    case = services.get_case(case_id)
    assert [a.caption for a in case.assets if a.kind is AssetKind.IMAGE][1:] == ["PDF 1, page 1", "PDF 1, page 3"]

    blacked = cli("--item", "2", "--black-out", "0,0,40,30")
    assert blacked.returncode == 0, blacked.stderr
    stored = services.get_case(case_id).assets[1]
    pixels = np.asarray(Image.open(io.BytesIO(services.blobs.get(stored.blob or ""))))
    assert pixels[:30, :40].max() == 0 and pixels[50:, 60:].min() >= 170

    wrong = cli("--item", "9", "--caption", "x")
    assert wrong.returncode == 2 and "--item N, N from 1 to 5" in wrong.stderr
    bad_box = cli("--item", "2", "--black-out", "0,0,forty,30")
    assert bad_box.returncode == 1 and "X,Y,WIDTH,HEIGHT" in bad_box.stderr and "Traceback" not in bad_box.stderr
