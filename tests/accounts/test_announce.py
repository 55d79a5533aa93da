"""Sharing a case with a group and changing a conference tell the right people, in the app and by mail."""

from __future__ import annotations

from pathlib import Path

import pytest

from casefiles.accounts.permissions import Actor, Role
from casefiles.acting.announce import Announcer
from casefiles.acting.guard import ActingServices
from casefiles.config import Settings
from casefiles.department import Department, open_department
from casefiles.services import Services
from casefiles.visibility import Sharing, Visibility
from tests.dicom_factory import ct_slice
from tests.smtp_sink import SmtpSink

PIA = Actor("pia", Role.PRESENTER, frozenset({"gi"}))


@pytest.fixture
def department(tmp_path: Path, smtp_sink: SmtpSink) -> tuple[Services, Department, str]:
    from pydicom.uid import generate_uid

    settings = Settings(data_dir=tmp_path / "data", seed_samples=False)
    services = Services(settings)
    env = {
        "CASEDECK_SMTP_HOST": smtp_sink.host,
        "CASEDECK_SMTP_PORT": str(smtp_sink.port),
        "CASEDECK_SMTP_SECURITY": "none",
        "CASEDECK_SMTP_FROM": "casedeck@hospital.example",
        "CASEDECK_PUBLIC_URL": "https://casedeck.hospital.example",
    }
    department = open_department(services.store, settings, env)
    for name, role, groups, email in (
        ("pia", Role.PRESENTER, {"gi"}, "pia@hospital.example"),
        ("gus", Role.PRESENTER, {"gi"}, "gus@hospital.example"),
        ("lena", Role.LEARNER, {"gi"}, ""),
        ("nora", Role.PRESENTER, {"neuro"}, "nora@hospital.example"),
    ):
        department.accounts.create_user(name, role, groups=groups, email=email, password="a long test sentence")
    folder = tmp_path / "study"
    folder.mkdir()
    study, series = generate_uid(), generate_uid()
    ct_slice(study, series, 0, size=32).save_as(folder / "0.dcm", enforce_file_format=True)
    (case_id,) = services.import_dicom([folder], title="Hepatic lesion DOE^JANE").case_ids
    services.set_case_sharing(case_id, Sharing("pia", Visibility.PRIVATE))
    return services, department, case_id


def acting(services: Services, department: Department, actor: Actor) -> ActingServices:
    announce = Announcer(department.accounts, department.notifications, department)
    return ActingServices(services, actor, audit=department.audit, announce=announce)


def test_sharing_with_a_group_tells_its_members_and_nobody_else(
    department: tuple[Services, Department, str], smtp_sink: SmtpSink
) -> None:
    services, dept, case_id = department
    acting(services, dept, PIA).set_case_sharing(case_id, Visibility.GROUP, ["gi"])
    told = {name: dept.notifications.of(name) for name in ("pia", "gus", "lena", "nora")}
    assert [len(v) for v in told.values()] == [0, 1, 1, 0]
    assert told["gus"][0].link == f"/case?case={case_id}"
    # mail for those with an address; no title, no patient name
    assert [m["To"] for m in smtp_sink.messages] == ["gus@hospital.example"]
    body = smtp_sink.messages[0].get_content()
    assert case_id in body and "DOE" not in body and "Hepatic" not in body


def test_a_changed_conference_tells_its_presenters_once_until_read(
    department: tuple[Services, Department, str], smtp_sink: SmtpSink
) -> None:
    services, dept, case_id = department
    as_pia = acting(services, dept, PIA)
    board = as_pia.create_conference("GI board", presenters=["gus", "Dr. Outside"])
    as_pia.set_conference_sharing(board.id, Visibility.GROUP, ["gi"], cases_too=False)
    as_pia.update_conference(board.id, {"title": "GI tumour board"})
    as_pia.add_cases(board.id, [case_id])
    unread = dept.notifications.of("gus", unread_only=True)
    assert [n.kind for n in unread] == ["conference_changed"]  # two changes, one notice until read
    dept.notifications.mark_read(unread[0].id)
    as_pia.remove_case(board.id, case_id)
    assert len(dept.notifications.of("gus", unread_only=True)) == 1
    assert dept.notifications.of("pia") == []  # not told of their own change
    assert all(m["To"] == "gus@hospital.example" for m in smtp_sink.messages)


def test_deleting_a_case_tells_the_presenters_of_the_conferences_it_leaves(
    department: tuple[Services, Department, str],
) -> None:
    services, dept, case_id = department
    as_pia = acting(services, dept, PIA)
    board = as_pia.create_conference("GI board", presenters=["gus"])
    as_pia.add_cases(board.id, [case_id])
    as_pia.set_conference_sharing(board.id, Visibility.GROUP, ["gi"], cases_too=True)
    for name in ("gus", "pia"):
        for notice in dept.notifications.of(name):
            dept.notifications.mark_read(notice.id)

    acting(services, dept, Actor("cora", Role.COORDINATOR, frozenset({"gi"}))).delete_case(case_id)

    assert services.get_conference(board.id).case_ids == ()
    for name in ("gus", "pia"):  # its presenter and its owner
        assert [n.kind for n in dept.notifications.of(name, unread_only=True)] == ["conference_changed"], name
