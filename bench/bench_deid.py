"""CaseDeck's de-identifier against dicognito and deid on one mixed corpus: speed and leaks.

    python -m bench.bench_deid [--instances 500] [--ct-size 512] [--mr-size 256] [--no-ocr]
                               [--out bench/results/deid.json]

1. generates a mixed corpus with ``sample_data.synth`` (fake PHI everywhere real studies
   carry it): ~65 % CT slices, ~30 % MR slices, ~1 % CR radiographs, ~4 % ultrasound
   cines with the patient's name burned into a banner;
2. times, over every file, read + de-identify + write to memory for:
   floor (pydicom ``dcmread`` + ``dcmwrite`` unchanged), CaseDeck ``teaching-file-no-ocr``,
   CaseDeck ``teaching-file`` (OCR and pixel cleaning of the images that need it),
   dicognito (``Anonymizer().anonymize``) and deid (``get_identifiers`` +
   ``replace_identifiers`` with its default recipe, in memory);
3. LEAK: searches each tool's written bytes for every ``FAKE_PHI`` string
   (case-insensitive, outside the timing) and counts files with any hit.

The byte search sees headers, free text and private tags. It cannot see text burned into
pixels (the ultrasound banner is image samples, not characters): the OCR row reports
how many images were redacted and verified instead. Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydicom
from pydicom.dataset import Dataset

from casefiles.deid import PROFILES, Deidentifier, Option
from casefiles.errors import DeidentificationError
from casefiles.ingest.reading import encode, source_syntax
from sample_data.synth import FAKE_PHI, make_ct_series, make_mr_series, make_radiograph, make_ultrasound

RESULTS = Path(__file__).resolve().parent / "results" / "deid.json"
SECRET = b"casedeck-bench-secret-0123456789"
NEEDLES = tuple(dict.fromkeys(s.lower().encode("utf-8") for s in FAKE_PHI))


@dataclass(frozen=True)
class Corpus:
    files: list[Path]
    counts: dict[str, int]
    sizes: dict[str, str]
    bytes: int
    generate_seconds: float


def generate(root: Path, instances: int, ct_size: int, mr_size: int) -> Corpus:
    """A mixed corpus of ``instances`` files; proportions as in a teaching-file import."""
    us = max(1, round(instances * 0.04))
    cr = max(1, round(instances * 0.01))
    mr = max(1, round(instances * 0.30))
    ct = instances - us - cr - mr
    if ct < 1:
        raise SystemExit("--instances must be at least 4 (one file of each modality).")
    start = time.perf_counter()
    files = make_ct_series(root / "ct", slices=ct, size=ct_size, thickness=round(300 / ct, 4), seed=1)
    files += make_mr_series(root / "mr", slices=mr, size=mr_size, seed=1)
    for i in range(cr):
        files += make_radiograph(root / f"cr{i:03d}", seed=i)
    for i in range(us):
        files += make_ultrasound(root / f"us{i:03d}", seed=i)
    seconds = time.perf_counter() - start
    return Corpus(
        files=files,
        counts={"CT": ct, "MR": mr, "CR": cr, "US": us},
        sizes={
            "CT": f"{ct_size}x{ct_size} 16-bit",
            "MR": f"{mr_size}x{mr_size} 16-bit",
            "CR": "1024x1024 12-bit RLE",
            "US": "12 x 640x480 RGB RLE, banner burned in",
        },
        bytes=sum(p.stat().st_size for p in files),
        generate_seconds=seconds,
    )


# -- the tools: path -> written bytes (raise Refused when the tool declines the file) ----------------


class Refused(Exception):
    """The tool declined the instance (CaseDeck's leak check): nothing written, nothing leaked."""


@dataclass
class Extras:
    """Counts a tool reports besides speed."""

    counts: Counter[str] = field(default_factory=Counter)


def _write(ds: Dataset, *, enforce: bool = True) -> bytes:
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, ds, enforce_file_format=enforce)
    return buffer.getvalue()


def floor_tool() -> Callable[[Path, Extras], bytes]:
    def run(path: Path, extras: Extras) -> bytes:
        return _write(pydicom.dcmread(path))

    return run


def casedeck_tool(profile_name: str) -> Callable[[Path, Extras], bytes]:
    from casefiles.deid.freetext import warm_up

    deidentifier = Deidentifier(SECRET, PROFILES[profile_name])
    warm_up()  # the free-text cleaner's word lists load once per process (reported in cleaner_cost)

    def run(path: Path, extras: Extras) -> bytes:
        source = pydicom.dcmread(path)
        try:
            result = deidentifier.deidentify(source)
        except DeidentificationError as exc:
            raise Refused from exc
        report = result.report
        extras.counts["needs_review"] += report.needs_review
        extras.counts["regions_redacted"] += report.regions_redacted
        extras.counts["pixels_cleaned_verified"] += report.pixels_cleaned
        # Written the way CaseDeck stores it (the import's raw-element writer), not with plain dcmwrite.
        return encode(result.dataset, fallback_syntax=source_syntax(source))

    return run


def dicognito_tool() -> Callable[[Path, Extras], bytes]:
    from dicognito.anonymizer import Anonymizer

    anonymizer = Anonymizer(seed="casedeck-bench")  # one per run: consistent across the corpus

    def run(path: Path, extras: Extras) -> bytes:
        ds = pydicom.dcmread(path)
        anonymizer.anonymize(ds)
        return _write(ds)

    return run


def deid_tool() -> Callable[[Path, Extras], bytes]:
    from deid.config import DeidRecipe
    from deid.dicom import get_identifiers, replace_identifiers
    from deid.logger import bot

    bot.level = -3  # errors only: it warns on every file otherwise
    recipe = DeidRecipe()  # the default "dicom" recipe, parsed once

    def run(path: Path, extras: Extras) -> bytes:
        ds = pydicom.dcmread(path)
        ids = get_identifiers([ds])
        out = replace_identifiers([ds], ids=ids, deid=recipe)[0]
        bot.history.clear()  # its logger keeps every message in memory
        missing = [k for k in ("SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID") if not out.get(k)]
        if missing or not out.file_meta.get("MediaStorageSOPInstanceUID"):
            # The default recipe removes every element whose name contains "UID" (file meta included):
            # the output is not a storable Part 10 file, so it is written without enforcing the format.
            extras.counts["output_without_instance_uids"] += 1
            return _write(out, enforce=False)
        return _write(out)

    return run


def ocr_profile() -> str | None:
    """The name of a profile that cleans burned-in text with OCR, if this CaseDeck has one."""
    clean = getattr(Option, "CLEAN_PIXEL_DATA", None)
    if clean is None:
        return None
    for name, profile in PROFILES.items():
        if clean in profile.options:
            return name
    return None


# -- measuring -----------------------------------------------------------------------------------


def leaked(data: bytes) -> list[bytes]:
    low = data.lower()
    return [n for n in NEEDLES if n in low]


def measure(name: str, tool: Callable[[Path, Extras], bytes], files: list[Path]) -> dict[str, Any]:
    """Time read + tool + write per file; scan the output for planted PHI outside the timing."""
    extras = Extras()
    seconds = 0.0
    written = refused = leaking = 0
    strings: Counter[str] = Counter()
    by_modality: Counter[str] = Counter()
    for path in files:
        start = time.perf_counter()
        try:
            data = tool(path, extras)
        except Refused:
            seconds += time.perf_counter() - start
            by_modality[_modality(path)] += time.perf_counter() - start
            refused += 1
            continue
        elapsed = time.perf_counter() - start
        seconds += elapsed
        by_modality[_modality(path)] += elapsed
        written += 1
        hits = leaked(data)
        if hits:
            leaking += 1
            strings.update(h.decode("utf-8") for h in hits)
    return {
        "tool": name,
        "instances": len(files),
        "written": written,
        "refused": refused,
        "seconds": round(seconds, 3),
        "per_second": round(len(files) / seconds, 2) if seconds > 0 else None,
        "files_with_leak": leaking,
        "leaked_strings": dict(strings.most_common()),
        "seconds_ct_mr": round(by_modality["ct"] + by_modality["mr"], 3),
        **dict(extras.counts),
    }


def _modality(path: Path) -> str:
    """'ct', 'mr', 'cr' or 'us': the corpus folder a file was generated in."""
    for part in path.parts:
        for modality in ("ct", "mr", "cr", "us"):
            if part == modality or (part.startswith(modality) and part[len(modality) :].isdigit()):
                return modality
    return "other"


def cleaner_cost(files: list[Path], load: float) -> dict[str, Any]:
    """The free-text cleaner alone: load time, and time per kept text value (uncached, and through
    the cache as the engine calls it) over every prose value the teaching-file profile keeps."""
    from casefiles.deid import freetext

    deidentifier = Deidentifier(SECRET, PROFILES["teaching-file-no-ocr"])
    texts: list[str] = []
    for path in files:
        try:
            out = deidentifier.deidentify(pydicom.dcmread(path)).dataset
        except DeidentificationError:
            continue
        texts += _prose_values(out)
    # Realistic hospital text on top of the corpus' own (its descriptions repeat in every slice).
    texts += [t * n for t in ("Ax T1 post gad per Dr Quorvanek, r/o PE. ",) for n in (1, 4, 16, 64)]
    start = time.perf_counter()
    for text in texts:
        freetext._clean(text)
    uncached = time.perf_counter() - start
    start = time.perf_counter()
    for text in texts:
        freetext.clean_free_text(text)
    cached = time.perf_counter() - start
    big = "Findings: 2.3 cm RUL nodule per Dr Quorvanek, call 555-0142. Impression: LI-RADS 5.\n" * 800
    start = time.perf_counter()
    freetext.clean_free_text(big[: 64 * 1024])
    return {
        "lists_load_seconds": round(load, 3),
        "kept_text_values": len(texts),
        "distinct_values": len(set(texts)),
        "mean_chars": round(sum(map(len, texts)) / max(1, len(texts)), 1),
        "us_per_value_uncached": round(uncached / max(1, len(texts)) * 1e6, 1),
        "us_per_value_as_engine_calls_it": round(cached / max(1, len(texts)) * 1e6, 2),
        "ms_for_64kb_ut": round((time.perf_counter() - start) * 1e3, 1),
    }


def _prose_values(ds: Dataset) -> list[str]:
    from casefiles.deid.freetext import CODE_VALUE_TAGS, PROSE_VRS

    values: list[str] = []
    for elem in ds:
        if elem.VR == "SQ":
            for item in elem.value or []:
                values += _prose_values(item)
        elif elem.VR in PROSE_VRS and int(elem.tag) not in CODE_VALUE_TAGS and elem.value and elem.tag.group > 2:
            values += [str(v) for v in (elem.value if elem.VM > 1 else [elem.value])]
    return values


def run(instances: int, ct_size: int, mr_size: int, workdir: Path, *, with_ocr: bool) -> dict[str, Any]:
    corpus = generate(workdir / "corpus", instances, ct_size, mr_size)
    for path in corpus.files:  # warm the page cache so no tool pays for the first disk read
        path.read_bytes()

    from casefiles.deid.freetext import warm_up

    start = time.perf_counter()
    warm_up()  # once per process, before any tool is timed
    load = time.perf_counter() - start
    tools: list[tuple[str, Callable[[Path, Extras], bytes]]] = [
        ("floor: dcmread + dcmwrite", floor_tool()),
        ("casedeck teaching-file-no-ocr", casedeck_tool("teaching-file-no-ocr")),
    ]
    notes: list[str] = []
    ocr = ocr_profile()
    if ocr is None:
        notes.append("OCR variant: not available yet (no profile with Option.CLEAN_PIXEL_DATA).")
    elif not with_ocr:
        notes.append("OCR variant: skipped (--no-ocr).")
    else:
        tools.append((f"casedeck {ocr} (OCR)", casedeck_tool(ocr)))
    for label, factory in (("dicognito", dicognito_tool), ("deid default recipe", deid_tool)):
        try:
            tools.append((label, factory()))
        except ImportError:
            notes.append(f"{label}: not installed, skipped.")

    rows = [measure(name, tool, corpus.files) for name, tool in tools]
    floor_seconds, floor_ct_mr = rows[0]["seconds"], rows[0]["seconds_ct_mr"]
    for row in rows:
        row["ratio_to_floor"] = round(row["seconds"] / floor_seconds, 2) if floor_seconds > 0 else None
        # instances/s as a fraction of the floor's, on the CT and MR slices (the target: >= 0.8)
        ct_mr = row["seconds_ct_mr"]
        row["ct_mr_speed_vs_floor"] = round(floor_ct_mr / ct_mr, 2) if ct_mr > 0 else None
        n = corpus.counts["CT"] + corpus.counts["MR"]
        row["ct_mr_per_second"] = round(n / ct_mr, 1) if ct_mr > 0 else None

    return {
        "benchmark": "deid",
        "parameters": {"instances": instances, "ct_size": ct_size, "mr_size": mr_size, "ocr": with_ocr},
        "machine": {
            "python": platform.python_version(),
            "pydicom": pydicom.__version__,
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "versions": _versions(),
        "corpus": {
            "files": len(corpus.files),
            "counts": corpus.counts,
            "sizes": corpus.sizes,
            "bytes": corpus.bytes,
            "generate_seconds": round(corpus.generate_seconds, 3),
            "fake_phi_strings": len(NEEDLES),
        },
        "rows": rows,
        "free_text_cleaner": cleaner_cost(corpus.files, load),
        "notes": notes,
    }


def _versions() -> dict[str, str]:
    from importlib import metadata

    found = {}
    for dist in ("casedeck", "dicognito", "deid"):
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[dist] = "not installed"
    return found


def print_table(result: dict[str, Any]) -> None:
    corpus = result["corpus"]
    mix = ", ".join(f"{n} {m} ({corpus['sizes'][m]})" for m, n in corpus["counts"].items())
    print(
        f"{corpus['files']} instances: {mix}; {corpus['bytes'] / 1e6:.0f} MB, "
        f"generated in {corpus['generate_seconds']:.1f} s; {corpus['fake_phi_strings']} FAKE_PHI strings hunted"
    )
    print(
        f"{'tool':40} {'seconds':>8} {'inst/s':>8} {'x floor':>8} {'CT/MR inst/s':>12} {'vs floor':>8} "
        f"{'refused':>8} {'LEAK files':>10}"
    )
    for row in result["rows"]:
        print(
            f"{row['tool']:40} {row['seconds']:>8.2f} {row['per_second']:>8.1f} {row['ratio_to_floor']:>8.2f} "
            f"{row['ct_mr_per_second']:>12.1f} {row['ct_mr_speed_vs_floor']:>8.2f} "
            f"{row['refused']:>8} {row['files_with_leak']:>10}"
        )
    cost = result["free_text_cleaner"]
    print(
        f"free-text cleaner: {cost['us_per_value_uncached']} us per kept text value uncached, "
        f"{cost['us_per_value_as_engine_calls_it']} us as the engine calls it (cached), over "
        f"{cost['kept_text_values']} values ({cost['distinct_values']} distinct, {cost['mean_chars']} chars mean); "
        f"64 KB UT {cost['ms_for_64kb_ut']} ms; word lists load in {cost['lists_load_seconds']} s once per process"
    )
    for row in result["rows"][1:]:
        extra = {k: v for k, v in row.items() if k not in _ROW_KEYS}
        if extra:
            print(f"  {row['tool']}: " + ", ".join(f"{k} {v}" for k, v in extra.items()))
        if row["leaked_strings"]:
            top = list(row["leaked_strings"].items())[:6]
            print(f"  {row['tool']} leaks (string: files): " + "; ".join(f"{k}: {v}" for k, v in top))
    for note in result["notes"]:
        print(note)


_ROW_KEYS = frozenset(
    {
        "tool",
        "instances",
        "written",
        "refused",
        "seconds",
        "per_second",
        "files_with_leak",
        "leaked_strings",
        "ratio_to_floor",
        "seconds_ct_mr",
        "ct_mr_speed_vs_floor",
        "ct_mr_per_second",
    }
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--instances", type=int, default=500)
    parser.add_argument("--ct-size", type=int, default=512)
    parser.add_argument("--mr-size", type=int, default=256)
    parser.add_argument("--no-ocr", action="store_true", help="skip the OCR variant (it dominates the run time)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="casedeck-bench-deid-") as tmp:
        result = run(args.instances, args.ct_size, args.mr_size, Path(tmp), with_ocr=not args.no_ocr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print_table(result)
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
