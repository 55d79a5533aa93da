"""A PACS search that names nobody is refused before any PACS is asked (issue #16)."""

from __future__ import annotations

from pathlib import Path

import pytest

from casefiles.config import Settings
from casefiles.errors import NotFoundError, ValidationError
from casefiles.services import Services


@pytest.mark.parametrize(
    ("patient_id", "patient_name"),
    [("", ""), ("", "*"), ("*", "*"), ("", "?*^*"), ("  ", "% *"), (None, "**")],
)
def test_a_search_of_wildcards_alone_is_refused(tmp_path: Path, patient_id: str | None, patient_name: str) -> None:
    pacs = Services(Settings(data_dir=tmp_path, seed_samples=False)).pacs
    # the node does not exist: a search that reached it would fail with "no such node" instead
    with pytest.raises(ValidationError, match="would list every patient"):
        pacs.find("nowhere", patient_id=patient_id, patient_name=patient_name)


def test_part_of_a_name_is_a_search(tmp_path: Path) -> None:
    pacs = Services(Settings(data_dir=tmp_path, seed_samples=False)).pacs
    with pytest.raises(NotFoundError):  # it went on to look for the node
        pacs.find("nowhere", patient_name="DOE^J*")
