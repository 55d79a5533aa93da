"""Render decks with LibreOffice and poppler so tests can look at slides as pixels.

LibreOffice converts even broken decks without complaint, so a render proves
what a slide looks like, not that the file is valid: reopen it with python-pptx
too. Each call uses its own throw-away LibreOffice profile, so tests can run in
parallel (pytest-xdist) without fighting over ~/.config/libreoffice.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

SOFFICE_TIMEOUT_S = 180
PDFTOPPM_TIMEOUT_S = 120


def soffice_available() -> bool:
    """True when both LibreOffice (soffice) and poppler's pdftoppm are installed."""
    return shutil.which("soffice") is not None and shutil.which("pdftoppm") is not None


def render_deck_to_pngs(deck: Path, out_dir: Path, dpi: int = 50) -> list[Path]:
    """Render every slide of ``deck`` to ``out_dir`` as PNG pages, in slide order.

    Runs ``soffice --headless --convert-to pdf`` with a private profile, then
    ``pdftoppm -png -r dpi``. Raises RuntimeError (with the tools' output) when
    either fails or times out, and FileNotFoundError when the deck is missing.
    """
    deck = Path(deck)
    out_dir = Path(out_dir)
    if not deck.is_file():
        raise FileNotFoundError(f"No deck to render at {deck}")
    if not 10 <= dpi <= 300:
        raise ValueError(f"dpi must be between 10 and 300 (got {dpi})")
    if not soffice_available():
        raise RuntimeError("LibreOffice (soffice) and pdftoppm are needed to render decks")
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="casedeck-lo-") as tmp:
        tmp_path = Path(tmp)
        pdf_dir = tmp_path / "pdf"
        _run(
            [
                "soffice",
                "--headless",
                "--norestore",
                "--nolockcheck",
                f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",
                "--convert-to",
                "pdf",
                "--outdir",
                str(pdf_dir),
                str(deck),
            ],
            SOFFICE_TIMEOUT_S,
            cwd=tmp_path,
        )
        pdf = pdf_dir / (deck.stem + ".pdf")
        if not pdf.is_file():
            raise RuntimeError(f"LibreOffice produced no PDF for {deck.name}")
        png_dir = tmp_path / "png"
        png_dir.mkdir()
        _run(["pdftoppm", "-png", "-r", str(dpi), str(pdf), str(png_dir / "page")], PDFTOPPM_TIMEOUT_S, cwd=tmp_path)
        # pdftoppm zero-pads page numbers to the page count's width: sort numerically.
        rendered = sorted(png_dir.glob("page-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
        if not rendered:
            raise RuntimeError(f"pdftoppm produced no pages for {deck.name}")
        pages = []
        for number, page in enumerate(rendered, 1):
            target = out_dir / f"{deck.stem}-{number:03d}.png"
            shutil.move(page, target)
            pages.append(target)
    return pages


def is_blank(png: Path, tolerance: float = 2.0) -> bool:
    """True when the image is near-uniform: the standard deviation of its pixels is within ``tolerance``."""
    with Image.open(png) as im:
        pixels = np.asarray(im.convert("L"), dtype=np.float64)
    return float(pixels.std()) <= tolerance


def _run(cmd: list[str], timeout: float, *, cwd: Path) -> None:
    """Run ``cmd`` in its own process group so a timeout also ends soffice.bin, not just the wrapper."""
    with subprocess.Popen(
        cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    ) as proc:
        try:
            _, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise RuntimeError(f"{cmd[0]} did not finish within {timeout:.0f} s") from exc
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed with exit code {proc.returncode}: {stderr.strip()[-2000:]}")
