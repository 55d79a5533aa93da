"""Package-level hygiene for python-pptx decks: metadata and the zip container.

Two jobs python-pptx does not offer through its public API:

* metadata: the default template carries someone else's core properties, a
  4:3 "extended properties" part and a thumbnail of an empty slide; they are
  replaced so the file says only what CaseDeck put there.
* writing: python-pptx deflates every part, including PNG/JPEG media that are
  already compressed, which is most of the save time. Media are stored instead
  (same size, ~15x faster to write) and every zip entry gets one fixed
  timestamp, so the same case gives the same bytes.

This leans on python-pptx 1.0.2 internals (``PackageWriter`` and the package's
relationship map); requirements.txt pins it and the tests reopen every deck.
"""

from __future__ import annotations

import datetime as dt
import uuid
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO
from xml.sax.saxutils import escape, quoteattr

from lxml import etree
from pptx import Presentation as _PresentationFactory
from pptx.opc.constants import RELATIONSHIP_TYPE as RT
from pptx.opc.packuri import PackURI
from pptx.opc.serialized import PackageWriter, _PhysPkgWriter
from pptx.oxml import parse_xml
from pptx.oxml.ns import qn
from pptx.presentation import Presentation

from exporters import _atomic as atomic

#: The time stamped on the deck and on every zip entry (no clock, no correlation with a study date).
FIXED_TIME = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_ZIP_TIME = (2000, 1, 1, 0, 0, 0)
_STORED_PREFIX = "ppt/media/"
_MAX_PROPERTY = 255

_APP_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" '
    'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
    "<PresentationFormat>Widescreen</PresentationFormat><Slides>{slides}</Slides><Notes>{notes}</Notes>"
    "<Application>{app}</Application></Properties>"
)


def new_presentation() -> Presentation:
    """A presentation from python-pptx's default template (typed; the factory is untyped)."""
    prs: Presentation = _PresentationFactory()
    return prs


def set_metadata(prs: Presentation, *, title: str, app_name: str = "CaseDeck") -> None:
    """Set every core property explicitly and replace template leftovers.

    Nothing from the case but its title is written; author and editor are the
    application, and times are a fixed constant.
    """
    core = prs.core_properties
    # Core properties hold at most 255 characters; a case title may have 300.
    core.title = title if len(title) <= _MAX_PROPERTY else title[: _MAX_PROPERTY - 1].rstrip() + "…"
    core.author = app_name
    core.last_modified_by = app_name
    core.subject = ""
    core.keywords = ""
    core.comments = ""
    core.category = ""
    core.content_status = ""
    core.identifier = ""
    core.language = ""
    core.version = ""
    core.revision = 1
    core.created = FIXED_TIME.replace(tzinfo=None)
    core.modified = FIXED_TIME.replace(tzinfo=None)

    package = prs.part.package
    slides = len(prs.slides)
    notes = sum(1 for slide in prs.slides if slide.has_notes_slide)
    app_xml = _APP_XML.format(slides=slides, notes=notes, app=escape(app_name))
    package.part_related_by(RT.EXTENDED_PROPERTIES).blob = app_xml.encode("utf-8")
    # The template's thumbnail shows an empty 4:3 slide; no thumbnail is better than a wrong one.
    rels = package._rels
    # Custom properties of a template may say anything (its author's name, say): dropped too.
    for r_id in [r_id for r_id, rel in rels.items() if rel.reltype in (RT.THUMBNAIL, RT.CUSTOM_PROPERTIES)]:
        package.drop_rel(r_id)


class _ZipWriter(_PhysPkgWriter):
    """Writes parts to an open zip: media stored, everything else deflated, fixed timestamps."""

    def __init__(self, zf: zipfile.ZipFile) -> None:
        self._zf = zf

    def write(self, pack_uri: PackURI, blob: bytes) -> None:
        name = pack_uri.membername
        info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
        info.compress_type = zipfile.ZIP_STORED if name.startswith(_STORED_PREFIX) else zipfile.ZIP_DEFLATED
        info.external_attr = 0o600 << 16
        self._zf.writestr(info, blob)


class _PackageWriter(PackageWriter):
    def write_to(self, stream: IO[bytes]) -> None:
        with zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            writer = _ZipWriter(zf)
            self._write_content_types_stream(writer)
            self._write_pkg_rels(writer)
            self._write_parts(writer)


def save_presentation(prs: Presentation, stream: IO[bytes]) -> None:
    """Serialise ``prs`` to ``stream`` (an open binary file) with stored media."""
    package = prs.part.package
    _PackageWriter(stream, package._rels, tuple(package.iter_parts())).write_to(stream)


_SECTIONS_URI = "{521415D9-36F7-43E2-AB2F-B90AF26B5E84}"
_P14 = "http://schemas.microsoft.com/office/powerpoint/2010/main"
_SECTION_NAMESPACE = uuid.UUID("0b5c8a52-6a43-4f0e-8f3c-52c1d6a3f1a7")


def check_target(out: object) -> Path:
    """``out`` as a .pptx destination, or an ExportError saying what is wrong with it."""
    return atomic.check_target(out, ".pptx", "deck")


def write_atomically(prs: Presentation, target: Path) -> None:
    """Save to a hidden temporary file beside ``target``, then rename it into place."""
    atomic.write_atomically(target, lambda fh: save_presentation(prs, fh), "deck")


def set_sections(prs: Presentation, sections: Sequence[tuple[str, Sequence[int]]]) -> None:
    """Write PowerPoint sections (``p14:sectionLst``): a name and its slide ids, in order.

    PowerPoint shows them in the slide sorter; LibreOffice ignores them. Ids are
    derived from the position so the same conference gives the same bytes.
    """
    root = prs.part._element
    ext_lst = root.find(qn("p:extLst"))
    if ext_lst is None:
        ext_lst = etree.SubElement(root, qn("p:extLst"))
    for ext in ext_lst.findall(qn("p:ext")):
        if ext.get("uri") == _SECTIONS_URI:
            ext_lst.remove(ext)
    parts = []
    for n, (name, slide_ids) in enumerate(sections):
        if not slide_ids:
            continue
        section_id = "{" + str(uuid.uuid5(_SECTION_NAMESPACE, str(n))).upper() + "}"
        ids = "".join(f'<p14:sldId id="{i}"/>' for i in slide_ids)
        parts.append(
            f'<p14:section name={quoteattr(name)} id="{section_id}"><p14:sldIdLst>{ids}</p14:sldIdLst></p14:section>'
        )
    if not parts:
        return
    section_lst = f'<p14:sectionLst xmlns:p14="{_P14}">{"".join(parts)}</p14:sectionLst>'
    ext = parse_xml(f'<p:ext {_nsdecl_p()} uri="{_SECTIONS_URI}">{section_lst}</p:ext>')
    ext_lst.insert(0, ext)


def _nsdecl_p() -> str:
    return 'xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"'
