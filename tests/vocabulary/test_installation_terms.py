"""An installation's own vocabulary terms (#17): added by coordinators and admins, kept in the store."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from casefiles.accounts.permissions import Actor, PermissionDenied, Role
from casefiles.acting.vocabulary_cli import add_parsers
from casefiles.config import Settings
from casefiles.errors import CaseDeckError, ValidationError
from casefiles.store import CaseStore
from casefiles.store.tinydb_store import TinyDBCaseStore
from casefiles.usecases.vocabulary_terms import VocabularyTerms, installation_terms, installation_vocabulary
from casefiles.vocabulary import shipped_vocabulary
from casefiles.vocabulary.custom import TERM_RECORD, new_term
from tests.helpers import ROOT
from tests.store.conftest import BACKENDS, open_backend

COORDINATOR = Actor("cora", Role.COORDINATOR)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CaseStore]:
    """The library's store on each backend (PostgreSQL: skipped where it is not installed, as elsewhere)."""
    opened = open_backend(request.param, tmp_path, request)
    yield opened
    opened.close()


def test_a_coordinator_adds_a_term_and_everyone_signed_in_sees_it(store: CaseStore) -> None:
    added = VocabularyTerms(COORDINATOR, store).add("category", "  Erdheim-Chester   disease ", ["ECD", "ecd", ""])
    assert (added.kind, added.label, added.synonyms) == ("category", "Erdheim-Chester disease", ("ECD",))
    [record] = store.list_records(TERM_RECORD)
    assert record.data["added_by"] == "cora" and record.data["label"] == "Erdheim-Chester disease"

    learner = VocabularyTerms(Actor("lea", Role.LEARNER), store)
    vocabulary = learner.vocabulary()
    assert vocabulary.canonical("ECD") == "erdheim chester disease"
    assert "Erdheim-Chester disease" in vocabulary.labels("category")
    assert vocabulary.canonical("HCC") == "hepatocellular carcinoma", "the shipped terms stay"
    assert vocabulary.spellings == shipped_vocabulary().spellings
    listed = learner.terms("category")
    assert [i.term.label for i in listed if i.added] == ["Erdheim-Chester disease"]
    assert sum(1 for i in listed if not i.added) == len(shipped_vocabulary().of_kind("category"))
    assert installation_vocabulary(store).terms[-1] == added
    assert installation_terms(store) == (added,)


def test_an_added_term_folds_british_spellings(store: CaseStore) -> None:
    VocabularyTerms(COORDINATOR, store).add("category", "Epithelioid haemangioma", ["histiocytoid tumour"])
    vocabulary = installation_vocabulary(store)
    assert vocabulary.canonical("histiocytoid tumor") == "epithelioid hemangioma"
    assert vocabulary.canonical("Epithelioid hemangioma") == "epithelioid hemangioma"
    with pytest.raises(ValidationError, match="already in the vocabulary"):
        VocabularyTerms(COORDINATOR, store).add("category", "epithelioid hemangioma")


@pytest.mark.parametrize(
    ("kind", "label", "synonyms", "message"),
    [
        ("category", "HCC", [], "already in the vocabulary, as the diagnosis category 'Hepatocellular carcinoma'"),
        ("category", "Liver tumour board", ["hepatic"], "already in the vocabulary, as the body region 'Liver'"),
        ("category", "Tumour", [], "already in the vocabulary"),
        ("organ", "Liver", [], "kind is one of"),
        ("category", "   ", [], "at least one letter"),
        ("category", "x" * 101, [], "too long"),
        ("category", "Good", ["bad\x00name"], "control characters"),
        ("category", "Good", ["--"], "no letter or digit"),
    ],
)
def test_a_term_the_vocabulary_already_knows_or_cannot_use_is_refused(
    store: CaseStore, kind: str, label: str, synonyms: list[str], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        VocabularyTerms(COORDINATOR, store).add(kind, label, synonyms)
    assert store.list_records(TERM_RECORD) == []


def test_a_term_added_twice_is_refused_the_second_time(store: CaseStore) -> None:
    VocabularyTerms(COORDINATOR, store).add("body_region", "Temporomandibular joint", ["TMJ"])
    with pytest.raises(ValidationError, match="Temporomandibular joint"):
        VocabularyTerms(Actor("root", Role.ADMIN), store).add("category", "TMJ dysfunction", ["tmj"])
    assert len(store.list_records(TERM_RECORD)) == 1


@pytest.mark.parametrize("actor", [None, Actor("pat", Role.PRESENTER), Actor("lea", Role.LEARNER)])
def test_only_coordinators_and_admins_add(store: CaseStore, actor: Actor | None) -> None:
    with pytest.raises(PermissionDenied):
        VocabularyTerms(actor, store).add("category", "Erdheim-Chester disease")
    assert store.list_records(TERM_RECORD) == []


def test_nobody_signed_in_reads_nothing(store: CaseStore) -> None:
    with pytest.raises(PermissionDenied):
        VocabularyTerms(None, store).vocabulary()
    with pytest.raises(PermissionDenied):
        VocabularyTerms(None, store).terms()


def test_a_damaged_record_is_left_out(store: CaseStore) -> None:
    from casefiles.store.records import Record

    store.save_record(Record(TERM_RECORD, "category:broken", {"label": "No kind"}))
    assert installation_terms(store) == ()


def test_new_term_checks_against_the_vocabulary_given() -> None:
    term = new_term(shipped_vocabulary(), "modality", "Optical coherence tomography", ["OCT", "OCT"])
    assert term.synonyms == ("OCT",)


# -- the CLI --------------------------------------------------------------------------------------
def _run(data: Path, *argv: str) -> int:
    """``python -m casefiles vocabulary ...`` as casefiles.__main__ runs it (one error line, no traceback)."""
    parser = argparse.ArgumentParser(prog="casefiles")
    parser.add_argument("--data")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parsers(sub, lambda args: Settings(data_dir=Path(args.data)))
    args = parser.parse_args(["--data", str(data), *argv])
    try:
        return int(args.func(args))
    except CaseDeckError as exc:
        print(f"error: {exc}")
        return 1


def test_the_cli_lists_and_adds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    assert _run(data, "vocabulary", "list", "--kind", "modality") == 0
    out = capsys.readouterr().out
    assert "modality\tCT\tcomputed tomography; CAT scan" in out and "\tshipped" in out
    assert "body_region" not in out

    args = ["vocabulary", "add", "--kind", "body_region", "--label", "Temporomandibular joint", "--synonym", "TMJ"]
    assert _run(data, *args) == 0
    assert capsys.readouterr().out == "body_region\tTemporomandibular joint\tTMJ\tadded\n"
    assert _run(data, "vocabulary", "list") == 0
    out = capsys.readouterr().out
    assert "body_region\tTemporomandibular joint\tTMJ\tadded" in out and "category\tHepatocellular carcinoma" in out

    assert _run(data, *args) == 1
    assert "already in the vocabulary" in capsys.readouterr().out
    assert len(TinyDBCaseStore(data / "library").list_records(TERM_RECORD)) == 1


def test_the_cli_refuses_an_unknown_kind(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        _run(tmp_path / "data", "vocabulary", "add", "--kind", "organ", "--label", "Liver")


@pytest.mark.skipif(
    "vocabulary_cli" not in (ROOT / "casefiles" / "__main__.py").read_text(encoding="utf-8"),
    reason="casefiles.acting.vocabulary_cli is not yet registered in casefiles/__main__.py",
)
def test_python_m_casefiles_vocabulary(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CASEDECK_DATA": str(tmp_path / "data"), "CASEDECK_SAMPLES": "0"}
    env.pop("CASEDECK_DATABASE_URL", None)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "casefiles", "vocabulary", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    added = cli("add", "--kind", "category", "--label", "Erdheim-Chester disease", "--synonym", "ECD")
    assert added.returncode == 0, added.stderr
    assert "category\tErdheim-Chester disease\tECD\tadded" in cli("list", "--kind", "category").stdout
    refused = cli("add", "--kind", "category", "--label", "HCC")
    assert refused.returncode != 0 and "already in the vocabulary" in refused.stderr
    assert "Traceback" not in refused.stderr
