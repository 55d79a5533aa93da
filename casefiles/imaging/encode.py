"""8-bit display images to PNG/JPEG bytes with OpenCV (several times faster than Pillow for PNG)."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from casefiles.errors import RenderError, ValidationError


def _to_bgr(image: npt.NDArray[Any]) -> npt.NDArray[np.uint8]:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise RenderError("Only 8-bit display images (as render_frame returns them) can be encoded.")
    if image.size == 0:
        raise RenderError("An empty image cannot be encoded.")
    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[2] == 3:
        return np.ascontiguousarray(image[:, :, ::-1])
    raise RenderError("Only grey (H×W) or RGB (H×W×3) images can be encoded.")


def _encode(extension: str, image: npt.NDArray[Any], params: list[int]) -> bytes:
    ok, buffer = cv2.imencode(extension, _to_bgr(image), params)
    if not ok:
        raise RenderError(f"The image could not be encoded as {extension.lstrip('.').upper()}.")
    return bytes(buffer.tobytes())


def encode_png(image: npt.NDArray[Any]) -> bytes:
    """Lossless PNG of an 8-bit grey or RGB image."""
    return _encode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 3])


def encode_jpeg(image: npt.NDArray[Any], quality: int = 90) -> bytes:
    """JPEG of an 8-bit grey or RGB image; ``quality`` 1–100 (90 is visually lossless for slides)."""
    if isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 100:
        raise ValidationError(f"JPEG quality must be a whole number from 1 to 100 (got {quality!r}).")
    return _encode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
