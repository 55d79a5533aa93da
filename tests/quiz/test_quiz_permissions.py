"""Who may make, manage, take a set and read its results, per role (the use cases refuse the rest)."""

from __future__ import annotations

import pytest

from casefiles.accounts.permissions import Actor, PermissionDenied, Role
from casefiles.audit import AuditFilter
from casefiles.quiz.flow import QuizRefused
from casefiles.visibility import Visibility
from tests.quiz.quizlib import (
    ADMIN,
    COORDINATOR,
    LEARNER,
    OTHER_LEARNER,
    OTHER_PRESENTER,
    PRESENTER,
    Library,
)


def test_learners_do_not_make_sets(library: Library) -> None:
    with pytest.raises(PermissionDenied, match="Learners take quizzes"):
        library.as_(LEARNER).create("Mine", ["chest1"])
    with pytest.raises(PermissionDenied, match="Sign in first"):
        library.as_(None).create("Mine", ["chest1"])


def test_presenters_make_sets_of_their_own_cases_only(library: Library) -> None:
    mine = library.as_(PRESENTER).create("Pete's liver", ["liver1"])
    assert mine.sharing.owner == "pete" and mine.sharing.visibility is Visibility.PRIVATE
    # chest1 is department-wide (pete may view it) but it is cora's case
    with pytest.raises(PermissionDenied, match="presenters use their own cases"):
        library.as_(PRESENTER).create("Borrowed", ["chest1"])
    with pytest.raises(PermissionDenied):
        library.as_(OTHER_PRESENTER).publish(mine.id)
    assert library.as_(PRESENTER).publish(mine.id).state.value == "open"


def test_coordinators_use_cases_they_may_view(library: Library) -> None:
    outsider = Actor("carl", Role.COORDINATOR)  # not in the gi group: liver1 is not his to view
    with pytest.raises(PermissionDenied):
        library.as_(outsider).create("Liver", ["liver1"])
    assert library.as_(ADMIN).create("Anything", list(library.case_ids)).questions


def test_a_set_is_taken_by_whom_it_is_shared_with(library: Library) -> None:
    coordinator = library.as_(COORDINATOR)
    made = coordinator.create("GI quiz", ["liver1"])
    coordinator.share(made.id, Visibility.GROUP, ["residents"])
    resident = Actor("rita", Role.LEARNER, frozenset({"residents"}))
    # a draft is nobody's quiz yet
    assert library.as_(resident).my_quizzes() == []
    coordinator.publish(made.id)
    assert [q.title for q in library.as_(resident).my_quizzes()] == ["GI quiz"]
    assert library.as_(LEARNER).my_quizzes() == []
    with pytest.raises(PermissionDenied, match="not open to you"):
        library.as_(LEARNER).start(made.id)
    # the set shows the case to the group although the case itself is not shared with them
    library.as_(resident).start(made.id)
    assert library.as_(resident).step(made.id, 0).images


def test_learners_never_see_each_others_answers(library: Library) -> None:
    coordinator = library.as_(COORDINATOR)
    made = coordinator.create("Quiz", ["chest1"])
    coordinator.share(made.id, Visibility.DEPARTMENT)
    coordinator.publish(made.id)
    lena, leo = library.as_(LEARNER), library.as_(OTHER_LEARNER)
    lena.start(made.id)
    lena.answer(made.id, 0, text="adenocarcinoma of the lung")
    leo.start(made.id)
    # leo's own steps know nothing of lena's answer
    with pytest.raises(QuizRefused):
        leo.step(made.id, 0, 1)
    for who in (leo, lena, library.as_(PRESENTER)):
        with pytest.raises(PermissionDenied, match="Only coordinators and admins"):
            who.results(made.id)
        with pytest.raises(PermissionDenied):
            who.results_csv(made.id)
    assert library.as_(ADMIN).results(made.id).by_learner[0].learner == "lena"
    assert coordinator.results(made.id).by_question[0].correct == 1


def test_only_managers_change_a_set(library: Library) -> None:
    made = library.as_(COORDINATOR).create("Quiz", ["chest1"])
    for who in (LEARNER, OTHER_PRESENTER):
        quizzes = library.as_(who)
        with pytest.raises(PermissionDenied):
            quizzes.get(made.id)
        with pytest.raises(PermissionDenied):
            quizzes.edit(made.id, title="Hijacked")
        with pytest.raises(PermissionDenied):
            quizzes.delete(made.id)
    library.as_(ADMIN).edit(made.id, title="Renamed by the admin")
    assert library.as_(COORDINATOR).get(made.id).title == "Renamed by the admin"
    events = library.audit.events(AuditFilter(target_id=made.id))
    assert [e.data["action"] for e in events] == ["quiz.create", "quiz.edit"]


def test_a_set_from_a_conference(library: Library) -> None:
    conference = library.services.create_conference("Tumour board", case_ids=["chest1", "liver1"])
    made = library.as_(ADMIN).create("From the board", conference_id=conference.id)
    assert made.case_ids == ("chest1", "liver1") and made.conference_id == conference.id
    with pytest.raises(PermissionDenied):  # the conference is not shared with learners (nor may they make sets)
        library.as_(LEARNER).create("x", conference_id=conference.id)


def test_cases_in_published_sets_for_the_search_filter(library: Library) -> None:
    from casefiles.quiz.model import quizzed_case_ids

    coordinator = library.as_(COORDINATOR)
    draft = coordinator.create("Draft", ["chest1"])
    assert quizzed_case_ids(library.services.store) == frozenset()
    coordinator.publish(draft.id)
    assert quizzed_case_ids(library.services.store) == {"chest1"}
