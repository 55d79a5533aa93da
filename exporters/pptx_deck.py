"""Export one teaching case as a 16:9 PowerPoint deck for a darkened conference room.

The deck is title, clinical history, one slide per key image (findings in the
speaker notes), then diagnosis, differential and teaching points. Long text
shrinks within readable limits and then continues on further slides.

The file is written beside ``out`` under a generic temporary name and renamed
into place only when complete, so a failure or a cancel never leaves a partial
deck. Nothing but the case's own text and the key images' pixels goes into it:
image metadata is stripped and document properties are set explicitly.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from pathlib import Path
from typing import Protocol

from pptx.presentation import Presentation

from casefiles.errors import Cancelled, CaseDeckError, ExportError
from casefiles.model import Case, KeyImage
from casefiles.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from exporters import _theme as theme
from exporters._deck_plan import ImageSlide, SlideSpec, TextSlide, TitleSlide, plan_deck
from exporters._image_clean import CleanImage, clean_image
from exporters._pptx_draw import Unavailable, draw_image, draw_text, draw_title
from exporters._pptx_package import new_presentation, save_presentation, set_metadata

__all__ = ["SlideImageSource", "export_case_pptx"]

logger = logging.getLogger(__name__)

_FILE_MODE = 0o644


class SlideImageSource(Protocol):
    """Gives the encoded PNG or JPEG of a key image as the presenter saw it (window applied).

    Up to about 1920 px on the long side is plenty for a projector. Any
    metadata in the bytes is discarded; an exception gives an "image
    unavailable" slide rather than a failed export. The key image is passed
    positionally, so any ``Callable[[KeyImage], bytes]`` will do.
    """

    def __call__(self, key: KeyImage, /) -> bytes: ...


def export_case_pptx(
    case: Case,
    images: SlideImageSource,
    out: Path,
    *,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> Path:
    """Write ``case`` as a .pptx deck to ``out`` and return the path written.

    Progress is reported once per slide and once when the file is saved.
    Raises Cancelled (nothing written) when ``cancel`` is set between slides,
    and ExportError when the deck cannot be built or saved.
    """
    if not isinstance(case, Case):
        raise ExportError(f"A deck can only be made from a case, not from {type(case).__name__}.")
    if not callable(images):
        raise ExportError("The key-image source given to the PowerPoint export cannot be called.")
    target = _check_target(out)
    plan = plan_deck(case)
    total = len(plan) + 1
    prs = new_presentation()
    prs.slide_width = theme.SLIDE_WIDTH
    prs.slide_height = theme.SLIDE_HEIGHT
    for number, spec in enumerate(plan, 1):
        cancel.raise_if_cancelled()
        _draw(prs, spec, images, number)
        progress(number, total, f"Built slide {number} of {len(plan)}")
    cancel.raise_if_cancelled()
    try:
        set_metadata(prs, title=case.title)
    except Exception as exc:
        raise ExportError("The deck could not be finished (its document properties could not be set).") from exc
    _write_atomically(prs, target)
    progress(total, total, "Deck saved")
    return target


def _check_target(out: Path) -> Path:
    if not isinstance(out, str | os.PathLike):
        raise ExportError("The deck's destination must be a file path.")
    target = Path(out)
    if target.suffix.lower() != ".pptx":
        raise ExportError("A PowerPoint deck must be saved with the .pptx extension.")
    if target.is_dir():
        raise ExportError("The deck's destination is a folder; choose a file name ending in .pptx.")
    if not target.parent.is_dir():
        raise ExportError("The folder chosen for the deck does not exist.")
    return target


def _draw(prs: Presentation, spec: SlideSpec, images: SlideImageSource, number: int) -> None:
    try:
        if isinstance(spec, TitleSlide):
            draw_title(prs, spec)
        elif isinstance(spec, TextSlide):
            draw_text(prs, spec)
        else:
            draw_image(prs, spec, _fetch(images, spec, number))
    except (Cancelled, ExportError):
        raise
    except Exception as exc:
        raise ExportError(f"Slide {number} of the deck could not be built ({type(exc).__name__}).") from exc


def _fetch(images: SlideImageSource, spec: ImageSlide, number: int) -> CleanImage | Unavailable:
    """The key image, cleaned; or why it is unavailable (never the source's own message: it may hold PHI)."""
    try:
        data = images(spec.key)
    except Cancelled:
        raise
    except Exception as exc:
        logger.warning("Key image for slide %d could not be produced (%s).", number, type(exc).__name__)
        return Unavailable("the image could not be produced from the stored series.")
    try:
        return clean_image(data)
    except CaseDeckError as exc:
        logger.warning("Key image for slide %d is not a readable PNG or JPEG (%s).", number, type(exc).__name__)
        return Unavailable("the image data was not a readable PNG or JPEG.")


def _write_atomically(prs: Presentation, target: Path) -> None:
    """Save to a hidden temporary file beside ``target``, then rename it into place."""
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=".casedeck-", suffix=".pptx.part", dir=target.parent)
    except OSError as exc:
        raise ExportError(f"The deck could not be saved in the chosen folder: {_reason(exc)}.") from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            save_presentation(prs, fh)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.chmod(_FILE_MODE)
        tmp.replace(target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError):
            raise ExportError(f"The deck could not be saved: {_reason(exc)}.") from exc
        if isinstance(exc, Exception) and not isinstance(exc, CaseDeckError):
            raise ExportError(f"The deck could not be saved ({type(exc).__name__}).") from exc
        raise


def _reason(exc: OSError) -> str:
    """The operating system's reason without the path (paths may name a patient)."""
    return (exc.strerror or "the disk refused the write").lower()
