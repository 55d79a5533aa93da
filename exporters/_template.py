"""Open an institution's PowerPoint template (.potx or .pptx) as the base of a deck.

python-pptx refuses a .potx (its main part has the *template* content type),
so the package is opened directly and the main part retyped as a presentation.
The template's own slides are removed properly (slide id, relationship and any
section or custom-show lists), so PowerPoint never has to repair the deck.
Slides are then mapped to the template's layouts by name, then by placeholder
types; a template that is not 16:9 keeps its size (the canvas scales).
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable
from pathlib import Path

from pptx.enum.shapes import PP_PLACEHOLDER
from pptx.opc.constants import CONTENT_TYPE as CT
from pptx.opc.constants import RELATIONSHIP_TYPE as RT
from pptx.oxml.ns import qn
from pptx.package import Package
from pptx.parts.presentation import PresentationPart
from pptx.presentation import Presentation
from pptx.slide import SlideLayout

from casefiles.errors import ExportError

TEMPLATE_SUFFIXES = (".potx", ".pptx")
_BROKEN = "The template could not be opened: it is not a readable PowerPoint template (.potx or .pptx)."
_MAX_TEMPLATE_BYTES = 200 * 1024 * 1024

_ROLE_NAMES: dict[str, tuple[str, ...]] = {
    "title": ("title slide",),
    "section": ("section header", "section title", "section"),
    "text": ("title and content", "title, content", "title and text", "title only"),
    "image": ("blank", "title only"),
}
_DECORATION = {PP_PLACEHOLDER.DATE, PP_PLACEHOLDER.FOOTER, PP_PLACEHOLDER.SLIDE_NUMBER}


def open_template(template: Path) -> Presentation:
    """The template as an empty presentation (no slides), or ExportError saying why it cannot be used."""
    if not isinstance(template, str | os.PathLike):
        raise ExportError("The template must be given as a file path.")
    path = Path(template)
    if path.suffix.lower() not in TEMPLATE_SUFFIXES:
        raise ExportError("The template must be a PowerPoint template (.potx) or presentation (.pptx).")
    if not path.is_file():
        raise ExportError("The template could not be opened: the file does not exist or is not a file.")
    if path.stat().st_size > _MAX_TEMPLATE_BYTES:
        raise ExportError("The template could not be opened: it is larger than 200 MB.")
    try:
        if not zipfile.is_zipfile(path):
            raise ExportError(_BROKEN)
        part = Package.open(str(path)).main_document_part
        if not isinstance(part, PresentationPart):
            raise ExportError(_BROKEN)
        part._content_type = CT.PML_PRESENTATION_MAIN
        prs = part.presentation
        _drop_slides(prs)
        _drop_macros(part)
        layouts = list(prs.slide_layouts)
        # Touch every layout's shapes now so a corrupt layout fails here, not half-way through the deck.
        for layout in layouts:
            _types(layout)
    except ExportError:
        raise
    except Exception as exc:
        raise ExportError(_BROKEN) from exc
    if not layouts:
        raise ExportError("The template could not be opened: it has no slide layouts to build slides on.")
    return prs


def map_layouts(prs: Presentation) -> dict[str, SlideLayout]:
    """The template layout for each slide role: by name first, then by the placeholders it has."""
    layouts = list(prs.slide_layouts)
    by_name = {(layout.name or "").strip().lower(): layout for layout in layouts}
    chosen: dict[str, SlideLayout] = {}
    tests: dict[str, Callable[[set[PP_PLACEHOLDER]], bool]] = {
        "title": lambda t: PP_PLACEHOLDER.CENTER_TITLE in t or PP_PLACEHOLDER.SUBTITLE in t,
        "section": lambda t: PP_PLACEHOLDER.TITLE in t and PP_PLACEHOLDER.BODY in t and PP_PLACEHOLDER.OBJECT not in t,
        "text": lambda t: PP_PLACEHOLDER.TITLE in t and bool(t & {PP_PLACEHOLDER.BODY, PP_PLACEHOLDER.OBJECT}),
        "image": lambda t: not t,
    }
    for role, names in _ROLE_NAMES.items():
        layout = next((by_name[n] for n in names if n in by_name), None)
        if layout is None:
            layout = next((lay for lay in layouts if tests[role](_types(lay))), None)
        if layout is None:
            # Fewest placeholders: the least the template would want filled in.
            layout = min(layouts, key=lambda lay: len(_types(lay)))
        chosen[role] = layout
    return chosen


def _types(layout: SlideLayout) -> set[PP_PLACEHOLDER]:
    return {ph.placeholder_format.type for ph in layout.placeholders.__iter__()} - _DECORATION


def _drop_slides(prs: Presentation) -> None:
    """Remove the template's slides: ids, relationships, sections and custom shows."""
    root = prs.part._element
    id_list = root.find(qn("p:sldIdLst"))
    if id_list is not None:
        for sld_id in list(id_list):
            r_id = sld_id.get(qn("r:id"))
            id_list.remove(sld_id)
            if r_id:
                prs.part.drop_rel(r_id)
    for name in ("p:custShowLst",):
        element = root.find(qn(name))
        if element is not None:
            root.remove(element)
    ext_lst = root.find(qn("p:extLst"))
    if ext_lst is not None:
        for ext in list(ext_lst):
            if ext.find("{http://schemas.microsoft.com/office/powerpoint/2010/main}sectionLst") is not None:
                ext_lst.remove(ext)


_VBA = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"


def _drop_macros(part: PresentationPart) -> None:
    """No macros (they would make it a .pptm) and no list of the template's commenters."""
    for r_id, rel in list(part.rels.items()):
        if rel.reltype in (_VBA, RT.COMMENT_AUTHORS):
            part.rels.pop(r_id)
