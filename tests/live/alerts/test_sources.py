"""Each event is written where it happens, as one `alert` record with the figures its message needs (no "?" in it):
the risk guard's events on a real journal, and on the paper exchange a reconciliation difference, a refused order,
a feed lost and restored with its downtime, and a swap."""

from __future__ import annotations

import time
from dataclasses import replace
from types import SimpleNamespace

from live import risk
from live.control import Swap
from live.journal import Journal, read_records
from live.paper_exchange.config import FaultConfig
from live.rehearsal import make_rig
from tests.support.risk import LIMITS
from tests.support.trader import RULES_BUSY

DAY = 1_795_000_000  # some UTC day, s
HOUR = 3600


def _rules(p):
    from backtest.strategies.rules import RulesStrategy

    return RulesStrategy(p.trading)


def _alerts(root) -> list[dict]:
    return list(read_records(root, kinds={"alert"}))


def test_the_risk_guard_alerts_every_event_with_the_figures_its_message_names(tmp_path):
    now = [float(DAY)]
    journal = Journal(tmp_path, clock=lambda: now[0])
    state = SimpleNamespace(risk=risk.RiskState())  # the guard reads and replaces only `risk`
    guard = risk.RiskGuard(LIMITS, state, journal, clock=lambda: now[0])
    guard.on_bar_close(10_000.0)
    now[0] += HOUR
    guard.on_bar_close(9_700.0)  # 3 % down today: the daily stop
    now[0] += HOUR
    guard.on_bar_close(9_590.0)  # 4.1 % below the peak: the halt
    now[0] += 25 * HOUR
    guard.on_bar_close(9_600.0)  # a new UTC day
    for ok in (False, False, False, True):
        guard.on_exchange_call(ok)
    guard.limits = replace(LIMITS, emergency_stop_file=str(tmp_path / "STOP"))
    (tmp_path / "STOP").write_text("stop")
    guard.check_emergency()
    (tmp_path / "STOP").unlink()
    guard.check_emergency()
    guard.pause("checking the venue", flatten=True)
    guard.resume("operator")
    got = _alerts(tmp_path)
    assert [a["event"] for a in got] == ["daily_stop", "halt", "daily_reset", "breaker_open", "breaker_closed",
                                         "emergency_on", "emergency_off", "paused", "resumed"]  # fmt: skip
    by = {a["event"]: a for a in got}
    assert all("?" not in a["message"] for a in got), [a["message"] for a in got if "?" in a["message"]]
    assert by["halt"]["level"] == by["daily_stop"]["level"] == by["emergency_on"]["level"] == "critical"
    assert "is 4.10 % below its peak 10,000.00 (halt at 4 %)" in by["halt"]["message"]
    assert "is 3.00 % below today's start 10,000.00 (limit 3 %)" in by["daily_stop"]["message"]
    assert by["breaker_open"]["level"] == "warning" and "3 exchange calls failed" in by["breaker_open"]["message"]
    assert f"rm {tmp_path / 'STOP'}" in by["emergency_on"]["message"]
    assert [a["event"] for a in journal.alerts][-2:] == ["paused", "resumed"]  # the status keeps the same


def test_on_the_paper_exchange_a_difference_a_refusal_a_feed_outage_and_a_swap_are_alerted(tmp_path):
    hold = ["trading.max_hold_seconds=0", "trading.take_profit_pct=50", "trading.stop_loss_pct=50"]
    rig = make_rig(tmp_path, _rules, [*RULES_BUSY, *hold], n_bars=400, history=120, time_scale=60.0)
    try:
        for _ in range(60):
            rig.advance()
            if rig.trader.state.legs:
                break
        assert rig.trader.state.legs, "the rules never opened a position"
        # the trader forgets its legs: the venue's position is a difference, adopted
        rig.trader.state.legs = []
        rig.trader.reconcile("test")
        (diff,) = [a for a in _alerts(rig.root) if a["event"] == "reconcile_diff"]
        assert diff["level"] == "warning" and diff["figures"]["local_size"] == 0 and diff["figures"]["venue_size"]
        assert "difference(s) with the venue: adopted" in diff["message"] and "?" not in diff["message"]

        matcher = rig.exchange.engine.matcher
        normal = matcher.cfg
        matcher.cfg = normal.model_copy(update={"faults": FaultConfig(reject_rate=1.0)})  # every order refused
        with rig.trader._lock:
            rig.trader.flatten("test")
        refused = next(a for a in _alerts(rig.root) if a["event"] == "order_refused")
        fig = refused["figures"]
        assert fig["error"] and fig["size"] > 0 and fig["limit_px"] > 0 and fig["reason"]
        side = "buy" if fig["is_buy"] else "sell"
        assert f"order refused by the venue: {side} " in refused["message"] and "?" not in refused["message"]
        matcher.cfg = normal

        rig.exchange.feed.frozen = True
        t_end = time.monotonic() + 3.5  # silent past the 2 s floor of the stale-socket rule
        while time.monotonic() < t_end:
            rig.trader.step(0.05)
        rig.exchange.feed.frozen = False
        for _ in range(3):
            rig.advance(timeout=10)
        events = [a["event"] for a in _alerts(rig.root)]
        assert "feed_lost" in events and "feed_restored" in events
        restored = next(a for a in _alerts(rig.root) if a["event"] == "feed_restored")
        assert restored["figures"]["down_s"] >= 2 and "market data feed restored after" in restored["message"]

        assert rig.trader.handle(Swap("rules-2", "rules", reason="operator test", strategy=_rules(rig.params)))
        swap = next(a for a in _alerts(rig.root) if a["event"] == "swap")
        assert "policy swapped: test-policy -> rules-2 (operator test)" in swap["message"]
    finally:
        rig.stop()
