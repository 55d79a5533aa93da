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
import zipfile
from typing import IO
from xml.sax.saxutils import escape

from pptx import Presentation as _PresentationFactory
from pptx.opc.constants import RELATIONSHIP_TYPE as RT
from pptx.opc.packuri import PackURI
from pptx.opc.serialized import PackageWriter, _PhysPkgWriter
from pptx.presentation import Presentation

#: The time stamped on the deck and on every zip entry (no clock, no correlation with a study date).
FIXED_TIME = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_ZIP_TIME = (2000, 1, 1, 0, 0, 0)
_STORED_PREFIX = "ppt/media/"

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
    core.title = title
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
    for r_id in [r_id for r_id, rel in rels.items() if rel.reltype == RT.THUMBNAIL]:
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
