"""The promotion gate: out-of-sample (test) figures must meet `configs/objectives.yaml` before a policy is promoted.

Rows come from `backtest.objectives.check_objectives`: monthly return, Sharpe, max drawdown, profit factor and the
trade-density breaker. The breaker's minimum is `backtest.min_trades_threshold` scaled to the test span's length
(the threshold is set for a full `backtest.days` backtest). For live use (`for_live`) the figures must also have been
measured on at least `objectives.min_real_days` days of real HyperLiquid bars (`metrics["real_days"]`) and on at
least `objectives.min_real_or_proxy_days` days of real plus proxy bars (`metrics["proxy_days"]`: another market's
real bars mapped to this one, `python -m backtest.data import`), counted separately; synthetic bars count 0.
The verdict prints the fee schedule the figures were charged (`metrics["fee_schedule"]`: the venue's, its default or
a params override), so a promotion on fees the venue does not charge is visible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from backtest.config import Objectives
from backtest.objectives import ObjectiveCheck, check_objectives


def scaled_min_trades(threshold: int, span_days: float, full_days: float) -> int:
    """Trade-density minimum for a span of `span_days`, given `threshold` trades per `full_days` (at least 1)."""
    if full_days <= 0:
        raise ValueError(f"full_days must be > 0, got {full_days}")
    return max(1, math.ceil(threshold * span_days / full_days))


@dataclass
class GateVerdict:
    """What the gate decided and why; `table()` is the console view of every row."""

    check: ObjectiveCheck
    for_live: bool
    min_trades: int
    fees: str | None = None  # the fee schedule the judged figures were charged, and where it came from

    @property
    def passed(self) -> bool:
        return self.check.passed

    @property
    def failed(self) -> list[str]:
        return self.check.failed_names

    def table(self) -> str:
        scope = "live (real and real + proxy days required)" if self.for_live else "paper/backtest"
        verdict = "PASSED" if self.passed else "REFUSED"
        fees = f"\nfees: {self.fees or 'schedule not recorded'}"
        return f"{self.check.table()}{fees}\ngate ({scope}): {verdict}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "for_live": self.for_live,
            "min_trades": self.min_trades,
            "fees": self.fees,
            **self.check.to_dict(),
        }


def gate_check(metrics: dict[str, Any], objectives: Objectives, min_trades: int, for_live: bool = False) -> GateVerdict:
    """Judge out-of-sample `metrics` (from `compute_metrics`). For live, missing `real_days` or `proxy_days` count as
    0 days."""
    real_days = proxy_days = None
    if for_live:
        real_days = float(metrics.get("real_days") or 0.0)
        proxy_days = float(metrics.get("proxy_days") or 0.0)
    check = check_objectives(metrics, objectives, min_trades, real_days=real_days, proxy_days=proxy_days)
    return GateVerdict(check=check, for_live=for_live, min_trades=min_trades, fees=metrics.get("fee_schedule"))
