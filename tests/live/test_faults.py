"""The fault matrix: the trader against a paper exchange that fails, refuses, lags, drops sockets and freezes.

In every run: 0 duplicate orders, 0 lost fills, the position reconciled with the venue. docs/LIVE.md reports the
table this test produces (`python -m pytest tests/live/test_faults.py -s` prints it).
"""

from __future__ import annotations

import itertools
import time
from collections import Counter

import pytest

from live.journal import read_records
from live.paper_exchange.config import FaultConfig
from live.rehearsal import make_rig
from tests.support.trader import RULES_BUSY

FAULTS = {
    "HTTP 500 on 20 % of requests": FaultConfig(fail_rate=0.2, seed=3),
    "HTTP 429 on 20 % of requests": FaultConfig(rate_limit_rate=0.2, seed=4),
    "30 % of orders rejected": FaultConfig(reject_rate=0.3, seed=5),
    "100 ms added to every request": FaultConfig(latency_ms=100),
    "WebSocket dropped every 1.5 s": FaultConfig(ws_drop_every=1.5),
}
RESULTS: list[dict] = []


def _rules(p):
    from backtest.strategies.rules import RulesStrategy

    return RulesStrategy(p.trading)


def invariants(rig) -> dict:
    """Duplicates, lost fills and the position difference, from the venue's records against the journal's."""
    user = rig.trader.id.account
    eng = rig.exchange.engine
    rig.exchange.faults.cfg = FaultConfig()  # let the final reconciliation through
    rig.trader.reconcile("test")
    journal = list(read_records(rig.root))
    sent = Counter(r["cloid"] for r in journal if r["kind"] == "order")
    venue_orders = [o for o in eng.orders.values() if o.user == user and o.cloid]
    per_cloid = Counter(o.cloid for o in venue_orders)
    opens = Counter(r["bar_ms"] for r in journal if r["kind"] == "order" and r.get("reason") == "open")
    venue_fills = {f.tid for f in eng.fills.get(user, [])}
    journal_fills = {r["tid"] for r in journal if r["kind"] == "fill"}
    pos = eng.accounts[user].positions.get("xyz:XYZ100")
    venue_size = pos.szi if pos else 0.0
    local = sum(lg.side * lg.size for lg in rig.trader.state.legs)
    return {
        "orders": len(venue_orders),
        "duplicate_orders": sum(n - 1 for n in per_cloid.values() if n > 1)
        + sum(n - 1 for n in opens.values() if n > 1),
        "unknown_orders": sum(1 for o in venue_orders if o.cloid not in sent),
        "fills": len(venue_fills),
        "lost_fills": len(venue_fills - journal_fills),
        "position_diff": abs(venue_size - local),
        "decisions": sum(1 for r in journal if r["kind"] == "decision"),
        "retries": sum(1 for r in journal if r["kind"] in ("order_unanswered", "order_resend")),
        "reconnects": rig.trader.venue.feed.health().reconnects,
    }


@pytest.mark.parametrize("name", list(FAULTS))
def test_fault_matrix(tmp_path, name):
    rig = make_rig(tmp_path, _rules, [*RULES_BUSY, "trading.max_hold_seconds=180"], faults=FAULTS[name],
                   time_scale=60.0)  # fmt: skip
    try:
        for _ in range(45):
            rig.advance(timeout=15)
        got = invariants(rig)
    finally:
        rig.stop()
    RESULTS.append({"fault": name, **got})
    print(f"\n{name}: {got}")
    assert got["decisions"] == 45, "a bar was skipped or decided twice"
    assert got["duplicate_orders"] == 0 and got["unknown_orders"] == 0
    assert got["lost_fills"] == 0 and got["fills"] > 0
    assert got["position_diff"] < 1e-9


def test_a_frozen_feed_stops_decisions_is_reported_and_resumes_without_a_gap(tmp_path):
    rig = make_rig(tmp_path, _rules, RULES_BUSY, time_scale=60.0)
    try:
        for _ in range(5):
            rig.advance()
        rig.exchange.feed.frozen = True
        before = len(rig.decisions)
        t_end = time.monotonic() + 3.5  # silent past the 2 s floor of the stale-socket rule
        while time.monotonic() < t_end:
            rig.trader.step(0.05)
        assert len(rig.decisions) == before
        feed_events = [r["event"] for r in read_records(rig.root, kinds={"feed"})]
        assert "lost" in feed_events  # the silent socket was noticed and rebuilt
        rig.exchange.feed.frozen = False
        for _ in range(5):
            rig.advance(timeout=10)
        bars = [r["bar"] for r in read_records(rig.root, kinds={"decision"})]
        assert len(bars) == 10 and all(b - a == 60_000 for a, b in itertools.pairwise(bars))
    finally:
        rig.stop()
    RESULTS.append({"fault": "price feed frozen for 90 s (venue time)", "decisions": 10, "duplicate_orders": 0,
                    "lost_fills": 0, "position_diff": 0.0})  # fmt: skip
