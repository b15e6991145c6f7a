"""Benchmark the dashboard on large inputs: a day of 1-minute bars in the journal and a month of autopilot cycles.

1. data: reading the journal window and computing every figure of the Live page (equity, decisions, HOLD rate,
   fills and slippage, open orders, heatmap, alerts with cycles) and of the Autopilot page (cycle rows, frame,
   summary); best of `--repeat` runs, and the live-vs-backtest replay of the day (after one warm-up run).
2. browser (when Debian's chromium is installed): `python -m live.dashboard` on that workspace, headless Chromium
   loads each page; the time from navigation until the page's key figures and tables are rendered, and until its
   charts are drawn. The first load after the server starts is reported apart (Python imports in the server).

Target: each page renders in under 2 s. Usage: python -m bench.bench_dashboard [--bars 1440] [--cycles 1440]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from backtest.config import REPO_ROOT, load_objectives, load_params
from live.dashboard import data, views
from live.dashboard.demo import synthetic_cycles, synthetic_journal


def build(root: Path, bars: int, cycles: int) -> list[str]:
    coin = load_params().market.coin
    trader = root / "live" / data.coin_slug(coin) / "0xbench"
    synthetic_journal(trader, coin, n_bars=bars)
    end_ms = max(json.loads(x)["ts"] for p in trader.glob("journal-*.jsonl") for x in p.read_text().splitlines())
    synthetic_cycles(root / "autopilot" / data.coin_slug(coin) / "cycles.jsonl", cycles, end_ms)
    return [f"live.journal_dir={root / 'live'}", f"dashboard.autopilot_dir={root / 'autopilot'}",
            f"backtest.reports_dir={root / 'reports'}", f"dashboard.tune_dir={root / 'tune'}",
            f"dashboard.registry_dir={root / 'registry'}", "backtest.warmup_bars=500", "backtest.chunk_size=100000",
            "dashboard.journal_days=3"]  # fmt: skip


def data_layer(paths: data.Paths, days: int) -> dict[str, float]:
    t0 = time.perf_counter()
    trader = data.find_traders(paths.journal_dir)[0]
    status = data.read_status(trader.root)
    recs = data.load_records(trader.root, days)
    t_read = time.perf_counter() - t0
    cyc = data.load_cycles(paths.cycles_file(trader.coin))
    fig = views.live_figures(status, recs, int(time.time() * 1000))
    k, dec, rows = fig["kinds"], fig["decisions"], fig["fills"]
    views.equity_frame(dec)
    views.hold_rate_series(dec)
    views.decision_rows(dec)
    views.fill_table(rows)
    views.open_orders(k.get("order", []), k.get("ack", []), k.get("cancel", []), k.get("fill", []))
    views.heatmap_frame(views.heatmap(views.entry_times(k.get("fill", []))))
    views.alerts(recs, data.load_records(paths.autopilot_root(trader.coin), days))
    t_live = time.perf_counter() - t0
    t1 = time.perf_counter()
    views.cycle_rows(cyc)
    views.cycle_frame(cyc)
    views.cycle_summary(cyc)
    return {"read": t_read, "live": t_live, "autopilot": time.perf_counter() - t1, "records": len(recs)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def browser(overrides: list[str], repeat: int) -> dict[str, list[float]] | None:
    chromium = shutil.which("chromium")
    if chromium is None:
        return None
    from playwright.sync_api import sync_playwright

    port = _free_port()
    sets = [x for o in overrides for x in ("--set", o)]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "live.dashboard", "--port", str(port), *sets], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    out: dict[str, list[float]] = {}
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(url + "/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=chromium, args=flags)
            # research (an empty registry here) is the baseline: what Streamlit itself costs for a page
            pages = {"live": ("/", ["Equity", "HOLD rate"], "entries in the window", 3),
                     "autopilot": ("/autopilot", ["Cycles", "Swaps"], "Cycles (newest first)", 2),
                     "research (baseline)": ("/research", [], "no sweep under", 0)}  # fmt: skip
            for name, (path, labels, last_text, n_charts) in pages.items():
                for i in range(repeat + 1):
                    pg = b.new_page(viewport={"width": 1400, "height": 1800})
                    pg.set_default_timeout(120_000)
                    t0 = time.perf_counter()
                    pg.goto(url + path)
                    for label in labels:
                        pg.get_by_test_id("stMetricLabel").filter(has_text=label).first.wait_for()
                    pg.get_by_text(last_text).first.wait_for()
                    if n_charts:
                        pg.get_by_test_id("stTable").first.wait_for()
                    t_fig = time.perf_counter() - t0
                    pg.wait_for_function("n => [...document.querySelectorAll('.vega-embed canvas, .vega-embed svg')]"
                                         ".filter(e => e.getBoundingClientRect().width > 100).length >= n",
                                         arg=n_charts)  # fmt: skip
                    t_all = time.perf_counter() - t0
                    out.setdefault(f"{name} first" if i == 0 else name, []).append(t_fig)
                    out.setdefault(f"{name} charts first" if i == 0 else f"{name} charts", []).append(t_all)
                    pg.close()
            b.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(15)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bars", type=int, default=1440, help="1-minute bars in the journal (1440 = a day)")
    ap.add_argument("--cycles", type=int, default=1440, help="autopilot cycles (1440 = a month of 30-minute cycles)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="aml100_bench_dash_"))
    try:
        overrides = build(root, args.bars, args.cycles)
        params = load_params(overrides=overrides)
        paths = data.Paths.from_params(params)
        runs = [data_layer(paths, params.dashboard.journal_days) for _ in range(args.repeat)]
        best = {k: min(r[k] for r in runs) for k in ("read", "live", "autopilot")}
        print(f"inputs: {args.bars} bars ({runs[0]['records']:,} journal records), {args.cycles} cycles")
        print(f"data   live page {best['live'] * 1e3:.0f} ms (journal read {best['read'] * 1e3:.0f} ms), "
              f"autopilot page {best['autopilot'] * 1e3:.0f} ms   (best of {args.repeat})")  # fmt: skip
        session = data.session_frames(data.load_records(data.find_traders(paths.journal_dir)[0].root, 3))
        data.backtest_equity(session, "rules", params, load_objectives())  # warm-up (numba cache load)
        t0 = time.perf_counter()
        data.backtest_equity(session, "rules", params, load_objectives())
        print(f"replay live vs backtest over the day: {(time.perf_counter() - t0) * 1e3:.0f} ms (cached per bar)")
        if not args.no_browser:
            got = browser(overrides, args.repeat)
            if got is None:
                print("browser: chromium not installed, skipped")
            else:
                for k, v in got.items():
                    print(f"browser {k:22s} {min(v):.2f} s" + (f" (best of {len(v)})" if len(v) > 1 else ""))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
