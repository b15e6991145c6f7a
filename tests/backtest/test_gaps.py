"""The gap rule (`backtest.gaps`): segments and RL episodes never span a break, time is calendar time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backtest.config import load_objectives, load_params
from backtest.features import compute_features
from backtest.gaps import BREAK_AFTER_S, breaks, covered_seconds, run_end, runs
from backtest.metrics import compute_metrics
from backtest.runner import plan, run_backtest
from backtest.segments import plan_segments
from backtest.sim import Market
from tests.support.gaps import MIN, weekend_series


def test_a_break_is_a_step_longer_than_fifteen_minutes_or_one_bar():
    ts = np.array([0, 1, 2, 5, 20, 36, 37], dtype=np.int64) * MIN  # holes of 3, 15 and 16 minutes
    assert breaks(ts, 60).tolist() == [5]
    assert runs(ts, 60) == [(0, 5), (5, 7)]
    assert BREAK_AFTER_S == 900
    hourly = np.array([0, 1, 2, 4], dtype=np.int64) * 60 * MIN  # 1h bars: one missing hour is a break
    assert breaks(hourly, 3600).tolist() == [3]
    assert run_end(breaks(ts, 60), len(ts), 2) == 5 and run_end(breaks(ts, 60), len(ts), 5) == 7
    assert covered_seconds(ts, 60) == 38 * 60


def test_no_segment_spans_a_break_and_a_too_short_run_gets_none():
    segs = plan_segments(1000, 300, 100, breaks=[400, 401, 700])
    assert segs == [(100, 400), (401, 700), (700, 1000)]  # bar 400 alone between two breaks has nothing to trade
    assert all(not (s < b < e) for s, e in segs for b in (400, 401, 700))
    assert plan_segments(1000, 300, 100) == plan_segments(1000, 300, 100, breaks=[50])  # a break in the warm-up
    with pytest.raises(ValueError, match="no two unbroken bars"):
        plan_segments(10, 300, 5, breaks=[6, 7, 8, 9])


def test_a_backtest_holds_no_position_across_a_weekend_and_counts_calendar_days():
    p = load_params(overrides=["backtest.chunk_size=100000", "backtest.warmup_bars=100"])
    bars = weekend_series(p)
    market = Market.from_bars(bars, p)
    segs = plan(market, p).segments
    cuts = breaks(market.ts, 60)
    assert len(cuts) == 2 and len(segs) == 3  # one continuous chunk, cut at the two breaks
    result = run_backtest("buyhold", p, load_objectives(), market, compute_features(bars, p.trading))
    assert len(result.trades) == 3  # one position per unbroken run, closed before each gap
    lo = result.segments[0][0]  # trade bars count from the result's first bar
    for cut in cuts - lo:
        assert not ((result.trades.entry_bar < cut) & (result.trades.exit_bar >= cut)).any()
        assert result.position[cut - 1] == 0  # flat at the close before the gap
    m = compute_metrics(result)
    ts = result.timestamps
    assert m["days"] == pytest.approx(((ts[-1] - ts[0]) / 1000 + 60) / 86400)  # the 50 missing hours count
    assert m["days"] > m["n_bars"] * 60 / 86400 + 2.0


def test_annualisation_uses_the_bars_a_year_of_the_series_holds():
    from backtest.sim.result import BacktestResult

    rng = np.random.default_rng(3)
    eq = 100.0 * np.cumprod(1 + rng.normal(1e-5, 1e-4, 2000))

    def result(ts):
        return BacktestResult(ts, eq, eq, eq, np.zeros(2000), np.zeros(2000, np.int8), pd.DataFrame(
            columns=["pnl", "side", "return_pct", "hold_seconds"]), 100.0, 60)  # fmt: skip

    dense = compute_metrics(result(np.arange(2000, dtype=np.int64) * MIN))
    ts = np.arange(2000, dtype=np.int64) * MIN
    ts[1000:] += 2000 * MIN  # half the calendar time has no bars
    gapped = compute_metrics(result(ts))
    assert gapped["days"] == pytest.approx(2 * dense["days"])
    assert gapped["sharpe"] == pytest.approx(dense["sharpe"] / np.sqrt(2), rel=1e-9)
