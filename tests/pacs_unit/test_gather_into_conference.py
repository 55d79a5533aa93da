"""A pull gathered into a conference picked on the page goes into that one, even when another has its title.

The From PACS page picks a conference by its id (labels title · date · kind, equal ones told apart);
the pull adds the new cases to that conference, and the acting guard asks for the right to edit it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from casefiles import pacs_service
from casefiles.accounts.permissions import PermissionDenied
from casefiles.acting.guard import ActingServices
from casefiles.config import Settings
from casefiles.pacs import PacsNode
from casefiles.pacs.retrieval import PullReport, StudyRequest
from casefiles.services import Services
from tests.dicom_factory import write_ct_study

STUDY = "1.2.3.4"


@pytest.fixture
def library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Services, str]:
    services = Services(Settings(data_dir=tmp_path / "data", seed_samples=False))
    services.save_pacs_node(PacsNode("main", "PACS", "127.0.0.1", 104))
    write_ct_study(tmp_path / "study", slices=2)
    (case_id,) = services.import_dicom([tmp_path / "study"]).case_ids

    def pulled(*args: object, **kwargs: object) -> PullReport:  # the PACS part is tested against Orthanc
        return PullReport((case_id,), 1, 2, ())

    monkeypatch.setattr(pacs_service, "retrieve_studies", pulled)
    return services, case_id


def test_the_pull_goes_into_the_picked_conference_not_the_first_of_its_title(library: tuple[Services, str]) -> None:
    services, case_id = library
    first = services.create_conference("Tumor board")
    second = services.create_conference("Tumor board")

    _, gathered = services.pacs.retrieve("main", [StudyRequest(STUDY)], conference_id=second.id)

    assert gathered is not None and gathered.id == second.id
    assert services.get_conference(second.id).case_ids == (case_id,)
    assert services.get_conference(first.id).case_ids == ()


def test_gathering_into_a_conference_needs_the_right_to_edit_it(library: tuple[Services, str]) -> None:
    from casefiles.accounts.permissions import Actor, Role

    services, _ = library
    theirs = services.create_conference("Tumor board")
    presenter = Actor("reg1", Role.PRESENTER, frozenset())  # may pull, may not edit a conference not theirs
    acting = ActingServices(services, presenter)

    with pytest.raises(PermissionDenied):
        acting.pacs.retrieve("main", [StudyRequest(STUDY)], conference_id=theirs.id)
    assert services.get_conference(theirs.id).case_ids == ()
