"""The stack viewer: a series scrolls, plays, zooms and windows in the browser.

Usage in a page (the payload is built once per (series, window) and cached)::

    key = f"viewer_{asset.id}"
    window = viewer_window(key) or services.asset_window(asset)
    payload = cached_payload(asset.id, window)        # build_stack_payload(...) under st.cache_resource
    state = stack_viewer(payload, key=key, height=600)
    # state.frame: the slice on screen; state.window: the window the user chose (or the payload's)

Dragging the window in the browser is an instant 8-bit approximation; on
release the viewer reports the window, a callback stores it under
``viewer_window(key)`` before the rerun, the page renders a new payload with
it, and the browser swaps it in without a blank frame. A preset chosen in
Python goes the same way: ``set_viewer_window(key, window)`` then rerun.

Annotate mode: given ``overlay=ViewerOverlay(...)`` (the full image size and each key
frame's annotations, in ``casefiles.annotations.model``'s dict form), the viewer draws those
annotations over the image and offers an Annotate button; while it is on, left-drags draw
with the annotation editor's tools (``pages/components/annotator/tools.js``, loaded by both
components). A finished edit calls ``on_draw(Drawing(frame, annotations))`` in a callback,
before the page reruns, so the page saves it and shows the saved list on that same run::

    view = stack_viewer(payload, key=key, overlay=ViewerOverlay.of(size, lists), on_draw=save)
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import streamlit as st

from casefiles.imaging.stack import StackPayload
from casefiles.model import Window
from pages.components.annotator import TOOLS_CSS, TOOLS_JS

__all__ = ["Drawing", "ViewerOverlay", "ViewerState", "set_viewer_window", "stack_viewer", "viewer_window"]

_HERE = Path(__file__).resolve().parent
_NAME = "casedeck.stack_viewer"
#: The envelope that carries the annotation overlay in front of the payload (see viewer.js).
OVERLAY_MAGIC = b"CDSA"
_PREFIX = struct.Struct("<4sI")
_ENVELOPE_MEMO = "_casedeck_viewer_envelope"


@st.cache_resource(show_spinner=False)
def _component() -> Any:
    """Registered once per process (registering the same name again only logs a warning).

    The annotation tools come first: the viewer's annotate mode draws with the editor's own code.
    """
    return st.components.v2.component(
        _NAME,
        js=TOOLS_JS.read_text(encoding="utf-8") + "\n" + (_HERE / "viewer.js").read_text(encoding="utf-8"),
        css=TOOLS_CSS.read_text(encoding="utf-8") + "\n" + (_HERE / "viewer.css").read_text(encoding="utf-8"),
        isolate_styles=True,
    )


@dataclass(frozen=True, slots=True)
class ViewerState:
    """What the user is looking at: ``frame`` (0-based) and ``window`` (modality units; None for colour)."""

    frame: int
    window: Window | None


@dataclass(frozen=True, slots=True)
class ViewerOverlay:
    """Annotations shown over the series, and the Annotate mode that edits them.

    ``image_size`` is the full image's (width, height) in pixels, the coordinate system of every
    point (the viewer's frames may be drawn smaller); ``annotations`` maps a frame index to the
    annotation dicts of that frame's key image (frames left out have none).
    """

    image_size: tuple[int, int]
    annotations: Mapping[int, Sequence[Mapping[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        width, height = self.image_size
        for value in (width, height):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"The image size must be two whole numbers of pixels ≥ 1 (got {self.image_size!r}).")

    def to_json(self) -> bytes:
        lists = {str(frame): [dict(a) for a in items] for frame, items in sorted(self.annotations.items()) if items}
        body = {"image_size": list(self.image_size), "annotations": lists}
        return json.dumps(body, separators=(",", ":"), sort_keys=True).encode("utf-8")


@dataclass(frozen=True, slots=True)
class Drawing:
    """An edit made in Annotate mode: the whole annotation list of ``frame`` after it."""

    frame: int
    annotations: list[dict[str, Any]]


def _window_key(key: str) -> str:
    return f"{key}.__window"


def viewer_window(key: str) -> Window | None:
    """The window the user last chose in the viewer ``key`` (drag, preset, reset), or None if never."""
    value = st.session_state.get(_window_key(key))
    return value if isinstance(value, Window) else None


def set_viewer_window(key: str, window: Window | None) -> None:
    """Choose the window from Python (a preset button, a saved key image); None returns to the default."""
    if window is not None and not isinstance(window, Window):
        raise TypeError("window must be a Window or None")
    st.session_state[_window_key(key)] = window


def _parse_window(value: object) -> Window | None:
    if not isinstance(value, dict):
        return None
    try:
        center, width = float(value["center"]), float(value["width"])
    except (KeyError, TypeError, ValueError):
        return None
    if not (math.isfinite(center) and math.isfinite(width)) or width < 1:
        return None
    return Window(center=center, width=width)


def _state_value(key: str, name: str) -> Any:
    state = st.session_state.get(key)
    if state is None:
        return None
    try:
        return state[name]
    except (KeyError, TypeError):
        return getattr(state, name, None)


def _parse_drawing(value: object, frames: int) -> Drawing | None:
    """The browser's "drawn" trigger value, if it is one (a frame in range and a list of dicts)."""
    if not isinstance(value, Mapping):
        return None
    frame, annotations = value.get("frame"), value.get("annotations")
    if isinstance(frame, bool) or not isinstance(frame, int) or not 0 <= frame < frames:
        return None
    if not isinstance(annotations, list) or not all(isinstance(a, Mapping) for a in annotations):
        return None
    return Drawing(frame=frame, annotations=[dict(a) for a in annotations])


def _envelope(key: str, payload: StackPayload, overlay: ViewerOverlay) -> bytes:
    """The payload with the overlay in front; the last one per viewer is kept, so a rerun with the
    same annotations neither copies the frames again nor sends the browser a different message."""
    head = overlay.to_json()
    memo = st.session_state.get(_ENVELOPE_MEMO)  # one per session: a series left behind frees its copy
    if isinstance(memo, tuple) and len(memo) == 4 and memo[:3] == (key, payload.digest, head):
        data: bytes = memo[3]
        return data
    data = _PREFIX.pack(OVERLAY_MAGIC, len(head)) + head + payload.data
    st.session_state[_ENVELOPE_MEMO] = (key, payload.digest, head, data)
    return data


def stack_viewer(
    payload: StackPayload,
    *,
    key: str,
    height: int = 560,
    overlay: ViewerOverlay | None = None,
    on_draw: Callable[[Drawing], None] | None = None,
) -> ViewerState:
    """Mount the viewer for ``payload`` and return what the user is looking at.

    ``key`` must be stable per series (e.g. ``f"viewer_{asset.id}"``): the frame
    and window the user chose live under it across reruns. With ``overlay`` the
    viewer shows those annotations and offers Annotate mode; each finished edit
    calls ``on_draw`` (in a Streamlit callback, before the rerun).
    """
    if not isinstance(payload, StackPayload):
        raise TypeError("stack_viewer needs a StackPayload (casefiles.imaging.stack.build_stack_payload)")
    if not isinstance(key, str) or not key:
        raise ValueError("stack_viewer needs a non-empty key")

    def window_changed() -> None:
        chosen = _parse_window(_state_value(key, "window"))
        if chosen is not None:
            st.session_state[_window_key(key)] = chosen

    def drawn() -> None:
        drawing = _parse_drawing(_state_value(key, "drawn"), payload.frames)
        if drawing is not None and on_draw is not None:
            on_draw(drawing)

    if overlay is not None and not isinstance(overlay, ViewerOverlay):
        raise TypeError("overlay must be a ViewerOverlay or None")
    result = _component()(
        key=key,
        data=payload.data if overlay is None else _envelope(key, payload, overlay),
        height=height,
        on_frame_change=lambda: None,
        on_window_change=window_changed,
        on_drawn_change=drawn,
    )
    frame = result.get("frame") if isinstance(result, dict) else getattr(result, "frame", None)
    if isinstance(frame, bool) or not isinstance(frame, int) or not 0 <= frame < payload.frames:
        frame = payload.start_frame
    window = None if payload.color else (viewer_window(key) or payload.window)
    return ViewerState(frame=frame, window=window)
