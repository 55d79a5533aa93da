"""How fast the stack viewer opens and scrolls a 300-slice 512×512 CT, with floors measured in the same run.

    python -m bench.bench_viewer [--slices 300] [--size 512] [--scroll-frames 240] [--out bench/results/viewer.json]

1. generates a synthetic CT series (``sample_data.synth.make_ct_series``) and imports it
   into a fresh CaseDeck data directory (de-identified, as the app stores it);
2. server: per frame, the floor (pydicom ``dcmread`` of the stored blob + decode of
   its pixels) against CaseDeck's render for the viewer (``Services.render_frame``
   from a cold ``Services`` + JPEG encode), and the whole payload
   (``build_stack_payload``) cold and with decoded frames cached, in threads;
3. browser: ``streamlit run tests/browser/viewer_app.py`` on that data directory,
   Chromium via Playwright. After one visit that only imports and opens the services
   (as a running app has), the page is opened cold (the server builds the payload)
   and warm (payload cached, a new session): milliseconds from navigation start to
   the Streamlit page's title, to the viewer's first image, to every frame decoded,
   and from the payload's arrival in the viewer to its first image;
4. scroll: in the page, one wheel event per animation frame for ``--scroll-frames``
   frames; fps = distinct slices put on the canvas per second, from the
   requestAnimationFrame timestamps, against the rAF rate itself (the display's
   limit); again while a dragged window is previewed (the 8-bit LUT path);
5. window round trip: drag, release, and the milliseconds until the server's
   re-rendered frame is on the canvas.

Nothing asserts a speed. Prints a table and writes the numbers as JSON.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import pydicom

from casefiles.config import Settings
from casefiles.imaging.encode import encode_jpeg
from casefiles.imaging.stack import build_stack_payload, default_workers, series_header
from casefiles.model import Asset, AssetKind
from casefiles.services import Services
from sample_data import phantoms
from sample_data.synth import make_ct_series

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results" / "viewer.json"
CHROMIUM = "/usr/bin/chromium"
VIEWER = "window.__casedeckViewer.viewers[0]"


def chromium_args() -> list[str]:
    from tests.helpers import CHROMIUM_ARGS

    return list(CHROMIUM_ARGS)


def prepare(workdir: Path, slices: int, size: int) -> tuple[Path, float]:
    source = workdir / "source"
    thickness = round((phantoms.CT_TOP_Z - phantoms.CT_BOTTOM_Z) / slices, 4)
    start = time.perf_counter()
    make_ct_series(source, slices=slices, size=size, thickness=thickness, seed=1)
    data_dir = workdir / "data"
    report = Services(Settings(data_dir=data_dir)).import_dicom([source])
    if report.instances_imported != slices:
        raise SystemExit(f"import took {report.instances_imported} of {slices} slices")
    return data_dir, time.perf_counter() - start


def first_series(services: Services) -> Asset:
    for case in services.list_cases():
        for asset in case.assets:
            if asset.kind is AssetKind.DICOM_SERIES:
                return asset
    raise SystemExit("no series imported")


def server_side(data_dir: Path, repeat: int = 3) -> dict[str, Any]:
    """Per-frame floor vs render+encode (best of ``repeat``), and whole payload builds."""
    settings = Settings(data_dir=data_dir)
    probe = Services(settings)
    asset = first_series(probe)
    blobs = [probe.blobs.get(i.blob) for i in asset.instances]  # read once: the floor should not pay the disk
    count = len(blobs)
    window = probe.asset_window(asset)

    def floor() -> None:
        for raw in blobs:
            pydicom.dcmread(io.BytesIO(raw)).pixel_array  # noqa: B018 - decoding is the point

    def render_cold() -> None:
        services = Services(settings)  # nothing parsed, nothing decoded yet
        for i in range(count):
            encode_jpeg(services.render_frame(asset, i, window), quality=90)

    floor_s = render_s = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        floor()
        floor_s = min(floor_s, time.perf_counter() - start)
        start = time.perf_counter()
        render_cold()
        render_s = min(render_s, time.perf_counter() - start)

    def build(services: Services) -> tuple[float, int, str]:
        header = series_header(services.dataset(asset.instances[0].blob))
        start = time.perf_counter()
        payload = build_stack_payload(
            lambda i: services.render_frame(asset, i, window), count, window=window, header=header
        )
        return time.perf_counter() - start, payload.nbytes, payload.mime

    cold_build = min(build(Services(settings))[0] for _ in range(repeat))
    warm_services = Services(settings)
    build(warm_services)
    warm_build, nbytes, mime = min(build(warm_services) for _ in range(repeat))
    from streamlit.util import calc_hash

    payload_bytes = os.urandom(nbytes)
    start = time.perf_counter()
    calc_hash(payload_bytes)
    hash_s = time.perf_counter() - start
    return {
        "frames": count,
        "floor_ms_per_frame": round(1000 * floor_s / count, 3),
        "render_encode_ms_per_frame": round(1000 * render_s / count, 3),
        "render_to_floor_ratio": round(render_s / floor_s, 2),
        "payload_build_cold_s": round(cold_build, 3),
        "payload_build_warm_s": round(warm_build, 3),
        "payload_threads": default_workers(),
        "payload_bytes": nbytes,
        "payload_mime": mime,
        "rerun_hash_ms": round(1000 * hash_s, 1),
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_app(data_dir: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CASEDECK_VIEWER_DATA": str(data_dir), "CASEDECK_SAMPLES": "0"}
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "streamlit", "run", "tests/browser/viewer_app.py",
            "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
            "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
        ],
        cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return proc, url
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.terminate()
                raise SystemExit(f"streamlit did not start (see {log})") from None
            time.sleep(0.3)


OPEN_TIMINGS = f"""() => {{
    const d = {VIEWER}.root.dataset;
    return {{
        title_ms: window.__titleMs ?? null,
        data_arrived_ms: Number(d.loadStart),
        first_image_ms: Number(d.firstImageMs),
        first_image_after_data_ms: Number(d.firstImageAfterLoadMs),
        all_decoded_ms: Number(d.allDecodedMs),
    }};
}}"""

# Watches for the page title (st.title) from the start of the document: Streamlit's own start-up.
TITLE_WATCH = """
new MutationObserver((_, observer) => {
  if (!window.__titleMs && document.querySelector('h1')) {
    window.__titleMs = performance.now();
    observer.disconnect();
  }
}).observe(document, { childList: true, subtree: true });
"""

SCROLL = f"""async ([count, preview]) => {{
    const v = {VIEWER};
    if (preview) v.preview(preview[0], preview[1]);
    const canvas = v.canvas;
    const box = canvas.getBoundingClientRect();
    const stamps = [];
    const startLog = v.drawLog().length;
    let direction = 1;
    await new Promise((done) => {{
        const tick = (t) => {{
            stamps.push(t);
            if (stamps.length > count) return done();
            const s = v.state();
            if (s.frame >= s.frames - 1) direction = -1;
            if (s.frame <= 0) direction = 1;
            canvas.dispatchEvent(new WheelEvent('wheel', {{
                deltaY: 100 * direction, clientX: box.left + box.width / 2, clientY: box.top + box.height / 2,
                bubbles: true, cancelable: true,
            }}));
            requestAnimationFrame(tick);
        }};
        requestAnimationFrame(tick);
    }});
    const log = v.drawLog().slice(startLog).filter(([t]) => t >= stamps[1] && t <= stamps[stamps.length - 1]);
    let changes = 0;
    for (let i = 1; i < log.length; i++) if (log[i][1] !== log[i - 1][1]) changes++;
    const seconds = (stamps[stamps.length - 1] - stamps[1]) / 1000;
    return {{
        raf_fps: (stamps.length - 2) / seconds,
        scroll_fps: changes / seconds,
        slices_shown: changes,
        seconds,
    }};
}}"""


def browser_side(data_dir: Path, workdir: Path, scroll_frames: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    proc, url = start_app(data_dir, workdir / "streamlit.log")
    results: dict[str, Any] = {}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=chromium_args())
            page = browser.new_page()
            page.goto(f"{url}/?prepare=1")  # a running app: modules imported, services open, no payload yet
            page.get_by_text("prepared").wait_for(timeout=120_000)
            page.close()
            for label in ("cold", "warm"):
                page = browser.new_page(viewport={"width": 1200, "height": 1000})
                page.set_default_timeout(120_000)
                page.add_init_script(TITLE_WATCH)
                page.goto(url)
                page.wait_for_function(f"() => window.__casedeckViewer && {VIEWER}.root.dataset.allDecodedMs")
                results[f"open_{label}"] = {k: round(v, 1) for k, v in page.evaluate(OPEN_TIMINGS).items() if v}
                if label == "warm":
                    scroll = page.evaluate(SCROLL, [scroll_frames, None])
                    results["scroll"] = {k: round(v, 2) for k, v in scroll.items()}
                    state = page.evaluate(f"() => {VIEWER}.state()")
                    window = state["window"]
                    preview = [window["center"] + 60, window["width"] * 1.5]
                    scroll = page.evaluate(SCROLL, [scroll_frames, preview])
                    results["scroll_window_preview"] = {k: round(v, 2) for k, v in scroll.items()}
                    page.evaluate(f"() => {VIEWER}.preview({window['center']}, {window['width']})")
                    results["window_round_trip_ms"] = window_round_trip(page)
                page.close()
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    return results


def window_round_trip(page: Any) -> float:
    """Drag the window, release, wait for the server's new frame on the canvas: milliseconds from release."""
    box = page.locator("canvas.cdsv-canvas").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    digest = page.evaluate(f"() => {VIEWER}.state().digest")
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 64, y + 32, steps=4)
    released = page.evaluate("() => performance.now()")
    page.mouse.up()
    page.wait_for_function(
        f"() => {VIEWER}.state().digest !== '{digest}' && {VIEWER}.root.dataset.firstImageMs",
        timeout=120_000,
    )
    shown = float(page.evaluate(f"() => Number({VIEWER}.root.dataset.firstImageMs)"))
    return round(shown - float(released), 1)


def run(slices: int, size: int, scroll_frames: int, workdir: Path) -> dict[str, Any]:
    data_dir, prep_s = prepare(workdir, slices, size)
    server = server_side(data_dir)
    browser = browser_side(data_dir, workdir, scroll_frames)
    warm = browser["open_warm"]
    return {
        "benchmark": "viewer",
        "parameters": {"slices": slices, "size": size, "scroll_frames": scroll_frames},
        "machine": {
            "python": platform.python_version(),
            "pydicom": pydicom.__version__,
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_avg_1min": round(os.getloadavg()[0], 2),
        },
        "prepare_seconds": round(prep_s, 1),
        "server": server,
        "browser": browser,
        "headline": {
            "first_image_from_navigation_cold_ms": browser["open_cold"]["first_image_ms"],
            "first_image_from_navigation_warm_ms": warm["first_image_ms"],
            "first_image_after_page_title_warm_ms": round(warm["first_image_ms"] - warm.get("title_ms", 0), 1),
            "first_image_after_data_ms": warm["first_image_after_data_ms"],
            "scroll_fps": browser["scroll"]["scroll_fps"],
            "scroll_fps_vs_raf": round(browser["scroll"]["scroll_fps"] / browser["scroll"]["raf_fps"], 2),
            "render_to_floor_ratio": server["render_to_floor_ratio"],
        },
    }


def print_table(result: dict[str, Any]) -> None:
    p, s, b = result["parameters"], result["server"], result["browser"]
    print(f"CT {p['slices']} x {p['size']}x{p['size']}  (load avg {result['machine']['load_avg_1min']})")
    print("server, per frame:")
    print(f"  floor (dcmread + decode)          {s['floor_ms_per_frame']:8.2f} ms")
    print(f"  render_frame + JPEG, cold         {s['render_encode_ms_per_frame']:8.2f} ms")
    print(f"  ratio to floor                    {s['render_to_floor_ratio']:8.2f} x")
    print(
        f"  payload: {s['payload_bytes'] / 1e6:.1f} MB {s['payload_mime']}, built in {s['payload_build_cold_s']:.2f} s "
        f"cold / {s['payload_build_warm_s']:.2f} s frames cached ({s['payload_threads']} threads); "
        f"hashing it per rerun {s['rerun_hash_ms']:.0f} ms"
    )
    print("browser, ms from navigation start:   title  data  first image  all decoded")
    for label in ("open_cold", "open_warm"):
        o = b[label]
        print(
            f"  {label:33} {o.get('title_ms', float('nan')):6.0f} {o['data_arrived_ms']:5.0f} "
            f"{o['first_image_ms']:12.0f} {o['all_decoded_ms']:12.0f}"
        )
    print(f"  first image after the data arrived: {b['open_warm']['first_image_after_data_ms']:.0f} ms")
    for label in ("scroll", "scroll_window_preview"):
        sc = b[label]
        print(f"{label:35} {sc['scroll_fps']:6.1f} fps (rAF {sc['raf_fps']:.1f}/s, {sc['slices_shown']} slices)")
    print(f"window drag release -> exact frame on screen: {b['window_round_trip_ms']:.0f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_viewer", description=__doc__.split("\n")[0])
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--scroll-frames", type=int, default=240)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.slices < 2 or args.size < 16 or args.scroll_frames < 10:
        parser.error("--slices must be at least 2, --size at least 16, --scroll-frames at least 10")
    if not Path(CHROMIUM).exists():
        raise SystemExit("Debian's chromium is needed (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="casedeck-bench-viewer-") as tmp:
        result = run(args.slices, args.size, args.scroll_frames, Path(tmp))
    print_table(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
