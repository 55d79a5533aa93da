"""Exporters: turn cases and conferences into files others can open.

Exporters take domain objects and a source of rendered images, write one file
atomically, report progress and honour cancellation; they never call Streamlit.
"""

from exporters.html_show import export_conference_html
from exporters.package import export_conference_package
from exporters.pdf_handout import export_conference_pdf
from exporters.pptx_conference import export_conference_pptx
from exporters.pptx_deck import SlideImageSource, export_case_pptx

__all__ = [
    "SlideImageSource",
    "export_case_pptx",
    "export_conference_html",
    "export_conference_package",
    "export_conference_pdf",
    "export_conference_pptx",
]
