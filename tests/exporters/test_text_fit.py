"""Text fitting: short text stays big on one slide, long text shrinks then continues, nothing is lost."""

from __future__ import annotations

import pytest

from casefiles.errors import ExportError
from exporters._text_fit import (
    Box,
    Para,
    Role,
    block_height,
    fit_paragraphs,
    is_rtl,
    para_lines,
    truncate_to_fit,
    wrap,
)

BODY = Box(830.0, 345.0)
SIZES = (28.0, 24.0, 20.0, 18.0)

WORDS = [
    "the",
    "apical",
    "mass",
    "erodes",
    "the",
    "posterior",
    "first",
    "rib",
    "and",
    "encases",
    "the",
    "subclavian",
    "artery",
]


def long_text(n_words: int) -> str:
    return " ".join(WORDS[i % len(WORDS)] + str(i) for i in range(n_words))


def test_short_text_keeps_the_largest_size_on_one_page() -> None:
    fitted = fit_paragraphs([Para("Weight loss over three months.")], BODY, SIZES)
    assert fitted.size == 28.0
    assert len(fitted.pages) == 1


def test_moderate_text_shrinks_before_it_splits() -> None:
    paras = [Para(long_text(15), Role.BULLET) for _ in range(4)]
    fitted = fit_paragraphs(paras, BODY, SIZES)
    assert 18.0 <= fitted.size < 28.0
    assert len(fitted.pages) == 1


def test_long_text_continues_over_pages_without_losing_or_reordering_words() -> None:
    paras = [Para("Teaching points", Role.SUBHEAD)] + [Para(long_text(n), Role.BULLET) for n in (60, 300, 40, 120)]
    fitted = fit_paragraphs(paras, BODY, SIZES)
    assert fitted.size == 18.0
    assert len(fitted.pages) > 2
    for page in fitted.pages:
        assert block_height(page, fitted.size, BODY) <= BODY.height
    joined = " ".join(p.text for page in fitted.pages for p in page)
    expected = " ".join(p.text for p in paras)
    assert joined.split() == expected.split()
    # The tail of a split bullet is marked, so it is drawn without a second bullet mark.
    assert any(p.continued for page in fitted.pages[1:] for p in page)
    # No widows or orphans: both halves of a split paragraph keep at least two lines.
    for before, after in zip(fitted.pages, fitted.pages[1:], strict=False):
        if after[0].continued:
            assert len(para_lines(before[-1], fitted.size, BODY)) >= 2
            assert len(para_lines(after[0], fitted.size, BODY)) >= 2


def test_a_subheading_never_ends_a_page() -> None:
    paras = []
    for n in range(8):
        paras.append(Para(f"Section {n}", Role.SUBHEAD))
        paras += [Para(long_text(30), Role.BULLET) for _ in range(2)]
    fitted = fit_paragraphs(paras, BODY, SIZES)
    assert len(fitted.pages) > 1
    for page in fitted.pages:
        assert page[-1].role is not Role.SUBHEAD


def test_text_without_spaces_still_wraps_within_the_width() -> None:
    cjk = "肺尖部腫瘤が第一肋骨を破壊している" * 20
    url = "https://example.org/" + "x" * 400
    for text in (cjk, url):
        lines = wrap(text, 20.0, 400.0)
        assert len(lines) > 1
        assert "".join(lines) == text


def test_truncation_marks_the_cut_and_keeps_short_text_whole() -> None:
    box = Box(600.0, 40.0)
    short, cut = truncate_to_fit("Axial CT — image 1 of 3", 14.0, box)
    assert (short, cut) == ("Axial CT — image 1 of 3", False)
    text, cut = truncate_to_fit(long_text(200), 14.0, box)
    assert cut
    assert text.endswith("…")
    assert len(wrap(text, 14.0, box.width)) <= 2


@pytest.mark.parametrize(
    ("text", "rtl"),
    [("مرحبا بالعالم", True), ("שלום עולם", True), ("CT 2024", False), ("123 שלום", True), ("", False)],
)
def test_right_to_left_text_is_detected_by_its_first_strong_character(text: str, rtl: bool) -> None:
    assert is_rtl(text) is rtl


def test_an_impossible_layout_is_an_export_error() -> None:
    with pytest.raises(ExportError):
        Box(0.0, 100.0)
    with pytest.raises(ExportError):
        fit_paragraphs([Para("x")], BODY, ())
