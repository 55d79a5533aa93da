"""Add photos, pathology images, video clips, PDFs and PowerPoint decks to a case, scrubbed on the way in.

Every file is typed by its content, copied into a locked quarantine folder
and scrubbed there by its module in ``casefiles.media``; only the scrubbed
bytes reach the blob store. Labels never come from file names (they often
hold a patient's name): an image is "Image 3", a clip "Video 1". One bad file
is reported and the others are still added.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from casefiles.errors import Cancelled, CaseDeckError, ValidationError
from casefiles.ingest import ImportProblem, QuarantineFolder, Upload
from casefiles.media.sniff import MediaType, sniff
from casefiles.model import Asset, AssetKind, Case, Review, new_id
from casefiles.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from casefiles.store import BlobStore

_LABELS = {
    AssetKind.IMAGE: "Image",
    AssetKind.VIDEO: "Video",
    AssetKind.DOCUMENT: "PDF",
    AssetKind.SLIDE_DECK: "Slides",
}


@dataclass(frozen=True, slots=True)
class MediaImportReport:
    """What was added to the case (asset ids in order) and what could not be (by position only)."""

    asset_ids: tuple[str, ...]
    problems: tuple[ImportProblem, ...]


#: Page pictures kept for a PDF (the rest can still be chosen by number).
MAX_PREVIEW_PAGES = 50
PREVIEW_SIDE = 512


@dataclass(frozen=True, slots=True)
class ScrubbedMedia:
    """One file as it may be stored: its scrubbed bytes, a thumbnail, and a picture per page or slide."""

    kind: AssetKind
    data: bytes
    media_type: str
    thumbnail: bytes | None
    previews: tuple[bytes, ...] = ()
    review: Review = Review.NOT_NEEDED  # burned-in text found that could not be cleared


def import_media(
    case: Case,
    sources: Sequence[Path | Upload],
    *,
    blobs: BlobStore,
    save: Callable[[Case], None],
    quarantine_dir: Path,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
    keep_notes: bool = False,
) -> tuple[Case, MediaImportReport]:
    """Scrub each source and append it to ``case`` as an asset; the case is saved once at the end.

    On a cancel, the files finished before it are saved and :class:`Cancelled` is raised.
    """
    if not sources:
        raise ValidationError("Choose at least one photo, image, video, PDF or PowerPoint file to add.")
    counts = {kind: sum(1 for a in case.assets if a.kind is kind) for kind in _LABELS}
    added: list[Asset] = []
    problems: list[ImportProblem] = []
    total = len(sources)
    try:
        with QuarantineFolder(quarantine_dir, "media-") as work:
            numbers = itertools.count(1)
            for position, source in enumerate(sources, start=1):
                cancel.raise_if_cancelled()
                label = f"file {position} of {total}"
                progress(position - 1, total, f"Scrubbing {label}")
                folder = work / f"{next(numbers):04d}"
                folder.mkdir()
                try:
                    raw = _place(source, folder)
                    scrubbed = scrub_media_file(raw, folder, cancel, keep_notes=keep_notes)
                except Cancelled:
                    raise
                except CaseDeckError as exc:
                    problems.append(ImportProblem(label, str(exc)))
                    continue
                counts[scrubbed.kind] += 1
                added.append(
                    Asset(
                        id=new_id(),
                        kind=scrubbed.kind,
                        label=f"{_LABELS[scrubbed.kind]} {counts[scrubbed.kind]}",
                        blob=blobs.put(scrubbed.data),
                        media_type=scrubbed.media_type,
                        thumbnail=blobs.put(scrubbed.thumbnail) if scrubbed.thumbnail else None,
                        previews=tuple(blobs.put(p) for p in scrubbed.previews),
                        review=scrubbed.review,
                    )
                )
    except Cancelled:
        if added:  # what was finished before the cancel is kept, like a PACS retrieval's finished studies
            save(case.edited(assets=(*case.assets, *added)))
        raise
    progress(total, total, "Done")
    if added:
        case = case.edited(assets=(*case.assets, *added))
        save(case)
    return case, MediaImportReport(tuple(a.id for a in added), tuple(problems))


def _place(source: Path | Upload, folder: Path) -> Path:
    """The raw file inside the quarantine, under a neutral name."""
    target = folder / "input"
    if isinstance(source, Upload):
        target.write_bytes(bytes(source.data))
        return target
    path = Path(source)
    try:
        if not path.is_file():
            raise ValidationError("The file cannot be found or is not a file; choose it again.")
        data = path.read_bytes()
    except OSError as exc:  # its text names the file, which may name the patient: only the cause is said
        raise ValidationError(f"The file cannot be read ({exc.strerror or 'a disc error'}).") from None
    target.write_bytes(data)
    return target


def scrub_media_file(
    path: Path, workdir: Path, cancel: CancelToken = NEVER_CANCELLED, *, keep_notes: bool = False
) -> ScrubbedMedia:
    """Type ``path`` by its content and scrub it inside ``workdir`` (a quarantine folder).

    A PowerPoint's speaker notes are removed unless ``keep_notes`` (the presenter's own notes).

    Raises a CaseDeckError subclass whose message says why the file cannot be added.
    """
    kind = sniff(path)
    if kind.is_image:
        from casefiles.media.images import scrub_image
        from casefiles.media.picture_text import screen_picture

        image = scrub_image(path, workdir=workdir)
        screened = screen_picture(image.data)
        review = Review.NEEDS_REVIEW if screened.held else Review.NOT_NEEDED
        preview = screened.preview or image.preview_png
        return ScrubbedMedia(AssetKind.IMAGE, screened.data, image.media_type, preview, review=review)
    if kind.is_video:
        from casefiles.media.video import poster_frame, transcode

        clip = transcode(path, workdir=workdir, cancel=cancel)
        scrubbed = workdir / "clip.mp4"
        scrubbed.write_bytes(clip)
        poster = poster_frame(scrubbed, workdir=workdir, max_side=PREVIEW_SIDE)
        return ScrubbedMedia(AssetKind.VIDEO, clip, "video/mp4", poster)
    if kind is MediaType.PDF:
        from casefiles.media.pdf import page_thumbnails, scrub_pdf

        document = scrub_pdf(path)
        clean = workdir / "clean.pdf"
        clean.write_bytes(document)
        pages = tuple(page_thumbnails(clean, side=PREVIEW_SIDE, max_pages=MAX_PREVIEW_PAGES, cancel=cancel))
        return ScrubbedMedia(AssetKind.DOCUMENT, document, "application/pdf", pages[0] if pages else None, pages)
    if kind in (MediaType.PPTX, MediaType.PPTM):
        from casefiles.media.slides import inspect_deck, scrub_deck, slide_thumbnails

        inspect_deck(path)  # refuses macros and damaged decks with a reason
        deck = scrub_deck(path, keep_notes=keep_notes)
        slides = tuple(slide_thumbnails(deck, workdir=workdir, side=PREVIEW_SIDE) or ())
        return ScrubbedMedia(
            AssetKind.SLIDE_DECK,
            deck,
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            slides[0] if slides else None,
            slides,
        )
    if kind is MediaType.DICOM:
        raise ValidationError("This is a DICOM file: add it with Import studies, which de-identifies DICOM.")
    raise ValidationError(
        "This is not a format CaseDeck can add: use JPEG, PNG, TIFF, WebP or HEIC images, MP4/MOV/AVI/WebM "
        "video, PDF, or PowerPoint (.pptx)."
    )
