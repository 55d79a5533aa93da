"""How fast the case store opens, saves and lists a department's library, against plain dicts in memory.

    python -m bench.bench_store [--sizes 1000,5000,10000] [--samples 200] [--quick]
        [--backends tinydb,postgresql] [--postgres-url URL] [--workdir DIR] [--out FILE]

1. generates a library of N cases (3 DICOM series x 150 instances each, clinical text, tags,
   a CT/MR/US/CR modality mix) and writes it with ``save_case``, case by case, into each backend:
   TinyDB (``TinyDBCaseStore`` in a temp folder) and PostgreSQL (``PostgresCaseStore`` on a private
   server started here with ``initdb``/``pg_ctl``, default durability: fsync and synchronous commit
   on, data on the same disk as TinyDB's folder). Sizes grow in one library (1,000 cases, then 4,000
   more, then 5,000 more); generation is timed and reported apart from the figures. 50 conferences
   of 12 random cases each are kept in the store (refreshed for each size);
2. per size and backend, ``--samples`` timings (at random cases, random filters) of: open a case
   (``get_case``), save an edit (``update_case`` changing the findings), a page of 50 without a
   filter, with a modality filter and with words (``summaries(CaseQuery(..., limit=50))``), and the
   Conferences page's reads (``list_conferences()`` then ``summaries(CaseQuery(ids=...))`` of one
   conference's 12 cases); also the first list and open from a freshly opened store;
3. the floor, measured in the same run: the same operations on plain Python dicts in memory
   (a dict of the cases' ``to_dict()``; open = ``Case.from_dict``, save = ``to_dict`` and dict
   assignment, list = ``CaseQuery.matches`` filter + newest-first sort + slice, conferences =
   ``Conference.from_dict`` of each + the 12 dicts by id, sorted). It is built after the backends'
   figures from the same deterministic generator, so its memory does not slow their runs.

Reports p50/p95 in ms and each backend's ratio to the floor (p50 / floor p50), checks the aims of
issue 15 at the largest size (p95 open and save < 50 ms, p95 lists < 100 ms) and the growth of each
operation's p50 between sizes against log n. Nothing asserts a speed. Prints a table and writes it
with the numbers as JSON (``--out``; default ``bench/results/store-<date>.txt`` and ``.json``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import itertools
import json
import math
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

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
    Review,
    Window,
)
from casefiles.store import CaseQuery, CaseStore
from casefiles.store.documents import newest_first

RESULTS = Path(__file__).resolve().parent / "results"
SERIES_PER_CASE = 3
INSTANCES_PER_SERIES = 150
CONFERENCES = 50
CONFERENCE_CASES = 12
PAGE = 50
AIM_OPEN_SAVE_MS = 50.0
AIM_LIST_MS = 100.0
#: A p50 that grows by at most this much over the log n bound still counts as "within" (run-to-run noise).
GROWTH_SLACK = 1.15
BASE = dt.datetime(2021, 1, 4, 8, 0, tzinfo=dt.UTC)

OPS = ("open", "save", "list_page", "list_modality", "list_words", "conferences")
OP_LABELS = {
    "open": "open a case (get_case)",
    "save": "save an edit (update_case)",
    "list_page": "page of 50, no filter",
    "list_modality": "page of 50, modality filter",
    "list_words": "page of 50, words",
    "conferences": "Conferences page reads",
}
LIST_OPS = ("list_page", "list_modality", "list_words", "conferences")

# -- a realistic library ------------------------------------------------------------------------------
MODALITIES = (("CT", 45), ("MR", 30), ("US", 10), ("CR", 10), ("CT/MR", 5))
SERIES_LABELS = {
    "CT": ("Axial 1.25 mm", "Coronal MPR 2 mm", "Sagittal MPR 2 mm", "Axial arterial phase", "Axial portal venous"),
    "MR": ("Ax T2 FSE", "Ax T1 post contrast", "Cor STIR", "Sag T1", "Ax DWI b800", "Ax FLAIR"),
    "US": ("Transverse cine", "Longitudinal cine", "Colour Doppler", "Spectral Doppler"),
    "CR": ("PA", "Lateral", "AP supine", "Oblique"),
}
WINDOWS = {"CT": (40.0, 400.0), "MR": (600.0, 1200.0), "US": (128.0, 256.0), "CR": (2048.0, 4096.0)}
TOPICS = (
    # body part, finding, diagnosis, differential, tags
    ("chest", "spiculated nodule in the right upper lobe", "Adenocarcinoma of the lung",
     ("Granuloma", "Organising pneumonia", "Carcinoid"), ("chest", "oncology", "nodule")),
    ("chest", "bilateral ground-glass opacities with a crazy-paving pattern", "Pulmonary alveolar proteinosis",
     ("Pneumocystis pneumonia", "Pulmonary oedema", "Diffuse alveolar haemorrhage"), ("chest", "interstitial")),
    ("chest", "filling defect in the right lower lobe pulmonary artery", "Acute pulmonary embolism",
     ("Mixing artefact", "Tumour thrombus", "In situ thrombosis"), ("chest", "emergency", "vascular")),
    ("abdomen", "arterially enhancing liver lesion with washout", "Hepatocellular carcinoma",
     ("Hypervascular metastasis", "Adenoma", "Flash-filling haemangioma"), ("abdomen", "oncology", "liver")),
    ("abdomen", "dilated appendix with periappendiceal fat stranding", "Acute appendicitis",
     ("Mucocele", "Terminal ileitis", "Epiploic appendagitis"), ("abdomen", "emergency", "paediatric")),
    ("abdomen", "cystic pancreatic lesion communicating with the duct", "Side-branch IPMN",
     ("Serous cystadenoma", "Pseudocyst", "Mucinous cystic neoplasm"), ("abdomen", "pancreas")),
    ("neuro", "ring-enhancing lesion with surrounding vasogenic oedema", "Glioblastoma",
     ("Metastasis", "Abscess", "Tumefactive demyelination"), ("neuro", "oncology")),
    ("neuro", "restricted diffusion in the left MCA territory", "Acute ischaemic stroke",
     ("Encephalitis", "Hypoglycaemia", "Postictal change"), ("neuro", "emergency", "stroke")),
    ("neuro", "periventricular ovoid T2 hyperintensities perpendicular to the ventricles", "Multiple sclerosis",
     ("Small vessel disease", "ADEM", "Susac syndrome"), ("neuro", "demyelination")),
    ("msk", "oblique fracture of the distal radius with dorsal angulation", "Colles fracture",
     ("Smith fracture", "Barton fracture", "Scaphoid fracture"), ("msk", "trauma", "emergency")),
    ("msk", "full-thickness tear of the supraspinatus tendon", "Rotator cuff tear",
     ("Tendinosis", "Calcific tendinitis", "Partial tear"), ("msk", "sports")),
    ("msk", "lytic lesion with a narrow zone of transition in the femur", "Giant cell tumour",
     ("Aneurysmal bone cyst", "Chondroblastoma", "Brown tumour"), ("msk", "oncology", "bone")),
    ("pelvis", "complex adnexal mass with solid papillary components", "Serous cystadenocarcinoma of the ovary",
     ("Endometrioma", "Dermoid", "Tubo-ovarian abscess"), ("pelvis", "oncology", "gynaecology")),
    ("pelvis", "enlarged prostate with a PI-RADS 5 lesion in the peripheral zone", "Prostate adenocarcinoma",
     ("Prostatitis", "Benign prostatic hyperplasia nodule", "Haemorrhage"), ("pelvis", "oncology", "urology")),
    ("neck", "hypoechoic thyroid nodule with microcalcifications", "Papillary thyroid carcinoma",
     ("Follicular adenoma", "Colloid nodule", "Medullary carcinoma"), ("neck", "thyroid", "oncology")),
    ("paediatric", "target sign in the right upper quadrant", "Ileocolic intussusception",
     ("Mesenteric adenitis", "Meckel diverticulum", "Duplication cyst"), ("paediatric", "emergency", "abdomen")),
)  # fmt: skip
SIDES = ("right", "left", "bilateral")
PEOPLE = ("A. Okafor", "B. Lindqvist", "C. Moreau", "D. Tanaka", "E. Novak", "F. García", "G. Müller", "H. Singh")
HISTORY = (
    "{age}-year-old {sex} presenting with {complaint} for {weeks} weeks.",
    "Past medical history of {pmh}. {smoke}.",
    "Referred by the {clinic} clinic; previous imaging {prior}.",
    "Laboratory results: {lab}.",
)
COMPLAINTS = ("progressive dyspnoea", "abdominal pain", "headache and visual disturbance", "weight loss",
              "a palpable mass", "fever and rigors", "pain after a fall", "haematuria", "new seizures")  # fmt: skip
PMH = ("hypertension", "type 2 diabetes", "COPD", "breast cancer treated in 2015", "no significant illness",
       "Crohn disease", "chronic kidney disease stage 3")  # fmt: skip
CLINICS = ("respiratory", "emergency", "oncology", "gastroenterology", "neurology", "orthopaedic", "urology")
LABS = ("CRP 84 mg/L, WCC 14.2", "normal full blood count", "AFP 420 ng/mL", "PSA 11.3 ng/mL",
        "D-dimer raised", "lactate 3.1 mmol/L", "TSH normal, calcitonin normal")  # fmt: skip
FINDINGS_TAIL = (
    "No lymphadenopathy by size criteria.",
    "Small bilateral pleural effusions.",
    "The remaining solid organs are unremarkable.",
    "No free fluid or free gas.",
    "Mild degenerative change of the visualised spine.",
    "Comparison with the prior study shows interval growth of {mm} mm.",
    "Incidental {mm} mm simple renal cyst.",
    "Normal calibre of the great vessels.",
)
POINTS = (
    "Look for {a} before calling {b}.",
    "{b} is the most common mimic; check the enhancement pattern.",
    "Report the size in three planes and compare with the prior study.",
    "The clinical history narrows the differential considerably.",
    "Recommend follow-up according to current guidelines.",
)
#: Words the words-filter samples draw from (each occurs in some cases' text).
SEARCH_WORDS = ("nodule", "fracture", "carcinoma", "emergency", "right", "lesion", "enhancing", "oedema",
                "appendicitis", "stroke", "tear", "paediatric", "lymphadenopathy", "mass", "cyst", "thyroid",
                "right lobe", "left lesion", "enhancing mass", "no significant", "prior study")  # fmt: skip
MODALITY_FILTERS = ("CT", "MR", "US", "CR")


def _hex(rng: random.Random, bits: int = 256) -> str:
    return f"{rng.getrandbits(bits):0{bits // 4}x}"


def _uid(rng: random.Random) -> str:
    return f"2.25.{rng.getrandbits(126)}"


def findings_text(rng: random.Random, finding: str, side: str) -> str:
    tail = " ".join(t.format(mm=rng.randint(3, 30)) for t in rng.sample(FINDINGS_TAIL, 3))
    return (
        f"There is a {rng.randint(6, 60)} mm {finding} on the {side} side. "
        f"It measures {rng.randint(6, 60)} x {rng.randint(6, 60)} mm on the axial images. {tail}"
    )


def make_case(index: int, seed: int = 15) -> Case:
    """Case ``index`` of the generated library: the same every time for the same ``index`` and ``seed``."""
    rng = random.Random(seed * 1_000_003 + index)
    body_part, finding, diagnosis, differential, tags = rng.choice(TOPICS)
    modality = rng.choices([m for m, _ in MODALITIES], [w for _, w in MODALITIES])[0]
    kinds = modality.split("/")
    side = rng.choice(SIDES)
    study = _uid(rng)
    assets = []
    for number in range(SERIES_PER_CASE):
        series_modality = kinds[number % len(kinds)]
        center, width = WINDOWS[series_modality]
        spacing = rng.choice((0.625, 1.25, 2.5, 5.0))
        instances = tuple(
            Instance(
                sop_instance_uid=_uid(rng),
                blob=_hex(rng),
                instance_number=i + 1,
                position=round(-300.0 + i * spacing, 3),
                review=Review.NEEDS_REVIEW if series_modality == "US" and i == 0 else Review.NOT_NEEDED,
                text_rules=3,
                pixel_rules=2,
            )
            for i in range(INSTANCES_PER_SERIES)
        )
        assets.append(
            Asset(
                id=f"s{number + 1}",
                kind=AssetKind.DICOM_SERIES,
                label=rng.choice(SERIES_LABELS[series_modality]),
                modality=series_modality,
                instances=instances,
                thumbnail=_hex(rng),
                study_uid=study,
                series_uid=_uid(rng),
                body_part=body_part.upper(),
                default_window=Window(center, width),
            )
        )
    created = BASE + dt.timedelta(minutes=index * 7 + rng.randint(0, 6), seconds=rng.randint(0, 59))
    keys = tuple(
        KeyImage(asset_id=assets[k].id, frame=rng.randrange(INSTANCES_PER_SERIES), caption=f"Key image {k + 1}")
        for k in range(rng.randint(1, 3))
    )
    history = " ".join(
        line.format(
            age=rng.randint(2, 90), sex=rng.choice(("man", "woman")), complaint=rng.choice(COMPLAINTS),
            weeks=rng.randint(1, 12), pmh=rng.choice(PMH),
            smoke=rng.choice(("Current smoker, 40 pack-years", "Never smoker", "Ex-smoker")),
            clinic=rng.choice(CLINICS), prior=rng.choice(("unremarkable", "not available", "in 2019")),
            lab=rng.choice(LABS),
        )
        for line in HISTORY
    )  # fmt: skip
    points = tuple(p.format(a=finding, b=differential[0]) for p in rng.sample(POINTS, 3))
    extra_tags = rng.sample(("teaching", "classic", "pitfall", "board-review", "rare", "follow-up"), rng.randint(0, 2))
    return Case(
        id=f"case-{index:06d}",
        title=f"{side.capitalize()} {finding}"[:300],
        history=history,
        findings=findings_text(rng, finding, side),
        diagnosis=diagnosis,
        differential=differential,
        teaching_points=points,
        tags=(*tags, *extra_tags),
        modality=modality,
        body_part=body_part,
        difficulty=rng.choice(list(Difficulty)),
        author=rng.choice(PEOPLE),
        created=created,
        updated=created + dt.timedelta(days=rng.randint(0, 30)),
        assets=tuple(assets),
        key_images=keys,
        text_rules=3,
    )


def make_conference(number: int, case_ids: list[str], seed: int = 15) -> Conference:
    rng = random.Random(seed * 7_919 + number)
    created = BASE + dt.timedelta(days=number * 3)
    return Conference(
        id=f"conf-{number:03d}",
        title=f"{rng.choice(('Tumor board', 'Grand rounds', 'Registrar teaching', 'M&M'))} {number + 1}",
        kind=rng.choice(list(ConferenceKind)),
        date=created.date(),
        presenters=tuple(rng.sample(PEOPLE, 2)),
        items=tuple(CasePlan(case_id=c, reveal=rng.random() < 0.3) for c in case_ids),
        created=created,
        updated=created,
    )


def conference_cases(number: int, size: int, seed: int = 15) -> list[str]:
    """The 12 cases conference ``number`` holds while the library has ``size`` cases."""
    rng = random.Random(seed * 104_729 + number * 31 + size)
    return [f"case-{i:06d}" for i in rng.sample(range(size), CONFERENCE_CASES)]


# -- the floor: plain dicts in memory -----------------------------------------------------------------
@dataclass
class Floor:
    """The operations on a dict of case dicts and a dict of conference dicts, nothing else."""

    cases: dict[str, dict[str, Any]] = field(default_factory=dict)
    conferences: dict[str, dict[str, Any]] = field(default_factory=dict)

    def save_case(self, case: Case) -> None:
        self.cases[case.id] = case.to_dict()

    def save_conference(self, conference: Conference) -> None:
        self.conferences[conference.id] = conference.to_dict()

    def get_case(self, case_id: str) -> Case:
        return Case.from_dict(self.cases[case_id])

    def summaries(self, query: CaseQuery) -> list[dict[str, Any]]:
        if query.ids is not None:
            found = [self.cases[i] for i in query.ids]
        else:
            found = [doc for doc in self.cases.values() if query.matches(doc)]
        found.sort(key=newest_first, reverse=True)
        return query.page(found)

    def list_conferences(self) -> list[Conference]:
        docs = sorted(self.conferences.values(), key=newest_first, reverse=True)
        return [Conference.from_dict(d) for d in docs]


# -- PostgreSQL -------------------------------------------------------------------------------------
BENCH_ROLE = "casedeck_bench"


def _run(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=180)
    if done.returncode != 0:
        program = next((Path(a).name for a in argv if "/postgresql/" in a), argv[0])
        raise RuntimeError(f"{program} failed: {(done.stderr or done.stdout).strip()[-1500:]}")


@contextmanager
def private_postgres(parent: Path | None) -> Iterator[str]:
    """A PostgreSQL server of Debian's packages in a temp dir, on a Unix socket only; yields a database URL.

    Default durability (fsync, synchronous_commit, full_page_writes on) and memory settings, so it
    pays for commits what a department's server pays. Under root it runs as the ``postgres`` user.
    Raises RuntimeError saying why when it cannot start.
    """
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
    if not found:
        raise RuntimeError("PostgreSQL is not installed (Debian package postgresql: /usr/lib/postgresql/*/bin)")
    bin_dir = found[-1].parent
    root = Path(tempfile.mkdtemp(prefix="cd-bench-pg-", dir=parent))  # short: a socket path has 107 bytes
    run_as: list[str] = []
    if os.geteuid() == 0:
        import pwd

        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(root, ignore_errors=True)
            raise RuntimeError("running as root and there is no 'postgres' user to run PostgreSQL as") from None
        os.chown(root, user.pw_uid, user.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    data = root / "data"
    pg_ctl = [*run_as, str(bin_dir / "pg_ctl"), "-D", str(data)]
    started = False
    try:
        _run([*run_as, str(bin_dir / "initdb"), "-D", str(data), "-U", BENCH_ROLE, "--auth=trust",
              "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"])  # fmt: skip
        options = f"-c listen_addresses='' -c unix_socket_directories='{root}' -c port=5432"
        try:
            _run([*pg_ctl, "start", "-w", "-t", "60", "-l", str(root / "server.log"), "-o", options])
        except RuntimeError as exc:
            log = root / "server.log"
            tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
            raise RuntimeError(f"{exc}\n{tail}".strip()) from None
        started = True
        import psycopg

        with psycopg.connect(f"postgresql://{BENCH_ROLE}@/postgres?host={root}", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{BENCH_ROLE}"')
        yield f"postgresql://{BENCH_ROLE}@/{BENCH_ROLE}?host={root}"
    finally:
        if started:
            subprocess.run([*pg_ctl, "stop", "-m", "fast"], capture_output=True, check=False, timeout=120)
        shutil.rmtree(root, ignore_errors=True)


def postgres_facts(url: str) -> dict[str, Any]:
    import psycopg

    with psycopg.connect(url) as conn:
        facts: dict[str, Any] = {"server_version": conn.info.parameter_status("server_version")}
        for name in ("fsync", "synchronous_commit", "shared_buffers"):
            row = conn.execute(f"SHOW {name}").fetchone()
            facts[name] = row[0] if row else None
    return facts


def postgres_bytes(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return int(row[0]) if row else 0


def folder_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


# -- timing -------------------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def stats(samples_ms: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(samples_ms), 3),
        "p95_ms": round(percentile(samples_ms, 0.95), 3),
        "max_ms": round(max(samples_ms), 3),
        "samples": len(samples_ms),
    }


def timed(calls: list[Callable[[], object]], warmup: int = 3) -> list[float]:
    """Run each call once (after ``warmup`` untimed ones); milliseconds per call."""
    for call in calls[:warmup]:
        call()
    gc.collect()
    out = []
    for call in calls:
        start = time.perf_counter_ns()
        call()
        out.append((time.perf_counter_ns() - start) / 1e6)
    return out


@dataclass(frozen=True)
class Plan:
    """The random choices of one size's samples, shared by every backend and the floor."""

    open_ids: list[str]
    save_edits: list[tuple[str, str]]
    modalities: list[str]
    words: list[str]
    conference_picks: list[int]


def plan_for(size: int, samples: int, seed: int) -> Plan:
    rng = random.Random(seed * 31 + size)

    def some_id() -> str:
        return f"case-{rng.randrange(size):06d}"

    edits = []
    for _ in range(samples):
        topic = rng.choice(TOPICS)
        edits.append((some_id(), findings_text(rng, topic[1], rng.choice(SIDES)) + " Edited for the benchmark."))
    return Plan(
        open_ids=[some_id() for _ in range(samples)],
        save_edits=edits,
        modalities=[rng.choice(MODALITY_FILTERS) for _ in range(samples)],
        words=[rng.choice(SEARCH_WORDS) for _ in range(samples)],
        conference_picks=[rng.randrange(CONFERENCES) for _ in range(samples)],
    )


def measure_store(store: CaseStore, plan: Plan) -> dict[str, list[float]]:
    def edit(findings: str) -> Callable[[Case], Case]:
        return lambda case: replace(case, findings=findings, updated=dt.datetime.now(dt.UTC))

    def conferences_page(pick: int) -> None:
        conference = store.list_conferences()[pick]
        store.summaries(CaseQuery(ids=conference.case_ids))

    return {
        "open": timed([lambda i=i: store.get_case(i) for i in plan.open_ids]),
        "save": timed([lambda i=i, f=f: store.update_case(i, edit(f)) for i, f in plan.save_edits]),
        "list_page": timed([lambda: store.summaries(CaseQuery(limit=PAGE)) for _ in plan.open_ids]),
        "list_modality": timed([lambda m=m: store.summaries(CaseQuery(modality=m, limit=PAGE)) for m in plan.modalities]),  # noqa: E501
        "list_words": timed([lambda w=w: store.summaries(CaseQuery(text=w, limit=PAGE)) for w in plan.words]),
        "conferences": timed([lambda p=p: conferences_page(p) for p in plan.conference_picks]),
    }  # fmt: skip


def measure_floor(floor: Floor, plan: Plan) -> dict[str, list[float]]:
    # save = to_dict + dict assignment of the edited case; the edit itself is made outside the timing
    edited = [replace(floor.get_case(i), findings=f, updated=dt.datetime.now(dt.UTC)) for i, f in plan.save_edits]

    def conferences_page(pick: int) -> None:
        conference = floor.list_conferences()[pick]
        floor.summaries(CaseQuery(ids=conference.case_ids))

    return {
        "open": timed([lambda i=i: floor.get_case(i) for i in plan.open_ids]),
        "save": timed([lambda c=c: floor.save_case(c) for c in edited]),
        "list_page": timed([lambda: floor.summaries(CaseQuery(limit=PAGE)) for _ in plan.open_ids]),
        "list_modality": timed([lambda m=m: floor.summaries(CaseQuery(modality=m, limit=PAGE)) for m in plan.modalities]),  # noqa: E501
        "list_words": timed([lambda w=w: floor.summaries(CaseQuery(text=w, limit=PAGE)) for w in plan.words]),
        "conferences": timed([lambda p=p: conferences_page(p) for p in plan.conference_picks]),
    }  # fmt: skip


# -- the run ------------------------------------------------------------------------------------------
@dataclass
class Backend:
    name: str
    store: CaseStore
    reopen: Callable[[], CaseStore]  # another instance on the same library: a freshly started app
    disk_bytes: Callable[[], int]
    generation_s: float = 0.0


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def grow(backends: list[Backend], floor: Floor, have: int, size: int, writers: int, seed: int) -> dict[str, float]:
    """Add cases ``have`` … ``size - 1`` to every backend (``save_case`` from ``writers`` threads) and the floor."""
    build_s = floor_s = 0.0
    chunk = 250
    with ThreadPoolExecutor(writers) as pool:
        for start in range(have, size, chunk):
            began = time.perf_counter()
            cases = [make_case(i, seed) for i in range(start, min(size, start + chunk))]
            build_s += time.perf_counter() - began
            for backend in backends:
                began = time.perf_counter()
                list(pool.map(backend.store.save_case, cases))
                backend.generation_s += time.perf_counter() - began
            began = time.perf_counter()
            for case in cases:
                floor.save_case(case)
            floor_s += time.perf_counter() - began
            log(f"  {start + len(cases):,}/{size:,} cases written")
    return {"build_cases_s": build_s, "floor_s": floor_s}


def refresh_conferences(backends: list[Backend], floor: Floor, size: int, seed: int, *, first: bool) -> None:
    for number in range(CONFERENCES):
        conference = make_conference(number, conference_cases(number, size, seed), seed)
        for backend in backends:
            if first:
                backend.store.save_conference(conference)
            else:
                keep = conference
                backend.store.update_conference(keep.id, lambda c, new=keep: replace(new, version=c.version))
        floor.save_conference(conference)


def cold_figures(backend: Backend, case_id: str) -> dict[str, float]:
    """A newly opened store (as a newly started app): opening it, its first page of 50, its first open."""
    began = time.perf_counter()
    store = backend.reopen()
    opened = time.perf_counter()
    store.summaries(CaseQuery(limit=PAGE))
    listed = time.perf_counter()
    store.get_case(case_id)
    done = time.perf_counter()
    store.close()
    return {
        "open_store_ms": round(1000 * (opened - began), 1),
        "first_page_ms": round(1000 * (listed - opened), 1),
        "first_open_ms": round(1000 * (done - listed), 1),
    }


def summarise(samples: dict[str, list[float]], floor: dict[str, dict[str, float]] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for op, values in samples.items():
        figures: dict[str, Any] = stats(values)
        if floor is not None:
            figures["ratio_p50_to_floor"] = round(figures["p50_ms"] / floor[op]["p50_ms"], 2)
            figures["ratio_p95_to_floor"] = round(figures["p95_ms"] / floor[op]["p95_ms"], 2)
        out[op] = figures
    return out


def aims(figures: dict[str, dict[str, float]]) -> dict[str, dict[str, Any]]:
    checked = {}
    for op in OPS:
        limit = AIM_LIST_MS if op in LIST_OPS else AIM_OPEN_SAVE_MS
        p95 = figures[op]["p95_ms"]
        checked[op] = {"p95_ms": p95, "aim_ms": limit, "met": p95 < limit}
    return checked


def growth(per_size: dict[int, dict[str, Any]], names: list[str]) -> dict[str, Any]:
    sizes = sorted(per_size)
    out: dict[str, Any] = {}
    for a, b in itertools.pairwise(sizes):
        bound = math.log(b) / math.log(a)
        step: dict[str, Any] = {"log_n_bound": round(bound, 3), "size_ratio": round(b / a, 2)}
        for name in ["floor", *names]:
            step[name] = {}
            for op in OPS:
                ratio = per_size[b][name][op]["p50_ms"] / per_size[a][name][op]["p50_ms"]
                step[name][op] = {"p50_ratio": round(ratio, 2), "within_log_n": ratio <= bound * GROWTH_SLACK}
        out[f"{a}->{b}"] = step
    return out


def run(args: argparse.Namespace, workdir: Path, pg_url: str | None, pg_note: str) -> dict[str, Any]:
    from casefiles.store.tinydb_store import TinyDBCaseStore

    backends: list[Backend] = []
    if "tinydb" in args.backends:
        root = workdir / "tinydb-library"
        backends.append(
            Backend("tinydb", TinyDBCaseStore(root), lambda: TinyDBCaseStore(root), lambda: folder_bytes(root))
        )
    pg_facts: dict[str, Any] = {}
    if pg_url is not None:
        from casefiles.store.postgres_store import PostgresCaseStore

        url = pg_url
        backends.append(
            Backend("postgresql", PostgresCaseStore(url), lambda: PostgresCaseStore(url), lambda: postgres_bytes(url))
        )
        pg_facts = postgres_facts(url)
    names = [b.name for b in backends]
    floor = Floor()
    per_size: dict[int, dict[str, Any]] = {}
    generation: dict[int, dict[str, float]] = {}
    have = 0
    try:
        for size in args.sizes:
            log(f"{size:,} cases: writing {size - have:,} more with save_case ({args.writers} threads)")
            before = {b.name: b.generation_s for b in backends}
            built = grow(backends, floor, have, size, args.writers, args.seed)
            refresh_conferences(backends, floor, size, args.seed, first=have == 0)
            generation[size] = {
                "new_cases": size - have,
                "build_cases_s": round(built["build_cases_s"], 1),
                "floor_s": round(built["floor_s"], 1),
                **{f"{b.name}_s": round(b.generation_s - before[b.name], 1) for b in backends},
            }
            have = size
            gc.collect()
            gc.freeze()  # the floor's millions of dicts are not scanned by the collector during the timings
            plan = plan_for(size, args.samples, args.seed)
            raw: dict[str, dict[str, list[float]]] = {}
            extra: dict[str, dict[str, Any]] = {}
            for backend in backends:
                log(f"{size:,} cases: timing {backend.name}")
                raw[backend.name] = measure_store(backend.store, plan)
                extra[backend.name] = {
                    "cold": cold_figures(backend, plan.open_ids[0]),
                    "library_bytes": backend.disk_bytes(),
                }
            log(f"{size:,} cases: timing the floor")
            floor_figures = summarise(measure_floor(floor, plan), None)
            per_size[size] = {"floor": floor_figures}
            for name in names:
                per_size[size][name] = {**summarise(raw[name], floor_figures), **extra[name]}
            gc.unfreeze()
    finally:
        for backend in backends:
            backend.store.close()
    largest = max(per_size)
    return {
        "benchmark": "store",
        "date": dt.date.today().isoformat(),
        "parameters": {
            "sizes": args.sizes,
            "samples": args.samples,
            "series_per_case": SERIES_PER_CASE,
            "instances_per_series": INSTANCES_PER_SERIES,
            "conferences": CONFERENCES,
            "conference_cases": CONFERENCE_CASES,
            "page": PAGE,
            "writers": args.writers,
            "seed": args.seed,
            "quick": args.quick,
        },
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_avg_1min": round(os.getloadavg()[0], 2),
            "workdir": str(workdir),
        },
        "backends": names,
        "postgresql": pg_facts or {"skipped": pg_note},
        "generation": generation,
        "per_size": per_size,
        "aims_at": largest,
        "aims": {name: aims(per_size[largest][name]) for name in names},
        "growth": growth(per_size, names),
    }


# -- the report ---------------------------------------------------------------------------------------
def _ms(value: float) -> str:
    if value < 1:
        return f"{value:.2f}"
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def print_report(result: dict[str, Any]) -> None:
    p, names = result["parameters"], result["backends"]
    m = result["machine"]
    print(
        f"Case store benchmark {result['date']}: {p['series_per_case']} series x {p['instances_per_series']} "
        f"instances per case, {p['samples']} samples per operation, {p['conferences']} conferences of "
        f"{p['conference_cases']} cases"
    )
    print(f"Python {m['python']}, {m['cpus']} CPUs, load average {m['load_avg_1min']}, {m['platform']}")
    pg = result["postgresql"]
    if "skipped" in pg:
        print(f"PostgreSQL: not measured ({pg['skipped']})")
    else:
        print(
            f"PostgreSQL {pg['server_version']} (fsync={pg['fsync']}, synchronous_commit={pg['synchronous_commit']}, "
            f"shared_buffers={pg['shared_buffers']})"
        )
    print("\nGeneration (not in the figures; save_case from threads, seconds):")
    for size, gen in result["generation"].items():
        parts = [f"build Case objects {gen['build_cases_s']}", *(f"{n} {gen[f'{n}_s']}" for n in names)]
        print(f"  to {size:>7,} cases (+{gen['new_cases']:,}): " + ", ".join(parts))
    head = f"{'':30} {'floor p50/p95':>15}" + "".join(f" {n + ' p50/p95':>21} {'x floor':>7}" for n in names)
    for size, figures in result["per_size"].items():
        print(f"\n{size:,} cases (ms; x floor = p50 / floor p50)")
        print(head)
        for op in OPS:
            f = figures["floor"][op]
            line = f"{OP_LABELS[op]:30} {_ms(f['p50_ms']) + ' / ' + _ms(f['p95_ms']):>15}"
            for name in names:
                b = figures[name][op]
                line += f" {_ms(b['p50_ms']) + ' / ' + _ms(b['p95_ms']):>21} {b['ratio_p50_to_floor']:>7}"
            print(line)
        for name in names:
            cold, size_mb = figures[name]["cold"], figures[name]["library_bytes"] / 1e6
            print(
                f"  {name}: library {size_mb:,.0f} MB; a newly opened store: open {cold['open_store_ms']} ms, "
                f"first page {cold['first_page_ms']} ms, first case {cold['first_open_ms']} ms"
            )
    print(
        f"\nAims at {result['aims_at']:,} cases (p95): open and save < {AIM_OPEN_SAVE_MS:.0f} ms, "
        f"lists < {AIM_LIST_MS:.0f} ms"
    )
    for name in names:
        parts = []
        for op, a in result["aims"][name].items():
            parts.append(f"{op} {_ms(a['p95_ms'])}{'' if a['met'] else ' MISSED'}")
        missed = sum(not a["met"] for a in result["aims"][name].values())
        print(f"  {name}: " + ", ".join(parts) + (f"  -> {missed} missed" if missed else "  -> all met"))
    if result["growth"]:
        print(f"\nGrowth of p50 between sizes (aim: no faster than log n; 'over' = above log n x {GROWTH_SLACK})")
        steps = list(result["growth"].items())
        heads = [f"{n} {s.replace('->', '→')}" for n in ["floor", *names] for s, _ in steps]
        print(f"{'':30}" + "".join(f" {h:>22}" for h in heads))
        print(f"{'log n bound':30}" + "".join(f" {g['log_n_bound']:>22}" for _ in ["floor", *names] for _, g in steps))
        for op in OPS:
            line = f"{OP_LABELS[op]:30}"
            for name in ["floor", *names]:
                for _, g in steps:
                    r = g[name][op]
                    line += f" {str(r['p50_ratio']) + ('' if r['within_log_n'] else ' over'):>22}"
            print(line)


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = sorted({int(s.replace("_", "")) for s in text.split(",") if s.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of whole numbers: {text!r}") from None
    if not sizes or sizes[0] < CONFERENCE_CASES:
        raise argparse.ArgumentTypeError(f"sizes must be at least {CONFERENCE_CASES} cases")
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_store", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=parse_sizes, default=None, help="library sizes, e.g. 1000,5000,10000")
    parser.add_argument("--samples", type=int, default=None, help="timings per operation and size (default 200)")
    parser.add_argument("--quick", action="store_true", help="smoke run: sizes 100,300 and 30 samples")
    parser.add_argument("--backends", default="tinydb,postgresql", help="comma separated: tinydb, postgresql")
    parser.add_argument("--postgres-url", help="an empty PostgreSQL database to use instead of a private server")
    parser.add_argument("--workdir", type=Path, help="where the temp libraries go (default: the system temp dir)")
    parser.add_argument("--writers", type=int, default=8, help="threads writing the generated cases")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--out", type=Path, help="report file (.txt; the JSON goes beside it)")
    args = parser.parse_args(argv)
    args.sizes = args.sizes or ([100, 300] if args.quick else [1000, 5000, 10000])
    args.samples = args.samples or (30 if args.quick else 200)
    args.backends = {b.strip() for b in args.backends.split(",") if b.strip()}
    if not args.backends <= {"tinydb", "postgresql"} or not args.backends:
        parser.error("--backends takes tinydb and/or postgresql")
    if args.samples < 10 or args.writers < 1:
        parser.error("--samples must be at least 10 and --writers at least 1")
    out = args.out or RESULTS / f"store-{dt.date.today().isoformat()}.txt"
    workdir = Path(tempfile.mkdtemp(prefix="casedeck-bench-store-", dir=args.workdir))
    try:
        with postgres_for(args) as (pg_url, pg_note):
            if pg_note:
                log(f"PostgreSQL not measured: {pg_note}")
            result = run(args, workdir, pg_url, pg_note)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh, redirect_stdout(fh):
        print_report(result)
    print_report(result)
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out} and {out.with_suffix('.json').name}")
    return 0


@contextmanager
def postgres_for(args: argparse.Namespace) -> Iterator[tuple[str | None, str]]:
    """(URL, "") for the PostgreSQL to measure, or (None, why not)."""
    if "postgresql" not in args.backends:
        yield None, "not asked for (--backends)"
        return
    if args.postgres_url:
        yield args.postgres_url, ""
        return
    try:
        server = private_postgres(args.workdir)
        url = server.__enter__()
    except (RuntimeError, OSError, subprocess.SubprocessError, ImportError) as exc:
        yield None, f"PostgreSQL could not start: {exc}"
        return
    try:
        yield url, ""
    finally:
        server.__exit__(None, None, None)


if __name__ == "__main__":
    raise SystemExit(main())
