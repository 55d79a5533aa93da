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

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol

from casefiles.errors import ExportError
from casefiles.model import Asset, Case, Instance, KeyImage, Window
from casefiles.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from exporters._conference_plan import Section
from exporters._deck_plan import plan_deck
from exporters._pptx_package import check_target
from exporters.pptx_conference import build_deck

__all__ = ["SlideImageSource", "export_case_pptx"]


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

    Built by the conference exporter's machinery as a one-case deck: the case's
    own title slide instead of a conference title, agenda and dividers, and
    every key image on a slide of its own. Progress is reported once per slide
    and once when the file is saved. Raises Cancelled (nothing written) when
    ``cancel`` is set between slides, and ExportError when the deck cannot be
    built or saved.
    """
    if not isinstance(case, Case):
        raise ExportError(f"A deck can only be made from a case, not from {type(case).__name__}.")
    if not callable(images):
        raise ExportError("The key-image source given to the PowerPoint export cannot be called.")
    target = check_target(out)
    section = Section("Case", plan_deck(case))
    return build_deck(
        [(section, case)],
        _KeyImagesOnly(images),
        target,
        title=case.title,
        template=None,
        progress=progress,
        cancel=cancel,
        with_sections=False,
    )


class _KeyImagesOnly:
    """A media source that only knows key images (a single-case deck shows nothing else)."""

    def __init__(self, images: SlideImageSource) -> None:
        self._images = images

    def key_image(self, case: Case, key: KeyImage, /) -> bytes:
        return self._images(key)

    def pixel_spacing_mm(self, case: Case, key: KeyImage, /) -> float | None:
        return None

    def stack_frames(
        self, case: Case, asset: Asset, window: Window | None, /, *, max_frames: int = 300, max_side: int = 768
    ) -> Sequence[bytes]:
        raise ExportError("A single-case deck has no stack clips.")

    def stack_video(self, case: Case, asset: Asset, window: Window | None, /) -> bytes:
        raise ExportError("A single-case deck has no stack clips.")

    def stack_poster(self, case: Case, asset: Asset, window: Window | None, /) -> bytes:
        raise ExportError("A single-case deck has no stack clips.")

    def dicom_instances(self, case: Case, asset: Asset, /) -> Iterator[tuple[Instance, bytes]]:
        raise ExportError("A single-case deck has no DICOM files.")

    def asset_file(self, case: Case, asset: Asset, /) -> bytes:
        raise ExportError("A single-case deck carries no slides from other decks.")

    def asset_previews(self, case: Case, asset: Asset, /) -> Sequence[bytes]:
        return ()
