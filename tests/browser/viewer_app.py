"""A tiny Streamlit app that mounts the stack viewer, for the browser test and the viewer benchmark.

    streamlit run tests/browser/viewer_app.py

Without settings it shows a generated 300-slice 512×512 CT (numpy, HU values;
slice i has a bright marker i+1 pixels tall at the left edge). With
``CASEDECK_VIEWER_DATA`` pointing at a CaseDeck data directory it opens the
first DICOM series there through ``Services.render_frame``, as the case page does.
``CASEDECK_VIEWER_SLICES`` / ``CASEDECK_VIEWER_SIZE`` change the generated stack.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from casefiles.imaging.stack import SeriesHeader, StackPayload, build_stack_payload, series_header
from casefiles.imaging.voi import apply_window
from casefiles.model import Window
from pages.components.stack_viewer import set_viewer_window, stack_viewer, viewer_window

KEY = "viewer"
DEFAULT = Window(center=40, width=400)


@st.cache_resource(show_spinner=False)
def synthetic_volume(slices: int, size: int) -> np.ndarray:
    """HU values: air outside a body of soft tissue with a denser ring and a lung-like hole."""
    yy, xx = np.mgrid[:size, :size].astype(np.float32) / size - 0.5
    radius = np.hypot(xx, yy)
    base = np.full((size, size), -1000, np.float32)
    base[radius < 0.42] = 40
    base[(radius > 0.38) & (radius < 0.42)] = 700
    base[np.hypot(xx + 0.15, yy) < 0.12] = -800
    volume = np.repeat(base[None], slices, axis=0)
    for i in range(slices):
        volume[i, : min(size, i + 1), :6] = 1000  # marker: its height tells the slice apart
    return volume


@st.cache_resource(show_spinner=False)
def services_series(data_dir: str) -> tuple[Any, Any]:
    from casefiles.config import Settings
    from casefiles.model import AssetKind
    from casefiles.services import Services

    services = Services(Settings(data_dir=Path(data_dir)))
    for case in services.list_cases():
        for asset in case.assets:
            if asset.kind is AssetKind.DICOM_SERIES:
                return services, asset
    raise RuntimeError("no DICOM series in that data directory")


@st.cache_resource(show_spinner=False, max_entries=4)
def payload_for(source: str, window: Window) -> tuple[StackPayload, float]:
    """The viewer payload and the seconds it took to build (cached per source and window)."""
    start = time.perf_counter()
    render: Callable[[int], np.ndarray]
    if source.startswith("dicom:"):
        services, asset = services_series(source.removeprefix("dicom:"))
        header = series_header(services.dataset(asset.instances[0].blob))
        count = asset.frame_count

        def render(i: int) -> np.ndarray:
            image: np.ndarray = services.render_frame(asset, i, window)
            return image

    else:
        _, slices, size = source.split(":")
        volume = synthetic_volume(int(slices), int(size))
        header = SeriesHeader(modality="CT", pixel_spacing=(0.7, 0.7))
        count = volume.shape[0]

        def render(i: int) -> np.ndarray:
            return apply_window(volume[i], window)

    payload = build_stack_payload(render, count, window=window, header=header, default_window=starting_window(source))
    return payload, time.perf_counter() - start


def starting_window(source: str) -> Window:
    if source.startswith("dicom:"):
        services, asset = services_series(source.removeprefix("dicom:"))
        return services.asset_window(asset) or DEFAULT
    return DEFAULT


data_dir = os.environ.get("CASEDECK_VIEWER_DATA")
source = (
    f"dicom:{data_dir}"
    if data_dir
    else f"synthetic:{os.environ.get('CASEDECK_VIEWER_SLICES', '300')}:{os.environ.get('CASEDECK_VIEWER_SIZE', '512')}"
)

st.title("Stack viewer")
if st.query_params.get("prepare"):  # the benchmark warms the process (imports, services) without a payload
    starting_window(source)
    st.write("prepared")
    st.stop()
if st.button("Bone window (from Python)", key="bone"):
    set_viewer_window(KEY, Window(center=400, width=1800))
window = viewer_window(KEY) or starting_window(source)
payload, seconds = payload_for(source, window)
state = stack_viewer(payload, key=KEY, height=620)
st.write(f"state frame={state.frame}")
if state.window is not None:
    st.write(f"state window={state.window.center:g},{state.window.width:g}")
st.caption(f"payload {payload.nbytes / 1e6:.1f} MB, built in {seconds:.3f} s ({payload.mime})")
