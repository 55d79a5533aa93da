"""A generated teaching-file library for search tests and the search benchmark (no images: text only)."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator

from casefiles.model import Case, Difficulty, KeyImage
from casefiles.visibility import Sharing, Visibility

#: (diagnosis, category, body region, modalities, words of its findings)
DISEASES = [
    (
        "Hepatocellular carcinoma",
        "Hepatocellular carcinoma",
        "Liver",
        ("MR", "CT"),
        "arterial hyperenhancement washout capsule cirrhotic liver",
    ),
    (
        "Hepatic hemangioma",
        "Hemangioma",
        "Liver",
        ("MR", "US"),
        "peripheral nodular discontinuous enhancement centripetal fill",
    ),
    (
        "Focal nodular hyperplasia",
        "Focal nodular hyperplasia",
        "Liver",
        ("MR",),
        "central scar homogeneous arterial enhancement",
    ),
    ("Liver metastases", "Metastasis", "Liver", ("CT",), "multiple hypoattenuating lesions rim enhancement"),
    (
        "Esophageal carcinoma",
        "Esophageal cancer",
        "Esophagus",
        ("CT",),
        "circumferential wall thickening distal esophagus stricture",
    ),
    ("Achalasia", "Achalasia", "Esophagus", ("CT", "XR"), "dilated esophagus bird beak tapering"),
    (
        "Pulmonary embolism",
        "Pulmonary embolism",
        "Chest",
        ("CT",),
        "filling defect pulmonary artery right heart strain",
    ),
    ("Pneumothorax", "Pneumothorax", "Chest", ("XR", "CT"), "visceral pleural line absent lung markings"),
    ("Lung adenocarcinoma", "Lung cancer", "Chest", ("CT",), "spiculated nodule upper lobe ground glass"),
    ("Sarcoidosis", "Sarcoidosis", "Chest", ("CT", "XR"), "perilymphatic nodules hilar lymphadenopathy"),
    (
        "Acute appendicitis",
        "Appendicitis",
        "Abdomen",
        ("CT", "US"),
        "dilated appendix periappendiceal fat stranding appendicolith",
    ),
    (
        "Small bowel obstruction",
        "Bowel obstruction",
        "Abdomen",
        ("CT", "XR"),
        "dilated small bowel loops transition point",
    ),
    (
        "Renal cell carcinoma",
        "Renal cell carcinoma",
        "Kidney",
        ("CT", "MR"),
        "enhancing solid renal mass heterogeneous",
    ),
    ("Angiomyolipoma", "Angiomyolipoma", "Kidney", ("CT",), "macroscopic fat renal lesion"),
    ("Glioblastoma", "Glioblastoma", "Brain", ("MR",), "ring enhancing mass necrosis vasogenic oedema"),
    ("Meningioma", "Meningioma", "Brain", ("MR", "CT"), "extra axial dural tail homogeneous enhancement"),
    ("Acute ischemic stroke", "Stroke", "Brain", ("CT", "MR"), "restricted diffusion middle cerebral artery territory"),
    ("Subdural haematoma", "Hemorrhage", "Brain", ("CT",), "crescentic extra axial collection midline shift"),
    (
        "Anterior cruciate ligament tear",
        "Ligament injury",
        "Knee",
        ("MR",),
        "discontinuous ligament bone bruise pivot shift",
    ),
    ("Osteosarcoma", "Bone tumor", "Knee", ("XR", "MR"), "sunburst periosteal reaction aggressive bone lesion"),
    ("Breast carcinoma", "Breast cancer", "Breast", ("MG", "US"), "spiculated mass microcalcifications"),
    (
        "Thyroid nodule",
        "Thyroid nodule",
        "Neck",
        ("US",),
        "hypoechoic solid nodule microcalcifications taller than wide",
    ),
    (
        "Pancreatic adenocarcinoma",
        "Pancreatic cancer",
        "Pancreas",
        ("CT",),
        "hypoenhancing pancreatic head mass double duct sign",
    ),
    ("Acute pancreatitis", "Pancreatitis", "Pancreas", ("CT",), "peripancreatic fat stranding fluid collections"),
]
HISTORIES = [
    "{age}-year-old with abdominal pain and weight loss.",
    "{age}-year-old smoker with cough and haemoptysis.",
    "{age}-year-old presenting with headache and seizure.",
    "{age}-year-old after a fall, knee swelling.",
    "{age}-year-old with a palpable lump.",
    "{age}-year-old with chronic hepatitis B on surveillance.",
]
AUTHORS = [
    f"Dr {name}" for name in ("Adams", "Baker", "Chen", "Dubois", "Evans", "Fischer", "Garcia", "Huang", "Ito", "Jones")
]
GROUPS = ("residents", "fellows", "neuro", "body")
TEACHING = [
    "Know the classic appearance.",
    "Compare with prior studies.",
    "Look for complications.",
    "Consider the differential carefully.",
]
BRITISH = {"tumor": "tumour", "esophageal": "oesophageal", "esophagus": "oesophagus", "hemorrhage": "haemorrhage"}
BASE = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def generated_cases(count: int, seed: int = 17) -> Iterator[Case]:
    """``count`` cases, reproducible for a seed; about one in ten private or shared with a group."""
    rng = random.Random(seed)
    difficulties = [d for d in Difficulty if d.value]
    for number in range(count):
        diagnosis, category, region, modalities, findings = rng.choice(DISEASES)
        modality = rng.choice(modalities)
        differential = tuple(d[0] for d in rng.sample(DISEASES, 3) if d[0] != diagnosis)
        uk = rng.random() < 0.3
        text_findings = f"{findings.capitalize()}. No other abnormality; no tumor elsewhere."
        history = rng.choice(HISTORIES).format(age=rng.randint(18, 90))
        if uk:
            for us, gb in BRITISH.items():
                text_findings = text_findings.replace(us, gb)
        roll = rng.random()
        if roll < 0.05:
            sharing = Sharing(rng.choice(AUTHORS).split()[1].lower(), Visibility.PRIVATE)
        elif roll < 0.10:
            sharing = Sharing("someone", Visibility.GROUP, frozenset({rng.choice(GROUPS)}))
        else:
            sharing = Sharing("", Visibility.DEPARTMENT)
        created = BASE + dt.timedelta(hours=number * 3 + rng.randint(0, 2))
        yield Case(
            id=f"g{number:05d}",
            title=f"{modality} {region.lower()}: {rng.choice(['classic', 'atypical', 'subtle', 'incidental'])} case",
            history=history,
            findings=text_findings,
            diagnosis=diagnosis,
            differential=differential,
            teaching_points=(rng.choice(TEACHING),),
            tags=(region.lower(), rng.choice(["oncology", "emergency", "boards", "tumour board", "classic"])),
            modality=modality,
            body_part=region,
            difficulty=rng.choice(difficulties),
            author=rng.choice(AUTHORS),
            category=category,
            created=created,
            updated=created,
            sharing=sharing,
        )


def case(case_id: str, minutes: int = 0, **fields: object) -> Case:
    """One hand-made case (department-wide unless ``sharing`` is given)."""
    created = BASE + dt.timedelta(days=3000, minutes=minutes)
    values: dict[str, object] = {"title": "A case", "sharing": Sharing("", Visibility.DEPARTMENT)}
    values.update(fields)
    return Case(id=case_id, created=created, updated=created, **values)  # type: ignore[arg-type]


__all__ = ["KeyImage", "case", "generated_cases"]
