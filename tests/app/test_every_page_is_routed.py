"""Every page app.py routes to asks app.py's routing first (pages.ui.routed), before it shows or reads anything.

Streamlit runs a ``pages/`` file by itself on a fresh server's first deep link (its old multipage
mode); a page that read the library before calling ``routed()`` would skip the sign-in.
"""

from __future__ import annotations

import ast
import re

import pytest

from tests.helpers import ROOT

ROUTED_PAGES = sorted(set(re.findall(r'"(pages/[a-z_]+\.py)"', (ROOT / "app.py").read_text())))


def test_app_routes_to_pages() -> None:
    assert "pages/library.py" in ROUTED_PAGES and "pages/sign_in.py" in ROUTED_PAGES


@pytest.mark.parametrize("page", ROUTED_PAGES)
def test_the_first_statement_after_the_imports_is_routed(page: str) -> None:
    tree = ast.parse((ROOT / page).read_text())
    body = [n for n in tree.body if not isinstance(n, ast.Import | ast.ImportFrom)]
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    first = body[0]
    assert isinstance(first, ast.Expr) and isinstance(first.value, ast.Call), page
    assert isinstance(first.value.func, ast.Name) and first.value.func.id == "routed", page
