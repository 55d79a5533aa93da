"""The annotation editor for a key image: arrows, rulers in mm, angles, shapes and text.

Our own small component rather than streamlit-drawable-canvas, because teaching files
need things that canvas does not give: annotations stored in IMAGE PIXEL coordinates
(independent of the screen, so exporters can burn them in at slide resolution),
arrows with heads, rulers labelled in millimetres from the pixel spacing, angles,
text labels, selecting/moving/deleting single annotations and their handles, and no
dependency on an unmaintained package. It is plain JavaScript and CSS read from
this folder (Streamlit components v2; nothing is built or downloaded at run time). The
drawing tools themselves are ``tools.js``/``tools.css``, which the stack viewer also
loads for its annotate mode, so both draw with the same code.

An annotation is a dict in exactly the shape ``casefiles.annotations.model`` reads and
writes: ``{"kind", "id", "points", "style": {"color", "width"}, "visible", "text"}`` plus
``"closed"`` on polylines and ``"size"`` on text; points are ``[x, y]`` floats in image
pixels (x right, y down, origin at the top-left corner). As in the model, line width and
text size are pixels on a 1024-pixel display (scaled with the image's longer side), and
the editor places labels and draws arrow heads by burn.py's rules, so the exported
slide shows what the user drew.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import streamlit as st

from casefiles.errors import ValidationError

__all__ = ["KINDS", "TOOLS_CSS", "TOOLS_JS", "annotator"]

_HERE = Path(__file__).resolve().parent

#: Annotation kinds and how many points each takes (None: two or more).
KINDS: dict[str, int | None] = {
    "arrow": 2,
    "ruler": 2,
    "angle": 3,
    "ellipse": 2,
    "rectangle": 2,
    "polyline": None,
    "text": 1,
}

#: The drawing tools (tools.js, tools.css), shared with the stack viewer's annotate mode.
TOOLS_JS = _HERE / "tools.js"
TOOLS_CSS = _HERE / "tools.css"

_mount = st.components.v2.component(
    "casedeck.annotator",
    js=TOOLS_JS.read_text(encoding="utf-8") + "\n" + (_HERE / "annotator.js").read_text(encoding="utf-8"),
    css=TOOLS_CSS.read_text(encoding="utf-8") + "\n" + (_HERE / "annotator.css").read_text(encoding="utf-8"),
    html=None,
    isolate_styles=True,
)

_MEMORY_PREFIX = "_casedeck_annotator:"


def annotator(
    image: bytes,
    *,
    width: int,
    height: int,
    spacing: tuple[float, float] | None,
    annotations: list[dict[str, Any]],
    key: str,
    max_height: int = 720,
    tools: Sequence[str] = (),
    fill: bool = False,
) -> list[dict[str, Any]]:
    """Show the editor on ``image`` (PNG or JPEG) and return the latest annotation list.

    ``width``/``height`` are the image's natural size in pixels (the coordinate system
    of every point); ``spacing`` is (row, column) in mm, or None to measure in pixels.
    Before any edit the return value equals ``annotations``; after an edit it is
    the edited list, until the caller passes a different ``annotations`` list (for
    instance one loaded from the store), which then replaces what is on screen.
    Use one ``key`` per key image. ``tools`` limits the toolbar to those kinds (plus
    Select); ``fill`` shades rectangles dark, as redaction boxes.
    """
    mime = _image_mime(image)
    _require_size("image width", width)
    _require_size("image height", height)
    spacing_list = _spacing(spacing)
    _validate_annotations(annotations)
    if not isinstance(key, str) or not key:
        raise ValidationError("The annotation editor needs a non-empty key (one per key image).")
    _require_size("max_height", max_height)
    unknown = [t for t in tools if t not in (*KINDS, "freehand", "polygon")]
    if unknown:
        raise ValidationError(f"Unknown annotation tool(s): {', '.join(map(str, unknown))}.")

    memory_key = _MEMORY_PREFIX + key
    memory: dict[str, Any] = st.session_state.setdefault(memory_key, {"input": None, "latest": None, "edited": False})
    given = json.dumps(annotations, sort_keys=True)
    if given != memory["input"]:
        memory["input"] = given
        if not memory["edited"]:  # an edit in the browser wins over a simultaneous input change
            memory["latest"] = [dict(a) for a in annotations]
    memory["edited"] = False
    latest: list[dict[str, Any]] = memory["latest"]

    def on_edit() -> None:
        state = st.session_state.get(key)
        edited = _state_annotations(state)
        if edited is not None:
            memory["latest"] = edited
            memory["edited"] = True

    _mount(
        key=key,
        data={
            "image": base64.b64encode(image).decode("ascii"),
            "mime": mime,
            "width": width,
            "height": height,
            "spacing": spacing_list,
            "annotations": latest,
            "max_height": max_height,
            "tools": list(tools),
            "fill": bool(fill),
        },
        on_annotations_change=on_edit,
    )
    return [dict(a) for a in memory["latest"]]


def _state_annotations(state: object) -> list[dict[str, Any]] | None:
    """The list the browser sent, from the component's session-state value."""
    value = state.get("annotations") if isinstance(state, Mapping) else getattr(state, "annotations", None)
    if isinstance(value, list) and all(isinstance(a, dict) for a in value):
        return [dict(a) for a in value]
    return None


def _image_mime(image: bytes) -> str:
    if not isinstance(image, bytes | bytearray) or not image:
        raise ValidationError("The key image is empty: render it as PNG or JPEG before annotating.")
    if image[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if image[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    raise ValidationError("The annotation editor shows PNG or JPEG images only; render the key image first.")


def _require_size(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"The annotation editor needs a whole-number {name} ≥ 1 (got {value!r}).")


def _spacing(spacing: Sequence[float] | None) -> list[float] | None:
    if spacing is None:
        return None
    values = list(spacing)
    if len(values) != 2 or not all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v > 0 for v in values
    ):
        raise ValidationError(
            f"Pixel spacing must be two positive numbers in mm (row, column), or None (got {spacing!r})."
        )
    return [float(v) for v in values]


def _validate_annotations(annotations: object) -> None:
    """Reject what the editor could only drop silently; say which annotation and why."""
    if not isinstance(annotations, list):
        raise ValidationError("Annotations must be a list of annotation dicts.")
    for index, item in enumerate(annotations, start=1):
        where = f"Annotation {index}"
        if not isinstance(item, Mapping):
            raise ValidationError(f"{where} is not a dict.")
        kind = item.get("kind")
        if kind not in KINDS:
            raise ValidationError(f"{where} has kind {kind!r}; expected one of {', '.join(KINDS)}.")
        points = item.get("points")
        if not isinstance(points, list) or not all(_is_point(p) for p in points):
            raise ValidationError(f"{where} ({kind}) needs points as a list of [x, y] numbers.")
        expected = KINDS[kind]
        if (expected is None and len(points) < 2) or (expected is not None and len(points) != expected):
            wanted = "at least 2" if expected is None else str(expected)
            raise ValidationError(f"{where} ({kind}) needs {wanted} points, got {len(points)}.")


def _is_point(p: object) -> bool:
    return (
        isinstance(p, list | tuple)
        and len(p) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in p)
    )
