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
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from casefiles.imaging.stack import StackPayload
from casefiles.model import Window

__all__ = ["ViewerState", "set_viewer_window", "stack_viewer", "viewer_window"]

_HERE = Path(__file__).resolve().parent
_NAME = "casedeck.stack_viewer"


@st.cache_resource(show_spinner=False)
def _component() -> Any:
    """Registered once per process (registering the same name again only logs a warning)."""
    return st.components.v2.component(
        _NAME,
        js=(_HERE / "viewer.js").read_text(encoding="utf-8"),
        css=(_HERE / "viewer.css").read_text(encoding="utf-8"),
        isolate_styles=True,
    )


@dataclass(frozen=True, slots=True)
class ViewerState:
    """What the user is looking at: ``frame`` (0-based) and ``window`` (modality units; None for colour)."""

    frame: int
    window: Window | None


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


def stack_viewer(payload: StackPayload, *, key: str, height: int = 560) -> ViewerState:
    """Mount the viewer for ``payload`` and return what the user is looking at.

    ``key`` must be stable per series (e.g. ``f"viewer_{asset.id}"``): the frame
    and window the user chose live under it across reruns.
    """
    if not isinstance(payload, StackPayload):
        raise TypeError("stack_viewer needs a StackPayload (casefiles.imaging.stack.build_stack_payload)")
    if not isinstance(key, str) or not key:
        raise ValueError("stack_viewer needs a non-empty key")

    def window_changed() -> None:
        chosen = _parse_window(_state_value(key, "window"))
        if chosen is not None:
            st.session_state[_window_key(key)] = chosen

    result = _component()(
        key=key,
        data=payload.data,
        height=height,
        on_frame_change=lambda: None,
        on_window_change=window_changed,
    )
    frame = result.get("frame") if isinstance(result, dict) else getattr(result, "frame", None)
    if isinstance(frame, bool) or not isinstance(frame, int) or not 0 <= frame < payload.frames:
        frame = payload.start_frame
    window = None if payload.color else (viewer_window(key) or payload.window)
    return ViewerState(frame=frame, window=window)
