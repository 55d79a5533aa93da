"""How fast a conference exports to PowerPoint, as a ratio to a floor measured in the same run.

    python -m bench.bench_export [--cases 10] [--images 8] [--size 1024] [--format png|jpeg]
                                 [--repeat 5] [--out bench/results/export.json]

1. generates ``cases`` x ``images`` grey key images (``size``² with noise, so
   they compress like real images) and, once per case, a stack clip encoded with
   Debian's ffmpeg (H.264, yuv420p, faststart): generation is not timed;
2. floor: encode the same key images and clip posters with CaseDeck's encoder
   (``casefiles.imaging.encode_png``/``encode_jpeg``) and write them and the clips
   into a zip file: what any deck export must pay at least;
3. export: ``export_conference_pptx`` of the 10-case conference (title, agenda,
   dividers, 2x2 grids, scale bars, clips, notes, sections) with a media source
   that encodes each key image when asked, as the services adapter does.

Each step runs ``repeat`` times; the median is reported. Prints a table and
writes the numbers as JSON. Nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pptx

from casefiles.imaging.encode import encode_jpeg, encode_png
from casefiles.model import (
    Asset,
    AssetKind,
    Case,
    CasePlan,
    Conference,
    ConferenceKind,
    Instance,
    KeyImage,
    Window,
)
from exporters import export_conference_pptx
from exporters.bundle import ConferenceBundle

RESULTS = Path(__file__).resolve().parent / "results" / "export.json"
CLIP_FRAMES, CLIP_SIDE = 40, 384


def key_pixels(seed: int, size: int) -> np.ndarray:
    """A grey scene with anatomy-like blobs and noise (noise keeps PNG sizes realistic)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size]
    img = 60 + 40 * np.sin(x / (17 + seed % 7)) * np.cos(y / 23)
    for _ in range(6):
        cx, cy = rng.integers(100, size - 100, 2).tolist()
        r = int(rng.integers(20, 120))
        img += 90 * (((x - cx) ** 2 + (y - cy) ** 2) < r * r)
    img += rng.normal(0, 12, (size, size))
    return np.clip(img, 0, 255).astype(np.uint8)


def make_clip(ffmpeg: str, seed: int, out: Path) -> bytes:
    frames = [key_pixels(seed * 100 + i, CLIP_SIDE) for i in range(CLIP_FRAMES)]
    cmd = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "gray"]
    cmd += ["-s", f"{CLIP_SIDE}x{CLIP_SIDE}", "-r", "15", "-i", "-", "-c:v", "libx264", "-preset", "veryfast"]
    cmd += ["-pix_fmt", "yuv420p", "-movflags", "+faststart", str(out)]
    subprocess.run(cmd, input=b"".join(f.tobytes() for f in frames), check=True, timeout=300)
    return out.read_bytes()


def make_bundle(cases: int, images: int) -> ConferenceBundle:
    built = []
    for c in range(cases):
        instances = tuple(Instance(sop_instance_uid=f"2.25.{c}.{i + 1}", blob=f"{c:032x}{i:032x}") for i in range(60))
        asset = Asset(id=f"s{c}", kind=AssetKind.DICOM_SERIES, label="Axial CT", modality="CT", instances=instances)
        keys = tuple(
            KeyImage(asset_id=asset.id, frame=i * 7, window=Window(center=40, width=400)) for i in range(images)
        )
        built.append(
            Case(
                id=f"c{c}",
                title=f"Case {c + 1}: pancreatic lesion with vascular contact",
                history="A 64-year-old with painless jaundice and weight loss. " * 3,
                findings="Hypoattenuating mass in the pancreatic head with upstream duct dilatation. " * 2,
                diagnosis="Pancreatic ductal adenocarcinoma",
                differential=("Autoimmune pancreatitis", "Neuroendocrine tumour", "Metastasis"),
                teaching_points=("Assess arterial contact in degrees.", "Look for the double-duct sign."),
                modality="CT",
                body_part="Abdomen",
                assets=(asset,),
                key_images=keys,
            )
        )
    plans = tuple(CasePlan(case_id=case.id, stacks=True, reveal=n % 3 == 2) for n, case in enumerate(built))
    conf = Conference(
        id="bench",
        title="Tumor board: pancreas",
        kind=ConferenceKind.TUMOR_BOARD,
        date=dt.date(2026, 11, 26),
        presenters=("Dr A. Teacher",),
        items=plans,
    )
    return ConferenceBundle(conf, tuple(built))


class BenchMedia:
    """Encodes key images when asked (like the services adapter); clips were encoded up front."""

    def __init__(
        self, pixels: dict[tuple[str, int], np.ndarray], clips: dict[str, bytes], encode: Callable[..., bytes]
    ):
        self.pixels, self.clips, self.encode = pixels, clips, encode

    def key_image(self, case: Case, key: KeyImage, /) -> bytes:
        return self.encode(self.pixels[(case.id, key.frame)])

    def pixel_spacing_mm(self, case: Case, key: KeyImage, /) -> float | None:
        return 0.7

    def stack_frames(self, case: Case, asset: Asset, window: Window | None, /, **_: Any) -> Sequence[bytes]:
        raise NotImplementedError

    def stack_video(self, case: Case, asset: Asset, window: Window | None, /) -> bytes:
        return self.clips[case.id]

    def stack_poster(self, case: Case, asset: Asset, window: Window | None, /) -> bytes:
        return encode_png(self.pixels[(case.id, 0)][::2, ::2])

    def dicom_instances(self, case: Case, asset: Asset, /) -> Iterator[tuple[Instance, bytes]]:
        raise NotImplementedError


def floor(bundle: ConferenceBundle, media: BenchMedia, out: Path) -> None:
    """Encode every key image and poster, and store them and the clips in a zip."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        for case, _ in bundle.entries():
            for n, key in enumerate(case.key_images):
                zf.writestr(f"media/{case.id}-{n}.img", media.key_image(case, key))
            zf.writestr(f"media/{case.id}-poster.png", media.stack_poster(case, case.assets[0], None))
            zf.writestr(f"media/{case.id}.mp4", media.stack_video(case, case.assets[0], None))


def median_time(fn: Callable[[], object], repeat: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=10)
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--format", choices=("png", "jpeg"), default="png")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    ffmpeg = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"
    encode = encode_png if args.format == "png" else encode_jpeg

    with tempfile.TemporaryDirectory(prefix="casedeck-bench-export-") as tmp_name:
        tmp = Path(tmp_name)
        start = time.perf_counter()
        bundle = make_bundle(args.cases, args.images)
        pixels = {
            (case.id, key.frame): key_pixels(c * 1000 + key.frame, args.size)
            for c, (case, _) in enumerate(bundle.entries())
            for key in case.key_images
        }
        clips = {case.id: make_clip(ffmpeg, c, tmp / f"clip{c}.mp4") for c, (case, _) in enumerate(bundle.entries())}
        generation = time.perf_counter() - start
        media = BenchMedia(pixels, clips, encode)

        floor_s, floor_runs = median_time(lambda: floor(bundle, media, tmp / "floor.zip"), args.repeat)
        deck = tmp / "conference.pptx"
        export_s, export_runs = median_time(lambda: export_conference_pptx(bundle, media, deck), args.repeat)
        slides = len(pptx.Presentation(str(deck)).slides)
        result: dict[str, Any] = {
            "benchmark": "export_conference_pptx",
            "parameters": {
                "cases": args.cases,
                "key_images_per_case": args.images,
                "image_size": args.size,
                "format": args.format,
                "clip": {"frames": CLIP_FRAMES, "side": CLIP_SIDE, "codec": "h264"},
                "repeat": args.repeat,
            },
            "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
            "generation_seconds": round(generation, 3),
            "floor": {
                "seconds": round(floor_s, 3),
                "runs": [round(t, 3) for t in floor_runs],
                "bytes": (tmp / "floor.zip").stat().st_size,
            },
            "export": {
                "seconds": round(export_s, 3),
                "runs": [round(t, 3) for t in export_runs],
                "bytes": deck.stat().st_size,
                "slides": slides,
            },
            "ratio_export_to_floor": round(export_s / floor_s, 2),
            "aim": {"ratio_at_most": 1.5, "seconds_under": 10.0},
        }
    print(f"{'step':<44}{'seconds':>10}{'MB':>9}")
    print(f"{'floor: encode images + posters, zip + clips':<44}{floor_s:>10.2f}{result['floor']['bytes'] / 1e6:>9.1f}")
    label = f"export_conference_pptx ({slides} slides)"
    print(f"{label:<44}{export_s:>10.2f}{result['export']['bytes'] / 1e6:>9.1f}")
    print(f"export / floor: {result['ratio_export_to_floor']:.2f}x  (aim: <= 1.5x and < 10 s)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
