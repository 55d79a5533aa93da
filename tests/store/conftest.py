"""The store backends the contract suite runs against, and cases shaped like real ones."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from casefiles.model import Asset, AssetKind, Case, Instance, KeyImage, Review
from casefiles.store import CaseStore
from casefiles.store.tinydb_store import TinyDBCaseStore

BACKENDS = ["tinydb", "postgresql"]


def open_backend(name: str, where: Path, request: pytest.FixtureRequest) -> CaseStore:
    if name == "tinydb":
        return TinyDBCaseStore(where / "library")
    postgres = request.getfixturevalue("postgres_url")
    from casefiles.store.postgres_store import PostgresCaseStore

    return PostgresCaseStore(postgres(where.name))


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CaseStore]:
    opened = open_backend(request.param, tmp_path, request)
    yield opened
    opened.close()


def blob_of(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def make_series(case_id: str, number: int, images: int = 150, *, study: str = "", held: int = 0) -> Asset:
    instances = tuple(
        Instance(
            sop_instance_uid=f"2.25.{number}{i:04d}",
            blob=blob_of(f"{case_id}/{number}/{i}"),
            instance_number=i + 1,
            position=float(i) * 1.25,
            review=Review.NEEDS_REVIEW if i < held else Review.NOT_NEEDED,
            text_rules=2,
            pixel_rules=3,
        )
        for i in range(images)
    )
    return Asset(
        id=f"s{number}",
        kind=AssetKind.DICOM_SERIES,
        label=f"Axial {number}",
        modality="CT",
        instances=instances,
        thumbnail=blob_of(f"{case_id}/{number}/thumb"),
        study_uid=study or f"2.25.9{number}",
        series_uid=f"2.25.8{number}",
    )


def make_case(
    case_id: str,
    *,
    title: str = "Right upper lobe nodule",
    series: int = 3,
    images: int = 150,
    created_minutes: int = 0,
    **fields: Any,
) -> Case:
    created = dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=created_minutes)
    assets = tuple(make_series(case_id, n, images) for n in range(series))
    keys = (KeyImage(asset_id=assets[0].id, frame=min(10, images - 1)),) if assets else ()
    values: dict[str, Any] = {
        "history": "65-year-old smoker with cough.",
        "findings": "Spiculated 18 mm nodule in the right upper lobe.",
        "diagnosis": "Adenocarcinoma",
        "tags": ("chest", "oncology"),
        "modality": "CT",
        "text_rules": 2,
    }
    values.update(fields)
    return Case(id=case_id, title=title, created=created, updated=created, assets=assets, key_images=keys, **values)
