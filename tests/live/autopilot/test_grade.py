"""The autopilot's grades and the size action each one takes (pure)."""

from __future__ import annotations

from backtest.config import load_objectives
from live.autopilot.grade import grade, size_after


def test_grades_take_the_first_that_applies():
    obj = load_objectives()
    m = {"max_drawdown_pct": 1.0, "sharpe": 2.0, "profit_factor": 1.5, "monthly_return_pct": 20.0, "n_trades": 60}
    assert grade(m, obj, 50).level == "GOOD"
    assert grade({**m, "monthly_return_pct": 5.0}, obj, 50).level == "MODERATE"
    assert grade({**m, "sharpe": -0.5}, obj, 50).level == "POOR"
    assert grade({**m, "profit_factor": 0.8}, obj, 50).level == "POOR"
    assert grade({**m, "max_drawdown_pct": 6.0}, obj, 50).level == "CRITICAL"
    assert grade({**m, "halted": True}, obj, 50).level == "CRITICAL"
    assert grade(m, obj, 50, live_halted=True).level == "CRITICAL"
    assert grade({**m, "sharpe": float("nan")}, obj, 50).level == "POOR"
    assert size_after("POOR", 1.0, 0.75, 1.1, 2.0) == 0.75
    assert size_after("GOOD", 1.9, 0.75, 1.1, 2.0) == 2.0
    assert size_after("MODERATE", 1.3, 0.75, 1.1, 2.0) == size_after("CRITICAL", 1.3, 0.75, 1.1, 2.0) == 1.3
