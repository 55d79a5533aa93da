"""Picker labels (issue #14, scope 4): cases as title · modality · date, conferences as title · date · kind,
equal ones told apart by a short id (Streamlit tells options apart by their labels)."""

from __future__ import annotations

import datetime as dt

from casefiles.model import Case, Conference, ConferenceKind
from pages.ui import case_labels, conference_labels

DAY = dt.datetime(2025, 3, 14, 9, 30, tzinfo=dt.UTC)


def test_case_labels_show_title_modality_date_and_tell_equal_titles_apart() -> None:
    cases = [
        Case(id="aaaaaa111", title="Nodule", modality="CT", created=DAY),
        Case(id="bbbbbb222", title="Nodule", modality="CT", created=DAY),
        Case(id="cccccc333", title="Nodule", modality="MR", created=DAY),
        Case(id="dddddd444", title="Fracture", created=DAY),
    ]
    assert case_labels(cases) == {
        "aaaaaa111": "Nodule · CT · 2025-03-14 · #aaaaaa",
        "bbbbbb222": "Nodule · CT · 2025-03-14 · #bbbbbb",
        "cccccc333": "Nodule · MR · 2025-03-14",
        "dddddd444": "Fracture · 2025-03-14",
    }


def test_conference_labels_show_title_date_kind_and_tell_equal_titles_apart() -> None:
    conferences = [
        Conference(id="aaaaaa111", title="Board", date=dt.date(2025, 3, 14)),
        Conference(id="bbbbbb222", title="Board", date=dt.date(2025, 3, 14)),
        Conference(id="cccccc333", title="Board", date=dt.date(2025, 3, 21)),
        Conference(id="dddddd444", title="Quiz", kind=ConferenceKind.UNKNOWN_CASE_QUIZ),
    ]
    labels = conference_labels(conferences)
    assert labels == {
        "aaaaaa111": "Board · 2025-03-14 · Tumor board · #aaaaaa",
        "bbbbbb222": "Board · 2025-03-14 · Tumor board · #bbbbbb",
        "cccccc333": "Board · 2025-03-21 · Tumor board",
        "dddddd444": f"Quiz · {ConferenceKind.UNKNOWN_CASE_QUIZ.label}",
    }


def test_equal_labels_whose_short_ids_are_alike_too_get_the_whole_id() -> None:
    conferences = [Conference(id="abcdef-1", title="Board"), Conference(id="abcdef-2", title="Board")]
    assert sorted(conference_labels(conferences).values()) == [
        "Board · Tumor board · #abcdef-1",
        "Board · Tumor board · #abcdef-2",
    ]
