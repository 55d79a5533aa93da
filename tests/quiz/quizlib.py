"""A small library with two teaching cases, the people who use a quiz, and a clock to move (tests/quiz)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from pathlib import Path

from casefiles.accounts.permissions import Actor, Role
from casefiles.acting.quiz import Quizzes
from casefiles.audit import Audit
from casefiles.config import Settings
from casefiles.model import KeyImage
from casefiles.quiz.model import Choice, Question
from casefiles.services import Services
from casefiles.visibility import Sharing, Visibility
from tests.store.conftest import make_case

SECRET = b"quiz tests secret key 0123456789"

ADMIN = Actor("ada", Role.ADMIN)
COORDINATOR = Actor("cora", Role.COORDINATOR, frozenset({"gi"}))
PRESENTER = Actor("pete", Role.PRESENTER)
OTHER_PRESENTER = Actor("polly", Role.PRESENTER)
LEARNER = Actor("lena", Role.LEARNER)
OTHER_LEARNER = Actor("leo", Role.LEARNER)


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


@dataclass
class Library:
    services: Services
    audit: Audit
    clock: Clock
    case_ids: tuple[str, str]

    def as_(self, actor: Actor | None) -> Quizzes:
        return Quizzes(actor, self.services, self.audit, where="test", clock=self.clock)


def make_library(tmp_path: Path) -> Library:
    services = Services(Settings(data_dir=tmp_path / "data", seed_samples=False))
    liver = make_case(
        "liver1",
        title="Hepatocellular carcinoma in a cirrhotic liver",
        series=1,
        images=3,
        history="60-year-old with hepatitis C and a rising AFP.",
        findings="Arterially enhancing 3 cm mass with washout.",
        diagnosis="Hepatocellular carcinoma",
        differential=("Regenerative nodule", "Cholangiocarcinoma"),
        teaching_points=("LI-RADS 5: arterial enhancement plus washout",),
        sharing=Sharing("pete", Visibility.GROUP, frozenset({"gi"})),
    )
    liver = replace(liver, key_images=(KeyImage(liver.assets[0].id, 1, caption="Washout: HCC"),))
    chest = make_case(
        "chest1",
        title="Right upper lobe adenocarcinoma",
        series=1,
        images=2,
        diagnosis="Adenocarcinoma of the lung",
        teaching_points=("Spiculation suggests malignancy",),
        sharing=Sharing("cora", Visibility.DEPARTMENT),
    )
    services.store.save_case(liver)
    services.store.save_case(chest)
    return Library(services, Audit(services.store, SECRET), Clock(), ("liver1", "chest1"))


#: What the learner must not see before answering (in the page's elements or HTML).
DIAGNOSIS = "Hepatocellular carcinoma"
TEACHING_POINT = "LI-RADS 5 needs arterial enhancement plus washout"


def make_installation(data_dir: Path, folder: Path) -> tuple[Services, tuple[str, str], str]:
    """A library of two imported (real DICOM) cases and a published two-case quiz open to the department.

    The cases are private to the presenter "pete": the learners see them only through the quiz.
    Returns the services, the case ids and the set's id.
    """
    from pydicom.uid import generate_uid

    from tests.dicom_factory import ct_slice

    services = Services(Settings(data_dir=data_dir, seed_samples=False))
    ids = []
    for n, (title, text) in enumerate(
        (
            (
                "Liver mass: hepatocellular carcinoma",
                {
                    "history": "60-year-old with hepatitis C and a rising AFP.",
                    "findings": "Arterially enhancing mass with washout.",
                    "diagnosis": DIAGNOSIS,
                    "teaching_points": [TEACHING_POINT],
                },
            ),
            (
                "Lung nodule",
                {
                    "history": "Smoker with a cough.",
                    "diagnosis": "Adenocarcinoma of the lung",
                    "teaching_points": ["Spiculated margins suggest malignancy"],
                },
            ),
        )
    ):
        source = folder / f"case{n}"
        source.mkdir(parents=True)
        study, series = generate_uid(), generate_uid()
        for i in range(2):
            ct_slice(study, series, i, size=32).save_as(source / f"{i}.dcm", enforce_file_format=True)
        (case_id,) = services.import_dicom([source], title=title).case_ids
        services.update_case(case_id, text)
        case = services.get_case(case_id)
        services.set_key_images(case_id, [KeyImage(case.assets[0].id, 1, caption="Note the washout")])
        services.set_case_sharing(case_id, Sharing("pete", Visibility.PRIVATE))
        ids.append(case_id)
    quizzes = Quizzes(Actor("ada", Role.ADMIN), services)
    made = quizzes.create("Abdomen and chest", ids)
    quizzes.set_question(
        made.id,
        1,
        Question(
            ids[1],
            "Which diagnosis?",
            choices=(Choice("Pneumonia"), Choice("Adenocarcinoma of the lung", correct=True)),
        ),
    )
    quizzes.share(made.id, Visibility.DEPARTMENT)
    quizzes.publish(made.id)
    return services, (ids[0], ids[1]), made.id
