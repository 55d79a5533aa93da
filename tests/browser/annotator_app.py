"""A tiny Streamlit script for the annotation editor's browser test (not part of the app).

Mounts the editor on a generated 512×512 gray PNG with 0.5 mm pixel spacing and shows
the list it returns. Run: streamlit run tests/browser/annotator_app.py
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # streamlit puts the script's folder on sys.path, not the repo
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import streamlit as st  # noqa: E402
from PIL import Image  # noqa: E402

from pages.components.annotator import annotator  # noqa: E402

PRESET = [
    {
        "kind": "rectangle",
        "id": "0123456789abcdef0123456789abcdef",
        "points": [[400.0, 400.0], [480.0, 470.0]],
        "style": {"color": "#00ff00", "width": 3},
        "visible": True,
        "text": "",
        "closed": False,
    }
]


@st.cache_data
def gray_png(size: int = 512) -> bytes:
    ramp = np.linspace(60, 140, size, dtype=np.uint8)
    pixels = np.tile(ramp, (size, 1))  # a gentle ramp: gray, but not featureless
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


st.session_state.setdefault("given", [])
st.title("Annotator test bench")
show = st.checkbox("Show editor", value=True, key="show")
if st.button("Load preset", key="preset"):
    st.session_state["given"] = PRESET
st.button("Rerun", key="rerun")

if show:
    result = annotator(
        gray_png(), width=512, height=512, spacing=(0.5, 0.5), annotations=st.session_state["given"], key="editor"
    )
    st.caption("Returned annotations")
    st.code(json.dumps(result), language="json")
