"""Use cases that the Streamlit pages and the CLI both call.

One :class:`Services` object per data directory per process. It builds the
store, the blob store, the de-identifier and the use cases of
:mod:`casefiles.usecases` over them (library, case editing, media, pixels,
review, housekeeping, conferences, export), all sharing one edit lock, and its
methods delegate to them; pages never touch those directly.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydicom.dataset import Dataset

from casefiles.config import Settings, settings_from_env
from casefiles.deid import TEACHING_FILE, Deidentifier, load_or_create_secret
from casefiles.errors import NotFoundError, ValidationError
from casefiles.ingest import ImportReport, Upload, import_sources, wipe_quarantine
from casefiles.logsafety import silence_value_logging
from casefiles.model import (
    Asset,
    Case,
    CasePlan,
    Conference,
    ConferenceKind,
    Instance,
    KeyImage,
    Region,
    Review,
    Window,
)
from casefiles.package_import import PackageImportResult
from casefiles.pacs.nodes import PacsNode
from casefiles.pacs.retrieval import PullReport
from casefiles.pacs_service import PacsService
from casefiles.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from casefiles.recheck import RecheckReport
from casefiles.release import Blocker
from casefiles.review_area import ReviewArea
from casefiles.search import SearchQuery, SearchResults
from casefiles.search.usecase import CaseSearch
from casefiles.store import BlobStore, CaseQuery, CaseStore, CaseSummary
from casefiles.store.blobs import LocalBlobStore
from casefiles.store.opening import open_store
from casefiles.usecases.case_editing import EDITABLE_FIELDS, STALE_EDIT_MESSAGE, CaseEdits, key_image_at  # noqa: F401 (pages, tests)
from casefiles.usecases.conferences import (
    STALE_CONFERENCE_MESSAGE,  # noqa: F401 (pages, tests)
    Conferences,
)
from casefiles.usecases.export import (  # noqa: F401 (the constants: pages, tests)
    EXPORT_FORMATS,
    SLIDE_IMAGE_MAX,
    STACK_CLIP_FPS,
    WAY_OUT_NAMES,
    Exports,
    RunningExport,
    RunningExports,
    StoreMedia,
)
from casefiles.usecases.housekeeping import CaseDeletion, Housekeeping
from casefiles.usecases.library import Library
from casefiles.usecases.media import MediaItems
from casefiles.usecases.pixels import Pixels
from casefiles.usecases.review import BurnedInReview
from casefiles.visibility import Sharing
from exporters.bundle import ConferenceBundle

if TYPE_CHECKING:
    from casefiles.annotations.measure import PixelSpacing
    from casefiles.annotations.model import Annotation
    from casefiles.imaging.stack import StackPayload
    from casefiles.media.video import VideoInfo
    from casefiles.media_import import MediaImportReport

#: Longest side of a key image as placed on a slide (1080p projectors; 4k is wasted on them).


#: What the library page filters by (text, modality, tag; empty fields match everything): the
#: store's own query, so the filtering happens inside the store.
CaseFilter = CaseQuery


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
        self.store: CaseStore = store or open_store(settings)
        self.blobs: BlobStore = blobs or LocalBlobStore(settings.blob_dir)
        secret = load_or_create_secret(settings.secret_path)
        self.deidentifier = deidentifier or Deidentifier(secret, TEACHING_FILE)
        #: Originals of images held for burned-in text review: encrypted, outside the store, never exported.
        self.review_area = ReviewArea.for_settings(settings, secret)
        self.review_area.purge_expired()
        settings.quarantine_dir.mkdir(parents=True, exist_ok=True)
        wipe_quarantine(settings.quarantine_dir)
        #: Held from reading a case to saving it by the edits that check what their editor loaded (two tabs).
        self._edit_lock = threading.RLock()
        #: Exports being written, and files no case uses any more whose deletion waits for them: a case
        #: in an export is not deleted, and a file an export reads is not deleted under it.
        self._running = RunningExports(self._edit_lock)
        # The use cases, each over the narrow part of the above it needs (this is the composition root;
        # open_services() keeps one per data directory). The methods below delegate to them.
        self.library = Library(self.store)
        self.case_edits = CaseEdits(self.store, edit_lock=self._edit_lock)
        self.conferences = Conferences(
            self.store, edit_lock=self._edit_lock, refuse_while_exported=self._running.refuse_while_exported
        )
        self.media_items = MediaItems(self.store, self.blobs, self.case_edits, quarantine_dir=settings.quarantine_dir)
        #: The stored images rendered, with the caches (the exports' pictures too).
        self.pixels = Pixels(self.blobs, quarantine_dir=settings.quarantine_dir, slide_side=SLIDE_IMAGE_MAX)
        self.frames = self.pixels.frames
        self.housekeeping = Housekeeping(
            self.store,
            self.blobs,
            self.review_area,
            self._running,
            edit_lock=self._edit_lock,
            forget_cached=self.pixels.forget,
        )
        self.review = BurnedInReview(
            self.store,
            self.blobs,
            self.case_edits,
            self.pixels,
            review_area=self.review_area,
            clips=self.media_items,
            drop_unused=self._drop_unused,
        )
        self.exports = Exports(
            self.store, self.pixels, self.blobs, self._running, edit_lock=self._edit_lock, drop_unused=self._drop_unused
        )

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
            review_area=self.review_area,
        )

    def import_package(
        self,
        path: Path,
        *,
        progress: ProgressFn = no_progress,
        cancel: CancelToken = NEVER_CANCELLED,
    ) -> PackageImportResult:
        """Recreate the cases and conference of a CaseDeck teaching-file package (re-de-identified)."""
        from casefiles.package_import import import_package

        return import_package(
            Path(path),
            store=self.store,
            blobs=self.blobs,
            deidentifier=self.deidentifier,
            quarantine_dir=self.settings.quarantine_dir,
            progress=progress,
            cancel=cancel,
            review_area=self.review_area,
        )

    # -- mixed media ----------------------------------------------------------------
    def import_media(
        self,
        case_id: str,
        sources: Sequence[Path | Upload],
        *,
        progress: ProgressFn = no_progress,
        cancel: CancelToken = NEVER_CANCELLED,
        keep_notes: bool = False,
    ) -> MediaImportReport:
        """Add photos, pathology images, videos, PDFs and PowerPoint decks to a case, scrubbed of metadata."""
        return self.media_items.import_media(case_id, sources, progress=progress, cancel=cancel, keep_notes=keep_notes)

    def add_pdf_pages(self, case_id: str, asset_id: str, pages: Sequence[int], *, loaded: Case | None = None) -> Case:
        """Chosen pages (0-based) of a case's PDF, added as images (see :meth:`MediaItems.add_pdf_pages`)."""
        return self.media_items.add_pdf_pages(case_id, asset_id, pages, loaded=loaded)

    def move_asset(self, case_id: str, asset_id: str, offset: int, *, loaded: Case | None = None) -> Case:
        """Move an asset up (-1) or down (+1) in the case's order; with ``loaded``, refused if it changed since."""
        return self.media_items.move_asset(case_id, asset_id, offset, loaded=loaded)

    def video_info(self, case: Case, asset_id: str) -> VideoInfo:
        """Duration, size and audio of a case's video clip (for the trim controls)."""
        return self.media_items.video_info(case, asset_id)

    def edit_video(
        self,
        case_id: str,
        asset_id: str,
        *,
        start_s: float | None = None,
        end_s: float | None = None,
        mute: bool = False,
        poster_s: float | None = None,
        cancel: CancelToken = NEVER_CANCELLED,
        loaded: Case | None = None,
    ) -> Case:
        """Trim, mute and re-poster a clip, replacing the stored one (see :meth:`MediaItems.edit_video`)."""
        return self.media_items.edit_video(
            case_id,
            asset_id,
            start_s=start_s,
            end_s=end_s,
            mute=mute,
            poster_s=poster_s,
            cancel=cancel,
            loaded=loaded,
        )

    def slide_titles(self, case: Case, asset_id: str) -> tuple[str, ...]:
        """The titles of a case's PowerPoint slides, in order (to choose which go into the deck)."""
        return self.media_items.slide_titles(case, asset_id)

    def choose_slides(self, case_id: str, asset_id: str, chosen: Sequence[int], *, loaded: Case | None = None) -> Case:
        """Which slides of a case's PowerPoint go into the deck (0-based, in order); empty means all."""
        return self.media_items.choose_slides(case_id, asset_id, chosen, loaded=loaded)

    def set_asset_caption(self, case_id: str, asset_id: str, caption: str, *, loaded: Case | None = None) -> Case:
        """Caption an item of the case; with ``loaded``, refused if its caption changed since."""
        return self.media_items.set_caption(case_id, asset_id, caption, loaded=loaded)

    def media_for_review(self, case: Case) -> list[Asset]:
        """Clips no one has yet checked for burned-in names (DICOM video: its frames were never searched)."""
        return self.media_items.for_review(case)

    def confirm_media_reviewed(self, case_id: str, asset_id: str, *, loaded: Case | None = None) -> Case:
        """A person watched the clip (or looked at the picture) and found no identifying text left."""
        return self.media_items.confirm_reviewed(case_id, asset_id, loaded=loaded)

    # -- PACS ---------------------------------------------------------------------
    @property
    def pacs(self) -> PacsService:
        """Nodes, query, retrieve into cases and push, shared by the From PACS page and the CLI."""
        return PacsService(self)

    def pacs_nodes(self) -> list[PacsNode]:
        return self.pacs.nodes()

    def save_pacs_node(self, node: PacsNode) -> None:
        self.pacs.save_node(node)

    def pacs_node(self, name: str) -> PacsNode:
        return self.pacs.node(name)

    def pull_from_pacs(
        self,
        node_name: str,
        accessions: Sequence[str],
        *,
        conference_title: str | None = None,
        progress: ProgressFn = no_progress,
        cancel: CancelToken = NEVER_CANCELLED,
    ) -> tuple[PullReport, Conference | None]:
        """Retrieve every study of these accession numbers, de-identified, optionally into a conference."""
        return self.pacs.pull_accessions(
            node_name, accessions, conference_title=conference_title, progress=progress, cancel=cancel
        )

    # -- library ------------------------------------------------------------------
    def case_summaries(self, query: CaseQuery | None = None) -> list[CaseSummary]:
        """Cases for lists and pickers, newest first, without their image records (fast at any size)."""
        return self.library.summaries(query)

    def count_cases(self, query: CaseQuery | None = None) -> int:
        return self.library.count(query)

    def search(self, query: SearchQuery) -> SearchResults:
        """Ranked search with filters and facet counts, done inside the store (see :mod:`casefiles.search`)."""
        return CaseSearch(self.store).search(query)

    def list_cases(self, case_filter: CaseQuery | None = None) -> list[Case]:
        """The matching cases in full, newest first: for a page of them; lists use :meth:`case_summaries`."""
        return self.library.cases(case_filter)

    def library_facets(self) -> tuple[list[str], list[str]]:
        """All modalities and tags in the library, for the filter pickers."""
        return self.library.facets()

    def get_case(self, case_id: str) -> Case:
        return self.library.get(case_id)

    def update_case(self, case_id: str, changes: Mapping[str, Any], *, loaded: Case | None = None) -> Case:
        """Apply edits from the case form (see :meth:`CaseEdits.update`)."""
        return self.case_edits.update(case_id, changes, loaded=loaded)

    def set_case_sharing(self, case_id: str, sharing: Sharing) -> Case:
        """Set who owns the case and who else sees it (casefiles.visibility); the guard decides who may."""
        with self._edit_lock:
            return self.store.update_case(case_id, lambda c: c.edited(sharing=sharing))

    def set_conference_sharing(self, conference_id: str, sharing: Sharing) -> Conference:
        """Set who owns the conference and who else sees it."""
        with self._edit_lock:
            return self.store.update_conference(conference_id, lambda c: c.edited(sharing=sharing))

    def set_key_images(self, case_id: str, key_images: Iterable[KeyImage], *, loaded: Case | None = None) -> Case:
        """Replace the case's key images; with ``loaded``, refused if the stored ones changed since."""
        return self.case_edits.set_key_images(case_id, key_images, loaded=loaded)

    def toggle_key_image(
        self, case_id: str, asset_id: str, frame: int, window: Window | None, *, loaded: Case | None = None
    ) -> Case:
        """Mark a frame as key image (with its window), or unmark it if it already is one."""
        return self.case_edits.toggle_key_image(case_id, asset_id, frame, window, loaded=loaded)

    def _checked(self, case_id: str, loaded: Case | None, aspect: Callable[[Case], object]) -> Case:
        """The stored case, if an edit made on ``loaded`` may be saved on it (call with ``_edit_lock`` held)."""
        return self.case_edits.checked(case_id, loaded, aspect)

    def _save_edit(self, stored: Case, **changes: Any) -> Case:
        """Save ``stored`` with ``changes``, its version strictly newer than the one it replaces."""
        return self.case_edits.save(stored, **changes)

    # -- housekeeping ---------------------------------------------------------------
    def case_deletion(self, case_id: str) -> CaseDeletion:
        """What deleting this case would remove, for the confirmation (nothing is changed)."""
        return self.housekeeping.deletion(case_id)

    def delete_case(self, case_id: str) -> CaseDeletion:
        """Delete a case, its held originals and its unused files (see :meth:`Housekeeping.delete`).

        Refused (:class:`BusyError`, nothing deleted) while an export holding the case is being written.
        """
        return self.housekeeping.delete(case_id)

    def running_exports(self) -> tuple[RunningExport, ...]:
        """The exports being written in this process now."""
        return self._running.running()

    def _refuse_while_exported(self, target_id: str, refused: str) -> None:
        """Raise :class:`BusyError` if an export holds this case or conference (call with ``_edit_lock`` held)."""
        self._running.refuse_while_exported(target_id, refused)

    def merge_cases(self, target_id: str, source_id: str) -> Case:
        """Move the assets and key images of ``source_id`` into ``target_id`` and delete the emptied case
        (see :meth:`Housekeeping.merge`)."""
        return self.housekeeping.merge(target_id, source_id)

    def _drop_unused(self, digests: Iterable[str | None]) -> None:
        """Delete the stored files no case refers to any more (once no running export reads them)."""
        self.housekeeping.drop_unused(digests)

    def recheck(
        self,
        case_ids: Sequence[str] | None = None,
        *,
        progress: ProgressFn = no_progress,
        cancel: CancelToken = NEVER_CANCELLED,
    ) -> RecheckReport:
        """Bring stored cases up to the current de-identification rules (every case when None)."""
        return self.housekeeping.recheck(case_ids, progress=progress, cancel=cancel)

    # -- pixels -------------------------------------------------------------------
    def dataset(self, blob: str) -> Dataset:
        """The stored, de-identified dataset for an instance blob (parsed once per process)."""
        return self.pixels.dataset(blob)

    def series_showable(self, asset: Asset) -> bool:
        """Can the stack viewer open this series: a DICOM series whose first stored instance holds pixels?"""
        return self.pixels.series_showable(asset)

    def asset_window(self, asset: Asset, frame: int = 0) -> Window | None:
        """The window to start with: the asset's default, else the image's own VOI, else an automatic one."""
        return self.pixels.asset_window(asset, frame)

    def render_frame(self, asset: Asset, frame: int, window: Window | None) -> np.ndarray:
        """A display-ready uint8 image of one frame of a DICOM series."""
        return self.pixels.render_frame(asset, frame, window)

    def render_frame_png(self, asset: Asset, frame: int, window: Window | None, max_side: int = 1024) -> bytes:
        return self.pixels.render_frame_png(asset, frame, window, max_side)

    def render_key_image(self, case: Case, key: KeyImage) -> bytes:
        """The key image as the presenter saw it (window and annotations), encoded for a slide."""
        return self.pixels.render_key_image(case, key)

    def stack_payload(self, asset: Asset, window: Window | None, *, max_side: int = 1024) -> StackPayload:
        """The whole series for the browser viewer, rendered with ``window`` (frames at most ``max_side``)."""
        return self.pixels.stack_payload(asset, window, max_side=max_side)

    def annotation_canvas(self, case: Case, key: KeyImage, *, max_side: int = 1024) -> tuple[bytes, int, int]:
        """What the annotation editor shows for a key image: a display image and the image's full width/height."""
        return self.pixels.annotation_canvas(case, key, max_side=max_side)

    def key_image_preview(self, case: Case, key: KeyImage, max_side: int = 256) -> bytes:
        """A small picture of a key image for lists (window applied; photos from their thumbnail)."""
        return self.pixels.key_image_preview(case, key, max_side)

    def key_image_spacing(self, case: Case, key: KeyImage) -> PixelSpacing | None:
        """Pixel spacing (mm) of the key image's frame, for rulers; None for photos and unspaced images."""
        return self.pixels.key_image_spacing(case, key)

    def annotate_key_image(
        self,
        case_id: str,
        asset_id: str,
        frame: int,
        annotations: Sequence[Annotation] | Sequence[Mapping[str, Any]],
        *,
        window: Window | None = None,
        loaded: Case | None = None,
    ) -> Case:
        """Replace one key image's annotations (objects or editor JSON) and, if given, its window.

        With ``loaded`` (the case the drawing was made on), refused if that key image changed since.
        """
        from casefiles.annotations.model import annotations_from_list

        items = [a if isinstance(a, Mapping) else a.to_dict() for a in annotations]
        parsed = annotations_from_list(items)
        with self._edit_lock:
            case = self._checked(case_id, loaded, lambda c: key_image_at(c, asset_id, frame))
            keys = list(case.key_images)
            for index, key in enumerate(keys):
                if key.asset_id == asset_id and key.frame == frame:
                    keys[index] = replace(key, annotations=parsed, window=window or key.window)
                    break
            else:
                raise NotFoundError("That image is not a key image of this case; mark it as a key image first.")
            return self._save_edit(case, key_images=tuple(keys))

    def thumbnail(self, asset: Asset) -> bytes | None:
        return self.pixels.thumbnail(asset)

    def previews(self, asset: Asset) -> list[bytes]:
        """The stored picture of each PDF page or PowerPoint slide, in order (empty when none were made)."""
        return self.pixels.previews(asset)

    def summary_thumbnail(self, summary: CaseSummary) -> bytes | None:
        """A listed case's picture, without opening the case (None when it has none, or it is missing)."""
        return self.pixels.summary_thumbnail(summary)

    def case_thumbnail(self, case: Case) -> bytes | None:
        """The first key image's series thumbnail, else the first series' one."""
        return self.pixels.case_thumbnail(case)

    # -- burned-in text review ----------------------------------------------------
    def images_for_review(self, case: Case) -> list[tuple[Asset, int, Instance]]:
        """(series, first frame index, instance) of every image still waiting for a burned-in text review."""
        return self.review.pending(case)

    def confirm_reviewed(
        self, case_id: str, asset_id: str, sop_instance_uid: str, *, loaded: Case | None = None
    ) -> Case:
        """A person found no identifying text left on the image (see :meth:`BurnedInReview.confirm_reviewed`)."""
        return self.review.confirm_reviewed(case_id, asset_id, sop_instance_uid, loaded=loaded)

    def set_review_boxes(
        self,
        case_id: str,
        asset_id: str,
        sop_instance_uid: str,
        boxes: Sequence[Region],
        *,
        loaded: Case | None = None,
    ) -> Case:
        """The boxes to blank when the held image is confirmed: the reviewer removed or added some."""
        return self.review.set_review_boxes(case_id, asset_id, sop_instance_uid, boxes, loaded=loaded)

    def review_image_png(self, asset: Asset, frame: int, instance: Instance, max_side: int = 768) -> bytes:
        """What the reviewer looks at: the original with the proposed boxes, or the stored image with its blanks."""
        return self.review.review_image_png(asset, frame, instance, max_side)

    def review_area_usage(self) -> tuple[int, int]:
        """(originals waiting, bytes) in the encrypted review area."""
        return self.review_area.usage()

    def black_out(
        self,
        case_id: str,
        asset_id: str,
        regions: Sequence[Region],
        *,
        frame: int = 0,
        loaded: Case | None = None,
    ) -> Case:
        """Black out ``regions`` in the stored file of an image, for good (see :meth:`BurnedInReview.black_out`)."""
        return self.review.black_out(case_id, asset_id, regions, frame=frame, loaded=loaded)

    def blank_region(
        self,
        case_id: str,
        asset_id: str,
        sop_instance_uid: str,
        region: Region,
        *,
        review: Review = Review.NEEDS_REVIEW,
        loaded: Case | None = None,
    ) -> Case:
        """Blank ``region`` in every frame of a stored image (see :meth:`BurnedInReview.blank_region`)."""
        return self.review.blank_region(case_id, asset_id, sop_instance_uid, region, review=review, loaded=loaded)

    def review_overlay_png(self, asset: Asset, frame: int, instance: Instance, max_side: int = 768) -> bytes:
        """The frame as it is stored, with the blanked regions outlined, for the reviewer."""
        return self.review.review_overlay_png(asset, frame, instance, max_side)

    # -- conferences --------------------------------------------------------------
    def list_conferences(self) -> list[Conference]:
        return self.conferences.list_all()

    def get_conference(self, conference_id: str) -> Conference:
        return self.conferences.get(conference_id)

    def create_conference(
        self,
        title: str,
        kind: ConferenceKind = ConferenceKind.TUMOR_BOARD,
        *,
        date: dt.date | None = None,
        presenters: Sequence[str] = (),
        case_ids: Sequence[str] = (),
    ) -> Conference:
        return self.conferences.create(title, kind, date=date, presenters=presenters, case_ids=case_ids)

    def update_conference(
        self, conference_id: str, changes: Mapping[str, Any], *, loaded: Conference | None = None
    ) -> Conference:
        """Rename, re-date, re-kind or change the presenters of a conference (see :meth:`Conferences.update`)."""
        return self.conferences.update(conference_id, changes, loaded=loaded)

    def add_cases(self, conference_id: str, case_ids: Sequence[str]) -> Conference:
        """Append cases (those already in the conference are left where they are)."""
        return self.conferences.add_cases(conference_id, case_ids)

    def remove_case(self, conference_id: str, case_id: str) -> Conference:
        return self.conferences.remove_case(conference_id, case_id)

    def move_case(self, conference_id: str, case_id: str, new_index: int) -> Conference:
        """Put a case at ``new_index`` (clamped to the list), keeping the others in order."""
        return self.conferences.move_case(conference_id, case_id, new_index)

    def set_plan(self, conference_id: str, plan: CasePlan, *, loaded: Conference | None = None) -> Conference:
        """What one case shows in the conference; with ``loaded``, refused if its plan changed since."""
        return self.conferences.set_plan(conference_id, plan, loaded=loaded)

    def delete_conference(self, conference_id: str) -> Conference:
        """Delete a conference (its cases stay in the library); returns what was deleted."""
        return self.conferences.delete(conference_id)

    def bundle(self, target_id: str) -> ConferenceBundle:
        """A conference with its cases, or a single case wrapped as a one-case conference."""
        return self.exports.bundle(target_id)

    def library_blockers(self) -> tuple[Blocker, ...]:
        """What the release gate holds back, over every case in the library."""
        return self.library.blockers()

    def release_blockers(self, target_id: str) -> tuple[Blocker, ...]:
        """What the release gate would hold back if this conference or case were exported now."""
        return self.exports.release_blockers(target_id)

    def media(self) -> StoreMedia:
        return self.exports.media()

    # -- export -------------------------------------------------------------------
    def export(
        self,
        target_id: str,
        export_format: str,
        out: Path,
        *,
        template: Path | None = None,
        pdf_layout: str = "case-per-page",
        way_out: str | None = None,
        progress: ProgressFn = no_progress,
        cancel: CancelToken = NEVER_CANCELLED,
    ) -> Path:
        """Export a conference or a case as pptx, pdf, html or package (see :meth:`Exports.export`)."""
        return self.exports.export(
            target_id,
            export_format,
            out,
            template=template,
            pdf_layout=pdf_layout,
            way_out=way_out,
            progress=progress,
            cancel=cancel,
        )

    def export_case_pptx(
        self,
        case_id: str,
        out: Path,
        *,
        progress: ProgressFn = no_progress,
        cancel: CancelToken = NEVER_CANCELLED,
    ) -> Path:
        return self.export(case_id, "pptx", out, progress=progress, cancel=cancel)


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
