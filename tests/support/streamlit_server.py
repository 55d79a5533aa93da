"""A real `streamlit run` on 127.0.0.1 for browser tests: started, waited for, and stopped."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.helpers import ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def streamlit_app(script: str, *, env: Mapping[str, str], log_path: Path, address: str = "127.0.0.1") -> Iterator[str]:
    """Run ``script`` (relative to the repo) with ``env``; yields the base URL once /_stcore/health answers.

    ``address`` is where the app listens (0.0.0.0 still answers on 127.0.0.1, which the URL uses).
    """
    port = free_port()
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "streamlit", "run", script,
                "--server.headless", "true", "--server.port", str(port), "--server.address", address,
                "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
            ],
            cwd=ROOT, env=dict(env), stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise RuntimeError(f"streamlit did not start; see {log_path}") from None
                    time.sleep(0.3)
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=20)


#: True once the app's script run is over and no element of the run before is still shown.
SETTLED = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    return app && app.getAttribute("data-test-script-state") === "notRunning"
        && document.querySelector('[data-stale="true"]') === null;
}"""


def wait_settled(page: Any) -> None:
    """Wait (within the page's own timeout) until a Playwright ``page`` shows a finished run: a click
    during a rerun can be lost, or land on the old run's twin of a button."""
    page.wait_for_function(SETTLED)


@contextmanager
def checked_chromium(screenshots: Path, *, timeout_ms: float = 60_000) -> Iterator[Any]:
    """A Chromium context at 1440x900 (each tab its own Streamlit session) for tests with several tabs.

    A script error in any tab fails the test; every tab's screenshot is left in ``screenshots``.
    """
    from playwright.sync_api import expect, sync_playwright

    from tests.helpers import CHROMIUM_ARGS, require_tool

    chromium = require_tool("chromium")
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        context = instance.new_context(viewport={"width": 1440, "height": 900})
        context.set_default_timeout(timeout_ms)
        expect.set_options(timeout=timeout_ms)
        errors: list[str] = []
        context.on("page", lambda page: page.on("pageerror", lambda error: errors.append(str(error))))
        try:
            yield context
            for number, page in enumerate(context.pages):  # for the log when a test failed
                page.screenshot(path=str(screenshots / f"tab{number}.png"), full_page=True)
            assert errors == [], "a page threw in the browser"
        finally:
            instance.close()
