"""Metrics on hand-built backtest results whose figures can be worked out on paper."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pandas as pd
import pytest

from backtest.metrics import (
    RATIO_CAP,
    compute_metrics,
    drawdown_series,
    monthly_returns,
    periods_per_year,
    sharpe_sortino,
)
from tests.support.results import make_result, make_trades


def test_total_and_monthly_return_over_exactly_sixty_days():
    # 60 days of 1h bars; equity ends 21 % up -> monthly (30 d) geometric = sqrt(1.21) - 1 = 10 %
    n = 60 * 24
    eq = np.linspace(100.0, 121.0, n)
    m = compute_metrics(make_result(eq, bar_seconds=3600, initial=100.0))
    assert m["days"] == pytest.approx(60.0)
    assert m["total_return_pct"] == pytest.approx(21.0)
    assert m["monthly_return_pct"] == pytest.approx(10.0)
    assert m["annual_return_pct"] == pytest.approx((1.21 ** (365 / 60) - 1) * 100)
    assert m["final_equity"] == pytest.approx(121.0)
    assert m["n_bars"] == n


def test_max_drawdown_on_a_known_equity_path_counts_from_the_running_peak():
    # peak 120 then trough 90 -> 25 %; later dip 130 -> 117 is only 10 %
    eq = [100, 120, 110, 90, 105, 130, 117, 125]
    m = compute_metrics(make_result(eq, initial=100.0))
    assert m["max_drawdown_pct"] == pytest.approx(25.0)
    dd = drawdown_series(np.asarray(eq, dtype=float), 100.0)
    np.testing.assert_allclose(dd, [0, 0, 100 / 12, 25, 12.5, 0, 10, 100 * 5 / 130])


def test_drawdown_counts_a_first_bar_loss_against_the_initial_equity():
    m = compute_metrics(make_result([95.0, 96.0], initial=100.0))
    assert m["max_drawdown_pct"] == pytest.approx(5.0)
    assert drawdown_series(np.array([95.0, 96.0]))[0] == 0.0


def test_profit_factor_and_win_rate_on_known_trades():
    trades = make_trades([10.0, -5.0, 20.0, -10.0, 0.0], sides=[1, -1, 1, -1, 1])
    m = compute_metrics(make_result(np.full(60, 100.0), trades=trades))
    assert m["profit_factor"] == pytest.approx(30.0 / 15.0)
    assert m["win_rate_pct"] == pytest.approx(40.0)
    assert m["n_trades"] == 5
    assert (m["n_long"], m["n_short"]) == (3, 2)
    assert m["best_trade_pnl"] == 20.0 and m["worst_trade_pnl"] == -10.0
    assert m["gross_profit"] == 30.0 and m["gross_loss"] == 15.0
    assert m["avg_hold_seconds"] == pytest.approx(60.0)
    # 60 one-minute bars = 1/24 day -> 5 trades per 1/24 day
    assert m["trades_per_day"] == pytest.approx(5 * 24)


def test_profit_factor_without_losses_is_a_finite_cap_and_json_safe():
    m = compute_metrics(make_result(np.full(10, 100.0), trades=make_trades([1.0, 2.0])))
    assert m["profit_factor"] == RATIO_CAP
    no_trades = compute_metrics(make_result(np.full(10, 100.0)))
    assert no_trades["profit_factor"] == 0.0 and no_trades["win_rate_pct"] == 0.0
    json.dumps(m, allow_nan=False)
    json.dumps(no_trades, allow_nan=False)


def test_sharpe_is_annualised_for_one_minute_bars_around_the_clock():
    assert periods_per_year(60) == 525_600
    r = np.array([0.01, -0.005, 0.002, 0.0, 0.004, -0.001])
    eq = 100.0 * np.cumprod(1 + r)
    m = compute_metrics(make_result(eq, initial=100.0, bar_seconds=60))
    expected = r.mean() / r.std(ddof=1) * math.sqrt(525_600)
    assert m["sharpe"] == pytest.approx(expected)
    downside = math.sqrt(np.mean(np.minimum(r, 0) ** 2))
    assert m["sortino"] == pytest.approx(r.mean() / downside * math.sqrt(525_600))
    # the same returns on hourly bars annualise with sqrt(8760)
    hourly = compute_metrics(make_result(eq, initial=100.0, bar_seconds=3600))
    assert hourly["sharpe"] == pytest.approx(expected * math.sqrt(8760 / 525_600))


def test_sharpe_and_sortino_are_zero_when_undefined():
    assert sharpe_sortino(np.array([0.01]), 60) == (0.0, 0.0)
    flat = compute_metrics(make_result(np.full(100, 100.0)))
    assert flat["sharpe"] == 0.0 and flat["sortino"] == 0.0 and flat["calmar"] == 0.0
    rising = compute_metrics(make_result(np.linspace(100, 110, 50), initial=100.0))
    assert rising["sortino"] == 0.0  # no downside
    assert rising["calmar"] == RATIO_CAP  # no drawdown, positive return


def test_hold_rate_counts_only_bars_with_a_decision():
    actions = [-1, -1, 0, 0, 0, 1, 2, 0, -1, 1]  # 7 decisions, 4 HOLD
    m = compute_metrics(make_result(np.full(10, 100.0), actions=actions))
    assert m["n_decisions"] == 7
    assert m["hold_rate_pct"] == pytest.approx(400 / 7)


def test_decisions_after_the_drawdown_halt_are_not_counted():
    actions = [0, 1, 0, 2, 1, 1, 0, 1, -1]  # halt at bar 4: decisions from bar 4 on cannot open anything
    m = compute_metrics(make_result(np.full(9, 100.0), actions=actions, halts=[4]))
    assert m["n_decisions"] == 4
    assert m["hold_rate_pct"] == pytest.approx(50.0)


def test_exposure_is_the_share_of_bars_holding_a_position():
    position = [0, 0.1, 0.1, -0.2, 0, 0, 0, 0]
    m = compute_metrics(make_result(np.full(8, 100.0), position=position))
    assert m["exposure_pct"] == pytest.approx(37.5)


def test_provenance_halts_and_cost_totals_are_reported():
    res = make_result(
        np.full(5, 100.0), provenance={"source": "hybrid", "share_real": 0.25}, halts=[3], fees=12.5, funding=-1.0
    )
    m = compute_metrics(res)
    assert m["share_real"] == 0.25
    assert m["real_days"] == pytest.approx(0.25 * 5 / 1440)
    assert m["halted"] is True and m["n_halts"] == 1
    assert m["first_halt_time"] == "2024-01-01T00:03:00+00:00"
    assert m["fees_paid"] == 12.5 and m["funding_paid"] == -1.0
    assert compute_metrics(make_result([100.0], provenance={"source": "synthetic"}))["share_real"] == 0.0
    assert compute_metrics(make_result([100.0], provenance={"source": "real"}))["share_real"] == 1.0
    unknown = compute_metrics(make_result([100.0]))
    assert unknown["share_real"] is None and unknown["real_days"] is None


def test_wiped_out_account_reports_minus_one_hundred_percent():
    m = compute_metrics(make_result([50.0, 0.0], initial=100.0))
    assert m["monthly_return_pct"] == -100.0 and m["total_return_pct"] == -100.0
    assert m["max_drawdown_pct"] == 100.0


def test_short_spans_extrapolate_to_a_finite_capped_return():
    m = compute_metrics(make_result([100.0, 200.0], initial=100.0))
    assert math.isfinite(m["annual_return_pct"]) and m["annual_return_pct"] > 1e6
    json.dumps(m, allow_nan=False)


def test_monthly_returns_are_per_calendar_month_chained_from_month_ends():
    # daily bars from 2024-01-30: Jan ends at 110, Feb ends at 99, Mar ends at 108.9
    start = pd.Timestamp("2024-01-30", tz="UTC").value // 10**6
    days_jan, days_feb, days_mar = 2, 29, 3
    eq = [105, 110] + [100] * (days_feb - 1) + [99] + [100, 105, 108.9]
    assert len(eq) == days_jan + days_feb + days_mar
    s = monthly_returns(make_result(eq, initial=100.0, bar_seconds=86400, start_ms=start))
    assert [str(p) for p in s.index] == ["2024-01", "2024-02", "2024-03"]
    np.testing.assert_allclose(s.to_numpy(), [10.0, -10.0, 10.0])


def test_a_six_month_one_minute_result_is_measured_in_well_under_100_ms():
    n = 259_200
    rng = np.random.default_rng(0)
    eq = 10_000 * np.exp(np.cumsum(rng.normal(0, 1e-4, n)))
    trades = make_trades(list(rng.normal(0, 5, 5000)))
    res = make_result(eq, initial=10_000.0, trades=trades, actions=rng.integers(-1, 3, n), position=rng.random(n) < 0.3)
    compute_metrics(res)
    t = time.perf_counter()
    compute_metrics(res)
    monthly_returns(res)
    assert time.perf_counter() - t < 0.1


def test_trades_and_pnl_split_by_the_markets_session_state():
    from backtest.metrics import session_breakdown

    start = int(pd.Timestamp("2026-03-06 16:00", tz="America/New_York").value // 1_000_000)  # a Friday
    n = 240  # 16:00-20:00 ET: one hour open, then the weekend
    equity = 10_000 + np.arange(n, dtype=float)  # +1 a bar
    trades = make_trades([5.0, -2.0, 3.0, 1.0] + [0.5] * 20, start_ms=start)  # entries every 10 bars
    result = make_result(equity, initial=10_000.0, trades=trades, start_ms=start,
                         position=np.r_[np.ones(30), np.zeros(n - 30)], provenance={"coin": "xyz:XYZ100"})  # fmt: skip
    s = session_breakdown(result)
    assert list(s) == ["open", "daily_break", "weekend", "holiday"]
    assert s["open"]["bars"] == 60 and s["weekend"]["bars"] == 180 and s["holiday"]["bars"] == 0
    assert s["open"]["bar_pnl"] == pytest.approx(59.0) and s["weekend"]["bar_pnl"] == pytest.approx(180.0)
    assert s["open"]["exposure_pct"] == pytest.approx(50.0) and s["weekend"]["exposure_pct"] == 0.0
    assert s["open"]["n_trades"] == 6 and s["open"]["trade_pnl"] == pytest.approx(8.0)
    assert s["weekend"]["n_trades"] == 18 and s["weekend"]["win_rate_pct"] == 100.0
    always = session_breakdown(make_result(equity, initial=10_000.0, trades=trades, start_ms=start), "BTC")
    assert always["open"]["bars"] == n and always["open"]["n_trades"] == 24 and always["weekend"]["bars"] == 0
