"""DICOM objects from outside radiology, turned into what a clinician expects to see in a case.

A folder from a hospital archive holds more than CT and MR: the referring
team's report as an encapsulated PDF, an endoscopy clip stored as H.264 in
DICOM, a whole-slide pathology scan, clinical photographs. The stack viewer
can show the photographs (they stay DICOM series); the others become:

* an encapsulated PDF -> a document (the PDF scrubbed like an uploaded one);
* a video (MPEG-2, H.264 or HEVC transfer syntax) -> a video clip (H.264/AAC MP4);
* a whole-slide series -> one picture of the slide, from a pyramid level of about
  2048 pixels. Its LABEL and OVERVIEW images photograph the slide label, which
  carries the patient's name and a barcode: they are never imported.

:func:`triage` decides from the raw header, before de-identification, because
the de-identifier replaces an encapsulated document with a dummy value and
cannot read video pixels (it raises when it must look for burned-in text in
them). The conversions run on de-identified data in the importing process,
inside a quarantine working folder; nothing here logs, and no message holds a
header value or a file name.
"""

from __future__ import annotations

import enum
import hashlib
import io
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.encaps import generate_fragments
from pydicom.uid import UID

from casefiles.errors import CaseDeckError, ImportFailure, RenderError, ValidationError
from casefiles.imaging.stack import cine_frame_rate
from casefiles.imaging.wsi import MAX_LEVEL_PIXELS, total_pixel_matrix
from casefiles.ingest.reading import peek
from casefiles.model import AssetKind
from casefiles.progress import NEVER_CANCELLED, CancelToken

__all__ = [
    "ENCAPSULATED_PDF_STORAGE",
    "KEY_OBJECT_SELECTION",
    "LABEL_LEFT_OUT",
    "MAX_PDF_PREVIEWS",
    "TEXT_SR_CLASSES",
    "VIDEO_CODECS",
    "VL_WHOLE_SLIDE_STORAGE",
    "Converted",
    "ObjectKind",
    "Triage",
    "attach_pixels",
    "detach_pixels",
    "encapsulated_document",
    "pdf_document",
    "report_tail",
    "scrub_encapsulated_pdf",
    "slide_picture",
    "triage",
    "video_clip",
]

ENCAPSULATED_PDF_STORAGE = UID("1.2.840.10008.5.1.4.1.1.104.1")
VL_WHOLE_SLIDE_STORAGE = UID("1.2.840.10008.5.1.4.1.1.77.1.6")
#: Other encapsulated documents: nothing CaseDeck can show.
_OTHER_ENCAPSULATED = {
    "1.2.840.10008.5.1.4.1.1.104.2": "CDA document",
    "1.2.840.10008.5.1.4.1.1.104.3": "STL 3D model",
    "1.2.840.10008.5.1.4.1.1.104.4": "OBJ 3D model",
    "1.2.840.10008.5.1.4.1.1.104.5": "MTL material file",
}
#: Video transfer syntaxes -> the raw stream ffmpeg reads from the concatenated Pixel Data fragments.
VIDEO_CODECS: dict[str, str] = {
    "1.2.840.10008.1.2.4.100": "mpegvideo",  # MPEG2 Main Profile / Main Level
    "1.2.840.10008.1.2.4.101": "mpegvideo",  # MPEG2 Main Profile / High Level
    "1.2.840.10008.1.2.4.102": "h264",  # MPEG-4 AVC/H.264 High Profile / Level 4.1
    "1.2.840.10008.1.2.4.103": "h264",  # ... BD-compatible High Profile / Level 4.1
    "1.2.840.10008.1.2.4.104": "h264",  # ... High Profile / Level 4.2 for 2D video
    "1.2.840.10008.1.2.4.105": "h264",  # ... High Profile / Level 4.2 for 3D video
    "1.2.840.10008.1.2.4.106": "h264",  # ... Stereo High Profile / Level 4.2
    "1.2.840.10008.1.2.4.107": "hevc",  # HEVC/H.265 Main Profile / Level 5.1
    "1.2.840.10008.1.2.4.108": "hevc",  # HEVC/H.265 Main 10 Profile / Level 5.1
}
#: A video whose header gives no frame rate is played at this rate (ffmpeg's own default for raw streams).
DEFAULT_VIDEO_FPS = 25.0
#: Page previews made for an encapsulated PDF (the first pages); the thumbnail is the first.
MAX_PDF_PREVIEWS = 50
PREVIEW_SIDE = 512
SLIDE_JPEG_QUALITY = 92

LABEL_LEFT_OUT = "the slide label and overview pictures were left out (they can show the patient's name)"
_PDF_FAILED = "holds a PDF that could not be imported: {reason}"

#: Structured reports whose content tree is a clinician's text report: each becomes a document.
TEXT_SR_CLASSES = frozenset(
    {
        "1.2.840.10008.5.1.4.1.1.88.11",  # Basic Text SR
        "1.2.840.10008.5.1.4.1.1.88.22",  # Enhanced SR
        "1.2.840.10008.5.1.4.1.1.88.33",  # Comprehensive SR
        "1.2.840.10008.5.1.4.1.1.88.34",  # Comprehensive 3D SR
        "1.2.840.10008.5.1.4.1.1.88.35",  # Extensible SR
    }
)
KEY_OBJECT_SELECTION = "1.2.840.10008.5.1.4.1.1.88.59"
_SR_PREFIX = "1.2.840.10008.5.1.4.1.1.88."
_PRESENTATION_STATE_PREFIX = "1.2.840.10008.5.1.4.1.1.11."
_WAVEFORM_PREFIX = "1.2.840.10008.5.1.4.1.1.9."
_RT_PREFIX = "1.2.840.10008.5.1.4.1.1.481."
#: RT objects that are pictures (portal images): they stay image series.
_RT_IMAGES = frozenset(
    {
        "1.2.840.10008.5.1.4.1.1.481.1",  # RT Image
        "1.2.840.10008.5.1.4.1.1.481.23",  # Enhanced RT Image
        "1.2.840.10008.5.1.4.1.1.481.24",  # Enhanced Continuous RT Image
    }
)
#: Why an object with no picture for the viewer is left out: by SOP class, then by family.
_NO_IMAGES = "has no images to show; left out"
_LEFT_OUT_BY_CLASS = {
    KEY_OBJECT_SELECTION: "a key object selection (key images chosen at a PACS) has no images of its own; left out",
    "1.2.840.10008.5.1.4.1.1.481.2": "an RT Dose is a dose grid, not an image to show; left out",
    "1.2.840.10008.5.1.4.1.1.481.3": f"an RT Structure Set (contours) {_NO_IMAGES}",
    "1.2.840.10008.5.1.4.1.1.481.5": f"an RT Plan {_NO_IMAGES}",
    "1.2.840.10008.5.1.4.1.1.481.8": f"an RT Ion Plan {_NO_IMAGES}",
    "1.2.840.10008.5.1.4.1.1.66": f"a raw data object {_NO_IMAGES}",
}
_LEFT_OUT_BY_FAMILY = (
    (
        _PRESENTATION_STATE_PREFIX,
        "a presentation state (another viewer's window and marks) has no images of its own; left out",
    ),
    (_WAVEFORM_PREFIX, f"a waveform (ECG, audio, pressures) {_NO_IMAGES}"),
    (_RT_PREFIX, f"a radiotherapy object (plan, record or instruction) {_NO_IMAGES}"),
    (_SR_PREFIX, "a structured report that is not a text report (measurements, CAD or dose) is not shown; left out"),
)

_IMAGE_TYPE, _SOP_CLASS = 0x00080008, 0x00080016
_SOP_INSTANCE = 0x00080018
_SPECIMEN_LABEL_IN_IMAGE = 0x00480010
_ENCAPSULATED_DOCUMENT, _DOCUMENT_LENGTH = 0x00420011, 0x00420015
_SERIES_UID = 0x0020000E
_ICC_PROFILE = 0x00282000
_PIXEL_DATA = 0x7FE00010
_PIXEL_TAGS = (_PIXEL_DATA, 0x7FE00008, 0x7FE00009)  # Pixel Data, Float and Double Float Pixel Data
_PS_PACK_START = b"\x00\x00\x01\xba"  # an MPEG program stream: a container ffmpeg recognises itself
# The slide's own flavours; LABEL and OVERVIEW are photographs of the glass, label included.
_LABEL_FLAVOURS = frozenset({"LABEL", "OVERVIEW"})


class ObjectKind(enum.StrEnum):
    """What an imported instance becomes in a case."""

    STACK = ""  # frames for the stack viewer: CT, MR, photographs, cine loops (a DICOM series)
    PDF = "pdf"  # an encapsulated PDF: a document
    VIDEO = "video"  # MPEG-2 / H.264 / HEVC video: a clip
    SLIDE = "slide"  # a level of a whole-slide pyramid: one picture per series
    REPORT = "report"  # a text structured report: a document of its content tree's text


@dataclass(frozen=True, slots=True)
class Triage:
    """The decision for one raw instance: its kind, or why it is left out.

    ``once_per`` is set when the reason should be reported once for a whole
    series (a digest of the series UID: never shown, never stored).
    """

    kind: ObjectKind
    left_out: str = ""
    once_per: str = ""


def triage(ds: Dataset) -> Triage:
    """Sort a raw (not yet de-identified) instance by SOP class, transfer syntax and Image Type.

    An object without pixel data never becomes a stack: a text structured
    report becomes a document, anything else (RT plans and structure sets,
    key object selections, presentation states, raw data, waveforms...) is
    left out with a reason, reported once per import for each SOP Instance.
    RT Doses (dose grids) are left out too, pixels or not.
    Never raises for odd values: an image it cannot place stays a stack.
    """
    sop_class = _text(peek_safely(ds, _SOP_CLASS))
    if sop_class == ENCAPSULATED_PDF_STORAGE:
        return Triage(ObjectKind.PDF)
    if sop_class in _OTHER_ENCAPSULATED:
        return Triage(
            ObjectKind.STACK,
            left_out=f"not an image or document CaseDeck shows (an encapsulated {_OTHER_ENCAPSULATED[sop_class]}); "
            "left out",
        )
    if _transfer_syntax(ds) in VIDEO_CODECS and _PIXEL_DATA in ds:
        return Triage(ObjectKind.VIDEO)
    if sop_class == VL_WHOLE_SLIDE_STORAGE:
        flavour = _image_flavour(ds)
        label_in_image = _text(peek_safely(ds, _SPECIMEN_LABEL_IN_IMAGE)).upper() == "YES"
        if flavour in _LABEL_FLAVOURS or label_in_image:
            series = _text(peek_safely(ds, _SERIES_UID))
            return Triage(ObjectKind.SLIDE, left_out=LABEL_LEFT_OUT, once_per=_digest("label", series))
        return Triage(ObjectKind.SLIDE)
    if sop_class in TEXT_SR_CLASSES:
        return Triage(ObjectKind.REPORT)
    reason = _not_shown(sop_class, has_pixels=any(tag in ds for tag in _PIXEL_TAGS))
    if reason:
        instance = _text(peek_safely(ds, _SOP_INSTANCE))
        return Triage(ObjectKind.STACK, left_out=reason, once_per=_digest("left out", instance) if instance else "")
    return Triage(ObjectKind.STACK)


def _not_shown(sop_class: str, *, has_pixels: bool) -> str:
    """Why an instance of ``sop_class`` is left out ("" if it is an image for the viewer)."""
    if sop_class in _LEFT_OUT_BY_CLASS:
        return _LEFT_OUT_BY_CLASS[sop_class]
    if sop_class not in _RT_IMAGES:
        for prefix, reason in _LEFT_OUT_BY_FAMILY:
            if sop_class.startswith(prefix):
                return reason
    if has_pixels:
        return ""
    uid = UID(sop_class)
    name = uid.name.removesuffix(" Storage") if uid.is_valid and not uid.is_private and uid.name != sop_class else ""
    what = name or "an unknown kind of object"
    return f"not an image, document or report CaseDeck shows ({what}, with no images); left out"


def peek_safely(ds: Dataset, tag: int) -> object:
    """:func:`~casefiles.ingest.reading.peek`, with a value that cannot be decoded read as absent."""
    try:
        return peek(ds, tag)
    except Exception:  # a malformed value must not stop the import here; de-identification judges the file
        return None


# -- before de-identification (in prepare, possibly in a worker process) ---------------------------


def encapsulated_document(ds: Dataset) -> bytes:
    """The document bytes of an encapsulated PDF (its pad byte dropped when the length is given)."""
    value = peek_safely(ds, _ENCAPSULATED_DOCUMENT)
    if not isinstance(value, bytes | bytearray) or not value:
        raise ImportFailure("is an encapsulated PDF with no document inside; discarded")
    data = bytes(value)
    length = peek_safely(ds, _DOCUMENT_LENGTH)
    if isinstance(length, int) and 0 < length <= len(data):
        data = data[:length]
    return data


def scrub_encapsulated_pdf(document: bytes, *, workdir: Path) -> bytes:
    """The PDF scrubbed of its metadata (:func:`casefiles.media.pdf.scrub_pdf`), via a file in ``workdir``.

    ``workdir`` must be inside the quarantine: the unscrubbed PDF touches the
    disk there only, and is deleted before this returns. Raises ImportFailure
    (with a reason for the import report) for an encrypted or damaged PDF.
    """
    from casefiles.media.pdf import scrub_pdf

    if not isinstance(workdir, Path) or not workdir.is_dir():
        raise ValidationError("The PDF needs a working folder inside the quarantine to be scrubbed.")
    folder = Path(tempfile.mkdtemp(prefix="pdf-", dir=workdir))
    try:
        path = folder / "document.pdf"
        path.write_bytes(document)
        return scrub_pdf(path)
    except CaseDeckError as exc:
        raise ImportFailure(_PDF_FAILED.format(reason=report_tail(str(exc)))) from None
    except OSError as exc:
        raise ImportFailure(f"holds a PDF that could not be written to the working folder ({exc.strerror})") from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def detach_pixels(ds: Dataset) -> DataElement | RawDataElement:
    """Take the Pixel Data out of ``ds`` (video, slide tiles) so de-identification does not decode it.

    The de-identifier reads pixels to look for burned-in text; it cannot
    decode video, and on a slide level it would decode (and may rewrite) every
    tile of a picture that, by definition, shows tissue and no label.
    """
    elem = ds.get_item(_PIXEL_DATA)
    if elem is None:
        raise ImportFailure("has no pixel data; discarded")
    del ds[_PIXEL_DATA]
    return elem


def attach_pixels(ds: Dataset, pixels: DataElement | RawDataElement, syntax: UID) -> None:
    """Put detached Pixel Data back into the de-identified ``ds``, with the transfer syntax it is encoded in."""
    ds[_PIXEL_DATA] = pixels
    ds.file_meta.TransferSyntaxUID = syntax


# -- after de-identification (in the importing process) --------------------------------------------


@dataclass(frozen=True, slots=True)
class Converted:
    """What becomes a case asset: the file to store, its media type, a thumbnail and page previews (PNG)."""

    kind: AssetKind
    data: bytes
    media_type: str
    thumbnail: bytes | None = None
    previews: tuple[bytes, ...] = ()


def pdf_document(pdf: bytes, *, workdir: Path, max_previews: int = MAX_PDF_PREVIEWS) -> Converted:
    """An already scrubbed PDF as a document asset, with previews of its first pages.

    A PDF whose pages cannot be drawn is still kept (no thumbnail).
    """
    from casefiles.media.pdf import page_thumbnails

    path = _scratch_file(workdir, "document.pdf", pdf)
    try:
        try:
            pages = page_thumbnails(path, side=PREVIEW_SIDE, max_pages=max_previews)
        except (ImportFailure, RenderError):
            pages = []
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)
    return Converted(
        AssetKind.DOCUMENT, pdf, "application/pdf", thumbnail=pages[0] if pages else None, previews=tuple(pages)
    )


def video_clip(ds: Dataset, *, workdir: Path, cancel: CancelToken = NEVER_CANCELLED) -> Converted:
    """A de-identified video instance as an H.264/AAC MP4 clip with a poster frame.

    The Pixel Data fragments, joined, are the video stream (PS3.5 8.2.5-8.2.7);
    ffmpeg is told its codec and the header's frame rate (Recommended Display
    Frame Rate, Cine Rate or Frame Time; 25 frames/s when none is given).
    Raises ImportFailure for a damaged or cut-short stream.
    """
    from casefiles.media.video import ElementaryStream, poster_frame, transcode

    syntax = _transfer_syntax(ds)
    codec = VIDEO_CODECS.get(syntax)
    if codec is None:
        raise ValidationError("This instance is not stored as video.")
    stream = _joined_fragments(ds)
    raw = None
    if not stream.startswith(_PS_PACK_START):  # a program stream is a container ffmpeg recognises by itself
        frames = _positive_int(ds.get("NumberOfFrames"))
        raw = ElementaryStream(codec=codec, fps=cine_frame_rate(ds) or DEFAULT_VIDEO_FPS, frames=frames)
    source = _scratch_file(workdir, "stream.bin", stream)
    del stream
    try:
        clip = transcode(source, workdir=source.parent, cancel=cancel, stream=raw)
        source.unlink()
        mp4 = source.parent / "clip.mp4"
        mp4.write_bytes(clip)
        poster = poster_frame(mp4, workdir=source.parent, max_side=PREVIEW_SIDE)
    finally:
        shutil.rmtree(source.parent, ignore_errors=True)
    return Converted(AssetKind.VIDEO, clip, "video/mp4", thumbnail=poster)


def slide_picture(ds: Dataset, *, max_pixels: int = MAX_LEVEL_PIXELS) -> Converted:
    """One pyramid level of a de-identified slide as a JPEG (quality 92) with a PNG preview.

    The level's ICC profile, when it has one, is embedded (not applied), as
    for imported photographs. Raises RenderError for a level that cannot be drawn.
    """
    pixels = total_pixel_matrix(ds, max_pixels=max_pixels)
    image = Image.fromarray(pixels, "RGB")
    del pixels
    icc = _icc_profile(ds)
    options: dict[str, object] = {"quality": SLIDE_JPEG_QUALITY, "optimize": True}
    if icc:
        options["icc_profile"] = icc
    out = io.BytesIO()
    image.save(out, "JPEG", **options)
    preview = image.copy()
    preview.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE), Image.Resampling.LANCZOS)
    png = io.BytesIO()
    preview.save(png, "PNG", **({"icc_profile": icc} if icc else {}))
    return Converted(AssetKind.IMAGE, out.getvalue(), "image/jpeg", thumbnail=png.getvalue())


# -- helpers ---------------------------------------------------------------------------------------


def _joined_fragments(ds: Dataset) -> bytes:
    """The encapsulated Pixel Data's fragments joined (the Basic Offset Table skipped)."""
    value = ds.get("PixelData")
    if not isinstance(value, bytes) or not value:
        raise ImportFailure("The video has no picture data; the file is damaged.")
    try:
        stream = b"".join(generate_fragments(value))
    except (ValueError, EOFError, OSError) as exc:
        raise ImportFailure("The video's picture data is damaged (its fragments cannot be read).") from exc
    if not stream:
        raise ImportFailure("The video has no picture data; the file is damaged.")
    return stream


def _scratch_file(workdir: Path, name: str, data: bytes) -> Path:
    if not isinstance(workdir, Path) or not workdir.is_dir():
        raise ValidationError("Converting needs a working folder inside the quarantine.")
    folder = Path(tempfile.mkdtemp(prefix="convert-", dir=workdir))
    path = folder / name
    try:
        path.write_bytes(data)
    except OSError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise ImportFailure(f"The working folder cannot be written ({exc.strerror}); is the disk full?") from None
    return path


def _icc_profile(ds: Dataset) -> bytes | None:
    paths: Sequence[Dataset] = ds.get("OpticalPathSequence") or ()
    for holder in (*paths[:1], ds):
        value = peek_safely(holder, _ICC_PROFILE)  # a damaged value: the picture is still usable without it
        if isinstance(value, bytes) and len(value) > 128:
            return value
    return None


def _image_flavour(ds: Dataset) -> str:
    value = peek_safely(ds, _IMAGE_TYPE)
    if isinstance(value, str):
        parts = value.split("\\")
    elif isinstance(value, Sequence):
        parts = [str(v) for v in value]
    else:
        return ""
    return parts[2].strip().upper() if len(parts) > 2 else ""


def _transfer_syntax(ds: Dataset) -> str:
    meta = getattr(ds, "file_meta", None)
    value = meta.get("TransferSyntaxUID") if meta is not None else None
    return str(value or "").strip()


def _text(value: object) -> str:
    return str(value).strip().rstrip("\x00") if isinstance(value, str) else ""


def _positive_int(value: object) -> int | None:
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return None
    return number if number > 0 else None


def _digest(purpose: str, value: str) -> str:
    return hashlib.sha256(f"{purpose}\x00{value}".encode()).hexdigest()[:16]


def report_tail(message: str) -> str:
    """An error message as the tail of a report line: first letter lowered, end full stop dropped."""
    text = message.strip().rstrip(".")
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text
