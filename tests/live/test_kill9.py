"""The trader killed with kill -9 in the middle of an order, then restarted: 0 duplicate orders, 0 lost fills, the
position reconciled. The trader runs as a real process (`python -m live.serve --in-process`); the paper exchange
runs here and keeps going while the trader is dead (its answer to the in-flight order is never read)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from backtest.config import load_params
from live.control import LiveControl
from live.journal import read_records
from live.keys import paper_wallet
from live.paper_exchange.server import start_in_thread
from live.rehearsal import MATCHED, matched_paper_config, synthetic_bars
from tests.support.trader import RULES_BUSY

REPO = Path(__file__).resolve().parents[2]


def _spawn(url: str, journal_dir: Path, log: Path) -> subprocess.Popen:
    sets = [*MATCHED, *RULES_BUSY, "live.history_bars=600", "backtest.warmup_bars=600",
            f"live.journal_dir={journal_dir}", "live.order_timeout_s=5", "live.stale_feed_seconds=60",
            f"live.emergency_stop_file={journal_dir / 'ESTOP'}"]  # fmt: skip
    cmd = [sys.executable, "-m", "live.serve", "--in-process", "--strategy", "rules", "--base-url", url,
           "--status-every", "1000"]  # fmt: skip
    for s in sets:
        cmd += ["--set", s]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT)


def _records(root: Path) -> list[dict]:
    return list(read_records(root)) if root.exists() else []


def _wait(pred, timeout: float, what: str) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_kill_9_mid_order_then_restart_no_duplicates_no_lost_fills_position_reconciled(tmp_path):
    params = load_params(overrides=MATCHED)
    coin = params.market.coin
    signer = paper_wallet(coin, 1)
    user = signer.account.lower()
    server = start_in_thread(matched_paper_config(params, 600), bars=synthetic_bars(2000, params))
    root = tmp_path / "live" / "xyz_XYZ100" / user
    procs: list[subprocess.Popen] = []
    try:
        procs.append(_spawn(server.url, tmp_path / "live", tmp_path / "trader1.log"))
        _wait(lambda: any(r["kind"] == "history" for r in _records(root)), 90, "the trader to warm up")

        def bar() -> None:
            server.step(3 - server.exchange.feed.point)
            server.step(1)
            time.sleep(0.4)

        def unanswered_open() -> bool:
            recs = _records(root)
            acked = {r["cloid"] for r in recs if r["kind"] == "ack"}
            return any(r["kind"] == "order" and r.get("reason") == "open" and r["cloid"] not in acked for r in recs)

        for _ in range(8):  # trade normally for a while
            bar()
        # the next opening order is placed, and then the venue sits on its answer for 2 s: the trader dies waiting
        px = server.exchange
        armed = threading.Event()
        place = px.engine.place

        def slow_place(user_, action):
            out = place(user_, action)
            if armed.is_set() and any(not o.reduce_only for o in action.orders):
                armed.clear()
                time.sleep(2.0)
            return out

        px.engine.place = slow_place
        armed.set()
        for _ in range(40):
            server.step(3 - px.feed.point)
            server.step(1)
            try:
                _wait(unanswered_open, 3.0, "an order in flight")
                break
            except AssertionError:
                continue
        assert unanswered_open(), "no opening order was ever in flight"
        procs[-1].send_signal(signal.SIGKILL)
        procs[-1].wait(10)
        killed_at = len(_records(root))
        time.sleep(2.5)  # the venue finishes the order nobody will read the answer of
        user_orders_at_kill = [o for o in px.engine.orders.values() if o.user == user]

        procs.append(_spawn(server.url, tmp_path / "live", tmp_path / "trader2.log"))
        _wait(lambda: sum(r["kind"] == "start" for r in _records(root)) == 2 and
              any(r["kind"] == "reconcile" for r in _records(root)[killed_at:]), 90, "the restart")  # fmt: skip
        for _ in range(8):
            bar()
        LiveControl(root).stop(flatten=True)
        procs[-1].wait(60)

        recs = _records(root)
        restart = [r for r in recs[killed_at:] if r["kind"] == "ack" and r.get("via") == "restart"]
        assert restart, "the in-flight order was not looked up after the restart"
        sent = Counter(r["cloid"] for r in recs if r["kind"] == "order")
        venue_orders = [o for o in px.engine.orders.values() if o.user == user and o.cloid]
        assert max(Counter(o.cloid for o in venue_orders).values()) == 1  # no cloid placed twice
        assert all(o.cloid in sent for o in venue_orders)  # nothing the journal does not know about
        assert restart[0]["status"] == "filled"  # the order landed although its answer was never read
        assert len([o for o in venue_orders if o.cloid == restart[0]["cloid"]]) == 1
        venue_tids = {f.tid for f in px.engine.fills.get(user, [])}
        assert venue_tids <= {r["tid"] for r in recs if r["kind"] == "fill"}  # no lost fills
        pos = px.engine.accounts[user].positions.get(coin)
        assert pos is None or abs(pos.szi) < 1e-9  # flattened at the stop: the restarted trader knew the position
        assert user_orders_at_kill
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        server.stop()
