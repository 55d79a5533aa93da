"""A MediaSource test double: real numpy images, real PNG/JPEG/MP4 bytes, planted fake PHI.

It stands in for the services adapter (the boundary exporters receive), so the
images are synthetic but the bytes are real: PNG and JPEG with fake PHI in
their metadata (the conftest helpers), and an H.264 MP4 made by ffmpeg whose
title/comment metadata also hold fake PHI. An exporter must show the pixels and
let none of the text through.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace

import numpy as np

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


def make_mp4(ffmpeg: str, frames: Sequence[np.ndarray], out: Path, *, metadata: dict[str, str]) -> bytes:
    """Encode grey uint8 frames as H.264 yuv420p with faststart, with the given (fake PHI) metadata."""
    h, w = frames[0].shape
    cmd = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "gray"]
    cmd += ["-s", f"{w}x{h}", "-r", "10", "-i", "-", "-c:v", "libx264", "-preset", "ultrafast"]
    cmd += ["-pix_fmt", "yuv420p", "-movflags", "+faststart"]
    for key, value in metadata.items():
        cmd += ["-metadata", f"{key}={value}"]
    cmd.append(str(out))
    subprocess.run(cmd, input=b"".join(f.tobytes() for f in frames), check=True, timeout=120)
    return out.read_bytes()


class SceneMedia:
    """Renders key images as test scenes; every method can be made to fail like a real renderer would."""

    def __init__(
        self,
        kit: SimpleNamespace,
        *,
        video: bytes | None,
        spacing_mm: float | None = 0.7,
        broken: frozenset[tuple[str, int]] = frozenset(),
        broken_clips: frozenset[str] = frozenset(),
    ) -> None:
        self.kit = kit
        self.video = video
        self.spacing_mm = spacing_mm
        self.broken = broken
        self.broken_clips = broken_clips
        self.pixels: dict[tuple[str, int], np.ndarray] = {}
        self.calls: list[str] = []

    def size(self, key: KeyImage) -> tuple[int, int]:
        """Width and height of a key image: each frame has its own aspect ratio."""
        return 400 + 100 * (key.frame % 4), 300 + 50 * (key.frame % 3)

    def key_image(self, case: Case, key: KeyImage, /) -> bytes:
        self.calls.append("key_image")
        if (case.id, key.frame) in self.broken:
            raise RenderError(f"Frame of {self.kit.FAKE_PHI[0]} could not be rendered")
        w, h = self.size(key)
        img = self.kit.scene(w, h, seed=key.frame)
        self.pixels[(case.id, key.frame)] = img
        return bytes(self.kit.png_with_phi(img) if key.frame % 2 == 0 else self.kit.jpeg_with_phi(img))

    def pixel_spacing_mm(self, case: Case, key: KeyImage, /) -> float | None:
        return self.spacing_mm

    def stack_frames(
        self, case: Case, asset: Asset, window: Window | None, /, *, max_frames: int = 300, max_side: int = 768
    ) -> Sequence[bytes]:
        return [self.kit.jpeg_with_phi(self.kit.scene(256, 256, seed=i)) for i in range(min(asset.frame_count, 4))]

    def stack_video(self, case: Case, asset: Asset, window: Window | None, /) -> bytes:
        self.calls.append("stack_video")
        if self.video is None or asset.id in self.broken_clips:
            raise RenderError(f"No clip for {self.kit.FAKE_PHI[1]}")
        return self.video

    def stack_poster(self, case: Case, asset: Asset, window: Window | None, /) -> bytes:
        return bytes(self.kit.png_with_phi(self.kit.scene(320, 240, seed=7)))

    def dicom_instances(self, case: Case, asset: Asset, /) -> Iterator[tuple[Instance, bytes]]:
        raise RenderError("The PowerPoint export never asks for DICOM files.")

    def asset_file(self, case: Case, asset: Asset, /) -> bytes:
        raise RenderError("These cases hold no PowerPoint, PDF or video files.")

    def asset_previews(self, case: Case, asset: Asset, /) -> Sequence[bytes]:
        return []


def series_case(
    case_id: str,
    *,
    title: str,
    images: int,
    frames: int | None = None,
    diagnosis: str = "",
    history: str = "A 61-year-old with weight loss.",
    findings: str = "",
    teaching_points: tuple[str, ...] = ("Look at every slice.",),
    modality: str = "CT",
    body_part: str = "Abdomen",
) -> Case:
    """A case whose ``images`` key images are frames of one series of ``frames`` (default: as many) instances."""
    count = max(frames or images, 1)
    instances = tuple(Instance(sop_instance_uid=f"2.25.{case_id}{i + 1}", blob=f"{i:064x}") for i in range(count))
    asset = Asset(
        id=f"{case_id}-s1",
        kind=AssetKind.DICOM_SERIES,
        label="Axial CT portal venous",
        modality=modality,
        instances=instances,
        default_window=Window(center=50, width=350),
    )
    keys = tuple(KeyImage(asset_id=asset.id, frame=i, window=Window(center=40, width=400)) for i in range(images))
    return Case(
        id=case_id,
        title=title,
        history=history,
        findings=findings,
        diagnosis=diagnosis,
        differential=("Lymphoma", "Metastasis"),
        teaching_points=teaching_points,
        modality=modality,
        body_part=body_part,
        difficulty=Difficulty.ADVANCED,
        author="Teaching Faculty",
        assets=(asset,),
        key_images=keys,
    )


def conference(cases: Sequence[tuple[Case, CasePlan]], *, title: str = "Tumor board — pancreas") -> ConferenceBundle:
    conf = Conference(
        id="conf1",
        title=title,
        kind=ConferenceKind.TUMOR_BOARD,
        date=dt.date(2026, 11, 26),
        presenters=("Dr A. Teacher", "Dr B. Fellow"),
        items=tuple(plan for _, plan in cases),
    )
    return ConferenceBundle(conf, tuple(case for case, _ in cases))


#: The three-case conference of the tests: a quiz case (reveal), a case with five key images
#: (grid), and a case with stacks.
QUIZ_DIAGNOSIS = "Solid pseudopapillary neoplasm"
QUIZ_TITLE = "Young woman with a calcified pancreatic tail mass"


def three_cases() -> ConferenceBundle:
    quiz = series_case(
        "quiz",
        title=QUIZ_TITLE,
        images=2,
        diagnosis=QUIZ_DIAGNOSIS,
        findings="Well-circumscribed mass with peripheral calcification and haemorrhage.",
        teaching_points=("Think of it in young women.",),
    )
    grid = series_case(
        "grid",
        title="Pancreatic ductal adenocarcinoma encasing the SMA",
        images=5,
        diagnosis="Pancreatic ductal adenocarcinoma, unresectable",
        findings="Hypoattenuating head mass with more than 180 degrees of SMA contact.",
    )
    stack = series_case(
        "stack",
        title="Main-duct IPMN",
        images=2,
        frames=30,
        diagnosis="Main-duct intraductal papillary mucinous neoplasm",
        findings="Diffuse main duct dilatation to 12 mm with a mural nodule.",
    )
    return conference(
        [
            (quiz, CasePlan(case_id="quiz", reveal=True)),
            (grid, CasePlan(case_id="grid")),
            (stack, CasePlan(case_id="stack", stacks=True)),
        ]
    )
