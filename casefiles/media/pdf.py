"""PDF documents in a case: page count, page thumbnails, chosen pages as images, a scrubbed copy.

A referring team's PDF report carries more than its pages: a document info
dictionary (author, title, creator), XMP metadata, annotations signed with the
reviewer's name, JavaScript, attached files, bookmarks and the EXIF block of
every scanned JPEG inside it. :func:`scrub_pdf` rebuilds the document from its
pages alone and keeps none of that; the page content streams are copied
byte for byte.

Rendering uses PDFium (``pypdfium2``); reading and writing uses ``pypdf``. Every
function reads the whole file into memory, checks it is a complete PDF (header
at the start, ``%%EOF`` at the end, as Acrobat requires) and refuses encrypted
documents, even those that open without a password: CaseDeck cannot promise
to have removed what it could not read. Nothing is written to disk, so no
working folder is needed.
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from casefiles.errors import CaseDeckError, DeidentificationError, ImportFailure, ValidationError
from casefiles.media.metadata import strip_jpeg
from casefiles.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress

if TYPE_CHECKING:
    import pypdfium2

__all__ = [
    "MAX_PDF_BYTES",
    "MAX_RENDER_PAGES",
    "MAX_THUMBNAIL_PAGES",
    "PDFIUM_LOCK",
    "PdfInfo",
    "inspect_pdf",
    "page_thumbnails",
    "render_pages",
    "scrub_pdf",
]

#: Larger files are refused before they are read: a clinical report is a few MB.
MAX_PDF_BYTES = 512 * 1024 * 1024
#: page_thumbnails() draws at most this many pages (the first ones) unless told otherwise.
MAX_THUMBNAIL_PAGES = 200
#: render_pages() renders at most this many pages in one call.
MAX_RENDER_PAGES = 200

#: PDFium is not thread-safe, not even across documents; Streamlit serves sessions from threads.
#: Any CaseDeck code that calls pypdfium2 holds this lock.
PDFIUM_LOCK = threading.RLock()

_HEADER = b"%PDF-"
_TAIL_WINDOW = 1024  # Acrobat looks for the header and %%EOF within the first and last 1024 bytes
_FPDF_ERR_PASSWORD = 4
_FPDF_ERR_SECURITY = 5

_ENCRYPTED_MESSAGE = "This PDF is password-protected; remove the password and import it again."
_DAMAGED_MESSAGE = (
    "This PDF is damaged or incomplete (it may have been cut short while copying); "
    "save or export it again from the program that made it and import the new copy."
)

# Entries dropped wherever they appear in what the pages reach (resources, images, forms, fonts):
# XMP streams, application private data, modification dates, actions, links to outside files.
_DROPPED_EVERYWHERE = frozenset(
    {
        "/Metadata",
        "/PieceInfo",
        "/LastModified",
        "/AA",
        "/OPI",
        "/Ref",
        "/AF",
        "/StructParent",
        "/StructParents",
        "/Usage",
    }
)
# Page entries not carried: annotations (author /T, comments, replies, links, attachments, form
# widgets), the stored page thumbnail, article beads, web-capture IDs, separation info.
_DROPPED_PAGE_KEYS = ("/Annots", "/Thumb", "/B", "/ID", "/PZ", "/SeparationInfo", "/Metadata", "/PieceInfo", "/AA")
# Anything still holding one of these after scrubbing means the scrubber missed a way in.
_FORBIDDEN_IN_OUTPUT = frozenset(
    {
        "/Metadata",
        "/PieceInfo",
        "/AA",
        "/OpenAction",
        "/JS",
        "/JavaScript",
        "/EmbeddedFile",
        "/EmbeddedFiles",
        "/Annots",
        "/Outlines",
        "/AcroForm",
        "/StructTreeRoot",
        "/Names",
        "/Dests",
        "/URI",
    }
)

# Lossless wrappers pypdf can undo around a JPEG (full names, and the short ones inline images use).
_UNWRAPPABLE_FILTERS = frozenset(
    {"/ASCIIHexDecode", "/ASCII85Decode", "/LZWDecode", "/FlateDecode", "/RunLengthDecode"}
    | {"/AHx", "/A85", "/LZW", "/Fl", "/RL"}
)


@dataclass(frozen=True)
class PdfInfo:
    """What a case needs to know before showing a PDF: how many pages it has."""

    page_count: int

    def __post_init__(self) -> None:
        if isinstance(self.page_count, bool) or not isinstance(self.page_count, int) or self.page_count < 1:
            raise ValidationError("A PDF needs at least one page.")


def inspect_pdf(path: Path) -> PdfInfo:
    """Check the file is a complete, unencrypted PDF that PDFium can open, and count its pages."""
    data = _read_pdf(path)
    with _open_pdfium(data) as doc:
        return PdfInfo(page_count=len(doc))


def page_thumbnails(
    path: Path,
    *,
    side: int = 256,
    max_pages: int = MAX_THUMBNAIL_PAGES,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> list[bytes]:
    """PNG thumbnails (each fitting in ``side`` × ``side``) of the first ``max_pages`` pages, in order.

    A 600-page document gives 200 thumbnails by default; compare with
    ``inspect_pdf(path).page_count`` to tell the user the rest were not drawn
    (they can still be chosen by number in :func:`render_pages`).
    """
    side = _int_in_range(side, "Thumbnail size", 16, 2048)
    max_pages = _int_in_range(max_pages, "Number of thumbnails", 1, 10_000)
    data = _read_pdf(path)
    thumbnails: list[bytes] = []
    with _open_pdfium(data) as doc:
        count = min(len(doc), max_pages)
        for index in range(count):
            cancel.raise_if_cancelled()
            progress(index, count, "Drawing page thumbnails")
            thumbnails.append(_render(doc, index, scale=None, max_side=side, image_format="png"))
    progress(count, count, "Page thumbnails ready")
    return thumbnails


def render_pages(
    path: Path,
    pages: Sequence[int],
    *,
    dpi: int = 150,
    max_side: int = 2400,
    image_format: Literal["png", "jpeg"] = "png",
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> list[bytes]:
    """Images of the chosen pages (0-based, in the order given) to add to a case as pictures.

    Pages are drawn at ``dpi`` but never wider or taller than ``max_side``
    pixels, so a poster-sized page cannot exhaust memory. PNG keeps text sharp
    for annotation; JPEG (quality 90) is smaller for scanned photographs. The
    images are fresh pixels: they carry no metadata from the PDF.
    """
    dpi = _int_in_range(dpi, "Resolution (dpi)", 36, 600)
    max_side = _int_in_range(max_side, "Largest image side", 64, 10_000)
    if image_format not in ("png", "jpeg"):
        raise ValidationError("Pages can be rendered as PNG or JPEG only.")
    if isinstance(pages, (str, bytes)) or not isinstance(pages, Sequence):
        raise ValidationError("Pages must be a list of page numbers.")
    chosen = list(pages)
    if not chosen:
        raise ValidationError("Choose at least one page to include.")
    if len(chosen) > MAX_RENDER_PAGES:
        raise ValidationError(f"At most {MAX_RENDER_PAGES} pages can be included at once.")
    for index in chosen:
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise ValidationError("Page numbers must be whole numbers counted from 0.")
    data = _read_pdf(path)
    images: list[bytes] = []
    with _open_pdfium(data) as doc:
        total = len(doc)
        missing = [index for index in chosen if index >= total]
        if missing:
            raise ValidationError(f"This PDF has {total} page(s); page {missing[0] + 1} does not exist.")
        for done, index in enumerate(chosen):
            cancel.raise_if_cancelled()
            progress(done, len(chosen), "Rendering pages")
            images.append(_render(doc, index, scale=dpi / 72.0, max_side=max_side, image_format=image_format))
    progress(len(chosen), len(chosen), "Pages rendered")
    return images


def scrub_pdf(path: Path) -> bytes:
    """A copy of the PDF made of its pages only, with nothing that names or tracks anyone.

    Gone: the document info dictionary and XMP metadata (document, page and
    image level), bookmarks, named destinations, JavaScript and every other
    action, attached files, the tagged-PDF structure tree (its alternate texts
    can quote anything), page-piece data, and ALL annotations. Annotations are
    dropped whole rather than having their author (``/T``) removed, because
    their comments, replies, dates and link targets identify people too; a
    consequence is that sticky notes, highlights and filled-in form fields are
    not in the copy (render the pages first if their look must be kept).
    JPEG images inside keep their pixels but lose EXIF/XMP/IPTC/comment
    segments (:mod:`casefiles.media.metadata`); a damaged one gets the PDF
    refused. Page content streams, fonts, images and page sizes are kept
    unchanged; optional-content layers keep their visibility.
    """
    data = _read_pdf(path)
    with _open_pdfium(data) as doc:
        page_count = len(doc)
    try:
        scrubbed = _rebuild(data)
    except CaseDeckError:
        raise
    except Exception as exc:  # pypdf reports damage with many exception types
        raise ImportFailure(_DAMAGED_MESSAGE) from exc
    _verify_scrubbed(scrubbed, page_count)
    return scrubbed


# --- reading and opening --------------------------------------------------------------------------


def _read_pdf(path: Path) -> bytes:
    """The file's bytes, once it looks like a complete PDF (content, not the extension, decides)."""
    if not isinstance(path, Path):
        raise ValidationError("The PDF to import must be given as a file path.")
    try:
        size = path.stat().st_size
        if size > MAX_PDF_BYTES:
            raise ImportFailure(f"This PDF is larger than {MAX_PDF_BYTES // (1024 * 1024)} MB; it cannot be imported.")
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise ImportFailure("The file to import is no longer there; add it again.") from exc
    except IsADirectoryError as exc:
        raise ImportFailure("A folder was given where a PDF file was expected.") from exc
    except OSError as exc:
        raise ImportFailure("The file to import cannot be read; check it is not open elsewhere.") from exc
    if _HEADER not in data[:_TAIL_WINDOW]:
        raise ImportFailure("This file is not a PDF (its content does not start like one).")
    if b"%%EOF" not in data[-_TAIL_WINDOW:]:
        raise ImportFailure(_DAMAGED_MESSAGE)
    return data


@contextmanager
def _open_pdfium(data: bytes) -> Iterator[pypdfium2.PdfDocument]:
    """The document open in PDFium (under the lock), refused if it is encrypted in any way."""
    import pypdfium2
    import pypdfium2.raw as pdfium_c

    with PDFIUM_LOCK:
        try:
            doc = pypdfium2.PdfDocument(data)
        except pypdfium2.PdfiumError as exc:
            if getattr(exc, "err_code", None) in (_FPDF_ERR_PASSWORD, _FPDF_ERR_SECURITY):
                raise ImportFailure(_ENCRYPTED_MESSAGE) from exc
            raise ImportFailure(_DAMAGED_MESSAGE) from exc
        try:
            # PDFium silently opens documents whose user password is empty; they are still encrypted.
            if pdfium_c.FPDF_GetSecurityHandlerRevision(doc.raw) != -1:
                raise ImportFailure(_ENCRYPTED_MESSAGE)
            if len(doc) < 1:
                raise ImportFailure("This PDF has no pages.")
            yield doc
        finally:
            doc.close()


def _int_in_range(value: object, what: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(f"{what} must be a whole number from {low} to {high}.")
    return value


# --- rendering ------------------------------------------------------------------------------------


def _render(
    doc: pypdfium2.PdfDocument,
    index: int,
    *,
    scale: float | None,
    max_side: int,
    image_format: Literal["png", "jpeg"],
) -> bytes:
    """One page as an encoded image: at ``scale`` (points to pixels), shrunk to fit ``max_side``."""
    import pypdfium2

    try:
        page = doc[index]
        try:
            width, height = page.get_size()
            longest = max(width, height)
            if not (math.isfinite(width) and math.isfinite(height)) or min(width, height) <= 0:
                raise ImportFailure(f"Page {index + 1} of this PDF has no usable size; it cannot be shown.")
            fit = max_side / longest
            # PDFium rounds sizes up: without the nudge, 792 pt at 150 dpi (1650.0000000002) is 1651 px.
            factor = (fit if scale is None else min(scale, fit)) * (1 - 1e-9)
            if min(width, height) * factor < 1:
                raise ImportFailure(f"Page {index + 1} of this PDF is too narrow to be shown.")
            bitmap = page.render(scale=factor, may_draw_forms=True, draw_annots=True)
            try:
                image = bitmap.to_pil().convert("RGB")
            finally:
                bitmap.close()
        finally:
            page.close()
    except pypdfium2.PdfiumError as exc:
        raise ImportFailure(f"Page {index + 1} of this PDF is damaged and cannot be drawn.") from exc
    if max(image.size) > max_side:  # rounding inside PDFium can add a pixel
        image.thumbnail((max_side, max_side))
    out = io.BytesIO()
    if image_format == "png":
        image.save(out, format="PNG")
    else:
        image.save(out, format="JPEG", quality=90)
    return out.getvalue()


# --- scrubbing ------------------------------------------------------------------------------------


def _rebuild(data: bytes) -> bytes:
    """A new document holding cleaned copies of the pages (and optional-content visibility) only."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import NameObject

    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted:
        raise ImportFailure(_ENCRYPTED_MESSAGE)
    pages = list(reader.pages)
    seen: set[int] = set()
    layers = _layer_settings(reader)
    if layers is not None:
        _clean_tree(layers, seen)
    for page in pages:
        for key in _DROPPED_PAGE_KEYS:
            page.pop(key, None)
        _clean_tree(page, seen)

    writer = PdfWriter()
    for page in pages:
        writer.add_page(page, excluded_keys=_DROPPED_PAGE_KEYS)
    writer.metadata = None  # no /Info at all, not even pypdf's /Producer

    if layers is not None:
        writer.root_object[NameObject("/OCProperties")] = writer._add_object(layers.clone(writer))

    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _layer_settings(reader: Any) -> Any:
    """The optional-content list and default on/off state, so layers hidden by default stay hidden.

    The rest of /OCProperties (alternative configurations, their /Creator, display
    order labels) is left behind; the layers' /Usage (creator info) is dropped later.
    """
    from pypdf.generic import ArrayObject, DictionaryObject, NameObject

    properties = reader.root_object.get("/OCProperties")
    properties = properties.get_object() if properties is not None else None
    if not isinstance(properties, DictionaryObject):
        return None
    groups = properties.get("/OCGs")
    groups = groups.get_object() if groups is not None else None
    if not isinstance(groups, ArrayObject):
        return None
    default = properties.get("/D")
    default = default.get_object() if default is not None else None
    config = DictionaryObject()
    if isinstance(default, DictionaryObject):
        for key in ("/BaseState", "/ON", "/OFF"):
            if key in default:
                config[NameObject(key)] = default[key]
    return DictionaryObject({NameObject("/OCGs"): groups, NameObject("/D"): config})


def _clean_tree(obj: Any, seen: set[int]) -> None:
    """Drop identifying entries from every dictionary the object reaches (not following /Parent)."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject, StreamObject

    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, IndirectObject):
            if item.idnum in seen:
                continue
            seen.add(item.idnum)
            item = item.get_object()
        if isinstance(item, DictionaryObject):
            for key in _DROPPED_EVERYWHERE & set(item.keys()):
                del item[key]
            if isinstance(item, StreamObject) and _jpeg_filters(item) is not None:
                _strip_embedded_jpeg(item)
            stack.extend(value for key, value in item.items() if key != NameObject("/Parent"))
        elif isinstance(item, ArrayObject):
            stack.extend(item)


def _jpeg_filters(stream: Any) -> list[str] | None:
    """The stream's filter names when the last one is DCTDecode (the others only wrap the JPEG file)."""
    filters = stream.get("/Filter")
    filters = filters.get_object() if filters is not None else None
    if filters is None:
        return None
    names = [str(filters)] if isinstance(filters, str) else [str(name) for name in filters]
    if not names or names[-1] not in ("/DCTDecode", "/DCT"):
        return None
    return names


def _strip_embedded_jpeg(stream: Any) -> None:
    """Replace a JPEG image stream by the same JPEG without its metadata, stored as plain DCTDecode.

    Scanner apps and reportlab wrap the camera's JPEG (EXIF and all) in ASCII85 or
    Flate; the wrapping is undone so the JPEG itself can be cleaned.
    """
    from pypdf.generic import ArrayObject, DictionaryObject, NameObject, StreamObject

    names = _jpeg_filters(stream)
    if names is None:
        return
    if any(name not in _UNWRAPPABLE_FILTERS for name in names[:-1]):
        raise DeidentificationError(
            "An image inside this PDF is stored in a way CaseDeck cannot clean; "
            "print the PDF to a new PDF and import that."
        )
    jpeg = stream.get_data()  # pypdf undoes the wrapping filters and returns DCT data as it is
    parms = stream.get("/DecodeParms")
    parms = parms.get_object() if parms is not None else None
    if isinstance(parms, ArrayObject):
        parms = parms[-1].get_object() if len(parms) == len(names) else None
    elif len(names) != 1:
        parms = None
    # The base-class setter stores encoded bytes as they are (pypdf's own re-encodes Flate only).
    StreamObject.set_data(stream, _strip_jpeg_segments(bytes(jpeg)))
    stream.decoded_self = None
    stream[NameObject("/Filter")] = NameObject("/DCTDecode")
    if isinstance(parms, DictionaryObject):
        stream[NameObject("/DecodeParms")] = parms
    else:
        stream.pop("/DecodeParms", None)


def _strip_jpeg_segments(jpeg: bytes) -> bytes:
    """The same JPEG (same compressed pixels) without its metadata (:func:`casefiles.media.metadata.strip_jpeg`)."""
    try:
        return strip_jpeg(jpeg)
    except DeidentificationError:
        raise DeidentificationError(
            "An image inside this PDF is damaged, so its hidden metadata cannot be removed; "
            "print the PDF to a new PDF and import that."
        ) from None


def _verify_scrubbed(scrubbed: bytes, page_count: int) -> None:
    """Re-read the copy: same number of pages, no info dictionary, nothing forbidden in any object."""
    from pypdf import PdfReader
    from pypdf.generic import ArrayObject, DictionaryObject, StreamObject

    unsafe = DeidentificationError(
        "CaseDeck could not remove everything identifying from this PDF, so it was not imported; "
        "print it to a new PDF and import that."
    )
    try:
        reader = PdfReader(io.BytesIO(scrubbed), strict=False)
        if len(reader.pages) != page_count or "/Info" in reader.trailer:
            raise unsafe
        for idnum in _object_ids(reader):
            stack: list[Any] = [reader.get_object(idnum)]
            while stack:
                item = stack.pop()
                if isinstance(item, DictionaryObject):
                    if _FORBIDDEN_IN_OUTPUT & set(item.keys()) or item.get("/S") in ("/JavaScript", "/Launch"):
                        raise unsafe
                    if isinstance(item, StreamObject) and _jpeg_filters(item) is not None:
                        jpeg = bytes(item.get_data())
                        if _strip_jpeg_segments(jpeg) != jpeg:
                            raise unsafe
                    stack.extend(value for value in item.values() if isinstance(value, (DictionaryObject, ArrayObject)))
                elif isinstance(item, ArrayObject):
                    stack.extend(value for value in item if isinstance(value, (DictionaryObject, ArrayObject)))
    except CaseDeckError:
        raise
    except Exception as exc:
        raise unsafe from exc
    with _open_pdfium(scrubbed) as doc:
        if len(doc) != page_count:
            raise unsafe


def _object_ids(reader: Any) -> Iterator[int]:
    """Every object number the copy's cross-reference table lists (pypdf wrote it: one plain table)."""
    for entries in reader.xref.values():
        yield from entries
    yield from reader.xref_objStm


def parse_pages(text: str) -> list[int]:
    """Page numbers as a person types them ("1, 3-4", 1-based) as 0-based indexes, in order, without repeats."""
    pages: list[int] = []
    for part in (p.strip() for p in str(text).replace(";", ",").split(",")):
        if not part:
            continue
        low, _, high = part.partition("-")
        try:
            first, last = int(low), int(high or low)
        except ValueError:
            raise ValidationError(f"{part!r} is not a page number or range; write e.g. 1, 3-4.") from None
        if first < 1 or last < first:
            raise ValidationError(f"{part!r} is not a page range; pages count from 1, e.g. 3-4.")
        pages.extend(range(first - 1, last))
    if not pages:
        raise ValidationError("Give at least one page number, e.g. 1 or 2-3.")
    return list(dict.fromkeys(pages))
