"""How fast ranked search answers while someone types, on both store backends, against a linear scan.

    python -m bench.bench_search [--cases 10000] [--samples 400] [--quick]
        [--backends tinydb,postgresql] [--postgres-url URL] [--workdir DIR] [--out FILE]

1. generates ``--cases`` text-only teaching cases (``tests/search/library.py``: 24 diagnoses with
   categories, regions and modalities, histories, findings, differentials, a tenth private or
   group-shared, British spellings in some) and saves them into each backend: TinyDB in a temp
   folder and PostgreSQL on a private server (``bench.bench_store.private_postgres``);
2. makes the queries a person types: 1–4 words of a case's diagnosis, findings, region or
   modality, cut after a random number of characters (the last word still being typed), some with
   a typo or British spelling, about a third with one or two filters (modality, difficulty, body
   region), all for a signed-in resident (visibility filter on);
3. times ``store.search(SearchQuery(..., limit=48))`` for each (warm: after one search built the
   index; the first search, which builds TinyDB's index from the shards, is reported apart);
4. the floor: the same queries over the same records in plain Python, a linear scan with the same
   rules (records folded once up front; per query: read the query, typo candidates by rapidfuzz over
   the library's words, the reference score of every record, filters, sort);
5. the Library page at this size in Streamlit's AppTest (TinyDB): first render, then a rerun per
   typed query (aim of issue 17: < 1 s).

Reports p50/p95 in ms per backend and the ratio to the linear scan (scan p50 / backend p50: how
many times faster). Aim of issue 17: p95 < 50 ms at 10,000 cases. Nothing asserts a speed.
Writes ``bench/results/search-<date>.txt`` and ``.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

from bench.bench_store import private_postgres
from casefiles.store import CaseStore, SearchQuery
from casefiles.store.documents import newest_first
from casefiles.store.fulltext import (
    DIAGNOSIS_BONUS,
    analyse,
    filters_of,
    folding,
    index_case,
    score_case,
    typo_bound,
    typo_terms,
)
from casefiles.visibility import Sharing, Viewer
from tests.search.library import DISEASES, generated_cases

RESULTS = Path(__file__).resolve().parent / "results"
VIEWER = Viewer("chen", frozenset({"residents"}))
TYPOS = {"hepatocellular": "hepatocelular", "carcinoma": "carcinma", "meningioma": "meningoma", "embolism": "embolsm"}
BRITISH = {"esophageal": "oesophageal", "tumor": "tumour", "hemorrhage": "haemorrhage", "edema": "oedema"}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def typed_queries(count: int, seed: int) -> list[SearchQuery]:
    rng = random.Random(seed)
    queries = []
    for _ in range(count):
        diagnosis, _category, region, modalities, findings = rng.choice(DISEASES)
        source = rng.choice([diagnosis, findings, f"{rng.choice(modalities)} {region} {diagnosis}", f"{region} tumor"])
        words = source.lower().replace(",", "").split()
        start = rng.randrange(0, max(1, len(words) - 1))
        words = words[start : start + rng.randint(1, 4)]
        words = [TYPOS.get(w, w) if rng.random() < 0.15 else w for w in words]
        words = [BRITISH.get(w, w) if rng.random() < 0.5 else w for w in words]
        text = " ".join(words)
        last = words[-1]
        cut = len(text) - rng.randint(0, max(0, len(last) - 2))  # still typing the last word
        text = text[:cut]
        filters: dict[str, str] = {}
        if rng.random() < 0.35:
            filters[rng.choice(["modality", "difficulty", "body_region"])] = ""
            if rng.random() < 0.3:
                filters[rng.choice(["modality", "difficulty", "body_region"])] = ""
            values = {
                "modality": rng.choice(modalities),
                "difficulty": rng.choice(["introductory", "intermediate", "advanced"]),
                "body_region": region,
            }
            filters = {k: values[k] for k in filters}
        queries.append(SearchQuery(text, viewer=VIEWER, limit=48, **filters))  # type: ignore[arg-type]
    return queries


class LinearScan:
    """The floor: every record scored in plain Python per query (same rules, records folded once)."""

    def __init__(self, docs: list[dict[str, Any]]) -> None:
        fold = folding()
        self.fold = fold
        self.records = [(doc, index_case(doc, fold), Sharing.from_dict(doc.get("sharing"))) for doc in docs]
        self.words = sorted(set().union(*(r[1].words for r in self.records)))

    def search(self, query: SearchQuery) -> list[str]:
        from rapidfuzz import process
        from rapidfuzz.distance import Levenshtein

        analysis = analyse(query.text, self.fold)
        found = {}
        for word in analysis.typo_words():
            near = process.extract(
                word, self.words, scorer=Levenshtein.distance, score_cutoff=typo_bound(word), limit=None
            )
            found[word] = typo_terms(word, (w for w, _, _ in near))
        analysis = analysis.with_typos(found)
        filters = filters_of(query, self.fold)
        hits = []
        for doc, case, sharing in self.records:
            if query.viewer is not None and not query.viewer.sees(sharing):
                continue
            if not all(filters.passes(case).values()):
                continue
            score = score_case(analysis, case)
            if score is not None:
                hits.append((score, *newest_first(doc)))
        hits.sort(reverse=True)
        return [h[2] for h in hits[: query.limit]]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(run: Any, queries: list[SearchQuery]) -> list[float]:
    times = []
    for query in queries:
        start = time.perf_counter()
        run(query)
        times.append((time.perf_counter() - start) * 1000)
    return times


def run(args: argparse.Namespace, workdir: Path, pg_url: str | None, pg_note: str) -> dict[str, Any]:
    log(f"generating {args.cases} cases")
    cases = list(generated_cases(args.cases, seed=args.seed))
    queries = typed_queries(args.samples, args.seed)
    result: dict[str, Any] = {
        "cases": args.cases,
        "queries": len(queries),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "backends": {},
        "postgresql_note": pg_note,
        "examples": [q.text for q in queries[:12]],
    }
    stores: dict[str, CaseStore] = {}
    if "tinydb" in args.backends:
        from casefiles.store.tinydb_store import TinyDBCaseStore

        stores["tinydb"] = TinyDBCaseStore(workdir / "library")
    if "postgresql" in args.backends and pg_url:
        from casefiles.store.postgres_store import PostgresCaseStore

        stores["postgresql"] = PostgresCaseStore(pg_url)
    for name, store in stores.items():
        log(f"{name}: saving {len(cases)} cases")
        start = time.perf_counter()
        for case in cases:
            store.save_case(case)
        saved = time.perf_counter() - start
        start = time.perf_counter()
        store.search(SearchQuery("liver", viewer=VIEWER))
        first = time.perf_counter() - start
        log(f"{name}: {len(queries)} queries")
        times = timed(store.search, queries)
        result["backends"][name] = {
            "save_seconds": round(saved, 1),
            "first_search_ms": round(first * 1000, 1),
            "p50_ms": round(statistics.median(times), 2),
            "p95_ms": round(percentile(times, 0.95), 2),
            "max_ms": round(max(times), 2),
        }
    log("linear scan")
    scan = LinearScan([c.to_dict() for c in cases])
    times = timed(scan.search, queries)
    result["linear_scan"] = {"p50_ms": round(statistics.median(times), 2), "p95_ms": round(percentile(times, 0.95), 2)}
    for figures in result["backends"].values():
        figures["times_faster_than_scan_p50"] = round(result["linear_scan"]["p50_ms"] / figures["p50_ms"], 1)
        figures["aim_p95_under_50_ms"] = figures["p95_ms"] < 50
    if "tinydb" in stores:  # the index's answers are the scan's (a check, not a timing)
        same = sum(stores["tinydb"].search(q).ids == scan.search(q) for q in queries[:50])
        result["tinydb_agrees_with_scan_of_50"] = same
    if len(stores) == 2:
        same = sum(
            [(h.summary.id, h.score) for h in stores["tinydb"].search(q).hits]
            == [(h.summary.id, h.score) for h in stores["postgresql"].search(q).hits]
            for q in queries[:100]
        )
        result["backends_agree_of_100"] = same
    if "tinydb" in stores and not args.no_page:
        log("library page (AppTest)")
        result["library_page"] = page_render(workdir, queries[: args.page_samples])
    for store in stores.values():
        store.close()
    result["diagnosis_bonus"] = DIAGNOSIS_BONUS
    return result


def page_render(workdir: Path, queries: list[SearchQuery]) -> dict[str, Any]:
    """The Library page at this size, as the app renders it (Streamlit's AppTest, TinyDB library in ``workdir``):
    the first render of a started app, then one rerun per typed query (text only: the page's pickers)."""
    import os

    from streamlit.testing.v1 import AppTest

    os.environ["CASEDECK_DATA"] = str(workdir)
    os.environ["CASEDECK_SAMPLES"] = "0"
    app = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=300)
    app.run()
    start = time.perf_counter()
    app.switch_page("pages/library.py").run()
    first = (time.perf_counter() - start) * 1000
    if app.exception:
        return {"error": str(app.exception[0].message)[:300]}
    times = []
    for query in queries:
        start = time.perf_counter()
        app.text_input(key="library_search").input(query.text).run()
        times.append((time.perf_counter() - start) * 1000)
    return {
        "first_render_ms": round(first, 1),
        "typed_reruns": len(times),
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(percentile(times, 0.95), 1),
        "aim_under_1_s": percentile(times, 0.95) < 1000,
    }


def print_report(result: dict[str, Any]) -> None:
    print(f"Search at {result['cases']} cases, {result['queries']} typed queries (as a signed-in resident)")
    print(f"examples: {', '.join(repr(e) for e in result['examples'])}")
    print()
    print("| backend | p50 ms | p95 ms | max ms | × faster than scan (p50) | first search ms | save s |")
    print("|---|---|---|---|---|---|---|")
    for name, f in result["backends"].items():
        print(
            f"| {name} | {f['p50_ms']} | {f['p95_ms']} | {f['max_ms']} | {f['times_faster_than_scan_p50']} | "
            f"{f['first_search_ms']} | {f['save_seconds']} |"
        )
    scan = result["linear_scan"]
    print(f"| linear scan (plain Python) | {scan['p50_ms']} | {scan['p95_ms']} | | 1.0 | | |")
    if result.get("postgresql_note"):
        print(f"\nPostgreSQL not measured: {result['postgresql_note']}")
    page = result.get("library_page")
    if page:
        if "error" in page:
            print(f"\nLibrary page (AppTest): failed: {page['error']}")
        else:
            print(
                f"\nLibrary page (AppTest, TinyDB): first render {page['first_render_ms']} ms (index built), "
                f"{page['typed_reruns']} typed reruns p50 {page['p50_ms']} ms, p95 {page['p95_ms']} ms"
            )
    for key in ("tinydb_agrees_with_scan_of_50", "backends_agree_of_100"):
        if key in result:
            print(f"{key}: {result[key]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_search", description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=None, help="library size (default 10000)")
    parser.add_argument("--samples", type=int, default=None, help="typed queries (default 400)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1000 cases, 60 queries")
    parser.add_argument("--backends", default="tinydb,postgresql", help="comma separated: tinydb, postgresql")
    parser.add_argument("--postgres-url", help="an empty PostgreSQL database to use instead of a private server")
    parser.add_argument("--workdir", type=Path, help="where the temp library goes (default: the system temp dir)")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--no-page", action="store_true", help="skip the Library page's render time (AppTest)")
    parser.add_argument("--page-samples", type=int, default=30, help="typed reruns of the Library page")
    parser.add_argument("--out", type=Path, help="report file (.txt; the JSON goes beside it)")
    args = parser.parse_args(argv)
    args.cases = args.cases or (1000 if args.quick else 10_000)
    args.samples = args.samples or (60 if args.quick else 400)
    args.backends = {b.strip() for b in args.backends.split(",") if b.strip()}
    if not args.backends <= {"tinydb", "postgresql"} or not args.backends:
        parser.error("--backends takes tinydb and/or postgresql")
    out = args.out or RESULTS / f"search-{dt.date.today().isoformat()}.txt"
    workdir = Path(tempfile.mkdtemp(prefix="casedeck-bench-search-", dir=args.workdir))
    try:
        pg_url, pg_note = None, ""
        if "postgresql" in args.backends and args.postgres_url:
            pg_url = args.postgres_url
        if "postgresql" in args.backends and not pg_url:
            try:
                server = private_postgres(args.workdir)
                pg_url = server.__enter__()
            except (RuntimeError, OSError) as exc:
                server, pg_note = None, f"PostgreSQL could not start: {exc}"
        else:
            server = None
        try:
            result = run(args, workdir, pg_url, pg_note)
        finally:
            if server is not None and pg_url:
                server.__exit__(None, None, None)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh, redirect_stdout(fh):
        print_report(result)
    print_report(result)
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out} and {out.with_suffix('.json').name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
