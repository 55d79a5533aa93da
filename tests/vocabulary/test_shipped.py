"""The shipped vocabulary (#17): built from its curated source, whole, and folding what people type."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from casefiles.errors import ValidationError
from casefiles.vocabulary import DATA, KINDS, shipped_vocabulary
from casefiles.vocabulary.build import SOURCE, build, check_vocabulary, main, parse_source
from tests.helpers import ROOT


def test_the_shipped_json_is_what_the_script_builds_from_the_source() -> None:
    # Edit casefiles/vocabulary/source/terms.txt, then run scripts/build-vocabulary: they never drift.
    assert DATA.read_text(encoding="utf-8") == build(SOURCE.read_text(encoding="utf-8"))


def test_the_script_checks_and_writes(tmp_path: Path) -> None:
    checked = subprocess.run(
        [str(ROOT / "scripts" / "build-vocabulary"), "--check"], capture_output=True, text=True, timeout=60, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    out = tmp_path / "vocabulary.json"
    assert main(["--out", str(out)]) == 0
    assert out.read_bytes() == DATA.read_bytes()
    out.write_text("{}", encoding="utf-8")
    assert main(["--out", str(out), "--check"]) == 1


def test_it_says_where_it_came_from() -> None:
    source = shipped_vocabulary().source
    assert "casefiles/vocabulary/source/terms.txt" in source and "sha256" in source
    assert "not RadLex" in source and "ACR Index" in source
    assert "original work" in SOURCE.read_text(encoding="utf-8").lower()


def test_it_holds_regions_modalities_and_categories() -> None:
    vocabulary = shipped_vocabulary()
    assert len(vocabulary.of_kind("body_region")) >= 25
    assert len(vocabulary.of_kind("modality")) >= 9
    assert len(vocabulary.of_kind("category")) >= 120
    for label in ("Liver", "Brain", "Chest", "Knee", "Spine", "Prostate"):
        assert label in vocabulary.labels("body_region")
    for label in ("Pneumothorax", "Meningioma", "Appendicitis", "Glioblastoma", "Pulmonary embolism"):
        assert label in vocabulary.labels("category")


def test_every_term_is_whole_and_no_name_belongs_to_two_terms() -> None:
    vocabulary = shipped_vocabulary()
    names: dict[str, str] = {}
    for term in vocabulary.terms:
        assert term.kind in KINDS and term.label.strip() == term.label and term.label
        for name in (term.label, *term.synonyms):
            folded = vocabulary.phrase(name)
            assert folded, name
            assert names.setdefault(folded, term.label) == term.label, f"{name!r} names two terms"
    for british, american in vocabulary.spellings.items():
        assert british == british.lower() and american == american.lower() and british != american
        assert american not in vocabulary.spellings


def test_british_and_american_spellings_fold_to_one() -> None:
    vocabulary = shipped_vocabulary()
    for british, american in [
        ("tumour", "tumor"),
        ("oesophagus", "esophagus"),
        ("haemorrhage", "hemorrhage"),
        ("oedema", "edema"),
        ("paediatric", "pediatric"),
        ("anaemia", "anemia"),
        ("foetal", "fetal"),
        ("ischaemia", "ischemia"),
        ("haematoma", "hematoma"),
        ("leukaemia", "leukemia"),
        ("oestrogen", "estrogen"),
        ("coeliac", "celiac"),
        ("diarrhoea", "diarrhea"),
        ("orthopaedic", "orthopedic"),
    ]:
        assert vocabulary.phrase(british) == vocabulary.phrase(american) == american
    assert vocabulary.phrase("Tumour Board") == vocabulary.phrase("tumor board") == "tumor board"
    assert vocabulary.canonical("Oesophageal cancer") == vocabulary.canonical("esophageal carcinoma")
    assert vocabulary.canonical("Coeliac disease") == "celiac disease"
    assert vocabulary.canonical("subdural haematoma") == "subdural hematoma"


def test_synonyms_and_abbreviations_name_their_term() -> None:
    vocabulary = shipped_vocabulary()
    assert vocabulary.canonical("HCC") == "hepatocellular carcinoma"
    assert vocabulary.canonical("hepatoma") == "hepatocellular carcinoma"
    assert vocabulary.canonical("PE") == "pulmonary embolism"
    assert vocabulary.canonical("gbm") == "glioblastoma"
    assert vocabulary.canonical("MRI") == "mr"
    assert vocabulary.canonical("DX") == vocabulary.canonical("plain film") == "radiograph"
    assert vocabulary.canonical("hepatic") == "liver"
    assert vocabulary.canonical("no such thing") is None
    assert vocabulary.synonym_phrases()["hcc"] == "hepatocellular carcinoma"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("[category]\nA | x\nB | X\n", "names two terms"),
        ("[category]\nA\n[body_region]\nA\n", "names two terms"),
        ("[category]\nA | a\n", "its own label"),
        ("[category]\n | x\n", "empty label"),
        ("[category]\nA | x | \n", "empty label or synonym"),
        ("[category]\n---\n", "no words"),
        ("[spellings]\nTumour = tumor\n", "lower-case"),
        ("[spellings]\ntumour = tumor\ntumor = tumr\n", "another British spelling"),
        ("[colours]\nRed\n", "unknown section"),
        ("Liver\n", "before any"),
    ],
)
def test_the_build_refuses_what_search_could_not_use(source: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        terms, spellings = parse_source(source)
        check_vocabulary(terms, spellings)


def test_the_output_is_sorted_and_deterministic() -> None:
    source = "[spellings]\nzz = z\naa = a\n[category]\nbeta\nAlpha | al\n[body_region]\nZed\n"
    first = build(source)
    assert first == build(source)
    assert first.index('"aa"') < first.index('"zz"')
    assert first.index('"Zed"') < first.index('"Alpha"') < first.index('"beta"')  # by kind, then label
