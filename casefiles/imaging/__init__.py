"""Pure renderers: DICOM frame -> modality values -> windowed 8-bit image -> PNG/JPEG.

Nothing here keeps global state (only FrameCache instances do), logs, or
touches files: callers pass de-identified datasets in and get arrays or bytes back.
"""

from casefiles.imaging.cache import FrameCache
from casefiles.imaging.cine import encode_mp4, ffmpeg_exe, sample_indices
from casefiles.imaging.encode import encode_jpeg, encode_png
from casefiles.imaging.pixels import frame_count, modality_frame
from casefiles.imaging.presets import PRESETS, RelativeWindow, presets_for, resolve_presets
from casefiles.imaging.render import fit_within, render_frame, thumbnail_png
from casefiles.imaging.voi import auto_window, default_window, to_display

__all__ = [
    "PRESETS",
    "FrameCache",
    "RelativeWindow",
    "auto_window",
    "default_window",
    "encode_jpeg",
    "encode_mp4",
    "encode_png",
    "ffmpeg_exe",
    "fit_within",
    "frame_count",
    "modality_frame",
    "presets_for",
    "render_frame",
    "resolve_presets",
    "sample_indices",
    "thumbnail_png",
    "to_display",
]
