from dataclasses import fields

import pytest

from casefiles.errors import ValidationError
from casefiles.redaction import Box, TextFinding
from casefiles.redaction.geometry import merge_findings


def test_box_rejects_negative_size_and_non_integers():
    with pytest.raises(ValidationError, match="negative"):
        Box(0, 0, -1, 5)
    with pytest.raises(ValidationError, match="whole number"):
        Box(0, 0, 2.5, 5)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Box(True, 0, 1, 1)  # type: ignore[arg-type]


def test_box_partly_outside_is_clipped_and_wholly_outside_is_none():
    assert Box(-10, -5, 30, 20).clipped(100, 50) == Box(0, 0, 20, 15)
    assert Box(90, 40, 30, 30).clipped(100, 50) == Box(90, 40, 10, 10)
    assert Box(100, 0, 10, 10).clipped(100, 50) is None
    assert Box(-20, 0, 20, 10).clipped(100, 50) is None
    assert Box(5, 5, 0, 10).clipped(100, 50) is None


def test_finding_has_no_text_field_and_checks_confidence():
    assert [f.name for f in fields(TextFinding)] == ["box", "confidence"]
    with pytest.raises(ValidationError):
        TextFinding(Box(0, 0, 1, 1), 101.0)
    with pytest.raises(ValidationError):
        TextFinding((0, 0, 1, 1), 50.0)  # type: ignore[arg-type]


def test_words_on_one_line_merge_and_separate_lines_do_not():
    words = [
        TextFinding(Box(10, 10, 40, 12), 90.0),
        TextFinding(Box(58, 11, 30, 12), 60.0),  # 8 px gap on the same row: same line
        TextFinding(Box(10, 200, 40, 12), 70.0),  # far below: another line
    ]
    merged = merge_findings(words)
    assert merged == [TextFinding(Box(10, 10, 78, 13), 90.0), TextFinding(Box(10, 200, 40, 12), 70.0)]
