"""Burned-in text screening (gate + recogniser) against today's whole-frame Tesseract, in the same run.

    python -m bench.bench_burned_in [--ct 40] [--flagged 4] [--cine-frames 50] [--repeat 5]
                                    [--no-tesseract] [--out bench/results/burned_in.json]

Images come from ``tests.support.burned_in`` (synthetic; fake identifiers): text-free CT
slices (512², soft-tissue window), CT screen saves with a 3-line header (name, MRN,
birth date, 12–18 px), 1024×768 ultrasound frames with a banner, a photo-like texture,
and a ``--cine-frames`` ultrasound cine (640×480) with a static overlay.

1. **Gate** (``casefiles.redaction.gate.candidate_lines``): milliseconds per 512² CT
   slice and per 1024×768 US frame (median of ``--repeat`` runs per image), and the
   share of text-free CT slices it passes on to the recogniser.
2. **Screen** (``casefiles.redaction.screen.screen_dataset``: decode, 8-bit, gate,
   recogniser on the candidates): seconds per flagged image (CT screen save, US frame)
   and per cine, with the recogniser's session already created (created once per
   worker process; its creation is reported separately).
3. **Baseline**, today's ``casefiles.redaction.find_burned_in_text`` (Tesseract CLI,
   three readings of each whole frame; first, middle and last frame of a cine) on the
   same datasets, once each. The headline is ``speed_vs_tesseract`` = Tesseract
   seconds ÷ screening seconds per image (higher is better).
4. Quality on the same images: planted fields with ≥ 90 % of their ink boxed, and the
   share of pixels boxed on text-free images, for both.

Nothing here asserts a speed. Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset

from casefiles.redaction import find_burned_in_text
from casefiles.redaction.gate import candidate_lines, gray_frame
from casefiles.redaction.geometry import Box
from casefiles.redaction.recognise import warm_up
from casefiles.redaction.screen import screen_dataset, screen_frames
from tests.support.burned_in import (
    Field,
    boxed_share,
    ct_phantom,
    ct_screen_save,
    dicom_image,
    ink_covered,
    photo_texture,
    ultrasound_cine,
    ultrasound_frame,
)

RESULTS = Path(__file__).resolve().parent / "results" / "burned_in.json"


def median_ms(function: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def timed(function: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


def fields_found(fields: Sequence[Field], boxes: Sequence[Box]) -> int:
    return sum(1 for field in fields if ink_covered(field, boxes) >= 0.9)


def tesseract_boxes(ds: Dataset) -> list[Box]:
    return [finding.box for finding in find_burned_in_text(ds)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ct", type=int, default=40, help="text-free CT slices for the gate figures")
    parser.add_argument("--flagged", type=int, default=4, help="CT screen saves and US frames with text, each")
    parser.add_argument("--cine-frames", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-tesseract", action="store_true", help="skip today's Tesseract baseline")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    clean_ct = [ct_phantom(seed) for seed in range(args.ct)]
    saves = [ct_screen_save(seed) for seed in range(args.flagged)]
    us = [ultrasound_frame(seed) for seed in range(args.flagged)]
    photo = photo_texture(0)
    cine = ultrasound_cine(frames=args.cine_frames)
    cine_ds = dicom_image(np.stack([frame.pixels for frame in cine]), modality="US")
    save_ds = [dicom_image(frame.pixels, modality="CT") for frame in saves]
    us_ds = [dicom_image(frame.pixels, modality="US") for frame in us]
    clean_ds = [dicom_image(image, modality="CT") for image in clean_ct[:3]]
    photo_ds = dicom_image(photo, modality="XC")

    _, session_seconds = timed(warm_up)
    rows: list[tuple[str, int, float, str]] = []
    result: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "parameters": vars(args) | {"out": str(args.out)},
        "recogniser_session_seconds": session_seconds,
    }

    # 1. gate
    gate_ct = statistics.median(
        median_ms(lambda image=image: candidate_lines(image), args.repeat) for image in clean_ct
    )
    gate_save = statistics.median(median_ms(lambda f=f: candidate_lines(f.pixels), args.repeat) for f in saves)
    us_gray = [gray_frame(frame.pixels) for frame in us]
    gate_us = statistics.median(median_ms(lambda g=g: candidate_lines(g), args.repeat) for g in us_gray)
    passed = sum(1 for image in clean_ct if candidate_lines(image))
    boxed_clean = sum(1 for image in clean_ct if screen_frames([image]).has_text)
    result["gate"] = {
        "ms_per_ct_512_text_free": gate_ct,
        "ms_per_ct_512_screen_save": gate_save,
        "ms_per_us_1024x768": gate_us,
        "text_free_ct_passed_to_recogniser": passed / len(clean_ct),
        "text_free_ct_boxed": boxed_clean / len(clean_ct),
    }
    rows += [
        ("gate, text-free CT 512²", len(clean_ct), gate_ct, f"{passed}/{len(clean_ct)} passed on, {boxed_clean} boxed"),
        ("gate, CT screen save 512²", len(saves), gate_save, ""),
        ("gate, US frame 1024×768", len(us), gate_us, ""),
    ]

    # 2. screening per image, 3. baseline, 4. quality
    screen_ms_clean = statistics.median(median_ms(lambda ds=ds: screen_dataset(ds), args.repeat) for ds in clean_ds)
    rows.append(("screen_dataset, text-free CT slice", len(clean_ds), screen_ms_clean, "decode + 8-bit + gate + rec."))
    groups = {
        "ct_screen_save": (save_ds, [frame.fields for frame in saves]),
        "us_frame_1024x768": (us_ds, [frame.fields for frame in us]),
        f"us_cine_{args.cine_frames}_frames": ([cine_ds], [cine[0].fields]),
    }
    for name, (datasets, fields) in groups.items():
        entry: dict[str, Any] = {"images": len(datasets)}
        screen_ms = statistics.median(
            median_ms(lambda ds=ds: screen_dataset(ds), max(1, args.repeat // 2)) for ds in datasets
        )
        screenings = [screen_dataset(ds) for ds in datasets]
        found = sum(fields_found(f, s.all_boxes()) for f, s in zip(fields, screenings, strict=True))
        total = sum(len(f) for f in fields)
        entry |= {
            "screen_seconds_per_image": screen_ms / 1000,
            "screen_fields_found": found,
            "fields": total,
            "regions_read_per_image": statistics.mean(s.regions_read for s in screenings),
            "candidates_per_image": statistics.mean(s.candidates for s in screenings),
        }
        note = f"fields {found}/{total}"
        if not args.no_tesseract:
            runs = [timed(lambda ds=ds: tesseract_boxes(ds)) for ds in datasets]
            tess_seconds = statistics.median(seconds for _, seconds in runs)
            tess_found = sum(fields_found(f, boxes) for f, (boxes, _) in zip(fields, runs, strict=True))
            entry |= {
                "tesseract_seconds_per_image": tess_seconds,
                "tesseract_fields_found": tess_found,
                "speed_vs_tesseract": tess_seconds / (screen_ms / 1000),
            }
            rows.append(
                (f"Tesseract (today), {name}", len(datasets), tess_seconds * 1000, f"fields {tess_found}/{total}")
            )
            note += f", {entry['speed_vs_tesseract']:.0f}× faster than Tesseract"
        rows.append((f"screen_dataset, {name}", len(datasets), screen_ms, note))
        result[name] = entry

    clean_quality: dict[str, Any] = {
        "screen_boxed_share_max": max(
            [boxed_share(ds.pixel_array.shape, screen_dataset(ds).all_boxes()) for ds in [*clean_ds, photo_ds]]
        )
    }
    if not args.no_tesseract:
        shares = [boxed_share(ds.pixel_array.shape, tesseract_boxes(ds)) for ds in [*clean_ds, photo_ds]]
        clean_quality["tesseract_boxed_share_max"] = max(shares)
        clean_quality["tesseract_images_boxed"] = sum(1 for share in shares if share > 0)
    clean_quality["images"] = len(clean_ds) + 1
    result["text_free_quality"] = clean_quality

    print(f"{'step':<46} {'images':>6} {'ms each':>10}  note")
    for name, count, ms, note in rows:
        print(f"{name:<46} {count:>6} {ms:>10.1f}  {note}")
    print(f"recogniser session created in {session_seconds * 1000:.0f} ms (once per process)")
    print("text-free images (3 CT + 1 photo-like texture), share of pixels boxed:", json.dumps(clean_quality))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
