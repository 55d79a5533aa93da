"""The case's other items: photos, pathology images, clips, PDFs and PowerPoint decks.

Importing them (scrubbed of metadata), taking a PDF's pages as images, trimming
or muting a clip, choosing slides, captions, the order of the items, and the
review of clips for burned-in names. Every edit made on what a page showed is
checked (``loaded=``) under the shared edit lock; long work (rendering pages,
encoding a clip) is done without holding it.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from casefiles.errors import NotFoundError, ValidationError
from casefiles.ingest import Upload
from casefiles.model import Asset, AssetKind, Case, Review, new_id
from casefiles.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from casefiles.store import BlobStore
from casefiles.usecases._parts import CheckedEdits, asset_or_none, asset_part, save_file_change, stored_copy

if TYPE_CHECKING:
    from casefiles.media.video import VideoInfo
    from casefiles.media_import import MediaImportReport


class MediaRecords(Protocol):
    """The part of the store contract (:class:`casefiles.store.CaseStore`) the media edits use unchecked."""

    def get_case(self, case_id: str) -> Case: ...

    def save_case(self, case: Case) -> Case: ...


class MediaItems:
    """The media use cases over ``records`` and ``files``; checked edits through ``edits`` (its lock is
    the one all edits share); tools work on copies in ``quarantine_dir``."""

    def __init__(self, records: MediaRecords, files: BlobStore, edits: CheckedEdits, *, quarantine_dir: Path) -> None:
        # The whole blob store: the media import stores the scrubbed files, their thumbnails and page pictures.
        self._records = records
        self._files = files
        self._edits = edits
        self._quarantine_dir = quarantine_dir

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
        from casefiles.media_import import import_media

        def append_to_current(updated: Case) -> None:
            # Scrubbing a clip takes a while; the case may have been edited meanwhile: add, never overwrite.
            current = self._records.get_case(case_id)
            known = {a.id for a in current.assets}
            self._records.save_case(
                current.edited(assets=(*current.assets, *(a for a in updated.assets if a.id not in known)))
            )

        _case, report = import_media(
            self._records.get_case(case_id),
            sources,
            blobs=self._files,
            save=append_to_current,
            quarantine_dir=self._quarantine_dir,
            progress=progress,
            cancel=cancel,
            keep_notes=keep_notes,
        )
        return report

    def add_pdf_pages(self, case_id: str, asset_id: str, pages: Sequence[int], *, loaded: Case | None = None) -> Case:
        """Chosen pages (0-based) of a case's PDF, added as images that can be key images and annotated.

        With ``loaded`` (the case as the page showed it), refused if that PDF went since.
        The pages are rendered without holding the edit lock; they are added to the case as it is then.
        """
        from casefiles.media.images import scrub_image
        from casefiles.media.pdf import render_pages

        def aspect(c: Case) -> object:
            return asset_part(c, asset_id, "blob")  # the PDF the pages are taken from (None: it went)

        with self._edits.lock:
            document = self._edits.checked(case_id, loaded, aspect).asset(asset_id)
        if document.kind is not AssetKind.DOCUMENT or document.blob is None:
            raise ValidationError("Pages can be taken only from a PDF of this case.")
        scrubbed: list[tuple[int, str, str, str]] = []  # page, blob, media type, thumbnail
        with self.stored_copy(document.blob, "document.pdf") as pdf:
            work = pdf.parent
            for page, png in zip(pages, render_pages(pdf, pages), strict=True):
                (work / "page.png").write_bytes(png)
                image = scrub_image(work / "page.png", workdir=work)
                scrubbed.append(
                    (page, self._files.put(image.data), image.media_type, self._files.put(image.preview_png))
                )
        with self._edits.lock:
            stored = self._edits.checked(case_id, loaded, aspect)
            stored.asset(asset_id)  # NotFoundError if the PDF went meanwhile
            images = sum(1 for a in stored.assets if a.kind is AssetKind.IMAGE)
            added = tuple(
                Asset(
                    id=new_id(),
                    kind=AssetKind.IMAGE,
                    label=f"Image {images + number}",
                    blob=blob,
                    media_type=media_type,
                    thumbnail=thumbnail,
                    caption=f"{document.label}, page {page + 1}",
                )
                for number, (page, blob, media_type, thumbnail) in enumerate(scrubbed, start=1)
            )
            return self._edits.save(stored, assets=(*stored.assets, *added))

    def move_asset(self, case_id: str, asset_id: str, offset: int, *, loaded: Case | None = None) -> Case:
        """Move an asset up (-1) or down (+1) in the case's order.

        With ``loaded``, refused if the case's order (or what it holds) changed since.
        """
        with self._edits.lock:
            case = self._edits.checked(case_id, loaded, lambda c: tuple(a.id for a in c.assets))
            assets = list(case.assets)
            index = next((i for i, a in enumerate(assets) if a.id == asset_id), None)
            if index is None:
                raise NotFoundError("That item is no longer part of this case.")
            target = min(max(index + offset, 0), len(assets) - 1)
            assets.insert(target, assets.pop(index))
            return self._edits.save(case, assets=tuple(assets))

    def video_info(self, case: Case, asset_id: str) -> VideoInfo:
        """Duration, size and audio of a case's video clip (for the trim controls)."""
        from casefiles.media.video import probe_video

        asset = case.asset(asset_id)
        if asset.kind is not AssetKind.VIDEO or asset.blob is None:
            raise ValidationError("This item is not a video clip of the case.")
        with self.stored_copy(asset.blob, "clip.mp4") as clip:
            return probe_video(clip)

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
        """Trim a clip to ``start_s``..``end_s`` (seconds), drop its sound if ``mute``, and take its poster
        frame at ``poster_s`` of the result; the stored clip is replaced.

        With ``loaded`` (the case as the page showed it), refused if that clip changed since. The clip is
        encoded without holding the edit lock and put into the case as it is then (other edits are kept).
        """

        def aspect(c: Case) -> object:
            return asset_part(c, asset_id, "blob")  # the clip's file (None: the clip went)

        with self._edits.lock:
            asset = self._edits.checked(case_id, loaded, aspect).asset(asset_id)
        if asset.kind is not AssetKind.VIDEO or asset.blob is None:
            raise ValidationError("This item is not a video clip of the case.")
        changed = self.reencoded_clip(asset, start_s=start_s, end_s=end_s, mute=mute, poster_s=poster_s, cancel=cancel)
        with self._edits.lock:
            return save_file_change(self._edits, case_id, asset_id, changed, loaded=loaded, aspect=aspect)

    def reencoded_clip(
        self,
        asset: Asset,
        *,
        start_s: float | None = None,
        end_s: float | None = None,
        mute: bool = False,
        black_boxes: Sequence[tuple[int, int, int, int]] = (),
        poster_s: float | None = None,
        cancel: CancelToken = NEVER_CANCELLED,
    ) -> Asset:
        """The clip encoded again (trimmed, muted or with boxes blacked out) and its poster taken from the
        result; the new files are stored, the case is not changed."""
        from casefiles.media.video import poster_frame, transcode

        with self.stored_copy(asset.blob or "", "clip.mp4") as source:
            work = source.parent
            clip = transcode(
                source, workdir=work, start_s=start_s, end_s=end_s, mute=mute, black_boxes=black_boxes, cancel=cancel
            )
            (work / "result.mp4").write_bytes(clip)
            poster = poster_frame(work / "result.mp4", at_s=poster_s, workdir=work, max_side=512)
        return replace(asset, blob=self._files.put(clip), thumbnail=self._files.put(poster))

    def slide_titles(self, case: Case, asset_id: str) -> tuple[str, ...]:
        """The titles of a case's PowerPoint slides, in order (to choose which go into the deck)."""
        from casefiles.media.slides import inspect_deck

        asset = case.asset(asset_id)
        if asset.kind is not AssetKind.SLIDE_DECK or asset.blob is None:
            raise ValidationError("Slides can be chosen only from a PowerPoint of this case.")
        with self.stored_copy(asset.blob, "deck.pptx") as deck:
            return inspect_deck(deck).titles

    def choose_slides(self, case_id: str, asset_id: str, chosen: Sequence[int], *, loaded: Case | None = None) -> Case:
        """Which slides of a case's PowerPoint go into the deck (0-based, in order); empty means all.

        With ``loaded``, refused if that deck's choice changed since.
        """
        with self._edits.lock:
            case = self._edits.checked(case_id, loaded, lambda c: asset_part(c, asset_id, "chosen"))
            assets = tuple(replace(a, chosen=tuple(chosen)) if a.id == asset_id else a for a in case.assets)
            return self._edits.save(case, assets=assets)

    def set_caption(self, case_id: str, asset_id: str, caption: str, *, loaded: Case | None = None) -> Case:
        """Caption an item of the case; with ``loaded``, refused if its caption changed since."""
        with self._edits.lock:
            case = self._edits.checked(case_id, loaded, lambda c: asset_part(c, asset_id, "caption"))
            assets = tuple(replace(a, caption=caption.strip()) if a.id == asset_id else a for a in case.assets)
            return self._edits.save(case, assets=assets)

    def for_review(self, case: Case) -> list[Asset]:
        """Clips no one has yet checked for burned-in names (DICOM video: its frames were never searched)."""
        return [a for a in case.assets if a.kind is not AssetKind.DICOM_SERIES and a.review is Review.NEEDS_REVIEW]

    def confirm_reviewed(self, case_id: str, asset_id: str, *, loaded: Case | None = None) -> Case:
        """A person watched the clip (or looked at the picture) and found no identifying text left.

        With ``loaded`` (the case as the reviewer saw it), refused if the item changed since (another
        tab blacked out more, trimmed or replaced it): a confirmation is for what the person watched.
        """
        with self._edits.lock:
            case = self._edits.checked(case_id, loaded, lambda c: asset_or_none(c, asset_id))
            assets = tuple(replace(a, review=Review.CONFIRMED) if a.id == asset_id else a for a in case.assets)
            return self._edits.save(case, assets=assets)

    def stored_copy(self, blob: str, name: str) -> AbstractContextManager[Path]:
        """A stored file copied as ``name`` into a fresh quarantine folder (the tools want a path); wiped after."""
        return stored_copy(self._files, self._quarantine_dir, blob, name)
