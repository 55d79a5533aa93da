"""Export: a conference or a case as a PowerPoint deck, a PDF handout, an HTML show or a package.

The release gate is asked first. While an export is written, the running-exports
registry keeps its cases and conference from being deleted and its stored files
from being removed (their deletion waits until it is done); it shares the one
edit lock of the library, so reading a conference and registering its export
happen with no deletion between. The exporters get the cases and a
:class:`StoreMedia` (their ``MediaSource``): they never reach the store.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from pydicom.dataset import Dataset

from casefiles.errors import BusyError, ExportError, NotFoundError, RenderError, ValidationError
from casefiles.imaging import encode_jpeg, encode_png, fit_within
from casefiles.model import Asset, AssetKind, Case, CasePlan, Conference, Instance, KeyImage, Window, new_id
from casefiles.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from casefiles.release import Blocker, blockers_of, case_name, check_release
from exporters.bundle import ConferenceBundle

#: The longest side of an image put on a slide (key images are rendered to it).
SLIDE_IMAGE_MAX = 1920

EXPORT_FORMATS = ("pptx", "pdf", "html", "package")
#: How the release gate's message names each export.
WAY_OUT_NAMES = {"pptx": "PowerPoint deck", "pdf": "PDF handout", "html": "HTML show", "package": "package"}

#: Frames per second of a stack played as a clip: a smooth scroll through a CT.
STACK_CLIP_FPS = 12.0


@dataclass(frozen=True, slots=True)
class RunningExport:
    """An export being written in this process: what it is called, and the cases and files it reads."""

    what: str
    target_id: str
    case_ids: frozenset[str]
    blobs: frozenset[str]

    @classmethod
    def of(cls, bundle: ConferenceBundle, target_id: str, way_out: str) -> RunningExport:
        title = case_name(bundle.cases[0]) if bundle.conference.id != target_id else bundle.conference.title
        return cls(
            what=f"the {way_out} of “{title}”",
            target_id=target_id,
            case_ids=frozenset(c.id for c in bundle.cases),
            blobs=frozenset(d for c in bundle.cases for a in c.assets for d in a.blob_ids),
        )


class RunningExports:
    """Exports being written (by a token), and files no case uses any more whose deletion waits for them.

    ``lock`` is the library's edit lock: a case in an export is not deleted, and a file an export
    reads is not deleted under it.
    """

    def __init__(self, lock: AbstractContextManager[Any]) -> None:
        self._lock = lock
        self._exports: dict[int, RunningExport] = {}
        self._tokens = itertools.count()
        self._deferred_drops: set[str] = set()

    def running(self) -> tuple[RunningExport, ...]:
        """The exports being written in this process now."""
        with self._lock:
            return tuple(self._exports.values())

    def refuse_while_exported(self, target_id: str, refused: str) -> None:
        """Raise :class:`BusyError` (saying ``refused`` and what runs) if an export holds this case or
        conference (call with the edit lock held)."""
        for running in self._exports.values():
            if target_id == running.target_id or target_id in running.case_ids:
                raise BusyError(
                    f"{refused} while {running.what} is being made; wait until it is finished (or cancel it), "
                    "then try again. Nothing was deleted."
                )

    def start(self, bundle: ConferenceBundle, target_id: str, way_out: str) -> int:
        """Register an export of ``bundle`` (call with the edit lock held, from reading the bundle on)."""
        token = next(self._tokens)
        self._exports[token] = RunningExport.of(bundle, target_id, way_out)
        return token

    def finish(self, token: int) -> set[str]:
        """Forget a finished export; the files whose deletion waited for it (to delete now)."""
        with self._lock:
            self._exports.pop(token, None)
            still_read = {d for running in self._exports.values() for d in running.blobs}
            waiting = self._deferred_drops - still_read
            self._deferred_drops -= waiting
        return waiting

    def defer_drop(self, digest: str) -> bool:
        """True (and remembered for later) if a running export reads this file, which must stay until it is done."""
        with self._lock:
            if any(digest in running.blobs for running in self._exports.values()):
                self._deferred_drops.add(digest)
                return True
        return False


class ExportRecords(Protocol):
    """The part of the store contract (:class:`casefiles.store.CaseStore`) an export reads."""

    def get_case(self, case_id: str) -> Case: ...

    def get_conference(self, conference_id: str) -> Conference: ...


class StoredFiles(Protocol):
    """The reading part of the blob store (:class:`casefiles.store.BlobStore`)."""

    def get(self, digest: str) -> bytes: ...

    def exists(self, digest: str) -> bool: ...


class Renderer(Protocol):
    """What the exported pictures are rendered with: the images use case (its caches included)."""

    def render_key_image(self, case: Case, key: KeyImage) -> bytes: ...

    def dataset(self, blob: str) -> Dataset: ...

    def asset_window(self, asset: Asset, frame: int = 0) -> Window | None: ...

    def render_frame(self, asset: Asset, frame: int, window: Window | None) -> np.ndarray: ...


class Exports:
    """The export use cases: what a conference or case holds, what the release gate would hold back, export."""

    def __init__(
        self,
        records: ExportRecords,
        renderer: Renderer,
        blobs: StoredFiles,
        running: RunningExports,
        *,
        edit_lock: AbstractContextManager[Any],
        drop_unused: Callable[[Iterable[str]], None],
    ) -> None:
        self._records = records
        self._renderer = renderer
        self._blobs = blobs
        self._running = running
        self._edit_lock = edit_lock
        self._drop_unused = drop_unused

    def media(self) -> StoreMedia:
        """A fresh ``MediaSource`` for the exporters, rendering from the de-identified store."""
        return StoreMedia(self._renderer, self._blobs)

    def bundle(self, target_id: str) -> ConferenceBundle:
        """A conference with its cases, or a single case wrapped as a one-case conference."""
        try:
            conference = self._records.get_conference(target_id)
        except NotFoundError:
            case = self._records.get_case(target_id)  # NotFoundError if neither exists
            conference = Conference(id=new_id(), title=case.title, items=(CasePlan(case.id),))
            return ConferenceBundle(conference, (case,))
        missing = [c for c in conference.case_ids if not self._case_exists(c)]
        if missing:
            conference = conference.edited(items=tuple(i for i in conference.items if i.case_id not in missing))
        return ConferenceBundle(conference, tuple(self._records.get_case(c) for c in conference.case_ids))

    def release_blockers(self, target_id: str) -> tuple[Blocker, ...]:
        """What the release gate would hold back if this conference or case were exported now."""
        return tuple(b for case in self.bundle(target_id).cases for b in blockers_of(case))

    def _case_exists(self, case_id: str) -> bool:
        try:
            self._records.get_case(case_id)
        except NotFoundError:
            return False
        return True

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
        """Export a conference or a case as pptx, pdf, html or package.

        The release gate is asked first: a case holding anything no one has vouched for raises
        :class:`casefiles.release.ReleaseBlocked` and nothing is written. ``way_out`` names the
        export in that message when it is not the format's own name (e.g. "presentation").

        While it is written, its cases and conference are not deleted (deleting says what runs)
        and the files it reads stay. A stored file found missing all the same (deleted by another
        process, damaged storage) stops it with :class:`ExportError`; no file is left at ``out``.
        """
        if export_format not in EXPORT_FORMATS:
            raise ValidationError(
                f"Unknown export format {export_format!r}; choose one of {', '.join(EXPORT_FORMATS)}."
            )
        name = way_out or WAY_OUT_NAMES[export_format]
        out = Path(out)
        with self._edit_lock:  # read and registered at once: no deletion comes between
            bundle = self.bundle(target_id)
            token = self._running.start(bundle, target_id, name)
        media = self.media()
        try:
            check_release(bundle.cases, way_out=name)
            try:
                written = self._write(
                    bundle,
                    target_id,
                    export_format,
                    out,
                    media,
                    template=template,
                    pdf_layout=pdf_layout,
                    progress=progress,
                    cancel=cancel,
                )
            except NotFoundError as exc:
                if not media.missing:
                    raise
                out.unlink(missing_ok=True)
                raise media.missing_error() from exc
            if media.missing:  # an exporter drew a placeholder instead: that deck must not go out
                out.unlink(missing_ok=True)
                raise media.missing_error()
            return written
        finally:
            self._drop_unused(self._running.finish(token))

    def _write(
        self,
        bundle: ConferenceBundle,
        target_id: str,
        export_format: str,
        out: Path,
        media: StoreMedia,
        *,
        template: Path | None,
        pdf_layout: str,
        progress: ProgressFn,
        cancel: CancelToken,
    ) -> Path:
        import exporters  # the writers load python-pptx, reportlab...: only when an export is made

        if export_format == "pptx":
            if bundle.conference.id != target_id and template is None:
                # A single case: the case deck (title, history, key images, diagnosis), without the
                # agenda and "Case 1 of 1" divider a conference deck would add.
                case = bundle.cases[0]
                return exporters.export_case_pptx(
                    case, lambda key: media.key_image(case, key), out, media=media, progress=progress, cancel=cancel
                )
            return exporters.export_conference_pptx(
                bundle, media, out, template=template, progress=progress, cancel=cancel
            )
        if template is not None:
            raise ValidationError("An institution template applies to PowerPoint exports only.")
        if export_format == "pdf":
            return exporters.export_conference_pdf(
                bundle, media, out, layout=pdf_layout, progress=progress, cancel=cancel
            )
        writer = exporters.export_conference_html if export_format == "html" else exporters.export_conference_package
        return writer(bundle, media, out, progress=progress, cancel=cancel)


class StoreMedia:
    """The real :class:`exporters.bundle.MediaSource`: renders from the de-identified store."""

    def __init__(self, renderer: Renderer, blobs: StoredFiles) -> None:
        self._renderer = renderer
        self._blobs = blobs
        #: Titles of the cases whose stored files were found missing while exporting.
        self.missing: list[str] = []

    @contextlib.contextmanager
    def _watch(self, case: Case, asset_id: str) -> Iterator[None]:
        """Note a case whose picture or image file is missing (exporters may draw a placeholder instead,
        which would go out unnoticed): :meth:`Exports.export` then stops and keeps no file."""
        try:
            yield
        except NotFoundError:
            asset = next((a for a in case.assets if a.id == asset_id), None)
            if asset is not None and not all(self._blobs.exists(d) for d in asset.blob_ids):
                self.missing.append(case_name(case))
            raise

    def missing_error(self) -> ExportError:
        """The message for an export stopped by missing stored files."""
        names = ", ".join(f"“{t}”" for t in dict.fromkeys(self.missing))
        return ExportError(
            f"Stored files of {names} are missing (deleted while the export ran, or the data folder is "
            "damaged), so the export was stopped and no file was written. Open the case to see what is "
            "missing, or take it out of the conference."
        )

    def key_image(self, case: Case, key: KeyImage, /) -> bytes:
        with self._watch(case, key.asset_id):
            return self._renderer.render_key_image(case, key)

    def pixel_spacing_mm(self, case: Case, key: KeyImage, /) -> float | None:
        asset = case.asset(key.asset_id)
        if asset.kind is not AssetKind.DICOM_SERIES:
            return None
        instance, _ = asset.locate_frame(key.frame)
        with self._watch(case, asset.id):
            ds = self._renderer.dataset(instance.blob)
        spacing = ds.get("PixelSpacing") or ds.get("ImagerPixelSpacing")
        if not spacing or len(spacing) < 2:
            return None
        try:
            column_mm = float(spacing[1])
        except (TypeError, ValueError):
            return None
        longest = max(int(ds.Rows), int(ds.Columns))
        shrink = longest / min(longest, SLIDE_IMAGE_MAX)
        return column_mm * shrink if column_mm > 0 else None

    def _frames(self, asset: Asset, window: Window | None, indices: Sequence[int], max_side: int) -> list[np.ndarray]:
        use = window or self._renderer.asset_window(asset, indices[len(indices) // 2])
        return [fit_within(self._renderer.render_frame(asset, i, use), max_side, max_side) for i in indices]

    def stack_frames(
        self, case: Case, asset: Asset, window: Window | None, /, *, max_frames: int = 300, max_side: int = 768
    ) -> Sequence[bytes]:
        from casefiles.imaging.cine import sample_indices

        if asset.kind is AssetKind.VIDEO:  # a clip's still for slide shows that scroll frames
            return [self.stack_poster(case, asset, window)]
        indices = sample_indices(asset.frame_count, max_frames)
        with self._watch(case, asset.id):
            return [encode_jpeg(frame, quality=85) for frame in self._frames(asset, window, indices, max_side)]

    def stack_video(self, case: Case, asset: Asset, window: Window | None, /) -> bytes:
        """A series as an H.264 clip; a video asset is already one (transcoded and scrubbed on import)."""
        from casefiles.imaging.cine import encode_mp4, sample_indices

        with self._watch(case, asset.id):
            if asset.kind is AssetKind.VIDEO and asset.blob:
                return self._blobs.get(asset.blob)
            indices = sample_indices(asset.frame_count, 300)
            return encode_mp4(self._frames(asset, window, indices, 1024), fps=STACK_CLIP_FPS)

    def stack_poster(self, case: Case, asset: Asset, window: Window | None, /) -> bytes:
        with self._watch(case, asset.id):
            if asset.kind is AssetKind.VIDEO:
                if asset.thumbnail is None:
                    raise RenderError("This video has no poster frame.")
                return self._blobs.get(asset.thumbnail)
            middle = asset.frame_count // 2
            return encode_png(self._frames(asset, window, [middle], 1024)[0])

    # An attached file (a PDF, a PowerPoint, a clip's file, their page pictures) that cannot be read
    # is left out by the exporters and said so (the package's manifest lists it without a path):
    # these two do not stop the export. Pictures and DICOM images shown or carried do (``_watch``).
    def asset_file(self, case: Case, asset: Asset, /) -> bytes:
        if asset.blob is None:
            raise RenderError("This item has no stored file.")
        return self._blobs.get(asset.blob)

    def asset_previews(self, case: Case, asset: Asset, /) -> Sequence[bytes]:
        return [self._blobs.get(blob) for blob in asset.previews]

    def dicom_instances(self, case: Case, asset: Asset, /) -> Iterator[tuple[Instance, bytes]]:
        for instance in asset.instances:
            with self._watch(case, asset.id):
                data = self._blobs.get(instance.blob)
            yield instance, data
