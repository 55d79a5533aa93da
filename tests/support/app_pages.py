"""Opening a page of the app in Streamlit's AppTest the way a visitor does: through app.py, on a library.

Streamlit's AppTest runs a page file by itself unless app.py's ``st.navigation`` has run first (see
pages.session.routed), so the app is run once and then switched to the page, with its query parameters.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.helpers import ROOT


def open_page(monkeypatch: pytest.MonkeyPatch, data: Path, page: str, **params: str) -> AppTest:
    """``page`` (e.g. "pages/case.py") of the app on the library in ``data``, without the sample cases."""
    monkeypatch.setenv("CASEDECK_DATA", str(data))
    monkeypatch.setenv("CASEDECK_SAMPLES", "0")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page(page)
    for name, value in params.items():
        at.query_params[name] = value
    at.run()
    assert not at.exception, at.exception
    return at
