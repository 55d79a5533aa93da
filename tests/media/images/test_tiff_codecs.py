"""Tiled TIFFs from slide scanners and microscopes in the compressions they write (decoded by imagecodecs).

Aperio SVS stores JPEG 2000 tiles (33003 YCbCr, 33005 RGB); microscope software writes LZW, Zstd or
WebP tiles. Each must import at its size with its colours: the left half red, the right half blue.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from casefiles.media.images import scrub_image

RED, BLUE = (200, 30, 30), (30, 30, 200)


@pytest.mark.parametrize("compression", ["lzw", "jpeg2000", 33003, 33005, "zstd", "webp", "jpeg"])
def test_tiled_tiff_in_each_scanner_compression_imports_with_its_colours(compression: object, tmp_path: Path) -> None:
    pixels = np.zeros((600, 800, 3), np.uint8)
    pixels[:, :400], pixels[:, 400:] = RED, BLUE
    source = tmp_path / "slide.tif"
    tifffile.imwrite(source, pixels, tile=(256, 256), compression=compression, photometric="rgb")
    work = tmp_path / "work"
    work.mkdir()

    scrubbed = scrub_image(source, workdir=work)

    assert (scrubbed.width, scrubbed.height) == (800, 600)
    shown = np.asarray(Image.open(io.BytesIO(scrubbed.data)).convert("RGB")).astype(int)
    assert np.abs(shown[300, 100] - RED).max() <= 6
    assert np.abs(shown[300, 700] - BLUE).max() <= 6


def test_pyramid_of_aperio_jpeg2000_tiles_reads_the_level_that_fits(tmp_path: Path) -> None:
    level0 = np.zeros((2048, 2048, 3), np.uint8)
    level0[:, :1024] = RED
    level0[:, 1024:] = BLUE
    source = tmp_path / "slide.svs.tif"
    with tifffile.TiffWriter(source) as tif:
        tif.write(level0, tile=(256, 256), compression=33003, photometric="rgb", subifds=2)
        tif.write(level0[::2, ::2], tile=(256, 256), compression=33003, photometric="rgb", subfiletype=1)
        tif.write(level0[::4, ::4], tile=(256, 256), compression=33003, photometric="rgb", subfiletype=1)
    work = tmp_path / "work"
    work.mkdir()

    scrubbed = scrub_image(source, workdir=work, max_side=512)

    assert scrubbed.pyramid_level == 2 and (scrubbed.width, scrubbed.height) == (512, 512)
    shown = np.asarray(Image.open(io.BytesIO(scrubbed.data)).convert("RGB")).astype(int)
    assert np.abs(shown[256, 100] - RED).max() <= 8 and np.abs(shown[256, 400] - BLUE).max() <= 8
