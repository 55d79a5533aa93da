"""Finding burned-in text in a DICOM image by OCR of a few frames.

Banners (name, ID, date) are drawn at the same place on every frame of a
cine, so reading the first, middle and last frames finds them at a third of
the cost of a 3-frame clip and a hundredth of a 300-frame one.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydicom.dataset import Dataset

from casefiles.errors import ValidationError
from casefiles.redaction.frames import frame_total, iter_decoded, to_uint8
from casefiles.redaction.geometry import TextFinding, merge_findings
from casefiles.redaction.ocr import find_text


def sample_frames(total: int) -> list[int]:
    """First, middle and last frame indices (fewer when the image has fewer frames)."""
    if total < 1:
        raise ValidationError("An image must have at least one frame.")
    return sorted({0, total // 2, total - 1})


def find_burned_in_text(
    ds: Dataset, *, frames: Sequence[int] | None = None, min_confidence: float = 40.0
) -> list[TextFinding]:
    """Text found in the given frames (default: first, middle, last), merged across frames.

    Frames are read with their stored values (8-bit data as is, deeper
    grayscale stretched to its full range); no clinical window is applied.
    Raises DeidentificationError when the pixels cannot be decoded or OCR fails.
    """
    total = frame_total(ds)
    if frames is None:
        indices = sample_frames(total)
    else:
        if isinstance(frames, str | bytes) or not isinstance(frames, Sequence):
            raise ValidationError("frames must be a list of frame numbers (0-based).")
        indices = []
        for index in frames:
            if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < total:
                raise ValidationError(f"Frame numbers must be whole numbers from 0 to {total - 1} (0-based).")
            indices.append(index)
        indices = sorted(set(indices))
        if not indices:
            raise ValidationError("Give at least one frame to check for burned-in text, or None for a sample.")
    found: list[TextFinding] = []
    for pixels, props in iter_decoded(ds, indices):
        found.extend(find_text(to_uint8(pixels, props, ds), min_confidence=min_confidence))
    return merge_findings(found)
