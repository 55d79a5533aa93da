"""``python -m casefiles search`` (registered by casefiles.search.cli) and the use case the facade wraps."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from casefiles.config import Settings
from casefiles.model import Difficulty
from casefiles.search import SearchQuery
from casefiles.search.cli import add_parsers
from casefiles.search.usecase import CaseSearch
from casefiles.store.opening import open_store
from tests.search.library import case


def _main(argv: list[str], settings: Settings) -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    add_parsers(sub, lambda args: settings)
    args = parser.parse_args(argv)
    return int(args.func(args))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings(data_dir=tmp_path / "data")
    store = open_store(settings)
    store.save_case(case("hcc", 0, title="Liver mass", diagnosis="Hepatocellular carcinoma", modality="MR"))
    store.save_case(
        case("ct", 1, title="Chest", diagnosis="Pneumothorax", modality="CT", difficulty=Difficulty.ADVANCED)
    )
    yield settings
    store.close()


def test_search_prints_id_score_and_title(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert _main(["search", "hepatocelular"], settings) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[0].split("\t")[0] == "hcc"
    assert out.splitlines()[0].split("\t")[2] == "Liver mass"
    assert "1 of 1" in err
    assert _main(["search", "--modality", "CT", "--difficulty", "advanced"], settings) == 0
    out, _ = capsys.readouterr()
    assert [line.split("\t")[0] for line in out.splitlines()] == ["ct"]


def test_bad_input_is_a_message_not_a_traceback(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert _main(["search", ".*(", "--limit", "1"], settings) == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 1 and "every case is listed" in err
    assert _main(["search", "x", "--limit", "0"], settings) == 2
    from casefiles.errors import ValidationError

    with pytest.raises(ValidationError, match="Difficulty"):  # the CLI's main prints CaseDeckErrors as one line
        _main(["search", "--difficulty", "hard"], settings)


def test_the_use_case_searches_its_store(settings: Settings) -> None:
    search = CaseSearch(open_store(settings))
    assert search.search(SearchQuery("HCC")).ids == ["hcc"]
    assert search.all_ids(SearchQuery("")) == ["ct", "hcc"]


def test_through_the_guard_a_person_finds_only_what_they_may_see(tmp_path: Path) -> None:
    from casefiles.accounts.permissions import Actor, PermissionDenied, Role
    from casefiles.acting.guard import ActingServices
    from casefiles.services import Services
    from casefiles.visibility import Sharing, Visibility

    services = Services(Settings(data_dir=tmp_path / "data", seed_samples=False))
    services.store.save_case(case("open", 0, diagnosis="Meningioma"))
    services.store.save_case(case("pia", 1, diagnosis="Meningioma", sharing=Sharing("pia", Visibility.PRIVATE)))
    services.store.save_case(
        case("neuro", 2, diagnosis="Meningioma", sharing=Sharing("pia", Visibility.GROUP, frozenset({"neuro"})))
    )
    as_lena = ActingServices(services, Actor("lena", Role.LEARNER))
    asked = SearchQuery("meningioma", limit=None)
    assert as_lena.search(asked).ids == ["open"]
    assert as_lena.search(SearchQuery("", limit=None)).ids == ["open"]  # an empty search lists no more
    as_nina = ActingServices(services, Actor("nina", Role.LEARNER, frozenset({"neuro"})))
    assert as_nina.search(asked).ids == ["neuro", "open"]
    as_pia = ActingServices(services, Actor("pia", Role.PRESENTER))
    assert as_pia.search(asked).ids == ["neuro", "pia", "open"]
    with pytest.raises(PermissionDenied):
        ActingServices(services, None).search(asked)
