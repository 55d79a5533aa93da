"""The quiz pages in Streamlit's AppTest: a learner takes a two-case quiz; a coordinator makes and reads sets.

The learner never has the diagnosis or the teaching points on the page before answering (every
element's text is checked); answering shows the answer, then the annotations, then the teaching
points, and the score at the end. A coordinator makes a set from picked cases, is refused
publishing it while a question has no correct answer, and downloads the results.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from casefiles.accounts.local import LocalAccounts
from casefiles.accounts.permissions import Actor, Role
from casefiles.acting.quiz import Quizzes
from casefiles.quiz.model import SetState
from pages.session import SESSION_TOKEN
from tests.helpers import ROOT
from tests.quiz.quizlib import DIAGNOSIS, TEACHING_POINT, make_installation

PASSWORD = "a long test sentence here"


@pytest.fixture
def installation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    data = tmp_path / "data"
    services, case_ids, set_id = make_installation(data, tmp_path / "dicom")
    monkeypatch.setenv("CASEDECK_DATA", str(data))
    monkeypatch.setenv("CASEDECK_SAMPLES", "0")
    monkeypatch.setenv("CASEDECK_SIGN_IN", "1")
    accounts = LocalAccounts(services.store)
    tokens = {}
    for name, role in (("lena", Role.LEARNER), ("cora", Role.COORDINATOR), ("pete", Role.PRESENTER)):
        user, _ = accounts.create_user(name, role, password=PASSWORD)
        tokens[name] = accounts.open_session(user)
    return {"services": services, "case_ids": case_ids, "set_id": set_id, "tokens": tokens}


def page(token: str, name: str) -> AppTest:
    """The page as the signed-in person: through app.py once it routes there, else the page file by itself."""
    routed = f"pages/{name}" in (ROOT / "app.py").read_text()
    at = AppTest.from_file(str(ROOT / ("app.py" if routed else f"pages/{name}")), default_timeout=120)
    at.session_state[SESSION_TOKEN] = token
    at.run()
    if routed:
        at.switch_page(f"pages/{name}").run()
    assert not at.exception, at.exception
    return at


def shown(at: AppTest) -> str:
    """Every text the page put on screen (labels, values, options, messages)."""
    parts: list[str] = []
    for node in at.main:
        parts.extend(_texts(node))
    return "\n".join(parts)


def _texts(node: object) -> list[str]:
    out = []
    for attribute in ("value", "label", "body", "options", "placeholder", "help"):
        value = getattr(node, attribute, None)
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, list | tuple):
            out.extend(str(v) for v in value)
    proto = getattr(node, "proto", None)
    if proto is not None:
        out.append(str(proto))
    for child in getattr(node, "children", {}).values() if isinstance(getattr(node, "children", None), dict) else ():
        out.extend(_texts(child))
    return out


def typed(at: AppTest) -> Any:
    (box,) = [t for t in at.text_input if t.label == "Your answer"]
    return box


def picked(at: AppTest) -> Any:
    (options,) = [r for r in at.radio if r.label == "Pick one"]
    return options


def click(at: AppTest, label: str) -> None:
    (button,) = [b for b in at.button if b.label == label]
    button.click().run()
    assert not at.exception, at.exception


def test_a_learner_takes_the_quiz(installation: dict[str, object]) -> None:
    tokens = installation["tokens"]
    assert isinstance(tokens, dict)
    at = page(tokens["lena"], "quiz.py")
    assert at.title[0].value == "Quizzes"
    assert "Abdomen and chest" in at.selectbox(key="quiz_chosen").options[0]
    click(at, "Start quiz")
    before = shown(at)
    assert "Case 1 of 2" in before and "hepatitis C" in before
    for secret in (DIAGNOSIS, "hepatocellular", TEACHING_POINT, "washout", "Liver mass"):
        assert secret.lower() not in before.lower(), secret
    assert not [b for b in at.button if b.label in ("Show annotations", "Show teaching points")]

    typed(at).set_value("hepatocelular carcinoma")  # one typo is forgiven
    at.button[0].click().run()  # the form's Answer button
    assert not at.exception, at.exception
    assert [s.value for s in at.success] == ["Right."]
    assert any(t.value == DIAGNOSIS for t in at.text)
    assert TEACHING_POINT not in shown(at)
    click(at, "Show annotations")
    assert any(t.value == "Note the washout" for t in at.text)
    assert not at.error  # the key image was drawn
    assert TEACHING_POINT not in shown(at)
    click(at, "Show teaching points")
    assert any(TEACHING_POINT in t.value for t in at.text)

    click(at, "Next case")
    assert "Case 2 of 2" in shown(at)
    assert "Adenocarcinoma of the lung" in picked(at).options
    picked(at).set_value(0)
    next(b for b in at.button if b.label == "Answer").click().run()
    assert [e.value for e in at.error] == ["Not right."]
    assert any(t.value == "1 of 2 right (50%), 2 answered" for t in at.text)
    assert any(s.value == "Your score" for s in at.subheader)


def test_a_closed_quiz_takes_no_answer(installation: dict[str, object]) -> None:
    tokens, set_id = installation["tokens"], installation["set_id"]
    assert isinstance(tokens, dict) and isinstance(set_id, str)
    at = page(tokens["lena"], "quiz.py")
    click(at, "Start quiz")
    Quizzes(Actor("ada", Role.ADMIN), installation["services"]).close(set_id)  # type: ignore[arg-type]
    typed(at).set_value("HCC")
    at.button[0].click().run()  # submitted on a page drawn before the set closed
    assert not at.exception
    assert any("answers are no longer taken" in i.value for i in at.info)
    assert not [b for b in at.button if b.label == "Answer"]
    assert DIAGNOSIS not in shown(at)
    assert "closed" in at.selectbox(key="quiz_chosen").options[0]


def test_a_coordinator_makes_publishes_and_reads_results(installation: dict[str, object]) -> None:
    tokens = installation["tokens"]
    assert isinstance(tokens, dict)
    # lena answers the published quiz first, so there are results to read
    lena = page(tokens["lena"], "quiz.py")
    click(lena, "Start quiz")
    typed(lena).set_value("HCC")
    lena.button[0].click().run()

    at = page(tokens["cora"], "training_sets.py")
    assert at.title[0].value == "Training sets"
    # the cases are pete's and private: cora cannot pick them, the set made by the admin is not hers
    assert at.multiselect(key="ts_new_cases").options == []
    # the admin's set is department-wide: coordinators manage it and read its results
    assert "Abdomen and chest" in at.selectbox(key="training_set_chosen").options[0]
    tables = [d.value for d in at.dataframe]
    assert len(tables) == 2 and list(tables[1]["learner"]) == ["lena"]
    click(at, "Prepare CSV")
    assert any(b.label == "Download results (.csv)" for b in at.get("download_button"))


def test_publishing_without_a_correct_answer_is_refused(installation: dict[str, object]) -> None:
    tokens = installation["tokens"]
    assert isinstance(tokens, dict)
    at = page(tokens["pete"], "training_sets.py")
    at.text_input(key="ts_new_title").set_value("Pete's set")
    case_ids = installation["case_ids"]
    assert isinstance(case_ids, tuple)
    at.multiselect(key="ts_new_cases").set_value([case_ids[1]])
    click(at, "Make the set")
    assert any("Made a draft set of 1 cases" in s.value for s in at.success)
    # replace the question by options without a right one
    (options,) = [t for t in at.text_area if t.label.startswith("Options")]
    options.set_value("Pneumonia\nHamartoma")
    (accepted,) = [t for t in at.text_area if t.label.startswith("Accepted")]
    accepted.set_value("")
    click(at, "Save question")
    assert any("Case 1 has no correct answer" in w.value for w in at.warning)
    (publish,) = [b for b in at.button if b.label == "Publish"]
    assert publish.disabled
    (made,) = [s for s in Quizzes(Actor("pete", Role.PRESENTER), installation["services"]).managed_sets()]  # type: ignore[arg-type]
    assert made.state is SetState.DRAFT


def test_a_learner_is_not_offered_training_sets(installation: dict[str, object]) -> None:
    tokens = installation["tokens"]
    assert isinstance(tokens, dict)
    # not in a learner's navigation at all ...
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state[SESSION_TOKEN] = tokens["lena"]
    at.run()
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/training_sets.py")
    # ... and the page itself, reached anyway, offers nothing
    at = AppTest.from_file(str(ROOT / "pages/training_sets.py"), default_timeout=120)
    at.session_state[SESSION_TOKEN] = tokens["lena"]
    at.run()
    assert any("Training sets are made by" in i.value for i in at.info)
    assert not at.button
