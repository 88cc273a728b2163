"""The dashboard in a real browser: the Streamlit server as ``negsim dashboard`` starts it, driven
by Debian's chromium through Playwright (never ``playwright install``: it downloads a browser).

Without /usr/bin/chromium the tests skip, except under ``CI=true`` where that is a failure
(``make test`` installs chromium with apt-get when it can). Every request the page makes must go
to the loopback server: the dashboard is meant to work offline. A screenshot of the single-run
page and the time a rerun takes are written to tests/artifacts/ (ignored by git).

Run with ``pytest tests/test_browser.py -q -s`` to see the timings and request counts.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "dashboard"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
READY = '[data-testid="stApp"][data-test-script-state="notRunning"]'
SERVER_START_TIMEOUT = 60.0  # s; healthy in about 0.5 s here
PAGE_TIMEOUT = 30_000  # ms; a page is ready in 2-3 s here
VIEWPORT = {"width": 1400, "height": 1000}

# The four Altair charts of the single-run page are drawn: each has its Vega scene (SVG or
# canvas, depending on the renderer) with a size and, for SVG, some marks in it.
CHARTS_DRAWN = """(n) => {
  const charts = [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')];
  return charts.length >= n && charts.every((c) => {
    const scene = c.querySelector('svg.marks, canvas.marks');
    if (!scene) return false;
    const box = scene.getBoundingClientRect();
    return box.width > 0 && box.height > 0
      && (scene.tagName === 'CANVAS' || scene.querySelector('path, text') !== null);
  });
}"""

# The page has rerun for a new seed: the Seed metric shows it and the script has finished.
RERUN_DONE = """(seed) => {
  const app = document.querySelector('[data-testid="stApp"]');
  const metric = document.querySelector('[data-testid="stMetricValue"]');
  return app !== null && app.dataset.testScriptState === 'notRunning'
    && metric !== null && metric.innerText.trim() === String(seed);
}"""


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def chromium() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    reason = (f"Chromium not installed: {CHROMIUM} is missing "
              "(`apt-get install chromium`, which `make test` does when run as root)")
    if os.environ.get("CI") == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    # No proxy: a proxy set in the environment must not see (or break) a loopback request.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _stop(proc: subprocess.Popen) -> None:
    """Terminate the server's whole process group (it has its own session): no orphans."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)
    # Whatever is left in the group (the server if it ignored SIGTERM, or anything it started).
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def server(chromium: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The dashboard on a free loopback port, started exactly as ``negsim dashboard`` does."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "streamlit", "run", str(DASHBOARD / "app.py"),
               "--server.address", "127.0.0.1", "--server.port", str(port),
               "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    tmp = tmp_path_factory.mktemp("dashboard")
    log_path = tmp / "server.log"
    env = {**os.environ, "NEGSIM_STORE": str(tmp / "results.duckdb")}
    with open(log_path, "wb") as log:
        # cwd: the dashboard folder, so that its .streamlit/config.toml applies.
        proc = subprocess.Popen(command, cwd=DASHBOARD, env=env, stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    try:
        started = time.perf_counter()
        deadline = started + SERVER_START_TIMEOUT
        while not _healthy(url):
            if proc.poll() is not None or time.perf_counter() > deadline:
                tail = log_path.read_text(errors="replace")[-2000:]
                why = (f"exited with code {proc.returncode}" if proc.poll() is not None
                       else f"not healthy after {SERVER_START_TIMEOUT:.0f} s")
                pytest.fail(f"dashboard server {why}:\n{tail}", pytrace=False)
            time.sleep(0.1)
        print(f"\n[browser] server healthy on {url} in {time.perf_counter() - started:.2f} s")
        yield url
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


class Recorder:
    """Every request a page makes, and uncaught JavaScript errors."""

    def __init__(self, page: Page) -> None:
        self.urls: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda request: self.urls.append(request.url))
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def check(self, label: str) -> None:
        outside = [u for u in self.urls if urlsplit(u).hostname not in LOOPBACK]
        print(f"[browser] {label}: {len(self.urls)} requests, "
              f"{len(outside)} to non-loopback hosts")
        assert not outside, f"the page fetched from outside the machine: {outside[:10]}"
        assert not self.errors, f"JavaScript errors in the page: {self.errors[:5]}"


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(PAGE_TIMEOUT)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture(scope="module")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ignore = ARTIFACTS / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# Screenshots and timings written by tests/test_browser.py.\n*\n")
    return ARTIFACTS


# --------------------------------------------------------------------------- helpers


def wait_ready(page: Page, title: str | None = None) -> None:
    """Wait until the script run triggered by the last action has finished (and, after loading
    a page, until its title is shown: the app reads "not running" before its first run too)."""
    if title is not None:
        page.get_by_role("heading", name=title, exact=True, level=1).wait_for()
    page.wait_for_selector(READY)
    assert page.locator('[data-testid="stException"]').count() == 0, (
        page.locator('[data-testid="stException"]').first.inner_text())


def scenario_hash(caption: str) -> str:
    """The scenario hash a caption shows (12 hex digits)."""
    found = re.search(r"\b[0-9a-f]{12}\b", caption)
    assert found, f"no scenario hash in {caption!r}"
    return found.group()


def query(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def slider_in_group(page: Page, group: str, label: str) -> Locator:
    """A slider widget of the Scenario page (``stSlider``), by its group's heading (e.g.
    ``Russia: public``) and its label: labels repeat from one party to the other. Its
    ``input[type=range]`` holds the value, its ``stSliderThumbValue`` shows it."""
    blocks = page.locator('[data-testid="stVerticalBlock"]').filter(
        has=page.get_by_text(group, exact=True))
    # Containers nest: the last match in document order is the innermost, the group itself.
    # (Not get_by_role(name=..., exact=True): the accessible name repeats the label.)
    return blocks.last.get_by_test_id("stSlider").filter(
        has=page.locator(f'input[type="range"][aria-label="{label}"]'))


# --------------------------------------------------------------------------- tests


def test_edit_run_and_screenshot(server: str, page: Page, artifacts: Path) -> None:
    recorder = Recorder(page)

    # Scenario page: move Russia's ratification threshold with the keyboard.
    page.goto(f"{server}/")
    wait_ready(page, "Scenario")
    widget = slider_in_group(page, "Russia: public", "Support needed to ratify")
    widget.wait_for()  # strict: exactly one such slider
    slider = widget.locator('input[type="range"]')
    hash_caption = page.get_by_test_id("stCaptionContainer").filter(has_text="Scenario hash:")
    default_hash = scenario_hash(hash_caption.inner_text())
    before = float(slider.input_value())
    slider.focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    page.wait_for_url(re.compile(r"[?&]russia\.threshold="))
    after = float(slider.input_value())
    assert after == pytest.approx(before + 0.05), (before, after)
    assert float(query(page)["russia.threshold"][0]) == pytest.approx(after)
    # The page has rerun with the edit: the edited scenario has another hash.
    expect(hash_caption).not_to_contain_text(default_hash, timeout=PAGE_TIMEOUT)
    wait_ready(page)
    edited_hash = scenario_hash(hash_caption.inner_text())

    # Single run page, through the sidebar navigation.
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Single run").click()
    page.wait_for_url(re.compile(r"/single_run"))
    wait_ready(page, "Single run")
    reason = page.get_by_test_id("negsim-reason").inner_text().strip()
    print(f"[browser] single-run address: {page.url}")
    print(f"[browser] outcome: {reason}")
    assert re.match(r"(No agreement|The leaders signed)\b.{10,}[.!]$", reason, re.S), reason
    footer = page.get_by_test_id("stCaptionContainer").filter(has_text="page computed in")
    assert scenario_hash(footer.inner_text()) == edited_hash, "the run ignored the edit"
    page.wait_for_function(CHARTS_DRAWN, arg=4)
    utility = page.get_by_test_id("stColumn").filter(has_text="Offers in utility space").last
    assert utility.locator('[data-testid="stVegaLiteChart"] .mark-symbol path').count() > 10
    islands = page.get_by_test_id("stColumn").filter(
        has_text="The islands after the outcome").last
    assert islands.locator('[data-testid="stVegaLiteChart"] .mark-shape path').count() >= 5

    # Full-page screenshot: Streamlit scrolls inside its main element, so make the viewport as
    # tall as the content rather than rely on full_page alone.
    height = page.evaluate(
        "() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": VIEWPORT["width"], "height": max(height, 600)})
    page.wait_for_function(CHARTS_DRAWN, arg=4)
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    shot = artifacts / "single_run.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    page.set_viewport_size(VIEWPORT)

    # Time a rerun: from a click on the Seed's "+" until the new run is drawn.
    seed = int(page.get_by_test_id("stMetricValue").first.inner_text())
    started = time.perf_counter()
    page.get_by_test_id("stSidebar").get_by_test_id("stNumberInputStepUp").click()
    page.wait_for_function(RERUN_DONE, arg=seed + 1)
    rerun = time.perf_counter() - started
    page.wait_for_function(CHARTS_DRAWN, arg=4)
    assert query(page)["seed"] == [str(seed + 1)]
    line = (f"single run, Seed {seed} -> {seed + 1} (sidebar +): page re-run and drawn in "
            f"{rerun:.2f} s")
    print(f"[browser] {line}")
    (artifacts / "timings.txt").write_text(line + "\n")

    recorder.check("edit, single run, rerun")


def test_shared_url_sets_the_control(server: str, page: Page) -> None:
    recorder = Recorder(page)
    page.goto(f"{server}/?russia.approval=0.8")
    wait_ready(page, "Scenario")
    widget = slider_in_group(page, "Russia: leader", "Vladimir Putin: approval")
    widget.wait_for()
    assert float(widget.locator('input[type="range"]').input_value()) == pytest.approx(0.8)
    assert widget.get_by_test_id("stSliderThumbValue").inner_text().strip() == "0.80"
    assert query(page)["russia.approval"] == ["0.8"]
    recorder.check("shared URL")


def test_play_one_short_game(server: str, page: Page) -> None:
    """A student plays Japan: no offer at meeting 1, accepts Putin's demand at meeting 2; the
    game ends (the Japanese public will not ratify recognition first) and says why."""
    recorder = Recorder(page)
    page.goto(f"{server}/play?noise=0")
    wait_ready(page, "Play")
    page.get_by_role("button", name="Make no offer").click()
    wait_ready(page)
    page.get_by_role("button", name="Accept", exact=True).click()
    wait_ready(page)
    reason = page.locator('[data-testid="negsim-reason"]')
    reason.wait_for()
    text = reason.inner_text()
    assert text.startswith("The leaders signed a deal"), text
    assert "ratification failed in Japan" in text
    assert page.get_by_role("button", name="Download the game (RunResult JSON)").count() == 1
    recorder.check("play")
