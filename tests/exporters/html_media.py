"""A MediaSource test double for the HTML presentation tests, and the conferences they present.

It is the boundary the exporter talks to (the real one is the services
adapter over the DICOM renderer), so it renders real numpy images and encodes
them as PNG/JPEG. Every stack frame carries a grey marker square whose level
says which slice of the series it is, so a browser test can tell slices apart
by reading canvas pixels.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image

from casefiles.errors import RenderError
from casefiles.model import (
    Asset,
    AssetKind,
    Case,
    CasePlan,
    Conference,
    ConferenceKind,
    Difficulty,
    Instance,
    KeyImage,
    Window,
)
from exporters.bundle import ConferenceBundle

#: Where the marker square sits in every stack frame (pixels, top-left corner) and its size.
MARKER = 64
FRAME_SIDE = 256


def marker_level(slice_index: int) -> int:
    """The grey level of the marker in slice ``slice_index`` of a series (distinct for 0..39)."""
    return 20 + (5 * slice_index) % 200


def scene(width: int, height: int, seed: int) -> np.ndarray:
    """A smooth grey pattern with a bright disc: something that looks like an image, different per seed."""
    y, x = np.mgrid[0:height, 0:width]
    img = (np.sin(x / 23.0 + seed / 3) * np.cos(y / 29.0 - seed / 5) * 45 + 95).astype(np.uint8)
    cx = width // 2 + int(40 * np.sin(seed / 4))
    cv2.circle(img, (cx, height // 2), max(4, min(width, height) // 6), 235, -1)
    return img


def encode(pixels: np.ndarray, fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return buf.getvalue()


@dataclass
class ArrayMedia:
    """Renders key images and stacks from numpy arrays; can be told to fail or to ignore size limits."""

    failing_keys: frozenset[tuple[str, int]] = frozenset()  # (case id, frame)
    failing_stacks: frozenset[str] = frozenset()  # asset ids
    spacing_mm: float | None = 0.7
    ignore_limits: bool = False
    frame_side: int = FRAME_SIDE
    key_side: int = 640
    stack_calls: list[tuple[int, int]] = field(default_factory=list)  # (max_frames, max_side) asked for

    def key_image(self, case: Case, key: KeyImage, /) -> bytes:
        if (case.id, key.frame) in self.failing_keys:
            raise RenderError("The stored series could not be decoded.")
        img = scene(self.key_side, self.key_side * 3 // 4, seed=key.frame)
        return encode(img, "PNG" if key.frame % 2 == 0 else "JPEG")

    def pixel_spacing_mm(self, case: Case, key: KeyImage, /) -> float | None:
        return self.spacing_mm

    def stack_frames(
        self, case: Case, asset: Asset, window: Window | None, /, *, max_frames: int = 300, max_side: int = 768
    ) -> Sequence[bytes]:
        self.stack_calls.append((max_frames, max_side))
        if asset.id in self.failing_stacks:
            raise RenderError("The stored series could not be decoded.")
        total = asset.frame_count
        if self.ignore_limits or total <= max_frames:
            picked = list(range(total))
        else:
            picked = [round(i * (total - 1) / (max_frames - 1)) for i in range(max_frames)]
        side = self.frame_side if self.ignore_limits else min(self.frame_side, max_side)
        return [self.frame(i, side) for i in picked]

    @staticmethod
    def frame(slice_index: int, side: int = FRAME_SIDE) -> bytes:
        img = scene(side, side, seed=slice_index)
        img[:MARKER, :MARKER] = marker_level(slice_index)
        return encode(img, "JPEG")

    def stack_video(self, case: Case, asset: Asset, window: Window | None, /) -> bytes:
        raise RenderError("This test source makes no video.")

    def stack_poster(self, case: Case, asset: Asset, window: Window | None, /) -> bytes:
        return self.frame(asset.frame_count // 2)

    def dicom_instances(self, case: Case, asset: Asset, /) -> Iterator[tuple[Instance, bytes]]:
        return iter(())

    def asset_file(self, case: Case, asset: Asset, /) -> bytes:
        raise RenderError("These cases hold no PowerPoint, PDF or video files.")

    def asset_previews(self, case: Case, asset: Asset, /) -> Sequence[bytes]:
        return []


def series(asset_id: str, slices: int, *, label: str = "Axial CT", window: Window | None = None) -> Asset:
    instances = tuple(
        Instance(sop_instance_uid=f"2.25.99{asset_id.encode().hex()}{i}", blob=f"{asset_id}{i:060d}"[-64:])
        for i in range(slices)
    )
    return Asset(
        id=asset_id,
        kind=AssetKind.DICOM_SERIES,
        label=label,
        modality="CT",
        instances=instances,
        default_window=window,
    )


SCRIPT_TEXT = "<script>alert(1)</script>"
QUIZ_DIAGNOSIS = "Splenic infarct from septic emboli"


def pancoast_case(*, history: str = "") -> Case:
    """A taught case: two key images of a 40-slice series (frames 3 and 20), with a hostile history line."""
    asset = series("asset-pancoast-7c1", 40, window=Window(40, 400))
    return Case(
        id="case-pancoast-93f",
        title="Right apical mass eroding the first rib",
        history=history or f"58-year-old smoker with right shoulder pain.\nReferral note pasted: {SCRIPT_TEXT}",
        findings="Apical soft-tissue mass invading the chest wall with destruction of the first rib.",
        diagnosis="Superior sulcus (Pancoast) tumour",
        differential=("Metastasis", "Lymphoma"),
        teaching_points=("Check the lung apices on every chest radiograph.",),
        modality="CT",
        body_part="Chest",
        difficulty=Difficulty.INTERMEDIATE,
        author="Teaching Faculty",
        assets=(asset,),
        key_images=(
            KeyImage(asset.id, frame=3, window=Window(40, 400), caption="Apical mass, soft-tissue window"),
            KeyImage(asset.id, frame=20, window=Window(-600, 1500), caption=""),
        ),
    )


def quiz_case() -> Case:
    asset = series("asset-quiz-51d", 12, label="Portal venous CT")
    return Case(
        id="case-quiz-0b2",
        title="Wedge-shaped splenic defect",
        history="34-year-old with fever and a new murmur.",
        findings="Peripheral wedge-shaped hypoenhancing splenic defect.",
        diagnosis=QUIZ_DIAGNOSIS,
        teaching_points=("Look for endocarditis when infarcts are multiple.",),
        modality="CT",
        body_part="Abdomen",
        assets=(asset,),
        key_images=(KeyImage(asset.id, frame=6, window=Window(50, 350), caption="Axial portal venous phase"),),
    )


def text_only_case(case_id: str = "case-text-4aa", **changes: object) -> Case:
    fields: dict[str, object] = {
        "id": case_id,
        "title": "Case discussed without images",
        "history": "Clinical story only; the images are on the PACS.",
        "diagnosis": "Sarcoidosis",
    }
    fields.update(changes)
    return Case(**fields)  # type: ignore[arg-type]


def bundle_of(*pairs: tuple[Case, CasePlan], title: str = "Thoracic tumor board") -> ConferenceBundle:
    conference = Conference(
        id="conf-1e0",
        title=title,
        kind=ConferenceKind.TUMOR_BOARD,
        date=dt.date(2026, 11, 26),
        presenters=("Dr A. Presenter", "Dr B. Discussant"),
        items=tuple(plan for _, plan in pairs),
    )
    return ConferenceBundle(conference=conference, cases=tuple(case for case, _ in pairs))


def two_case_bundle() -> ConferenceBundle:
    """A taught case with its series as a stack, then an unknown case revealed on the following slide."""
    a, b = pancoast_case(), quiz_case()
    return bundle_of((a, CasePlan(a.id, stacks=True)), (b, CasePlan(b.id, reveal=True)))


#: Identifiers from the bundle that must never appear in the presentation.
def identifiers(bundle: ConferenceBundle) -> list[str]:
    out = [bundle.conference.id]
    for case in bundle.cases:
        out.append(case.id)
        for asset in case.assets:
            out.append(asset.id)
            out += [i.sop_instance_uid for i in asset.instances]
            out += [i.blob for i in asset.instances]
    return out
