"""PowerPoint decks in a case: checked, scrubbed, shown as thumbnails and carried into exports.

A deck from outside is treated like any other upload: its zip is unpacked in
memory under size limits (never trusting the sizes it declares), macros are
refused, and everything that names people is removed before it is stored —
document properties, comments and their authors, revision logs, custom XML,
speaker notes (unless the user keeps them), links that would reach outside the
file, and the metadata of the JPEG/PNG/TIFF pictures inside (:mod:`casefiles.media.metadata`;
a damaged picture gets the deck refused).

Chosen slides are later carried into CaseDeck's own deck *natively* (shapes
and text stay editable): python-pptx 1.0.2 has no cross-presentation copy, so
the slide part and every part it points to are cloned with the same rIds,
media are deduplicated by hash, and the slide is mapped onto the target's
layout with the closest placeholders (the slide takes the template's look).
Only slides that cannot be carried (ActiveX controls, or a clone that fails)
become a picture rendered by LibreOffice.

This module leans on python-pptx 1.0.2 internals (relationship maps, part
factory); requirements.txt pins it and the tests reopen every deck.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import signal
import subprocess
import tempfile
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree
from pptx import Presentation as _open_presentation
from pptx.opc.constants import CONTENT_TYPE as CT
from pptx.opc.constants import RELATIONSHIP_TARGET_MODE as RTM
from pptx.opc.constants import RELATIONSHIP_TYPE as RT
from pptx.opc.package import OpcPackage, Part, PartFactory, XmlPart, _Relationship
from pptx.opc.packuri import PackURI
from pptx.oxml import parse_xml
from pptx.oxml.ns import qn
from pptx.parts.slide import SlidePart
from pptx.presentation import Presentation
from pptx.slide import Slide, SlideLayout

from casefiles.errors import DeidentificationError, ExportError, ImportFailure, RenderError, ValidationError
from casefiles.media.metadata import picture_kind, strip_metadata

__all__ = ["DeckInfo", "copy_slides", "inspect_deck", "scrub_deck", "slide_thumbnails"]

# --- limits -----------------------------------------------------------------------------------

_MAX_FILE_BYTES = 1024**3
_MAX_UNPACKED_BYTES = 2 * 1024**3
_MAX_MEMBERS = 20_000
_MAX_RATIO = 200
_RATIO_GRACE_BYTES = 16 * 1024**2
_CHUNK = 1 << 16
_SOFFICE_TIMEOUT_S = 300
_MIN_SIDE, _MAX_SIDE = 16, 4096
_FALLBACK_SIDE = 1920

# --- what the user reads ----------------------------------------------------------------------

_NOT_PPTX = "This file is not a PowerPoint presentation (.pptx); save it as .pptx and import it again."
_DAMAGED = (
    "The presentation is damaged and cannot be read; open it in PowerPoint or LibreOffice, "
    "save it again as .pptx and import the saved copy."
)
_DAMAGED_PICTURE = (
    "Picture {number} of the {count} in this presentation is damaged, so its hidden metadata (EXIF, "
    "GPS, comments) cannot be removed; the deck was not added. Insert the picture again (or delete it) "
    "in PowerPoint, save the deck and add it again."
)
_LOCKED = "This presentation is password-protected; remove the password in PowerPoint and import it again."
_LEGACY_PPT = (
    "This is an old PowerPoint 97–2003 file (.ppt); open it in PowerPoint or LibreOffice, "
    "save it as .pptx and import it again."
)
_MACROS = (
    "This presentation contains macros; save it as .pptx without macros "
    "(PowerPoint: File › Save As › PowerPoint Presentation) and import it again."
)
_TOO_BIG = "This presentation expands to more than {limit}; split it into smaller decks and import them separately."

# --- package vocabulary -----------------------------------------------------------------------

_ZIP_MAGIC = b"PK\x03\x04"
#: Pictures whose metadata :mod:`casefiles.media.metadata` removes (any part whose bytes are one is, too).
_STRIPPED_PICTURES = frozenset({CT.JPEG, CT.PNG, CT.TIFF, "image/jpg", "image/pjpeg", "image/x-png"})
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_OLE_ENCRYPTION = "EncryptionInfo".encode("utf-16-le")
_PKG_NS = "http://schemas.openxmlformats.org/package/2006/"
_CT_NS = _PKG_NS + "content-types"
_RELS_NS = _PKG_NS + "relationships"
_R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_MC_NS = "http://schemas.openxmlformats.org/markup-compatibility/2006"
_EXTENDED_NS = "http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"
_CUSTOM_NS = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
_CORE_NS = "http://schemas.openxmlformats.org/package/2006/metadata/core-properties"

_MACRO_CONTENT_TYPES = frozenset(
    {
        CT.PML_PRES_MACRO_MAIN,
        "application/vnd.ms-powerpoint.slideshow.macroEnabled.main+xml",
        "application/vnd.ms-powerpoint.template.macroEnabled.main+xml",
        "application/vnd.ms-powerpoint.addin.macroEnabled.main+xml",
        "application/vnd.ms-office.vbaProject",
        "application/vnd.ms-office.vbaProjectSignature",
        "application/vnd.ms-excel.sheet.macroEnabled.12",
        "application/vnd.ms-word.document.macroEnabled.12",
        "application/vnd.ms-powerpoint.presentation.macroEnabled.12",
    }
)
_VBA_RELTYPE = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"
#: Slideshows (.ppsx) and templates (.potx) are presentations under another content type.
_PRESENTATION_ALIASES = frozenset({CT.PML_PRESENTATION_MAIN, CT.PML_SLIDESHOW_MAIN, CT.PML_TEMPLATE_MAIN})

_MODERN_COMMENTS = "http://schemas.microsoft.com/office/2018/10/relationships/comments"
_MODERN_AUTHORS = "http://schemas.microsoft.com/office/2018/10/relationships/authors"
_REVISION_INFO = "http://schemas.microsoft.com/office/2015/10/relationships/revisionInfo"
_CHANGES_INFO = "http://schemas.microsoft.com/office/2016/11/relationships/changesInfo"
_PEOPLE = "http://schemas.microsoft.com/office/2011/relationships/people"
_SIGNATURE_ORIGIN = "http://schemas.openxmlformats.org/package/2006/relationships/digital-signature/origin"

#: Relationships a scrubbed deck never keeps, wherever they start: they name people or carry
#: data nobody sees on a slide (comments, revision logs, custom XML, add-in tags, printers).
_SCRUBBED_RELTYPES = frozenset(
    {
        RT.COMMENTS,
        RT.COMMENT_AUTHORS,
        _MODERN_COMMENTS,
        _MODERN_AUTHORS,
        _REVISION_INFO,
        _CHANGES_INFO,
        _PEOPLE,
        RT.CUSTOM_XML,
        RT.CUSTOM_XML_PROPS,
        RT.CUSTOM_PROPERTIES,
        RT.TAGS,
        RT.THUMBNAIL,
        _SIGNATURE_ORIGIN,
        RT.PRINTER_SETTINGS,
        _VBA_RELTYPE,
    }
)
#: Relationships of a slide that are not carried into another deck.
_NOT_CARRIED = frozenset({RT.NOTES_SLIDE, RT.COMMENTS, _MODERN_COMMENTS, RT.SLIDE})

#: Elements that only exist to use a relationship: removed with it.
_REFERENCE_ELEMENTS = frozenset(
    qn(tag)
    for tag in (
        "a:hlinkClick",
        "a:hlinkHover",
        "a:hlinkMouseOver",
        "a:videoFile",
        "a:audioFile",
        "a:quickTimeFile",
        "a:wavAudioFile",
        "c:externalData",
        "p:custData",
        "p:tags",
        "p:control",
        "p:snd",
    )
)
#: Elements whose relationship is the object itself (linked OLE): the whole shape goes.
_OBJECT_ELEMENTS = frozenset({qn("p:oleObj")})
_SHAPE_TAGS = frozenset(qn(t) for t in ("p:sp", "p:pic", "p:graphicFrame", "p:cxnSp", "p:grpSp", "p:contentPart"))

_EMPTY_CORE = (
    '<cp:coreProperties xmlns:cp="' + _CORE_NS + '" xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>'
)
_EMPTY_APP = '<Properties xmlns="' + _EXTENDED_NS + '"/>'
_EMPTY_CUSTOM = '<Properties xmlns="' + _CUSTOM_NS + '"/>'
_XML_DECL = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

_SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


@dataclass(frozen=True, slots=True)
class DeckInfo:
    """What the import page shows before the deck is stored.

    ``titles`` has one entry per slide ("" for a slide without a title);
    ``external_links`` counts relationships that point outside the file
    (web links, linked pictures or files), which :func:`scrub_deck` removes.
    ``has_macros`` is always False on a returned value: decks with macros are
    refused with :class:`ImportFailure` instead.
    """

    slide_count: int
    titles: tuple[str, ...]
    has_macros: bool
    external_links: int

    def __post_init__(self) -> None:
        for name in ("slide_count", "external_links"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValidationError(f"DeckInfo.{name} must be a whole number ≥ 0 (got {value!r}).")
        if not isinstance(self.titles, tuple) or not all(isinstance(t, str) for t in self.titles):
            raise ValidationError("DeckInfo.titles must be a tuple of strings.")
        if len(self.titles) != self.slide_count:
            raise ValidationError(
                f"DeckInfo has {len(self.titles)} titles for {self.slide_count} slides; give one title per slide."
            )
        if not isinstance(self.has_macros, bool):
            raise ValidationError("DeckInfo.has_macros must be True or False.")


# === public API ===============================================================================


def inspect_deck(path: Path) -> DeckInfo:
    """Count slides, read their titles and count outside links, refusing decks that cannot be imported."""
    prs = _load(_read_file(path))
    titles = tuple(_slide_title(slide) for slide in prs.slides)
    return DeckInfo(
        slide_count=len(titles),
        titles=titles,
        has_macros=False,
        external_links=sum(1 for _, rel in _iter_rels(prs.part.package) if rel.is_external),
    )


def scrub_deck(path: Path, *, keep_notes: bool = False) -> bytes:
    """The deck at ``path`` as .pptx bytes with everything that names people removed.

    Core properties are emptied, the title included (it is often the patient's
    or the author's file name; the case has its own title). Extended properties
    (company, manager, slide titles list) are replaced by an empty set. Comments
    and their authors, revision logs, custom XML and properties, add-in tags,
    printer settings, the saved thumbnail and signatures are dropped; links to
    outside the file are removed (hyperlinks lose their link, linked pictures
    and files their source). Speaker notes go unless ``keep_notes``. JPEG/PNG
    pictures lose their EXIF/XMP/IPTC/text metadata without being re-encoded,
    TIFFs are written again from their pixels (:mod:`casefiles.media.metadata`);
    a damaged picture, whose metadata cannot be removed with certainty, gets
    the deck refused (:class:`~casefiles.errors.ImportFailure`). Embedded
    Office files (chart workbooks) get their properties emptied.
    """
    if not isinstance(keep_notes, bool):
        raise ValidationError("keep_notes must be True or False.")
    prs = _load(_read_file(path))
    try:
        _scrub_package(prs, keep_notes=keep_notes)
        out = io.BytesIO()
        prs.save(out)
    except (ImportFailure, ValidationError):
        raise
    except Exception as exc:  # a malformed part met while rewriting: the user's deck, not our bug
        raise ImportFailure(_DAMAGED) from exc
    return out.getvalue()


def slide_thumbnails(deck_bytes: bytes, *, workdir: Path, side: int = 320) -> list[bytes] | None:
    """One PNG per slide (longest side ``side`` pixels), rendered by LibreOffice; None without LibreOffice.

    LibreOffice converts the deck to PDF (hidden slides included, so pictures
    line up with slide numbers) with a private profile and TMPDIR inside
    ``workdir``; pypdfium2 renders the pages. Nothing is left in ``workdir``.
    """
    if isinstance(side, bool) or not isinstance(side, int) or not _MIN_SIDE <= side <= _MAX_SIDE:
        raise ValidationError(f"Thumbnail size must be a whole number of pixels from {_MIN_SIDE} to {_MAX_SIDE}.")
    folder = _check_workdir(workdir)
    data = _check_bytes(deck_bytes)
    slide_count = len(_load(data).slides)
    soffice = shutil.which("soffice")
    if soffice is None:
        return None
    return _render_pages(data, soffice, folder, side, slide_count)


def copy_slides(
    source_deck: bytes,
    indexes: Sequence[int],
    target: Presentation,
    *,
    workdir: Path | None = None,
) -> list[int]:
    """Append the slides at ``indexes`` (0-based, in that order) of ``source_deck`` to ``target``.

    Slides are carried natively: shapes, tables, charts and text stay editable,
    pictures and media are shared with identical ones already in ``target``,
    placeholders move onto the ``target`` layout with the closest placeholders
    (same name first), content is scaled and centred when the slide sizes
    differ (4:3 into 16:9), and speaker notes come along as text. Comments and
    links to other slides are not carried.

    Returns the indexes that had to be carried as a picture instead (slides
    with ActiveX controls, or a slide that could not be cloned); that needs
    LibreOffice and a ``workdir`` for its temporary files, else ExportError.
    Slides appended before an error stay in ``target``.
    """
    data = _check_bytes(source_deck)
    source = _load(data)
    picks = _check_indexes(indexes, len(source.slides))
    copier = _SlideCopier(target)
    pictures: _PictureSource | None = None
    fallbacks: list[int] = []
    src_slides = list(source.slides)
    for index in picks:
        slide = src_slides[index]
        if not _has_active_x(slide) and _carried(copier, slide):
            continue
        if pictures is None:
            pictures = _PictureSource(data, workdir, len(src_slides), index)
        _add_picture_slide(target, pictures.page(index), _notes_text(slide))
        fallbacks.append(index)
    return fallbacks


def _carried(copier: _SlideCopier, slide: Slide) -> bool:
    """Whether the slide was carried natively; a slide the cloning chokes on is left for the picture fallback."""
    try:
        copier.copy(slide)
    except (ExportError, ValidationError):
        raise
    except Exception:  # anything python-pptx or lxml raises on an odd part: the slide becomes a picture
        return False
    return True


# === reading a deck safely ====================================================================


def _read_file(path: Path) -> bytes:
    if not isinstance(path, Path):
        raise ValidationError("The presentation must be given as a pathlib.Path.")
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise ValidationError("The presentation to import is not a file.")
        if size > _MAX_FILE_BYTES:
            raise ImportFailure(_TOO_BIG.format(limit=_human(_MAX_FILE_BYTES)))
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise ValidationError("The presentation to import is missing from the import folder.") from exc
    except OSError as exc:
        raise ImportFailure("The presentation cannot be read from the import folder; import it again.") from exc


def _check_bytes(data: bytes) -> bytes:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ValidationError("The presentation must be given as bytes.")
    return bytes(data)


def _load(data: bytes) -> Presentation:
    """A python-pptx Presentation over a checked, normalised in-memory copy of ``data``."""
    members = _unpack(data)
    _refuse_unsafe(members)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for name, blob in members.items():
            zf.writestr(name, blob)
    buf.seek(0)
    try:
        prs: Presentation = _open_presentation(buf)
        for slide in prs.slides:  # touch every slide so a broken one fails here, not later
            _ = slide.slide_layout
    except Exception as exc:  # python-pptx raises KeyError/ValueError/XMLSyntaxError... on bad parts
        raise ImportFailure(_DAMAGED) from exc
    return prs


def _unpack(data: bytes) -> dict[str, bytes]:
    """Every zip member, read under limits that do not trust the sizes the zip declares."""
    if data.startswith(_OLE_MAGIC):
        raise ImportFailure(_LOCKED if _OLE_ENCRYPTION in data else _LEGACY_PPT)
    if not data.startswith(_ZIP_MAGIC):
        raise ImportFailure(_NOT_PPTX)
    too_big = ImportFailure(_TOO_BIG.format(limit=_human(_MAX_UNPACKED_BYTES)))
    members: dict[str, bytes] = {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = [info for info in zf.infolist() if not info.is_dir()]
            if len(infos) > _MAX_MEMBERS or sum(info.file_size for info in infos) > _MAX_UNPACKED_BYTES:
                raise too_big
            total = 0
            for info in infos:
                if info.flag_bits & 0x1:
                    raise ImportFailure(_LOCKED)
                if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or info.filename in members:
                    raise ImportFailure(_DAMAGED)
                allowance = max(_RATIO_GRACE_BYTES, _MAX_RATIO * info.compress_size)
                chunks: list[bytes] = []
                size = 0
                with zf.open(info) as fh:
                    while chunk := fh.read(_CHUNK):
                        size += len(chunk)
                        total += len(chunk)
                        if size > allowance or total > _MAX_UNPACKED_BYTES:
                            raise too_big
                        chunks.append(chunk)
                members[info.filename] = b"".join(chunks)
    except ImportFailure:
        raise
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError, RuntimeError) as exc:
        raise ImportFailure(_DAMAGED) from exc
    return members


def _refuse_unsafe(members: dict[str, bytes]) -> None:
    """Refuse macros and non-presentations; turn a slideshow or template into a presentation."""
    if any(name.lower().endswith("vbaproject.bin") for name in members):
        raise ImportFailure(_MACROS)
    types = _parse(members.get("[Content_Types].xml"))
    package_rels = _parse(members.get("_rels/.rels"))
    content_types = {el.get("ContentType") for el in types}
    if content_types & _MACRO_CONTENT_TYPES:
        raise ImportFailure(_MACROS)
    main = None
    for rel in package_rels:
        if rel.get("Type") == RT.OFFICE_DOCUMENT and rel.get("TargetMode") != RTM.EXTERNAL:
            main = "/" + (rel.get("Target") or "").lstrip("/")
    override = next(
        (
            el
            for el in types
            if el.tag == f"{{{_CT_NS}}}Override" and el.get("PartName", "").lower() == str(main).lower()
        ),
        None,
    )
    if override is None or override.get("ContentType") not in _PRESENTATION_ALIASES:
        raise ImportFailure(_NOT_PPTX)
    if override.get("ContentType") != CT.PML_PRESENTATION_MAIN:
        override.set("ContentType", CT.PML_PRESENTATION_MAIN)
        members["[Content_Types].xml"] = etree.tostring(types, xml_declaration=True, encoding="UTF-8", standalone=True)
    for name, blob in members.items():
        if name.endswith(".rels") and _VBA_RELTYPE.encode() in blob:
            raise ImportFailure(_MACROS)


def _parse(blob: bytes | None) -> Any:
    if blob is None:
        raise ImportFailure(_NOT_PPTX)
    try:
        return etree.fromstring(blob, _SAFE_PARSER)
    except etree.XMLSyntaxError as exc:
        raise ImportFailure(_DAMAGED) from exc


def _iter_rels(package: OpcPackage) -> Iterator[tuple[OpcPackage | Part, _Relationship]]:
    """Every relationship of the package and of every part reachable from it."""
    for rel in package._rels.values():
        yield package, rel
    for part in package.iter_parts():
        for rel in part.rels.values():
            yield part, rel


def _slide_title(slide: Slide) -> str:
    title = slide.shapes.title
    if title is None or not title.has_text_frame:
        return ""
    return " ".join(title.text_frame.text.split())


def _human(n: int) -> str:
    return f"{n / 1024**3:.0f} GB"


# === scrubbing ================================================================================


def _scrub_package(prs: Presentation, *, keep_notes: bool) -> None:
    package = prs.part.package
    dropped = set(_SCRUBBED_RELTYPES)
    if not keep_notes:
        dropped.add(RT.NOTES_SLIDE)
    for r_id in [r_id for r_id, rel in package._rels.items() if rel.reltype in dropped or rel.is_external]:
        package.drop_rel(r_id)
    for part in list(package.iter_parts()):
        _drop_rels(part, lambda rel: rel.is_external or rel.reltype in dropped)
    prs.core_properties._element = parse_xml(_EMPTY_CORE)
    try:
        app = package.part_related_by(RT.EXTENDED_PROPERTIES)
    except KeyError:
        pass
    else:
        _set_blob(app, _XML_DECL + _EMPTY_APP.encode())
    parts = list(package.iter_parts())
    pictures = [p for p in parts if not isinstance(p, XmlPart) and _is_picture(p)]
    for number, part in enumerate(pictures, start=1):
        try:
            _set_blob(part, strip_metadata(part.blob))
        except DeidentificationError:
            raise ImportFailure(_DAMAGED_PICTURE.format(number=number, count=len(pictures))) from None
    for part in parts:
        if str(part.partname).startswith("/ppt/embeddings/") and part.blob.startswith(_ZIP_MAGIC):
            _set_blob(part, _scrub_embedded_package(part.blob))


def _set_blob(part: Part, blob: bytes) -> None:
    if isinstance(part, XmlPart):
        part._element = parse_xml(blob)
    else:
        part._blob = blob


def _drop_rels(part: Part, should_drop: Callable[[_Relationship], bool]) -> set[str]:
    """Drop the relationships of ``part`` that ``should_drop``, and what in its XML used them."""
    r_ids = {r_id for r_id, rel in part.rels.items() if should_drop(rel)}
    for r_id in r_ids:
        part.rels.pop(r_id)
    if r_ids and isinstance(part, XmlPart):
        _remove_references(part._element, r_ids)
    return r_ids


def _remove_references(root: Any, r_ids: set[str]) -> None:
    """Make XML that used the relationships ``r_ids`` stand on its own (or go, when it is only a reference)."""
    hits = []
    for el in root.iter(etree.Element):
        for name, value in el.attrib.items():
            if value in r_ids and (name.startswith(f"{{{_R_NS}}}") or name == "relId"):
                hits.append((el, name))
    for el, name in hits:
        if el.getroottree().getroot() is not root:
            continue  # already removed with an ancestor
        target = _removal_target(el)
        if target is None:
            el.attrib.pop(name, None)
            continue
        parent = target.getparent()
        if parent is None:
            continue
        parent.remove(target)
        if parent.tag in (qn("p:extLst"), qn("a:extLst"), qn("p:custDataLst"), qn("p:controls")) and len(parent) == 0:
            grand = parent.getparent()
            if grand is not None:
                grand.remove(parent)


def _removal_target(el: Any) -> Any:
    for node in el.iterancestors():
        parent = node.getparent()
        if parent is not None and etree.QName(node).localname == "ext" and etree.QName(parent).localname == "extLst":
            return node
    if el.tag in _REFERENCE_ELEMENTS:
        return el
    if el.tag in _OBJECT_ELEMENTS:
        shape = next((a for a in el.iterancestors() if a.tag in _SHAPE_TAGS), None)
        if shape is None:
            return el
        alternate = next((a for a in shape.iterancestors() if a.tag == f"{{{_MC_NS}}}AlternateContent"), None)
        return alternate if alternate is not None else shape
    return None


def _is_picture(part: Part) -> bool:
    """A JPEG, PNG or TIFF (what the deck says it is, or what its bytes are): its metadata must go."""
    return part.content_type in _STRIPPED_PICTURES or picture_kind(part.blob) is not None


def _scrub_embedded_package(blob: bytes) -> bytes:
    """An embedded Office file (a chart's workbook) with its document properties emptied."""
    replacements = {
        "docProps/core.xml": _XML_DECL + _EMPTY_CORE.encode(),
        "docProps/app.xml": _XML_DECL + _EMPTY_APP.encode(),
        "docProps/custom.xml": _XML_DECL + _EMPTY_CUSTOM.encode(),
    }
    try:
        members = _unpack(blob)
    except ImportFailure:
        return blob
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, replacements.get(name, data))
    return out.getvalue()


# === copying slides into another deck ==========================================================


def _check_indexes(indexes: Sequence[int], count: int) -> list[int]:
    if isinstance(indexes, str | bytes) or not isinstance(indexes, Sequence):
        raise ValidationError("Slides to copy must be given as a list of slide numbers (0-based).")
    picks = list(indexes)
    for index in picks:
        if isinstance(index, bool) or not isinstance(index, int):
            raise ValidationError(f"Slide numbers must be whole numbers (got {index!r}).")
        if not 0 <= index < count:
            raise ValidationError(
                f"Slide {index + 1} does not exist: the imported presentation has {count} slides."
                if index >= 0
                else f"Slide numbers start at 0 (got {index})."
            )
    return picks


def _has_active_x(slide: Slide) -> bool:
    return any(rel.reltype == RT.CONTROL for rel in slide.part.rels.values())


def _notes_text(slide: Slide) -> str:
    if not slide.has_notes_slide:
        return ""
    frame = slide.notes_slide.notes_text_frame
    return "" if frame is None else frame.text


_DIGITS = re.compile(r"\d+(?=\.[^./]+$)")
_TITLE_KINDS = {"title": "title", "ctrTitle": "title"}
_BODY_KINDS = {"body": "body", "obj": "body", "subTitle": "body"}
_FURNITURE = frozenset({"dt", "ftr", "sldNum", "hdr"})


def _ph_kind(ph: Any) -> str:
    kind = ph.get("type", "obj")
    return _TITLE_KINDS.get(kind) or _BODY_KINDS.get(kind) or kind


def _placeholder(shape_el: Any) -> Any:
    nv = shape_el[0] if len(shape_el) else None
    if nv is None:
        return None
    nv_pr = nv.find(qn("p:nvPr"))
    return None if nv_pr is None else nv_pr.find(qn("p:ph"))


class _SlideCopier:
    """Clones slides into ``target``, sharing cloned parts and media across the slides of one call."""

    def __init__(self, target: Presentation) -> None:
        if not isinstance(target, Presentation):
            raise ValidationError("Slides can only be copied into a python-pptx Presentation.")
        self._target = target
        self._package = target.part.package
        self._clones: dict[int, Part] = {}
        self._media: dict[tuple[str, str], Part] = {}
        for part in self._package.iter_parts():
            if _is_media(part):
                self._media.setdefault((part.content_type, _sha(part.blob)), part)
        self._reserved: set[str] = set()
        self._layouts: dict[int, SlideLayout] = {}

    def copy(self, slide: Slide) -> Slide:
        src_part = slide.part
        layout = self._layout_for(slide)
        self._names = {str(p.partname).lower() for p in self._package.iter_parts()} | self._reserved
        partname = self._partname("/ppt/slides/slide%d.xml")
        new_part = SlidePart.load(partname, src_part.content_type, self._package, src_part.blob)
        root = new_part._element
        skipped: set[str] = set()
        for r_id, rel in src_part.rels.items():
            if rel.reltype == RT.SLIDE_LAYOUT:
                self._relate(new_part, r_id, RT.SLIDE_LAYOUT, layout.part)
            elif rel.reltype in _NOT_CARRIED:
                skipped.add(r_id)
            elif rel.is_external:
                new_part.rels._rels[r_id] = _Relationship(
                    partname.baseURI, r_id, rel.reltype, RTM.EXTERNAL, rel.target_ref
                )
            else:
                self._relate(new_part, r_id, rel.reltype, self._clone(rel.target_part))
        if skipped:
            _remove_references(root, skipped)
        self._fit_placeholders(slide, root, layout)
        self._scale(root, slide)
        new_slide = new_part.slide
        notes = _notes_text(slide)
        if notes.strip():
            frame = new_slide.notes_slide.notes_text_frame
            if frame is not None:
                frame.text = notes
        # Joined to the deck last, so a slide that fails above leaves nothing behind.
        r_id = self._target.part.relate_to(new_part, RT.SLIDE)
        self._target.slides._sldIdLst.add_sldId(r_id)
        return new_slide

    # --- parts --------------------------------------------------------------------------------

    def _partname(self, template: str) -> PackURI:
        n = 1
        while (template % n).lower() in self._names:
            n += 1
        name = template % n
        self._names.add(name.lower())
        self._reserved.add(name.lower())
        return PackURI(name)

    @staticmethod
    def _relate(part: Part, r_id: str, reltype: str, target: Part) -> None:
        part.rels._rels[r_id] = _Relationship(part.partname.baseURI, r_id, reltype, RTM.INTERNAL, target)

    def _clone(self, src: Part) -> Part:
        """``src`` and everything it points to, as parts of the target package (memoised; media shared)."""
        done = self._clones.get(id(src))
        if done is not None:
            return done
        if _is_media(src):
            key = (src.content_type, _sha(src.blob))
            shared = self._media.get(key)
            if shared is None:
                shared = PartFactory(self._name_like(src.partname), src.content_type, self._package, src.blob)
                self._media[key] = shared
            self._clones[id(src)] = shared
            return shared
        clone = PartFactory(self._name_like(src.partname), src.content_type, self._package, src.blob)
        self._clones[id(src)] = clone
        for r_id, rel in src.rels.items():
            if rel.is_external:
                clone.rels._rels[r_id] = _Relationship(
                    clone.partname.baseURI, r_id, rel.reltype, RTM.EXTERNAL, rel.target_ref
                )
            elif rel.reltype in (RT.SLIDE, RT.SLIDE_LAYOUT, RT.SLIDE_MASTER, RT.NOTES_SLIDE):
                raise ExportError("A part of an imported slide points back into its own deck.")
            else:
                self._relate(clone, r_id, rel.reltype, self._clone(rel.target_part))
        return clone

    def _name_like(self, partname: PackURI) -> PackURI:
        name = str(partname)
        template = _DIGITS.sub("%d", name.replace("%", "")) if _DIGITS.search(name) else None
        if template is None:
            stem, dot, ext = name.rpartition(".")
            template = f"{stem}%d.{ext}" if dot else f"{name}%d"
        return self._partname(template)

    # --- layout and geometry ------------------------------------------------------------------

    def _layout_for(self, slide: Slide) -> SlideLayout:
        """The target layout with the same name, else the one whose placeholders fit the slide's best."""
        src_layout = slide.slide_layout
        cached = self._layouts.get(id(src_layout))
        if cached is not None:
            return cached
        layouts = [layout for master in self._target.slide_masters for layout in master.slide_layouts]
        if not layouts:
            raise ExportError("The deck template has no slide layouts to place imported slides on.")
        wanted = src_layout.name.strip().lower()
        chosen = next((layout for layout in layouts if layout.name.strip().lower() == wanted), None)
        if chosen is None:
            kinds = _kinds(_placeholder(el) for el in slide.shapes._spTree.iter_shape_elms())
            chosen = max(layouts, key=lambda layout: _fit_score(kinds, _layout_kinds(layout)))
        self._layouts[id(src_layout)] = chosen
        return chosen

    @staticmethod
    def _fit_placeholders(slide: Slide, root: Any, layout: SlideLayout) -> None:
        """Give each placeholder its inherited position, then a target placeholder of its kind or none."""
        free: dict[str, list[Any]] = {}
        for ph in _layout_placeholders(layout):
            free.setdefault(_ph_kind(ph), []).append(ph)
        src_shapes = list(slide.shapes)
        new_elements = list(root.cSld.spTree.iter_shape_elms())
        for src_shape, el in zip(src_shapes, new_elements, strict=True):
            ph = _placeholder(el)
            if ph is None:
                continue
            if el.xfrm is None and None not in (src_shape.left, src_shape.top, src_shape.width, src_shape.height):
                el.x, el.y, el.cx, el.cy = src_shape.left, src_shape.top, src_shape.width, src_shape.height
            candidates = free.get(_ph_kind(ph))
            if candidates:
                match = candidates.pop(0)
                for attr in ("type", "idx"):
                    if match.get(attr) is None:
                        ph.attrib.pop(attr, None)
                    else:
                        ph.set(attr, match.get(attr))
            else:
                ph.getparent().remove(ph)

    def _scale(self, root: Any, slide: Slide) -> None:
        """Scale and centre the slide's content when source and target slide sizes differ."""
        src_prs = slide.part.package.presentation_part.presentation
        sw, sh = src_prs.slide_width, src_prs.slide_height
        tw, th = self._target.slide_width, self._target.slide_height
        if not (sw and sh and tw and th) or (sw, sh) == (tw, th):
            return
        factor = min(tw / sw, th / sh)
        dx, dy = (tw - sw * factor) / 2, (th - sh * factor) / 2
        for el in _top_level_shapes(root.cSld.spTree):
            xfrm = _xfrm_of(el)
            if xfrm is None:
                continue
            off, ext = xfrm.find(qn("a:off")), xfrm.find(qn("a:ext"))
            if off is None or ext is None:
                continue
            if el.tag == qn("p:grpSp") and xfrm.find(qn("a:chOff")) is None:
                # Without a child frame the members would not follow the group's new size.
                etree.SubElement(xfrm, qn("a:chOff"), x=off.get("x", "0"), y=off.get("y", "0"))
                etree.SubElement(xfrm, qn("a:chExt"), cx=ext.get("cx", "0"), cy=ext.get("cy", "0"))
            off.set("x", str(round(dx + int(off.get("x", "0")) * factor)))
            off.set("y", str(round(dy + int(off.get("y", "0")) * factor)))
            ext.set("cx", str(round(int(ext.get("cx", "0")) * factor)))
            ext.set("cy", str(round(int(ext.get("cy", "0")) * factor)))
        if abs(factor - 1) > 0.01:
            for el in root.iter(qn("a:rPr"), qn("a:defRPr"), qn("a:endParaRPr")):
                size = el.get("sz")
                if size is not None and size.isdigit():
                    el.set("sz", str(max(100, round(int(size) * factor))))


def _top_level_shapes(sp_tree: Any) -> Iterator[Any]:
    for child in sp_tree:
        if child.tag in _SHAPE_TAGS:
            yield child
        elif child.tag == f"{{{_MC_NS}}}AlternateContent":
            for branch in child:
                yield from (el for el in branch if el.tag in _SHAPE_TAGS)


def _xfrm_of(el: Any) -> Any:
    if el.tag == qn("p:graphicFrame"):
        return el.find(qn("p:xfrm"))
    props = el.find(qn("p:grpSpPr") if el.tag == qn("p:grpSp") else qn("p:spPr"))
    return None if props is None else props.find(qn("a:xfrm"))


def _kinds(phs: Iterator[Any]) -> Counter[str]:
    return Counter(k for k in (_ph_kind(ph) for ph in phs if ph is not None) if k not in _FURNITURE)


def _layout_kinds(layout: SlideLayout) -> Counter[str]:
    return _kinds(_layout_placeholders(layout))


def _layout_placeholders(layout: SlideLayout) -> Iterator[Any]:
    for el in layout.shapes._spTree.iter_shape_elms():
        ph = _placeholder(el)
        if ph is not None:
            yield ph


def _fit_score(wanted: Counter[str], offered: Counter[str]) -> int:
    missing = sum((wanted - offered).values())
    extra = sum((offered - wanted).values())
    return -(2 * missing + extra)


def _is_media(part: Part) -> bool:
    return part.content_type.startswith(("image/", "video/", "audio/")) or str(part.partname).startswith("/ppt/media/")


def _sha(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


# === rendering with LibreOffice ===============================================================


def _check_workdir(workdir: Path | None) -> Path:
    if not isinstance(workdir, Path):
        raise ValidationError("A working folder (pathlib.Path) inside the import's quarantine is needed.")
    if not workdir.is_dir():
        raise ValidationError("The working folder for rendering slides does not exist.")
    return workdir


def _render_pages(data: bytes, soffice: str, workdir: Path, side: int, slide_count: int) -> list[bytes]:
    """Each slide as a PNG whose longest side is ``side`` pixels."""
    import pypdfium2 as pdfium
    from PIL import Image

    from casefiles.media.pdf import PDFIUM_LOCK

    pdf = _convert_to_pdf(data, soffice, workdir)
    pages: list[bytes] = []
    with PDFIUM_LOCK:  # PDFium is not thread-safe; Streamlit serves sessions from threads
        try:
            document = pdfium.PdfDocument(pdf)
        except pdfium.PdfiumError as exc:
            raise RenderError("LibreOffice could not render this presentation; open it and save it again.") from exc
        try:
            if len(document) != slide_count:
                raise RenderError(
                    f"LibreOffice rendered {len(document)} pages for {slide_count} slides; "
                    "open the presentation in LibreOffice to see what it cannot show."
                )
            for page in document:
                width, height = page.get_size()
                bitmap = page.render(scale=side / max(width, height, 1.0))
                image: Image.Image = bitmap.to_pil()
                buf = io.BytesIO()
                image.convert("RGB").save(buf, "PNG")
                pages.append(buf.getvalue())
                page.close()
        finally:
            document.close()
    return pages


def _convert_to_pdf(data: bytes, soffice: str, workdir: Path) -> bytes:
    """LibreOffice's PDF of the deck, made inside a private folder of ``workdir`` that is removed after."""
    work = Path(tempfile.mkdtemp(prefix="slides-", dir=workdir))
    try:
        tmp = work / "tmp"
        tmp.mkdir()
        out = work / "out"
        deck = work / "deck.pptx"
        deck.write_bytes(data)
        env = {**os.environ, "TMPDIR": str(tmp), "TMP": str(tmp), "TEMP": str(tmp)}
        command = [
            soffice,
            "--headless",
            "--norestore",
            "--nolockcheck",
            "--nodefault",
            f"-env:UserInstallation={(work / 'profile').as_uri()}",
            "--convert-to",
            'pdf:impress_pdf_Export:{"ExportHiddenSlides":{"type":"boolean","value":"true"}}',
            "--outdir",
            str(out),
            str(deck),
        ]
        with subprocess.Popen(
            command, cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        ) as proc:
            try:
                proc.communicate(timeout=_SOFFICE_TIMEOUT_S)
            except subprocess.TimeoutExpired as exc:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
                raise RenderError(
                    f"LibreOffice did not finish rendering the slides within {_SOFFICE_TIMEOUT_S} s; try again."
                ) from exc
        pdf = out / "deck.pdf"
        if proc.returncode != 0 or not pdf.is_file():
            raise RenderError("LibreOffice could not render this presentation; open it and save it again.")
        return pdf.read_bytes()
    finally:
        shutil.rmtree(work, ignore_errors=True)


class _PictureSource:
    """Slides rendered once, on demand, for the picture fallback of :func:`copy_slides`."""

    def __init__(self, data: bytes, workdir: Path | None, slide_count: int, first_index: int) -> None:
        soffice = shutil.which("soffice")
        if soffice is None or workdir is None:
            raise ExportError(
                f"Slide {first_index + 1} of the imported presentation cannot be carried as editable content "
                "and LibreOffice is needed to carry it as a picture; install LibreOffice or leave the slide out."
            )
        self._pages = _render_pages(data, soffice, _check_workdir(workdir), _FALLBACK_SIDE, slide_count)

    def page(self, index: int) -> bytes:
        return self._pages[index]


def _add_picture_slide(target: Presentation, png: bytes, notes: str) -> None:
    """A slide on the emptiest layout holding ``png`` fitted and centred."""
    from PIL import Image

    layouts = [layout for master in target.slide_masters for layout in master.slide_layouts]
    if not layouts:
        raise ExportError("The deck template has no slide layouts to place imported slides on.")
    layout = min(layouts, key=lambda layout: (len(layout.placeholders), layout.name.strip().lower() != "blank"))
    slide = target.slides.add_slide(layout)
    for shape in list(slide.placeholders):
        shape._element.getparent().remove(shape._element)
    with Image.open(io.BytesIO(png)) as image:
        width, height = image.size
    tw, th = int(target.slide_width or 0), int(target.slide_height or 0)
    factor = min(tw / width, th / height)
    cx, cy = round(width * factor), round(height * factor)
    slide.shapes.add_picture(io.BytesIO(png), (tw - cx) // 2, (th - cy) // 2, cx, cy)
    if notes.strip():
        frame = slide.notes_slide.notes_text_frame
        if frame is not None:
            frame.text = notes
