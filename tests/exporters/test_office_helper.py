"""The shared LibreOffice helper: blank detection, and clear failures instead of silent empty lists."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.helpers import require_tool
from tests.support.office import is_blank, render_deck_to_pngs


def save(tmp_path: Path, pixels: np.ndarray, name: str) -> Path:
    path = tmp_path / name
    Image.fromarray(pixels).save(path)
    return path


def test_a_uniform_page_is_blank_and_a_page_with_content_is_not(tmp_path: Path) -> None:
    dark = np.full((100, 160, 3), (17, 24, 39), dtype=np.uint8)
    assert is_blank(save(tmp_path, dark, "dark.png"))
    with_text = dark.copy()
    with_text[40:60, 20:140] = 230  # a line of light text
    assert not is_blank(save(tmp_path, with_text, "text.png"))
    slight_noise = (dark.astype(int) + np.random.default_rng(0).integers(-1, 2, dark.shape)).astype(np.uint8)
    assert is_blank(save(tmp_path, slight_noise, "noise.png"))  # compression-level noise is still blank


def test_rendering_a_missing_deck_fails_loudly(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        render_deck_to_pngs(tmp_path / "absent.pptx", tmp_path / "out")


@pytest.mark.soffice
def test_a_file_that_is_not_a_deck_is_an_error_not_an_empty_list(tmp_path: Path) -> None:
    require_tool("soffice")
    fake = tmp_path / "fake.pptx"
    fake.write_bytes(b"this is not a presentation")
    with pytest.raises(RuntimeError):
        render_deck_to_pngs(fake, tmp_path / "out")
