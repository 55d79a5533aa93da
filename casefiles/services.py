"""Use cases that the Streamlit pages and the CLI both call.

One :class:`Services` object per data directory per process. It wires the
store, the blob store, the de-identifier and the frame cache together; pages
never touch those directly.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from casefiles.config import Settings, settings_from_env
from casefiles.deid import TEACHING_FILE, Deidentifier, load_or_create_secret
from casefiles.errors import NotFoundError, RenderError, ValidationError
from casefiles.imaging import (
    FrameCache,
    default_window,
    encode_jpeg,
    encode_png,
    fit_within,
    modality_frame,
    to_display,
)
from casefiles.ingest import ImportReport, Upload, import_sources, wipe_quarantine
from casefiles.logsafety import silence_value_logging
from casefiles.model import Asset, AssetKind, Case, Difficulty, KeyImage, Window
from casefiles.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from casefiles.store import BlobStore, CaseStore
from casefiles.store.blobs import LocalBlobStore
from casefiles.store.tinydb_store import open_tinydb_store

#: Longest side of a key image as placed on a slide (1080p projectors; 4k is wasted on them).
SLIDE_IMAGE_MAX = 1920

EDITABLE_FIELDS = frozenset(
    {
        "title",
        "history",
        "findings",
        "diagnosis",
        "differential",
        "teaching_points",
        "tags",
        "modality",
        "body_part",
        "difficulty",
        "author",
    }
)


@dataclass(frozen=True, slots=True)
class CaseFilter:
    """What the library page filters by; empty fields match everything."""

    text: str = ""
    modality: str = ""
    tag: str = ""

    def matches(self, case: Case) -> bool:
        if self.modality and self.modality.upper() not in case.modality.upper().split("/"):
            return False
        if self.tag and self.tag.strip().lower() not in case.tags:
            return False
        if self.text:
            haystack = " ".join(
                (
                    case.title,
                    case.history,
                    case.findings,
                    case.diagnosis,
                    " ".join(case.differential),
                    " ".join(case.teaching_points),
                    " ".join(case.tags),
                    case.body_part,
                )
            ).lower()
            return all(word in haystack for word in self.text.lower().split())
        return True


class Services:
    """The application's use cases over one data directory."""

    def __init__(
        self,
        settings: Settings,
        *,
        store: CaseStore | None = None,
        blobs: BlobStore | None = None,
        deidentifier: Deidentifier | None = None,
    ) -> None:
        silence_value_logging()
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.store: CaseStore = store or open_tinydb_store(settings.db_path)
        self.blobs: BlobStore = blobs or LocalBlobStore(settings.blob_dir)
        self.deidentifier = deidentifier or Deidentifier(load_or_create_secret(settings.secret_path), TEACHING_FILE)
        settings.quarantine_dir.mkdir(parents=True, exist_ok=True)
        wipe_quarantine(settings.quarantine_dir)
        self.frames = FrameCache()
        self._datasets: dict[str, Dataset] = {}
        self._datasets_lock = threading.Lock()

    # -- import -------------------------------------------------------------------
    def import_dicom(
        self,
        sources: Sequence[Path | Upload],
        *,
        title: str | None = None,
        author: str = "",
        progress: ProgressFn = no_progress,
        cancel: CancelToken = NEVER_CANCELLED,
    ) -> ImportReport:
        """De-identify and import files, folders, zips, DICOMDIRs or uploads."""
        if not sources:
            raise ValidationError("Choose at least one file, zip or folder to import.")
        return import_sources(
            sources,
            store=self.store,
            blobs=self.blobs,
            deidentifier=self.deidentifier,
            quarantine_dir=self.settings.quarantine_dir,
            progress=progress,
            cancel=cancel,
            title=title,
            author=author,
        )

    # -- library ------------------------------------------------------------------
    def list_cases(self, case_filter: CaseFilter | None = None) -> list[Case]:
        cases = self.store.list_cases()
        if case_filter is None:
            return cases
        return [c for c in cases if case_filter.matches(c)]

    def library_facets(self) -> tuple[list[str], list[str]]:
        """All modalities and tags in the library, for the filter pickers."""
        modalities: set[str] = set()
        tags: set[str] = set()
        for case in self.store.list_cases():
            modalities.update(m for m in case.modality.split("/") if m)
            tags.update(case.tags)
        return sorted(modalities), sorted(tags)

    def get_case(self, case_id: str) -> Case:
        return self.store.get_case(case_id)

    def update_case(self, case_id: str, changes: Mapping[str, Any]) -> Case:
        """Apply edits from the case form; unknown fields are refused, not ignored."""
        unknown = set(changes) - EDITABLE_FIELDS
        if unknown:
            raise ValidationError(f"These case fields cannot be edited: {', '.join(sorted(unknown))}.")
        normalised = dict(changes)
        for name in ("differential", "teaching_points", "tags"):
            if name in normalised:
                normalised[name] = _as_text_list(normalised[name], split_commas=name == "tags")
        if "difficulty" in normalised and not isinstance(normalised["difficulty"], Difficulty):
            try:
                normalised["difficulty"] = Difficulty(normalised["difficulty"])
            except ValueError as exc:
                raise ValidationError("Difficulty must be introductory, intermediate or advanced.") from exc
        case = self.store.get_case(case_id).edited(**normalised)
        self.store.save_case(case)
        return case

    def set_key_images(self, case_id: str, key_images: Iterable[KeyImage]) -> Case:
        case = self.store.get_case(case_id).edited(key_images=tuple(key_images))
        self.store.save_case(case)
        return case

    def toggle_key_image(self, case_id: str, asset_id: str, frame: int, window: Window | None) -> Case:
        """Mark a frame as key image (with its window), or unmark it if it already is one."""
        case = self.store.get_case(case_id)
        kept = tuple(k for k in case.key_images if not (k.asset_id == asset_id and k.frame == frame))
        if len(kept) == len(case.key_images):
            kept = (*case.key_images, KeyImage(asset_id=asset_id, frame=frame, window=window))
        return self.set_key_images(case_id, kept)

    def delete_case(self, case_id: str) -> None:
        self.store.delete_case(case_id)

    # -- pixels -------------------------------------------------------------------
    def dataset(self, blob: str) -> Dataset:
        """The stored, de-identified dataset for an instance blob (parsed once per process)."""
        with self._datasets_lock:
            cached = self._datasets.get(blob)
        if cached is not None:
            return cached
        try:
            ds = pydicom.dcmread(io.BytesIO(self.blobs.get(blob)))
        except NotFoundError:
            raise
        except Exception as exc:
            raise RenderError("A stored image of this case cannot be read; it may be damaged.") from exc
        with self._datasets_lock:
            if len(self._datasets) > 4096:
                self._datasets.clear()
            self._datasets[blob] = ds
        return ds

    def asset_window(self, asset: Asset, frame: int = 0) -> Window | None:
        """The window to start with: the asset's default, else the image's own VOI."""
        if asset.default_window is not None:
            return asset.default_window
        if asset.kind is not AssetKind.DICOM_SERIES:
            return None
        instance, within = asset.locate_frame(frame)
        return default_window(self.dataset(instance.blob), within)

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
        """The key image as the presenter saw it, encoded for a slide (JPEG for photos, PNG for gray)."""
        asset = case.asset(key.asset_id)
        if asset.kind is AssetKind.DICOM_SERIES:
            window = key.window or self.asset_window(asset, key.frame)
            image = fit_within(self.render_frame(asset, key.frame, window), SLIDE_IMAGE_MAX, SLIDE_IMAGE_MAX)
            return encode_png(image) if image.ndim == 2 else encode_jpeg(image, quality=92)
        if asset.blob is None:
            raise RenderError("This image has no stored file.")
        return self.blobs.get(asset.blob)

    def thumbnail(self, asset: Asset) -> bytes | None:
        if asset.thumbnail is None or not self.blobs.exists(asset.thumbnail):
            return None
        return self.blobs.get(asset.thumbnail)

    def case_thumbnail(self, case: Case) -> bytes | None:
        """The first key image's series thumbnail, else the first series' one."""
        ordered = [case.asset(k.asset_id) for k in case.key_images[:1]] + list(case.assets)
        for asset in ordered:
            thumb = self.thumbnail(asset)
            if thumb is not None:
                return thumb
        return None

    # -- export -------------------------------------------------------------------
    def export_case_pptx(
        self,
        case_id: str,
        out: Path,
        *,
        progress: ProgressFn = no_progress,
        cancel: CancelToken = NEVER_CANCELLED,
    ) -> Path:
        from exporters import export_case_pptx

        case = self.store.get_case(case_id)
        return export_case_pptx(
            case,
            lambda key: self.render_key_image(case, key),
            Path(out),
            progress=progress,
            cancel=cancel,
        )


def _as_text_list(value: object, *, split_commas: bool) -> tuple[str, ...]:
    """Accept a list, or text with one item per line (and commas for tags)."""
    if isinstance(value, str):
        parts = value.replace(",", "\n").splitlines() if split_commas else value.splitlines()
        return tuple(p.strip() for p in parts if p.strip())
    if isinstance(value, Iterable):
        return tuple(str(v).strip() for v in value if str(v).strip())
    raise ValidationError("Expected a list of texts, one per line.")


_services: dict[Path, Services] = {}
_services_lock = threading.Lock()


def open_services(settings: Settings | None = None) -> Services:
    """The process-wide :class:`Services` for a data directory (default: ``CASEDECK_DATA``)."""
    settings = settings or settings_from_env()
    with _services_lock:
        existing = _services.get(settings.data_dir)
        if existing is None:
            existing = Services(settings)
            _services[settings.data_dir] = existing
        return existing
