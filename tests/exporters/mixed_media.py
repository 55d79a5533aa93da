"""A case with mixed media (a video clip, a PowerPoint, a PDF) and a MediaSource double that serves it.

The bytes are real: an H.264/AAC MP4 with faststart made by ffmpeg at test
time, a three-slide .pptx made with python-pptx, and PNG pictures of its slides
standing in for the ones LibreOffice makes at import. The double is the
boundary the exporters talk to (the real one is the services adapter over the
blob store), so it returns what the store would hold.
"""

from __future__ import annotations

import io
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from pptx import Presentation
from pptx.util import Inches

from casefiles.errors import RenderError
from casefiles.model import Asset, AssetKind, Case, Difficulty, Instance, KeyImage, Window

CLIP_SECONDS = 2.0
CLIP_CAPTION = "Duodenal ulcer at endoscopy"
DECK_LABEL = "Referral slides"
SLIDE_TITLES = ("Staging summary from surgery", "Unrelated admin slide", "Proposed treatment plan")
#: Distinct colours of the slide pictures (one per slide), so a browser test can see which one shows.
PREVIEW_COLOURS = ((200, 40, 40), (40, 160, 40), (40, 60, 210))


def make_clip(ffmpeg: str, out: Path, *, seconds: float = CLIP_SECONDS) -> bytes:
    """A 320x240 H.264 + AAC MP4 with faststart: what the import keeps of a video."""
    cmd = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y"]
    cmd += ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-f", "lavfi", "-i", "sine=frequency=440"]
    cmd += ["-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    cmd += ["-c:a", "aac", "-b:a", "64k", "-movflags", "+faststart", str(out)]
    subprocess.run(cmd, check=True, timeout=120, capture_output=True)
    return out.read_bytes()


def make_deck(titles: Sequence[str] = SLIDE_TITLES) -> bytes:
    """A 16:9 PowerPoint with a title and a bullet per slide (text a test can look for)."""
    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(13.333), Inches(7.5)
    layout = prs.slide_layouts[1]
    for n, title in enumerate(titles, 1):
        slide = prs.slides.add_slide(layout)
        slide.shapes.title.text = title
        slide.placeholders[1].text = f"Point {n} of the referring team"
    buf = io.BytesIO()
    prs.save(buf)
    return buf.getvalue()


def make_previews(count: int = len(SLIDE_TITLES)) -> list[bytes]:
    """PNG pictures of the slides (512 px wide, 16:9), each in its own colour."""
    out = []
    for n in range(count):
        image = Image.new("RGB", (512, 288), PREVIEW_COLOURS[n % len(PREVIEW_COLOURS)])
        ImageDraw.Draw(image).text((20, 20), f"Slide {n + 1}", fill=(255, 255, 255))
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        out.append(buf.getvalue())
    return out


def poster_png() -> bytes:
    y, x = np.mgrid[0:240, 0:320]
    pixels = ((x * 3 + y) % 256).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).convert("RGB").save(buf, format="PNG")
    return buf.getvalue()


def key_png(frame: int) -> bytes:
    y, x = np.mgrid[0:300, 0:400]
    pixels = ((np.sin(x / 17 + frame) * np.cos(y / 23)) * 60 + 110).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def mixed_case(
    *,
    case_id: str = "case-mixed-1",
    chosen: tuple[int, ...] = (0, 2),
    previews: int = len(SLIDE_TITLES),
    title: str = "Bleeding duodenal ulcer with a referral deck",
) -> Case:
    """A case with two CT key images, a video clip, a PowerPoint (slides ``chosen``) and a PDF letter."""
    series = Asset(
        id=f"{case_id}-ct",
        kind=AssetKind.DICOM_SERIES,
        label="Axial CT",
        modality="CT",
        instances=tuple(Instance(sop_instance_uid=f"2.25.77{i}", blob=f"{i:064x}") for i in range(2)),
    )
    video = Asset(
        id=f"{case_id}-video",
        kind=AssetKind.VIDEO,
        label="Endoscopy",
        caption=CLIP_CAPTION,
        blob="a" * 64,
        media_type="video/mp4",
        thumbnail="b" * 64,
    )
    deck = Asset(
        id=f"{case_id}-deck",
        kind=AssetKind.SLIDE_DECK,
        label=DECK_LABEL,
        blob="c" * 64,
        chosen=chosen,
        previews=tuple(f"{n:064x}"[-64:] for n in range(100, 100 + previews)),
    )
    letter = Asset(id=f"{case_id}-pdf", kind=AssetKind.DOCUMENT, label="Referral letter", blob="d" * 64)
    return Case(
        id=case_id,
        title=title,
        history="72-year-old on NSAIDs with melaena.",
        findings="Active extravasation in the duodenal bulb.",
        diagnosis="Bleeding posterior duodenal ulcer",
        teaching_points=("CT angiography before endoscopy when unstable.",),
        modality="CT",
        body_part="Abdomen",
        difficulty=Difficulty.INTERMEDIATE,
        author="Teaching Faculty",
        assets=(series, video, deck, letter),
        key_images=tuple(KeyImage(series.id, frame=i, window=Window(40, 400)) for i in range(2)),
    )


@dataclass
class MixedMedia:
    """Serves a mixed case's media like the services adapter: the stored clip, deck and slide pictures."""

    clip: bytes
    deck: bytes | None = field(default_factory=make_deck)
    previews: list[bytes] = field(default_factory=make_previews)
    failing_video: bool = False
    calls: list[str] = field(default_factory=list)

    def key_image(self, case: Case, key: KeyImage, /) -> bytes:
        return key_png(key.frame)

    def pixel_spacing_mm(self, case: Case, key: KeyImage, /) -> float | None:
        return None

    def stack_frames(
        self, case: Case, asset: Asset, window: Window | None, /, *, max_frames: int = 300, max_side: int = 768
    ) -> Sequence[bytes]:
        return [poster_png()]

    def stack_video(self, case: Case, asset: Asset, window: Window | None, /) -> bytes:
        self.calls.append(f"stack_video:{asset.kind.value}")
        if asset.kind is not AssetKind.VIDEO or self.failing_video:
            raise RenderError("No clip could be made.")
        return self.clip

    def stack_poster(self, case: Case, asset: Asset, window: Window | None, /) -> bytes:
        return poster_png()

    def dicom_instances(self, case: Case, asset: Asset, /) -> Iterator[tuple[Instance, bytes]]:
        raise RenderError("Deck exports never ask for DICOM files.")

    def asset_file(self, case: Case, asset: Asset, /) -> bytes:
        self.calls.append(f"asset_file:{asset.kind.value}")
        if asset.kind is not AssetKind.SLIDE_DECK or self.deck is None:
            raise RenderError("This item has no stored file.")
        return self.deck

    def asset_previews(self, case: Case, asset: Asset, /) -> Sequence[bytes]:
        self.calls.append(f"asset_previews:{asset.kind.value}")
        return list(self.previews) if asset.kind is AssetKind.SLIDE_DECK else []
