"""Exporters: turn cases and conferences into files others can open (PPTX first).

Exporters take domain objects and a source of rendered images, write one file
atomically, report progress and honour cancellation; they never call Streamlit.
"""

from exporters.pptx_deck import SlideImageSource, export_case_pptx

__all__ = ["SlideImageSource", "export_case_pptx"]
