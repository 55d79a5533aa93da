"""Write the shipped sample set: four studies with fake PHI and the teaching content for each.

    python -m sample_data.generate [--out DIR]

writes ``DIR/studies/<study>/<series>/IM0001.dcm``…, ``DIR/media/*`` (the CT
case's micrograph, photo, clip, PDF and slides: :mod:`sample_data.media_synth`)
and ``DIR/cases.json`` (default DIR: this package's folder). Folder and file
names say what, never who, so no PHI reaches a path. Fixed seeds and derived
UIDs make the bytes reproducible.

``cases.json`` counts key images the way :mod:`casefiles.samples` reads them:
``series`` is the index among the study's series in SeriesNumber order and
``frame`` the index in the stack sorted by ascending position along the slice
normal (for these axial stacks: inferior first). ``position_mm`` repeats the
slice position so a reader can check it found the right slice. ``media`` lists
files under ``media/`` to add to the case after its study, each with a
caption, whether it is a key image (photos only), the PDF ``pages`` to add as
images and the PowerPoint ``slides`` chosen for the deck (0-based).
"""

from __future__ import annotations

import argparse
import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from casefiles.errors import ValidationError
from sample_data import phantoms
from sample_data.fake_phi import DOE_JANE, GARCIA_MARIA, SMITH_JOHN
from sample_data.media_synth import MEDIA, write_media
from sample_data.synth import make_ct_series, make_mr_series, make_radiograph, make_ultrasound, synthetic_uid

PACKAGE_DIR = Path(__file__).resolve().parent
AUTHOR = "CaseDeck sample content (synthetic phantom)"
SEED = 2024


@dataclass(frozen=True, slots=True)
class _Stack:
    """Where an axial stack's slices sit, to turn a position into a frame index."""

    first_z: float
    spacing: float
    slices: int

    def frame_at(self, z: float) -> int:
        """Index of the slice nearest ``z`` in ascending-position order."""
        from_top = round((self.first_z - z) / self.spacing)
        if not 0 <= from_top < self.slices:
            raise ValidationError(f"Position {z} mm is outside this stack.")
        return self.slices - 1 - from_top

    def z_of_frame(self, frame: int) -> float:
        return self.first_z - self.spacing * (self.slices - 1 - frame)


CT_SOFT = _Stack(first_z=0.0, spacing=5.0, slices=30)
CT_LUNG = _Stack(first_z=-60.0, spacing=2.5, slices=24)
MR_FLAIR = _Stack(first_z=phantoms.MR_TOP_Z, spacing=(phantoms.MR_TOP_Z - phantoms.MR_BOTTOM_Z) / 19, slices=20)
MR_LESION_Z = 20.0


def _ct_chest(root: Path) -> list[Path]:
    study_uid = synthetic_uid("study", SMITH_JOHN.patient_id, "CT", SEED)
    frame_of_ref = synthetic_uid("for", study_uid, SEED)
    soft = make_ct_series(
        root / "series01_axial_soft",
        slices=CT_SOFT.slices,
        thickness=CT_SOFT.spacing,
        first_z=CT_SOFT.first_z,
        patient=SMITH_JOHN,
        study_uid=study_uid,
        frame_of_reference_uid=frame_of_ref,
        series_number=2,
        seed=SEED,
    )
    lung = make_ct_series(
        root / "series02_axial_lung",
        slices=CT_LUNG.slices,
        thickness=CT_LUNG.spacing,
        first_z=CT_LUNG.first_z,
        lung_kernel=True,
        patient=SMITH_JOHN,
        study_uid=study_uid,
        frame_of_reference_uid=frame_of_ref,
        series_number=3,
        seed=SEED,
    )
    return soft + lung


def _mr_brain(root: Path) -> list[Path]:
    return make_mr_series(root / "series01_ax_flair", slices=MR_FLAIR.slices, patient=DOE_JANE, seed=SEED)


def _cr_chest(root: Path) -> list[Path]:
    return make_radiograph(root / "series01_chest_pa", patient=GARCIA_MARIA, seed=SEED)


def _us_ruq(root: Path) -> list[Path]:
    return make_ultrasound(root / "series01_gb_cine", frames=12, patient=GARCIA_MARIA, seed=SEED)


STUDIES: dict[str, Callable[[Path], list[Path]]] = {
    "study01_ct_chest": _ct_chest,
    "study02_mr_brain": _mr_brain,
    "study03_cr_chest": _cr_chest,
    "study04_us_ruq": _us_ruq,
}


def generate_study(name: str, studies_dir: Path) -> list[Path]:
    """Write one named sample study into ``studies_dir/name`` (which must not hold files yet)."""
    make = STUDIES.get(name)
    if make is None:
        raise ValidationError(f"There is no sample study {name!r}; choose one of {sorted(STUDIES)}.")
    return make(Path(studies_dir) / name)


def _ct_chest_media() -> list[dict[str, Any]]:
    """The tumour-board material added to the nodule case after its 6-month follow-up."""
    media: list[dict[str, Any]] = [
        {
            "file": "media/lung_core_he.jpg",
            "caption": (
                "CT-guided core biopsy, H&E 20x: invasive adenocarcinoma, acinar predominant (synthetic drawing)."
            ),
            "key_image": True,
        },
        {
            "file": "media/biopsy_cores_photo.jpg",
            "caption": "Three core biopsy specimens beside a centimetre ruler (synthetic phone photo).",
            "key_image": False,
        },
        {
            "file": "media/pet_mip_rotating.mp4",
            "caption": "FDG PET-CT, rotating MIP: focal uptake in the right lower lobe nodule, SUVmax 4.2.",
            "key_image": False,
        },
        {
            "file": "media/referral_letter.pdf",
            "caption": "Referral to the thoracic MDT after growth to 11 mm on the 6-month CT.",
            "key_image": False,
            "pages": [0],
        },
        {
            "file": "media/mdt_summary.pptx",
            "caption": "Thoracic MDT summary: stage cT1b N0 M0, planned segmentectomy.",
            "key_image": False,
            "slides": [0, 1],
        },
    ]
    missing = [m["file"] for m in media if str(m["file"]).removeprefix("media/") not in MEDIA]
    if missing:
        raise ValidationError(f"The sample manifest lists media the generator does not make: {missing}.")
    return media


def sample_cases() -> list[dict[str, Any]]:
    """The authored teaching content, one entry per study, as ``cases.json`` holds it."""
    nodule_soft = CT_SOFT.frame_at(phantoms.RLL_NODULE.z)
    nodule_lung = CT_LUNG.frame_at(phantoms.RLL_NODULE.z)
    lesion = MR_FLAIR.frame_at(MR_LESION_Z)
    return [
        {
            "study": "study01_ct_chest",
            "title": "Incidental 8 mm solid pulmonary nodule, right lower lobe",
            "author": AUTHOR,
            "history": (
                "65-year-old man, former smoker (30 pack-years, quit 10 years ago). Contrast-enhanced CT "
                "of the chest for a cough persisting six weeks after a respiratory infection."
            ),
            "findings": (
                "Solitary 8 mm solid, smoothly marginated nodule in the posterior basal segment of the right "
                "lower lobe, best seen on the thin lung-kernel series. No calcification or macroscopic fat. "
                "No other pulmonary nodules. No hilar or mediastinal lymphadenopathy. No pleural effusion. "
                "Heart and thoracic aorta normal in size. Visualised upper abdomen unremarkable."
            ),
            "diagnosis": "Indeterminate 8 mm solid pulmonary nodule in a high-risk patient (Fleischner 2017)",
            "differential": [
                "Primary lung carcinoma",
                "Granuloma (healed tuberculosis or histoplasmosis)",
                "Intrapulmonary lymph node (usually perifissural, triangular or lentiform)",
                "Solitary metastasis",
                "Hamartoma (look for fat or popcorn calcification)",
            ],
            "teaching_points": [
                "Fleischner 2017 applies to incidental nodules in adults 35 and over; not to lung-cancer "
                "screening (use Lung-RADS), patients with known cancer, or the immunocompromised.",
                "Measure on lung windows and thin sections: the mean of long and short axes, rounded to the "
                "nearest millimetre.",
                "Single solid nodule 6-8 mm: CT at 6-12 months, then CT at 18-24 months in a high-risk "
                "patient (consider it in a low-risk one). Above 8 mm: consider CT at 3 months, PET/CT or "
                "tissue sampling.",
                "Scroll adjacent slices: a nodule is spherical and ends abruptly; a vessel is tubular and "
                "continues. Thick (5 mm) slices can hide or shrink a small nodule by volume averaging.",
                "Benign patterns end the work-up: diffuse, central, laminated or popcorn calcification, and "
                "macroscopic fat.",
            ],
            "tags": ["chest", "lung nodule", "fleischner", "incidental finding", "ct", "tumour board"],
            "modality": "CT",
            "body_part": "CHEST",
            "difficulty": "introductory",
            "key_images": [
                {
                    "series": 1,
                    "frame": nodule_lung,
                    "position_mm": CT_LUNG.z_of_frame(nodule_lung),
                    "window": {"center": -600.0, "width": 1500.0},
                    "caption": "8 mm solid nodule, posterior basal right lower lobe (lung window, 2.5 mm).",
                },
                {
                    "series": 0,
                    "frame": nodule_soft,
                    "position_mm": CT_SOFT.z_of_frame(nodule_soft),
                    "window": {"center": 40.0, "width": 400.0},
                    "caption": "Same level, mediastinal window: soft-tissue attenuation, no calcification.",
                },
            ],
            "media": _ct_chest_media(),
        },
        {
            "study": "study02_mr_brain",
            "title": "Non-enhancing right frontal FLAIR-hyperintense mass: diffuse low-grade glioma",
            "author": AUTHOR,
            "history": (
                "40-year-old woman after a first generalised tonic-clonic seizure. Afebrile; neurological "
                "examination normal after recovery."
            ),
            "findings": (
                "Ill-defined, mildly expansile FLAIR-hyperintense lesion of about 3 cm in the right frontal "
                "lobe, involving white matter and the overlying cortex with gyral expansion. Minimal mass "
                "effect, no midline shift, no hydrocephalus. Ventricles and extra-axial spaces normal. "
                "Post-contrast and diffusion images (not included) showed no enhancement and no restricted "
                "diffusion."
            ),
            "diagnosis": "Diffuse low-grade glioma (astrocytoma, IDH-mutant, CNS WHO grade 2 at resection)",
            "differential": [
                "Oligodendroglioma, IDH-mutant and 1p/19q-codeleted",
                "Subacute infarct",
                "Cerebritis or early abscess",
                "Tumefactive demyelination",
                "Focal cortical dysplasia",
            ],
            "teaching_points": [
                "A cortical-subcortical FLAIR lesion with gyral expansion in a young adult with seizures is a "
                "glioma until proven otherwise.",
                "Absence of enhancement does not exclude a higher-grade component; follow-up or resection decides.",
                "Infarcts follow an arterial territory, restrict diffusion early and evolve over days to "
                "weeks; a short-interval scan separates them from tumour.",
                "T2-FLAIR mismatch (homogeneous T2 signal, relatively suppressed FLAIR centre with a bright "
                "rim) is highly specific for IDH-mutant, 1p/19q non-codeleted astrocytoma.",
                "Calcification on CT or susceptibility imaging favours oligodendroglioma.",
            ],
            "tags": ["neuroradiology", "brain tumour", "glioma", "flair", "seizure", "mri"],
            "modality": "MR",
            "body_part": "BRAIN",
            "difficulty": "intermediate",
            "key_images": [
                {
                    "series": 0,
                    "frame": lesion,
                    "position_mm": MR_FLAIR.z_of_frame(lesion),
                    "window": None,
                    "caption": "Axial FLAIR: expansile right frontal cortical-subcortical hyperintensity.",
                }
            ],
        },
        {
            "study": "study03_cr_chest",
            "title": "Right upper lobe pneumonia bounded by the minor fissure",
            "author": AUTHOR,
            "history": (
                "52-year-old woman with four days of fever, productive cough and right-sided pleuritic chest "
                "pain. Oxygen saturation 93% on room air."
            ),
            "findings": (
                "Patchy airspace opacity in the right upper zone with a sharp horizontal inferior margin at "
                "the minor fissure, which is in normal position. Right heart border and right hemidiaphragm "
                "preserved. Left lung clear. No pleural effusion. Heart size normal. Side marker on the "
                "patient's left."
            ),
            "diagnosis": "Right upper lobe community-acquired pneumonia",
            "differential": [
                "Right upper lobe collapse (fissure displaced upwards, volume loss)",
                "Tuberculosis (look for cavitation and hilar adenopathy)",
                "Pulmonary haemorrhage",
                "Organising pneumonia",
                "Invasive mucinous adenocarcinoma if it does not resolve",
            ],
            "teaching_points": [
                "A sharp inferior edge along the minor fissure places airspace disease in the right upper "
                "lobe; a fissure in normal position means consolidation, not collapse.",
                "Silhouette sign: loss of the right heart border points to the middle lobe, loss of the "
                "hemidiaphragm to the lower lobe.",
                "Check the side marker before calling laterality.",
                "Radiographic clearing lags clinical recovery by weeks; in smokers and patients over 50 a "
                "follow-up radiograph at about 6 weeks excludes an underlying obstructing lesion.",
            ],
            "tags": ["chest radiograph", "pneumonia", "consolidation", "silhouette sign"],
            "modality": "CR",
            "body_part": "CHEST",
            "difficulty": "introductory",
            "key_images": [
                {
                    "series": 0,
                    "frame": 0,
                    "window": None,
                    "caption": "PA chest: right upper lobe consolidation limited below by the minor fissure.",
                }
            ],
        },
        {
            "study": "study04_us_ruq",
            "title": "Cholelithiasis: echogenic gallstone with posterior acoustic shadowing",
            "author": AUTHOR,
            "history": (
                "52-year-old woman with intermittent post-prandial right upper quadrant pain for three "
                "months. Afebrile; white cell count and liver tests normal."
            ),
            "findings": (
                "Longitudinal cine of the gallbladder: a 12 mm echogenic focus in the dependent lumen with a "
                "clean posterior acoustic shadow. Wall not thickened, no pericholecystic fluid, sonographic "
                "Murphy sign negative."
            ),
            "diagnosis": "Uncomplicated cholelithiasis, no sonographic signs of acute cholecystitis",
            "differential": [
                "Gallbladder polyp (fixed to the wall, no shadow)",
                "Tumefactive sludge (no shadow)",
                "Adenomyomatosis (comet-tail artefact)",
                "Porcelain gallbladder (wall calcification)",
                "Emphysematous cholecystitis (gas: dirty shadowing)",
            ],
            "teaching_points": [
                "Stones are echogenic, shadow cleanly and move with the patient's position; polyps are fixed "
                "and do not shadow.",
                "Stones plus a positive sonographic Murphy sign is the most useful combination for acute "
                "cholecystitis; wall thickening over 3 mm and pericholecystic fluid support but are not "
                "specific.",
                "Wall-echo-shadow sign: a gallbladder packed with stones shows two echogenic lines separated "
                "by a thin anechoic rim, with shadowing.",
                "Ultrasound cine often carries the patient's name in the image itself: check the "
                "de-identified frames, not only the header.",
            ],
            "tags": ["ultrasound", "gallbladder", "cholelithiasis", "abdomen"],
            "modality": "US",
            "body_part": "ABDOMEN",
            "difficulty": "introductory",
            "key_images": [
                {
                    "series": 0,
                    "frame": 6,
                    "window": None,
                    "caption": "Echogenic stone in the gallbladder with posterior acoustic shadow.",
                }
            ],
        },
    ]


def cases_json() -> str:
    """The text of ``cases.json`` (stable formatting, so regeneration changes nothing)."""
    manifest = {
        "format": "casedeck-sample-cases/1",
        "conventions": (
            "series: index among the study's series in SeriesNumber order; frame: index in the stack "
            "sorted by ascending position along the slice normal (inferior first for these axial stacks); "
            "position_mm: that slice's position; window: centre/width in modality units or null. "
            "media: files added to the case after its study, in order; key_image marks a photo as key "
            "image; pages: PDF pages (0-based) added as images; slides: PowerPoint slides (0-based) "
            "chosen for the deck."
        ),
        "cases": sample_cases(),
    }
    return json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"


def generate_all(out: Path) -> list[Path]:
    """Rewrite ``out/studies/<study>/`` for every sample study, ``out/media/*`` and ``out/cases.json``."""
    studies_dir = Path(out) / "studies"
    written: list[Path] = []
    for name in STUDIES:
        target = studies_dir / name
        if target.exists():
            shutil.rmtree(target)  # only the folders this script owns, by their fixed names
        written += generate_study(name, studies_dir)
    written += write_media(Path(out) / "media", SEED)  # overwrites its own files by name, keeps others
    manifest = Path(out) / "cases.json"
    manifest.write_text(cases_json(), encoding="utf-8")
    return [*written, manifest]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sample_data.generate", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=PACKAGE_DIR, help="folder for studies/ and cases.json")
    args = parser.parse_args(argv)
    written = generate_all(args.out)
    total = sum(p.stat().st_size for p in written)
    print(f"Wrote {len(written)} files ({total / 1e6:.1f} MB) under {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
