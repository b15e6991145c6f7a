"""The dashboard as a person sees it: `python -m live.dashboard` serves a demo workspace (a real Trader's journal on
the paper exchange, a real report and registry), headless Chromium (Debian's `chromium`, driven by Playwright without
its own browsers) loads each page, and the figures rendered in the page are checked against the files. Every test
waits for rendered elements, so none can pass without the browser having drawn the page. Screenshots go to
`$AML100_SCREENSHOTS` (default runs/test-screenshots/).

Without /usr/bin/chromium these tests are skipped locally and fail in CI (CI=true): `.ci/run` installs it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from backtest.config import REPO_ROOT
from live.dashboard import views
from live.dashboard.demo import build_demo
from live.journal import read_records, read_status

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"]  # fmt: skip
SHOTS = Path(os.environ.get("AML100_SCREENSHOTS") or REPO_ROOT / "runs" / "test-screenshots")
WAIT_MS = 60_000

if CHROMIUM is None:
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed: the browser tests cannot run (apt-get install chromium)",
                    pytrace=False)  # fmt: skip
    pytest.skip("chromium is not installed (apt-get install chromium); browser tests skipped", allow_module_level=True)

playwright_api = pytest.importorskip("playwright.sync_api")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"the dashboard exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"the dashboard did not answer at {url}")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    return build_demo(tmp_path_factory.mktemp("dash") / "demo", live_bars=90, history=200, log=lambda *_: None)


@pytest.fixture(scope="module")
def server(workspace, tmp_path_factory):
    port = _free_port()
    sets = [x for o in [*workspace.overrides, "dashboard.allow_emergency_stop=true", "dashboard.refresh_seconds=1"]
            for x in ("--set", o)]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    log = open(tmp_path_factory.mktemp("dashlog") / "streamlit.log", "w")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "live.dashboard", "--port", str(port), *sets], env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(url, proc)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        log.close()


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    pg = browser.new_page(viewport={"width": 1400, "height": 1800})
    pg.set_default_timeout(WAIT_MS)
    yield pg
    pg.close()


def shot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000  # a drawn page, not a blank one
    return path


def metrics(page, *labels: str) -> dict[str, dict[str, str]]:
    """The st.metric cards: label -> {value, delta}; waits until each label in `labels` is rendered."""
    for label in labels:
        page.get_by_test_id("stMetricLabel").filter(has_text=label).first.wait_for()
    out = {}
    for m in page.get_by_test_id("stMetric").all():
        label = m.get_by_test_id("stMetricLabel").inner_text().strip()
        delta = m.get_by_test_id("stMetricDelta")
        out[label] = {"value": m.get_by_test_id("stMetricValue").inner_text().strip(),
                      "delta": delta.inner_text().strip() if delta.count() else ""}  # fmt: skip
    return out


def charts_drawn(page, n: int) -> None:
    """At least `n` Vega charts drawn (a canvas or svg with a size)."""
    page.wait_for_function(
        """n => [...document.querySelectorAll('.vega-embed canvas, .vega-embed svg')]
                 .filter(e => e.getBoundingClientRect().width > 100).length >= n""",
        arg=n,
    )


def test_live_page_shows_the_journal_figures(page, server, workspace):
    root = workspace.trader_root
    status = read_status(root)
    recs = list(read_records(root))
    decisions = [r for r in recs if r["kind"] == "decision"]
    fills = [r for r in recs if r["kind"] == "fill"]
    page.goto(server + "/")
    m = metrics(page, "Equity", "HOLD rate", "Fills", "Drawdown", "Feed")
    assert m["Equity"]["value"] == f"{status['equity']:,.2f}" == f"{decisions[-1]['equity']:,.2f}"
    pnl = status["equity"] - status["start_equity"]
    assert m["Equity"]["delta"] == f"{pnl:+,.2f}"
    hold = 100 * sum(d["action"] == "HOLD" for d in decisions) / len(decisions)
    assert m["HOLD rate"]["value"] == f"{hold:,.1f} %"
    assert m["Fills"]["value"] == str(len(fills))
    assert m["Position"]["value"] == f"{status['position']['size']:,.4f}"
    assert m["Drawdown"]["value"] == f"{status['risk']['drawdown_pct']:,.2f} %"
    assert m["Drawdown"]["delta"] == f"halt at {status['risk']['halt_level_pct']:,.2f} %"
    assert m["Emergency stop"]["value"] == "off" and m["Circuit breaker"]["value"] == "closed"
    # alerts: the demo's emergency stop was switched on and off; the trader journalled both
    page.get_by_text("emergency_on", exact=False).first.wait_for()
    page.get_by_text("emergency_off", exact=False).first.wait_for()
    # recent fills with slippage against the decision price, newest first
    newest = fills[-1]
    page.get_by_text(f"{newest['px']:,.2f}").first.wait_for()
    # live vs backtest, same bars: the caption carries both final figures
    cap = page.get_by_text("same bars, strategy rules").first
    cap.wait_for()
    text = cap.inner_text()
    assert f"live {status['equity']:,.2f}" in text
    bt = float(text.split("backtest ")[1].split(" ")[0].replace(",", ""))
    assert abs(bt - status["equity"]) / status["equity"] < 0.01  # live and backtest agree within 1 %
    charts_drawn(page, 3)  # equity, HOLD rate, heatmap
    entries = int(views.heatmap(views.entry_times(fills)).sum())
    page.get_by_text(f"{entries} entries in the window").wait_for()
    shot(page, "live")


def test_live_page_refreshes_by_itself_when_the_journal_grows(page, server, workspace):
    root = workspace.trader_root
    page.goto(server + "/")
    metrics(page, "Equity")
    status = read_status(root)
    new_equity = round(status["equity"] + 1234.56, 2)
    (root / "status.json").write_text(json.dumps({**status, "equity": new_equity}))
    try:
        page.get_by_test_id("stMetricValue").filter(has_text=f"{new_equity:,.2f}").first.wait_for(timeout=20_000)
    finally:
        (root / "status.json").write_text(json.dumps(status))


def test_emergency_stop_is_written_only_after_the_confirmation(page, server, workspace):
    stop = Path(next(o for o in workspace.overrides if o.startswith("live.emergency_stop_file=")).split("=", 1)[1])
    assert not stop.exists()
    page.goto(server + "/")
    page.get_by_text("Emergency stop: absent").click()
    button = page.get_by_role("button", name="Create the emergency stop")
    button.wait_for()
    assert button.is_disabled()
    page.get_by_text("I confirm: create the emergency stop").click()
    page.wait_for_function("() => ![...document.querySelectorAll('button')].find("
                           "b => b.innerText.includes('Create the emergency stop')).disabled")  # fmt: skip
    button.click()
    page.get_by_text("Emergency stop: PRESENT").wait_for()
    assert stop.exists()
    shot(page, "emergency_stop")
    page.get_by_text("I confirm: remove the emergency stop").click()
    page.get_by_role("button", name="Remove the emergency stop").click()
    page.get_by_text("Emergency stop: absent").wait_for()
    assert not stop.exists()


def test_autopilot_page_shows_the_cycle_timeline_gate_verdicts_and_swaps(page, server, workspace):
    path = next((workspace.root / "autopilot").glob("*/cycles.jsonl"))
    cycles = [json.loads(x) for x in path.read_text().splitlines()]
    s = views.cycle_summary(cycles)
    page.goto(server + "/autopilot")
    m = metrics(page, "Cycles", "Swaps")
    assert m["Cycles"]["value"] == str(len(cycles))
    assert m["Swaps"]["value"] == str(sum(1 for c in cycles if c.get("swap")))
    assert m["Gate passed / refused"]["value"] == f"{s['gate_passed']} / {s['gate_refused']}"
    assert m["Last status"]["value"] == cycles[-1]["status"]
    assert m["Trials"]["value"] == str(s["trials"])
    charts_drawn(page, 2)
    table = page.get_by_test_id("stTable").first
    table.wait_for()
    first_row = table.locator("tbody tr").first.inner_text()
    assert first_row.split()[0] == str(cycles[-1]["cycle"])  # newest first
    shot(page, "autopilot")


def test_research_page_lists_the_registry_reports_with_links_and_sweeps(page, server, workspace):
    index = json.loads((workspace.root / "registry" / "index.json").read_text())["entries"]
    promoted = next(e for e in index if e["status"] == "promoted")
    summary = json.loads((workspace.root / "tune" / "demo-execution" / "summary.json").read_text())
    page.goto(server + "/research")
    m = metrics(page, "Promoted", "Refused")
    assert m["Promoted"]["value"] == "1" and m["Refused"]["value"] == "1" and m["Candidate"]["value"] == "1"
    page.get_by_text(promoted["id"]).first.wait_for()
    page.get_by_text("trades (density breaker)").first.wait_for()  # the promoted entry's gate rows
    dsr = summary["levels"][0]["dsr"]["dsr"]
    page.get_by_text(f"execution {dsr:,.3f}").first.wait_for()
    link = page.get_by_role("link", name="20260301-000000_rules_synthetic")
    href = link.get_attribute("href")
    assert href == "/files/report/20260301-000000_rules_synthetic"
    got = page.request.get(server + href)
    assert got.ok and "Backtest: rules (demo)" in got.text()
    assert page.request.get(server + "/files/report/no-such-report").status == 404
    assert page.request.get(server + "/files/report/..%2F..%2Fregistry").status in (400, 404)  # never a file
    for label in ("overview", "jobs", "actors"):
        assert page.get_by_role("link", name=label).get_attribute("href").startswith("http://127.0.0.1:8265")
    shot(page, "research")
