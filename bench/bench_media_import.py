"""Importing 50 mixed files into a case, with the time spent per kind of file.

    python -m bench.bench_media_import [--photos 45] [--video-seconds 120] [--slides 30] [--out FILE]

Generates, in a temp folder: phone-sized JPEG photos with EXIF (4032×3024), a
pathology PNG, a 4-level pyramidal TIFF (8192²), a 10-page PDF, a 30-slide PPTX
and one 720p video of ``--video-seconds`` as a phone writes it (H.264 + AAC in
MOV with metadata): 50 files by default. Each file is imported on its own with
``Services.import_media`` into one case, timed, and the times are summed per
kind. The video's floor is the same ffmpeg binary doing the same encode on the
same file (``casefiles.media.video.transcode_arguments``), so its ratio shows
what CaseDeck's scrubbing adds. Nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import subprocess
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

from casefiles.config import Settings
from casefiles.imaging.cine import ffmpeg_exe
from casefiles.services import Services
from tests.dicom_factory import write_ct_study

RESULTS = Path(__file__).parent / "results" / "media_import.json"


def _photo(path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, size=(189, 252, 3), dtype=np.uint8)
    image = Image.fromarray(small).resize((4032, 3024), Image.Resampling.BICUBIC)
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x013B] = "Phone maker", "Phone 15", "DOE^JOHN"
    image.save(path, "JPEG", quality=90, exif=exif)


def _pyramid(path: Path) -> None:
    import tifffile

    base = np.zeros((8192, 8192, 3), np.uint8)
    base[:4096, :4096] = (200, 80, 120)
    base[4096:, 4096:] = (90, 60, 160)
    with tifffile.TiffWriter(path, bigtiff=True) as tif:
        tif.write(base, tile=(512, 512), subifds=3, photometric="rgb", compression="zlib")
        level = base
        for _ in range(3):
            level = level[::2, ::2]
            tif.write(level, tile=(512, 512), subfiletype=1, photometric="rgb", compression="zlib")


def _pdf(path: Path) -> None:
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path))
    pdf.setAuthor("DOE^JOHN")
    for page in range(10):
        pdf.drawString(72, 720, f"Pathology report, page {page + 1}")
        pdf.showPage()
    pdf.save()


def _deck(path: Path, slides: int) -> None:
    from pptx import Presentation

    prs = Presentation()
    prs.core_properties.author = "DOE^JOHN"
    buffer = io.BytesIO()
    Image.fromarray(np.full((600, 800, 3), 120, np.uint8)).save(buffer, "PNG")
    for n in range(slides):
        slide = prs.slides.add_slide(prs.slide_layouts[5])
        slide.shapes.title.text = f"Referring team slide {n + 1}"
        slide.shapes.add_picture(io.BytesIO(buffer.getvalue()), 914400, 1828800, width=4572000)
    prs.save(path)


def _video(path: Path, seconds: int) -> None:
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate=30:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
         "-c:v", "libx264", "-preset", "veryfast", "-c:a", "aac",
         "-metadata", "creation_time=2024-03-12T10:00:00Z", "-metadata", "title=DOE^JOHN", str(path)],
        check=True, timeout=600,
    )  # fmt: skip


def _ffmpeg_floor(path: Path, work: Path) -> float:
    from casefiles.media.video import probe_video, transcode_arguments

    info = probe_video(path)
    args = transcode_arguments(info, length_s=info.duration_s, mute=False, max_side=1280)
    start = time.perf_counter()
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(path), *args, str(work / "floor.mp4")], check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=45)
    parser.add_argument("--video-seconds", type=int, default=120)
    parser.add_argument("--slides", type=int, default=30)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-media-") as tmp:
        root = Path(tmp)
        files: list[tuple[str, Path]] = []
        for n in range(args.photos):
            _photo(root / f"photo{n}.jpg", n)
            files.append(("photo (JPEG 12 MP)", root / f"photo{n}.jpg"))
        Image.fromarray(np.full((2000, 3000, 3), 180, np.uint8)).save(root / "micrograph.png")
        files.append(("pathology PNG", root / "micrograph.png"))
        _pyramid(root / "slide.tif")
        files.append(("pyramidal TIFF 8192²", root / "slide.tif"))
        _pdf(root / "report.pdf")
        files.append(("PDF 10 pages", root / "report.pdf"))
        _deck(root / "team.pptx", args.slides)
        files.append((f"PPTX {args.slides} slides", root / "team.pptx"))
        _video(root / "clip.mov", args.video_seconds)
        files.append((f"video {args.video_seconds} s 720p", root / "clip.mov"))

        services = Services(Settings(data_dir=root / "data", seed_samples=False))
        case_id = services.import_dicom(write_ct_study(root / "ct", slices=2)).case_ids[0]
        per_kind: dict[str, list[float]] = defaultdict(list)
        problems = 0
        for kind, path in files:
            start = time.perf_counter()
            report = services.import_media(case_id, [path])
            per_kind[kind].append(time.perf_counter() - start)
            problems += len(report.problems)
        floor = _ffmpeg_floor(root / "clip.mov", root)

    video_kind = f"video {args.video_seconds} s 720p"
    video_s = per_kind[video_kind][0]
    rows = {kind: {"files": len(times), "seconds": round(sum(times), 3)} for kind, times in per_kind.items()}
    result = {
        "files": len(files),
        "problems": problems,
        "stages": rows,
        "total_seconds": round(sum(sum(t) for t in per_kind.values()), 3),
        "video_ffmpeg_floor_seconds": round(floor, 3),
        "video_ratio_casedeck_to_ffmpeg": round(video_s / floor, 3),
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
    }
    print(f"{'stage':32} {'files':>5} {'seconds':>9}")
    for kind, row in rows.items():
        print(f"{kind:32} {row['files']:>5} {row['seconds']:>9.2f}")
    print(f"{'total':32} {len(files):>5} {result['total_seconds']:>9.2f}   problems: {problems}")
    print(f"video: CaseDeck {video_s:.2f} s vs raw ffmpeg {floor:.2f} s = {video_s / floor:.2f}x the time")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
