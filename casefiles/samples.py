"""Seed the library with the shipped sample studies and their authored teaching content.

The samples go through the same import and de-identification as any other
study (their fake PHI is there to show it working). ``sample_data/cases.json``
holds what a radiologist wrote for each: title, history, findings, diagnosis,
differential, teaching points, tags and key images as (series number order,
frame, optional window).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from casefiles.errors import CaseDeckError, ValidationError
from casefiles.model import Asset, AssetKind, Case, Difficulty, KeyImage, Window
from casefiles.services import Services

SAMPLE_ROOT = Path(__file__).resolve().parent.parent / "sample_data"
SEEDED_FLAG = "samples_seeded"


def seed_samples(services: Services, *, force: bool = False, root: Path = SAMPLE_ROOT) -> list[str]:
    """Import every sample study once per data directory; return the new case ids."""
    if not force and services.store.get_meta(SEEDED_FLAG):
        return []
    manifest_path = root / "cases.json"
    if not manifest_path.is_file():
        raise ValidationError("The sample cases are missing (sample_data/cases.json not found).")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValidationError("The sample case list (sample_data/cases.json) is unreadable.") from exc
    created: list[str] = []
    for entry in manifest["cases"]:
        # One flag per study, set as soon as it is in: a first start interrupted half-way resumes
        # where it stopped instead of importing the earlier samples a second time.
        study_flag = f"{SEEDED_FLAG}:{entry['study']}"
        if not force and services.store.get_meta(study_flag):
            continue
        study_dir = root / "studies" / entry["study"]
        report = services.import_dicom([study_dir], title=entry["title"], author=entry.get("author", ""))
        for case_id in report.case_ids:
            case = services.get_case(case_id)
            services.store.save_case(_with_authored_content(services, case, entry))
            created.append(case_id)
        services.store.set_meta(study_flag, "1")
    services.store.set_meta(SEEDED_FLAG, "1")
    return created


def _series_in_order(services: Services, case: Case) -> list[Asset]:
    """The case's DICOM series ordered by SeriesNumber, as the manifest counts them."""

    def series_number(asset: Asset) -> int:
        try:
            return int(services.dataset(asset.instances[0].blob).get("SeriesNumber", 0) or 0)
        except (CaseDeckError, ValueError, TypeError):
            return 0

    series = [a for a in case.assets if a.kind is AssetKind.DICOM_SERIES]
    return sorted(series, key=series_number)


def _with_authored_content(services: Services, case: Case, entry: Mapping[str, Any]) -> Case:
    series = _series_in_order(services, case)
    keys: list[KeyImage] = []
    for key in entry.get("key_images", ()):
        index = int(key.get("series", 0))
        if not 0 <= index < len(series):
            raise ValidationError("A sample key image points at a series that was not imported.")
        asset = series[index]
        window = key.get("window")
        keys.append(
            KeyImage(
                asset_id=asset.id,
                frame=min(int(key.get("frame", 0)), asset.frame_count - 1),
                window=Window(float(window["center"]), float(window["width"])) if window else None,
                caption=str(key.get("caption", "")),
            )
        )
    return case.edited(
        title=entry["title"],
        history=entry.get("history", ""),
        findings=entry.get("findings", ""),
        diagnosis=entry.get("diagnosis", ""),
        differential=tuple(entry.get("differential", ())),
        teaching_points=tuple(entry.get("teaching_points", ())),
        tags=tuple(entry.get("tags", ())),
        modality=entry.get("modality", case.modality),
        body_part=entry.get("body_part", case.body_part),
        difficulty=Difficulty(entry.get("difficulty", "")),
        author=entry.get("author", ""),
        key_images=tuple(keys),
    )
