"""Free-text answers: case, accents, punctuation, US/UK spelling, synonyms and a small typo."""

from __future__ import annotations

import pytest

from casefiles.quiz.matching import edit_distance, folded, matches


@pytest.mark.parametrize(
    ("typed", "accepted"),
    [
        ("hepatocellular carcinoma", ["Hepatocellular carcinoma"]),
        ("HEPATOCELLULAR CARCINOMA!", ["Hepatocellular carcinoma"]),
        ("  hepatocellular-carcinoma. ", ["Hepatocellular carcinoma"]),
        ("HCC", ["Hepatocellular carcinoma"]),  # a synonym of the vocabulary's term
        ("hepatoma", ["HCC"]),  # two synonyms of one term
        ("Hepatocellular carcinoma", ["HCC"]),
        ("oesophageal haemorrhage", ["esophageal hemorrhage"]),  # British spelling
        ("esophageal hemorrhage", ["Oesophageal haemorrhage"]),
        ("Ménétrier disease", ["Menetrier disease"]),  # accents
        ("hepatocelular carcinoma", ["Hepatocellular carcinoma"]),  # one typo in a long answer
        ("the most likely diagnosis is HCC", ["Hepatocellular carcinoma"]),
        ("Pneumothorax", ["tension pneumothorax", "pneumothorax"]),
    ],
)
def test_accepted(typed: str, accepted: list[str]) -> None:
    assert matches(typed, accepted)


@pytest.mark.parametrize(
    ("typed", "accepted"),
    [
        ("cholangiocarcinoma", ["Hepatocellular carcinoma"]),
        ("HCV", ["HCC"]),  # short answers must be exact: one letter is another thing
        ("", ["HCC"]),
        ("!!!", ["HCC"]),
        ("hepatocellular", ["Hepatocellular carcinoma"]),
        ("adenoma", []),
    ],
)
def test_refused(typed: str, accepted: list[str]) -> None:
    assert not matches(typed, accepted)


def test_folding_and_distance() -> None:
    assert folded("Tumour, oesophagus") == "tumor esophagus"
    assert edit_distance("kitten", "sitting", 5) == 3
    assert edit_distance("kitten", "sitting", 1) == 2  # stops early: more than the limit


def test_a_huge_answer_is_cheap() -> None:
    assert not matches("a" * 10_000, ["Hepatocellular carcinoma"])
