"""Pixels: the stored images read, windowed and rendered for the viewer, the editors, the lists and the exports.

The parsed datasets, the decoded frames and the frames of clips to draw on are
cached here, once per data directory (blobs are content-addressed, so an entry
never goes stale; :meth:`Pixels.forget` drops a deleted file's). The exports
render their pictures through this use case (it is their ``Renderer``).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import cv2
import numpy as np
import pydicom
from pydicom.dataset import Dataset

from casefiles.errors import NotFoundError, RenderError, ValidationError
from casefiles.imaging import (
    FrameCache,
    auto_window,
    default_window,
    encode_jpeg,
    encode_png,
    fit_within,
    modality_frame,
    presets_for,
    to_display,
)
from casefiles.model import Asset, AssetKind, Case, KeyImage, Window
from casefiles.store import CaseSummary
from casefiles.usecases._parts import stored_copy

if TYPE_CHECKING:
    from casefiles.annotations.measure import PixelSpacing
    from casefiles.imaging.stack import StackPayload

#: Frames of clips kept to draw black boxes on.
_CLIP_CANVASES_KEPT = 8


class PixelFiles(Protocol):
    """The reading part of the blob store (:class:`casefiles.store.BlobStore`)."""

    def get(self, digest: str) -> bytes: ...

    def exists(self, digest: str) -> bool: ...


class Pixels:
    """Rendering the images stored in ``files``, with the caches; key images for slides at most
    ``slide_side`` pixels on their longest side; clips are read from copies in ``quarantine_dir``."""

    def __init__(self, files: PixelFiles, *, quarantine_dir: Path, slide_side: int) -> None:
        self._files = files
        self._quarantine_dir = quarantine_dir
        self._slide_side = slide_side
        self.frames = FrameCache()
        self._datasets: dict[str, Dataset] = {}
        #: Guards the datasets and the clip canvases (sessions run in threads).
        self._datasets_lock = threading.Lock()
        #: Frames of clips to draw black boxes on, by (blob, size): two ffmpeg runs each, and the page asks
        #: again on every rerun while boxes are drawn. Blobs are content-addressed, so entries never go stale.
        self._clip_canvases: dict[tuple[str, int], tuple[bytes, int, int]] = {}

    def forget(self, blob: str) -> None:
        """Drop a deleted file's parsed dataset (a file stored again later is read afresh)."""
        with self._datasets_lock:
            self._datasets.pop(blob, None)

    def dataset(self, blob: str) -> Dataset:
        """The stored, de-identified dataset for an instance blob (parsed once per process)."""
        with self._datasets_lock:
            cached = self._datasets.get(blob)
        if cached is not None:
            return cached
        try:
            ds = pydicom.dcmread(io.BytesIO(self._files.get(blob)))
        except NotFoundError:
            raise
        except Exception as exc:
            raise RenderError("A stored image of this case cannot be read; it may be damaged.") from exc
        with self._datasets_lock:
            if len(self._datasets) > 4096:
                self._datasets.clear()
            self._datasets[blob] = ds
        return ds

    def series_showable(self, asset: Asset) -> bool:
        """Can the stack viewer open this series: a DICOM series whose first stored instance holds pixels?

        False for a series of non-image objects (an RT Plan, a report) stored by imports made before those
        were left out, and for one whose first file is missing or unreadable.
        """
        if asset.kind is not AssetKind.DICOM_SERIES or not asset.instances:
            return False
        try:
            ds = self.dataset(asset.instances[0].blob)
        except Exception:  # a missing or damaged file: the viewer could not open it either
            return False
        return any(tag in ds for tag in ("PixelData", "FloatPixelData", "DoubleFloatPixelData"))

    def asset_window(self, asset: Asset, frame: int = 0) -> Window | None:
        """The window to start with: the asset's default, else the image's own VOI, else an automatic one.

        An image stored without a window (many ultrasound scanners, secondary captures, some MR) gets
        one all the same, so the viewer can window it and offer its presets: the full range of the bits
        stored for display-ready 8-bit grey images (what the scanner sent, as on its screen), else the
        0.5–99.5 % range of the frame's values. None for colour images (windows apply to grey only)
        and for images whose own VOI is a lookup table (they are drawn with it).
        """
        if asset.default_window is not None:
            return asset.default_window
        if asset.kind is not AssetKind.DICOM_SERIES:
            return None
        instance, within = asset.locate_frame(frame)
        ds = self.dataset(instance.blob)
        own = default_window(ds, within)
        if own is not None:
            return own
        return self._automatic_window(ds, instance.blob, within)

    def _automatic_window(self, ds: Dataset, blob: str, within: int) -> Window | None:
        """A window for a grey image that carries none (see :meth:`asset_window`)."""
        photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2") or "MONOCHROME2").strip().upper()
        if not photometric.startswith("MONOCHROME") or _number(ds.get("SamplesPerPixel"), 1) > 1:
            return None
        if "VOILUTSequence" in ds:
            return None
        bits = _number(ds.get("BitsStored"), 0) or _number(ds.get("BitsAllocated"), 0)
        identity = (
            _number(ds.get("RescaleSlope"), 1) == 1
            and _number(ds.get("RescaleIntercept"), 0) == 0
            and "ModalityLUTSequence" not in ds
            and "SharedFunctionalGroupsSequence" not in ds
            and "PerFrameFunctionalGroupsSequence" not in ds
        )
        if 1 <= bits <= 8 and _number(ds.get("PixelRepresentation"), 0) == 0 and identity:
            levels = float(2**bits)
            return Window(center=levels / 2, width=levels)
        try:
            pixels = self.frames.get_or_compute(blob, within, lambda: modality_frame(ds, within))
            return auto_window(pixels)
        except (RenderError, ValidationError):
            return None

    def render_frame(self, asset: Asset, frame: int, window: Window | None) -> np.ndarray:
        """A display-ready uint8 image of one frame of a DICOM series."""
        if asset.kind is not AssetKind.DICOM_SERIES:
            raise RenderError("Only DICOM series can be windowed; this asset is a plain image.")
        instance, within = asset.locate_frame(frame)
        ds = self.dataset(instance.blob)
        pixels = self.frames.get_or_compute(instance.blob, within, lambda: modality_frame(ds, within))
        return to_display(ds, pixels, window)

    def render_frame_png(self, asset: Asset, frame: int, window: Window | None, max_side: int = 1024) -> bytes:
        image = fit_within(self.render_frame(asset, frame, window), max_side, max_side)
        return encode_png(image)

    def render_key_image(self, case: Case, key: KeyImage) -> bytes:
        """The key image as the presenter saw it (window and annotations), encoded for a slide.

        Every exporter takes its pictures from here, so a deck, a handout and
        the HTML show all carry the same burned-in annotations.
        """
        from casefiles.annotations.burn import burn_in

        asset = case.asset(key.asset_id)
        if asset.kind is AssetKind.DICOM_SERIES:
            window = key.window or self.asset_window(asset, key.frame)
            full = self.render_frame(asset, key.frame, window)
            image = fit_within(full, self._slide_side, self._slide_side)
            if key.annotations:
                image = burn_in(
                    image,
                    key.annotations,
                    spacing=self.key_image_spacing(case, key),
                    source_size=(full.shape[1], full.shape[0]),
                )
            return encode_png(image) if image.ndim == 2 else encode_jpeg(image, quality=92)
        if asset.blob is None:
            raise RenderError("This image has no stored file.")
        data = self._files.get(asset.blob)
        if not key.annotations:
            return data
        picture = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if picture is None:
            raise RenderError("This image cannot be read to draw its annotations on it.")
        rgb = np.asarray(cv2.cvtColor(picture, cv2.COLOR_BGR2RGB), dtype=np.uint8)
        return encode_jpeg(burn_in(rgb, key.annotations, spacing=None), quality=92)

    def stack_payload(self, asset: Asset, window: Window | None, *, max_side: int = 1024) -> StackPayload:
        """The whole series for the browser viewer, rendered with ``window`` (frames at most ``max_side``)."""
        from casefiles.imaging.stack import build_stack_payload, series_header

        if asset.kind is not AssetKind.DICOM_SERIES or not asset.instances:
            raise RenderError("Only DICOM series open in the stack viewer.")
        first = self.dataset(asset.instances[0].blob)

        def render(index: int) -> np.ndarray:
            return fit_within(self.render_frame(asset, index, window), max_side, max_side)

        return build_stack_payload(
            render,
            asset.frame_count,
            window=window,
            header=series_header(first),
            default_window=self.asset_window(asset),
            presets=presets_for(asset.modality),
        )

    def annotation_canvas(self, case: Case, key: KeyImage, *, max_side: int = 1024) -> tuple[bytes, int, int]:
        """What the annotation editor shows for a key image: a display image and the image's full width/height.

        Annotations are stored in full-resolution pixels whatever size is shown.
        """
        asset = case.asset(key.asset_id)
        if asset.kind is AssetKind.DICOM_SERIES:
            instance, _within = asset.locate_frame(key.frame)
            ds = self.dataset(instance.blob)
            window = key.window or self.asset_window(asset, key.frame)
            return self.render_frame_png(asset, key.frame, window, max_side), int(ds.Columns), int(ds.Rows)
        if asset.kind is AssetKind.VIDEO and asset.blob is not None:
            return self._clip_canvas(asset.blob, max_side)
        if asset.kind is not AssetKind.IMAGE or asset.blob is None:
            raise RenderError("Only images can be annotated.")
        picture = cv2.imdecode(np.frombuffer(self._files.get(asset.blob), np.uint8), cv2.IMREAD_COLOR)
        if picture is None:
            raise RenderError("This image cannot be read; it may be damaged.")
        height, width = picture.shape[:2]
        shown = fit_within(np.asarray(cv2.cvtColor(picture, cv2.COLOR_BGR2RGB), dtype=np.uint8), max_side, max_side)
        return encode_jpeg(shown, quality=90), int(width), int(height)

    def _clip_canvas(self, blob: str, max_side: int) -> tuple[bytes, int, int]:
        """A frame of a stored clip (its poster time) and the clip's picture size, to draw black boxes on."""
        from casefiles.media.video import poster_frame, probe_video

        known = self._clip_canvases.get((blob, max_side))
        if known is not None:
            return known
        with stored_copy(self._files, self._quarantine_dir, blob, "clip.mp4") as clip:
            info = probe_video(clip)
            frame = poster_frame(clip, workdir=clip.parent, max_side=min(max_side, max(info.width, info.height)))
        with self._datasets_lock:  # sessions run in threads
            if len(self._clip_canvases) >= _CLIP_CANVASES_KEPT:
                self._clip_canvases.pop(next(iter(self._clip_canvases)))
            self._clip_canvases[(blob, max_side)] = (frame, info.width, info.height)
        return frame, info.width, info.height

    def key_image_preview(self, case: Case, key: KeyImage, max_side: int = 256) -> bytes:
        """A small picture of a key image for lists (window applied; photos from their thumbnail)."""
        asset = case.asset(key.asset_id)
        if asset.kind is AssetKind.DICOM_SERIES:
            return self.render_frame_png(asset, key.frame, key.window or self.asset_window(asset), max_side)
        if asset.thumbnail and self._files.exists(asset.thumbnail):
            return self._files.get(asset.thumbnail)
        raise RenderError("This item has no picture to show.")

    def key_image_spacing(self, case: Case, key: KeyImage) -> PixelSpacing | None:
        """Pixel spacing (mm) of the key image's frame, for rulers; None for photos and unspaced images."""
        from casefiles.annotations.measure import pixel_spacing_of

        asset = case.asset(key.asset_id)
        if asset.kind is not AssetKind.DICOM_SERIES:
            return None
        instance, within = asset.locate_frame(key.frame)
        return pixel_spacing_of(self.dataset(instance.blob), within)

    def thumbnail(self, asset: Asset) -> bytes | None:
        if asset.thumbnail is None or not self._files.exists(asset.thumbnail):
            return None
        return self._files.get(asset.thumbnail)

    def previews(self, asset: Asset) -> list[bytes]:
        """The stored picture of each PDF page or PowerPoint slide, in order (empty when none were made)."""
        if not all(self._files.exists(blob) for blob in asset.previews):
            return []  # pictures must line up with slide numbers, or not be shown
        return [self._files.get(blob) for blob in asset.previews]

    def summary_thumbnail(self, summary: CaseSummary) -> bytes | None:
        """A listed case's picture, without opening the case (None when it has none, or it is missing)."""
        if summary.thumbnail is None or not self._files.exists(summary.thumbnail):
            return None
        return self._files.get(summary.thumbnail)

    def case_thumbnail(self, case: Case) -> bytes | None:
        """The first key image's series thumbnail, else the first series' one."""
        ordered = [case.asset(k.asset_id) for k in case.key_images[:1]] + list(case.assets)
        for asset in ordered:
            thumb = self.thumbnail(asset)
            if thumb is not None:
                return thumb
        return None


def _number(value: object, default: float) -> float:
    """A header's number (the first of several), or ``default`` when it is absent or not a number."""
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        value = value[0] if value else None
    if not isinstance(value, int | float | str):
        return default
    try:
        return float(value)
    except ValueError:
        return default
