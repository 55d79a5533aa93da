"""Export one teaching case as a 16:9 PowerPoint deck for a darkened conference room.

The deck is title, clinical history, one slide per key image (findings in the
speaker notes), then diagnosis, differential and teaching points. Given the
case's media source, the video clips follow the key images (they play in
PowerPoint) and the chosen slides of the case's own PowerPoints are carried in
natively, before the diagnosis. Long text shrinks within readable limits and
then continues on further slides.

The file is written beside ``out`` under a generic temporary name and renamed
into place only when complete, so a failure or a cancel never leaves a partial
deck. Nothing but the case's own text, the key images' pixels and the case's
scrubbed media goes into it: image and clip metadata is stripped and document
properties are set explicitly.
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
from exporters.bundle import MediaSource
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
    media: MediaSource | None = None,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> Path:
    """Write ``case`` as a .pptx deck to ``out`` and return the path written.

    Built by the conference exporter's machinery as a one-case deck: the case's
    own title slide instead of a conference title, agenda and dividers, and
    every key image (from ``images``) on a slide of its own. With ``media`` the
    deck also gets the case's video clips and its PowerPoints' chosen slides,
    and scale bars where the pixel spacing is known; without it, key images
    only. Progress is reported once per slide and once when the file is saved.
    Raises Cancelled (nothing written) when ``cancel`` is set between slides,
    and ExportError when the deck cannot be built or saved.
    """
    if not isinstance(case, Case):
        raise ExportError(f"A deck can only be made from a case, not from {type(case).__name__}.")
    if not callable(images):
        raise ExportError("The key-image source given to the PowerPoint export cannot be called.")
    if media is not None and not all(callable(getattr(media, name, None)) for name in _MEDIA_METHODS):
        raise ExportError("The media source given to the PowerPoint export cannot provide clips and slides.")
    target = check_target(out)
    with_media = media is not None
    section = Section("Case", plan_deck(case, videos=with_media, carried=with_media))
    return build_deck(
        [(section, case)],
        _KeyImagesOnly(images) if media is None else _CaseMedia(images, media),
        target,
        title=case.title,
        template=None,
        progress=progress,
        cancel=cancel,
        with_sections=False,
    )


_MEDIA_METHODS = ("pixel_spacing_mm", "stack_video", "stack_poster", "asset_file", "asset_previews")


class _CaseMedia:
    """The case's media source, with the key images from the caller's image source (the one the deck promises)."""

    def __init__(self, images: SlideImageSource, media: MediaSource) -> None:
        self._images = images
        self._media = media

    def key_image(self, case: Case, key: KeyImage, /) -> bytes:
        return self._images(key)

    def pixel_spacing_mm(self, case: Case, key: KeyImage, /) -> float | None:
        return self._media.pixel_spacing_mm(case, key)

    def stack_frames(
        self, case: Case, asset: Asset, window: Window | None, /, *, max_frames: int = 300, max_side: int = 768
    ) -> Sequence[bytes]:
        return self._media.stack_frames(case, asset, window, max_frames=max_frames, max_side=max_side)

    def stack_video(self, case: Case, asset: Asset, window: Window | None, /) -> bytes:
        return self._media.stack_video(case, asset, window)

    def stack_poster(self, case: Case, asset: Asset, window: Window | None, /) -> bytes:
        return self._media.stack_poster(case, asset, window)

    def dicom_instances(self, case: Case, asset: Asset, /) -> Iterator[tuple[Instance, bytes]]:
        raise ExportError("A single-case deck has no DICOM files.")

    def asset_file(self, case: Case, asset: Asset, /) -> bytes:
        return self._media.asset_file(case, asset)

    def asset_previews(self, case: Case, asset: Asset, /) -> Sequence[bytes]:
        return self._media.asset_previews(case, asset)


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
