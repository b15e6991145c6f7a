"""The promotion gate: refuses any single missed objective, accepts figures that meet all, live needs real bars."""

from __future__ import annotations

import pytest

from backtest.config import load_objectives
from rl.gate import gate_check, scaled_min_trades

# objectives.yaml: monthly >= 15 %, sharpe >= 1.5, drawdown <= 5 %, profit factor >= 1.3; min_trades given here
GOOD = {
    "monthly_return_pct": 20.0,
    "sharpe": 2.0,
    "max_drawdown_pct": 3.0,
    "profit_factor": 1.6,
    "n_trades": 120,
    "real_days": 0.0,
}
MISSES = {
    "monthly_return_pct": 14.9,
    "sharpe": 1.49,
    "max_drawdown_pct": 5.1,
    "profit_factor": 1.29,
    "n_trades": 99,
}


@pytest.fixture(scope="module")
def objectives():
    return load_objectives()


def test_accepts_figures_that_meet_every_objective(objectives):
    verdict = gate_check(GOOD, objectives, min_trades=100)
    assert verdict.passed, verdict.table()
    assert "PASSED" in verdict.table()


@pytest.mark.parametrize("name", sorted(MISSES))
def test_refuses_a_single_missed_objective(objectives, name):
    metrics = {**GOOD, name: MISSES[name]}
    verdict = gate_check(metrics, objectives, min_trades=100)
    assert not verdict.passed
    assert verdict.failed == [name]
    assert "REFUSED" in verdict.table() and "FAIL" in verdict.table()


def test_for_live_refuses_synthetic_only_figures(objectives):
    verdict = gate_check(GOOD, objectives, min_trades=100, for_live=True)
    assert not verdict.passed and verdict.failed == ["real_days", "real_or_proxy_days"]
    assert not gate_check({k: v for k, v in GOOD.items() if k != "real_days"}, objectives, 100, True).passed
    real = {**GOOD, "real_days": objectives.min_real_or_proxy_days}
    assert gate_check(real, objectives, min_trades=100, for_live=True).passed


def test_for_live_counts_real_and_proxy_days_separately(objectives):
    need_real, need_both = objectives.min_real_days, objectives.min_real_or_proxy_days
    proxy_only = {**GOOD, "real_days": 0.0, "proxy_days": need_both}
    assert gate_check(proxy_only, objectives, 100, True).failed == ["real_days"]  # proxy days never stand in for real
    few_real = {**GOOD, "real_days": need_real, "proxy_days": 0.0}
    assert gate_check(few_real, objectives, 100, True).failed == ["real_or_proxy_days"]
    both = {**GOOD, "real_days": need_real, "proxy_days": need_both - need_real}
    verdict = gate_check(both, objectives, 100, True)
    assert verdict.passed and "days of real + proxy data" in verdict.table()
    assert not gate_check({**GOOD, "proxy_days": 1e9}, objectives, 100, for_live=False).failed  # paper: no day rows


def test_missing_figure_fails(objectives):
    metrics = {k: v for k, v in GOOD.items() if k != "sharpe"}
    assert gate_check(metrics, objectives, 100).failed == ["sharpe"]


def test_min_trades_scales_with_span():
    assert scaled_min_trades(50, 36, 180) == 10
    assert scaled_min_trades(50, 0.1, 180) == 1


def test_the_verdict_prints_the_fee_schedule_the_figures_were_charged(objectives):
    from backtest.venue.fees import default_schedule

    label = default_schedule("xyz:XYZ100").label()
    verdict = gate_check({**GOOD, "fee_schedule": label}, objectives, min_trades=100)
    assert f"fees: {label}" in verdict.table() and verdict.to_dict()["fees"] == label
    assert "fees: schedule not recorded" in gate_check(GOOD, objectives, min_trades=100).table()
