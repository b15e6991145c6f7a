"""The replay of a live session: opens the live trader's own risk controls blocked are blocked in the backtest too."""

from __future__ import annotations

import numpy as np
import pandas as pd

from backtest.sim import Market
from backtest.strategies.rules import RulesStrategy
from live.rehearsal import make_rig
from live.replay import Session, live_only_blocks, replay, sessions, skipped_opens
from tests.support.trader import RULES_BUSY

MIN = 60_000


def _market(n: int) -> Market:
    z = np.zeros(n)
    return Market(ts=np.arange(n, dtype=np.float64) * MIN, open=z, high=z, low=z, close=z, atr=z, funding=z,
                  bar_seconds=60)  # fmt: skip


def test_a_live_only_block_removes_the_open_after_its_decision_and_the_backtests_own_blocks_stay_its_own():
    decisions = [
        {"bar": 1 * MIN, "blocked": "daily loss limit"},
        {"bar": 2 * MIN, "blocked": "paused (autopilot cycle 4: CRITICAL)"},
        {"bar": 3 * MIN, "blocked": "drawdown halt"},  # the simulator has its own halt
        {"bar": 4 * MIN, "blocked": None},
        {"bar": 5 * MIN, "blocked": "circuit breaker"},
        {"bar": 9 * MIN, "blocked": "emergency stop"},  # the series' last bar: no open after it
    ]
    market, why = live_only_blocks(Session({}, pd.DataFrame(), decisions=decisions), _market(10), MIN)
    np.testing.assert_array_equal(np.flatnonzero(market.opens == 0), [2, 3, 6])
    assert why == {"daily loss limit": 1, "paused": 1, "circuit breaker": 1}


def test_a_session_whose_daily_loss_limit_fired_replays_in_agreement(tmp_path):
    rig = make_rig(tmp_path, lambda p: RulesStrategy(p.trading), [*RULES_BUSY, "live.daily_loss_limit_pct=0.3"])
    try:
        for _ in range(90):
            rig.advance()
        session = sessions(rig.root)[-1]
        assert any(d.get("blocked") == "daily loss limit" for d in session.decisions), "the limit never fired"
        report = replay(session, "rules", rig.params, rig.objectives)
        print(report.table())
        assert report.live_only_blocks.get("daily loss limit", 0) > 0
        assert report.trades_agree and report.agrees, report.table()
        assert "live-only risk blocks" in report.table()
    finally:
        rig.stop()


def test_opens_live_sent_no_order_for_are_counted_by_reason_and_its_risk_blocks_are_not():
    decisions = [{"bar": 1 * MIN, "blocked": "daily loss limit"}, {"bar": 2 * MIN, "blocked": None}]
    skips = [
        {"bar": 1 * MIN, "action": "BUY", "why": "daily loss limit"},  # a block: the replay blocks it itself
        {"bar": 2 * MIN, "why": "size below the venue minimum", "size": 0.0},
        {"bar": 3 * MIN, "why": "no book for the entry: HTTP 502"},
        {"bar": 4 * MIN, "why": "no book for the entry: timed out"},
    ]
    session = Session({}, pd.DataFrame(), decisions=decisions, skips=skips)
    assert skipped_opens(session) == {"size below the venue minimum": 1, "no book for the entry": 2}


def test_a_session_whose_orders_the_live_caps_cut_replays_in_agreement_and_says_so(tmp_path):
    rig = make_rig(tmp_path, lambda p: RulesStrategy(p.trading), [*RULES_BUSY, "live.max_order_notional=20"])
    try:
        for _ in range(60):
            rig.advance()
        session = sessions(rig.root)[-1]
        assert session.size_caps, "no open was capped"
        report = replay(session, "rules", rig.params, rig.objectives)
        print(report.table())
        assert report.size_caps == {"max_order_notional": len(session.size_caps)}
        assert report.agrees, report.table()  # the same trades; each fill's fee checked at its own notional
        assert f"live size caps         {len(session.size_caps)} open(s) cut (max_order_notional x" in report.table()
    finally:
        rig.stop()
