"""Grades and their actions, as pure functions (the thresholds live in configs/objectives.yaml `status:`).

The first grade that applies:

- CRITICAL: max drawdown >= `status.critical_drawdown_pct`, or the drawdown halt fired (in the judged backtest or in
  the live trader). Action: pause the live trader (flatten, no new opens) and improve.
- POOR: Sharpe < `status.poor_sharpe_below`, or profit factor < `status.poor_profit_factor_below`. Action: position
  size x `autopilot.size_down`.
- GOOD: every objective of configs/objectives.yaml met (the promotion gate's rows). Action: position size x
  `autopilot.size_up`, never past `live.size_multiplier_max`.
- MODERATE: otherwise. Action: keep.

Improvement runs for the grades in `autopilot.improve_on` (default CRITICAL and POOR).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from backtest.config import Objectives
from backtest.objectives import check_objectives

LEVELS = ("CRITICAL", "POOR", "MODERATE", "GOOD")


@dataclass(frozen=True)
class Grade:
    level: str
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "reasons": list(self.reasons)}


def _num(metrics: dict[str, Any], key: str) -> float:
    v = metrics.get(key)
    return float(v) if isinstance(v, int | float) and math.isfinite(float(v)) else float("nan")


def grade(metrics: dict[str, Any], objectives: Objectives, min_trades: int, live_halted: bool = False) -> Grade:
    """The grade of a judged window (metrics from `backtest.metrics.compute_metrics`)."""
    st = objectives.status
    dd, sharpe, pf = _num(metrics, "max_drawdown_pct"), _num(metrics, "sharpe"), _num(metrics, "profit_factor")
    critical = []
    if dd >= st.critical_drawdown_pct:
        critical.append(f"max drawdown {dd:.2f} % >= {st.critical_drawdown_pct:g} %")
    if metrics.get("halted"):
        critical.append("the drawdown halt fired in the judged window")
    if live_halted:
        critical.append("the live trader's drawdown halt fired")
    if critical:
        return Grade("CRITICAL", critical)
    poor = []
    if not sharpe >= st.poor_sharpe_below:  # NaN counts as poor
        poor.append(f"Sharpe {sharpe:.3g} < {st.poor_sharpe_below:g}")
    if not pf >= st.poor_profit_factor_below:
        poor.append(f"profit factor {pf:.3g} < {st.poor_profit_factor_below:g}")
    if poor:
        return Grade("POOR", poor)
    check = check_objectives(metrics, objectives, min_trades)
    if check.passed:
        return Grade("GOOD", ["every objective met"])
    return Grade("MODERATE", [f"objectives not met: {', '.join(check.failed_names)}"])


def size_after(level: str, current: float, size_down: float, size_up: float, cap: float) -> float:
    """The size multiplier a grade asks for (CRITICAL leaves it: the trader is paused instead)."""
    if level == "POOR":
        return current * size_down
    if level == "GOOD":
        return min(current * size_up, cap)
    return current
