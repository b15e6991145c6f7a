"""Does a backtest meet `configs/objectives.yaml`? One pass/fail row per objective, plus the trade-density
circuit breaker: with fewer than `min_trades` trades the other figures are noise, so the whole check fails loudly.

Kept generic (a list of rows over a metrics dict) so the promotion gate reuses it, with its `real_days` and
`real_or_proxy_days` rows.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from backtest.config import Objectives

_OPS = {">=": lambda v, t: v >= t, "<=": lambda v, t: v <= t}


@dataclass(frozen=True)
class ObjectiveRow:
    """One objective: `value op threshold` (e.g. sharpe >= 1.5). A missing or NaN value fails."""

    name: str
    label: str
    value: float | None
    op: str
    threshold: float
    passed: bool

    @classmethod
    def make(cls, name: str, label: str, value: Any, op: str, threshold: float) -> ObjectiveRow:
        if op not in _OPS:
            raise ValueError(f"op must be one of {sorted(_OPS)}, got {op!r}")
        v = None if value is None else float(value)
        ok = v is not None and not math.isnan(v) and bool(_OPS[op](v, float(threshold)))
        return cls(name, label, v, op, float(threshold), ok)


@dataclass
class ObjectiveCheck:
    """The verdict: all rows must pass. `circuit_breaker` holds the loud message when trades were too few."""

    rows: list[ObjectiveRow] = field(default_factory=list)
    circuit_breaker: str | None = None

    @property
    def passed(self) -> bool:
        return bool(self.rows) and all(r.passed for r in self.rows)

    @property
    def failed_names(self) -> list[str]:
        return [r.name for r in self.rows if not r.passed]

    def table(self) -> str:
        """Plain-text pass/fail table for the console, with the verdict and any circuit-breaker line."""
        head = ("objective", "value", "target", "result")
        body = [
            (r.label, format_value(r.value), f"{r.op} {format_value(r.threshold)}", "PASS" if r.passed else "FAIL")
            for r in self.rows
        ]
        widths = [max(len(row[i]) for row in [head, *body]) for i in range(4)]

        def line(cells: tuple[str, ...]) -> str:
            return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

        rule = "-" * len(line(head))
        lines = [line(head), rule, *(line(b) for b in body), rule]
        verdict = "PASSED" if self.passed else f"FAILED ({', '.join(self.failed_names) or 'no objectives'})"
        lines.append(f"objectives {verdict}")
        if self.circuit_breaker:
            banner = "!" * len(self.circuit_breaker)
            lines += [banner, self.circuit_breaker, banner]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "failed": self.failed_names,
            "circuit_breaker": self.circuit_breaker,
            "rows": [asdict(r) for r in self.rows],
        }


def format_value(x: float | None) -> str:
    """A compact number for tables: integers plainly, otherwise 3 decimals (4 significant digits when tiny)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if float(x).is_integer() and abs(x) < 1e12:
        return str(int(x))
    return f"{x:.4g}" if abs(x) < 1e-3 else f"{x:.3f}"


def circuit_breaker_message(n_trades: int, min_trades: int) -> str:
    return f"TRADE DENSITY CIRCUIT BREAKER: {n_trades} trades < {min_trades} required — figures are not meaningful"


def check_objectives(
    metrics: dict[str, Any],
    objectives: Objectives,
    min_trades: int,
    real_days: float | None = None,
    proxy_days: float | None = None,
) -> ObjectiveCheck:
    """Compare `metrics` (from `compute_metrics`) with `objectives`.

    Rows: monthly_return_pct >= monthly_return_min, sharpe >= sharpe_min, max_drawdown_pct <= drawdown_max,
    profit_factor >= profit_factor_min, n_trades >= min_trades (the circuit breaker), and, when `real_days` is
    given (promotion), real_days >= min_real_days and real_days + proxy_days >= min_real_or_proxy_days (proxy
    days: another market's real bars mapped to this one; a missing value counts 0).
    """
    rows = [
        ObjectiveRow.make(
            "monthly_return_pct",
            "monthly return %",
            metrics.get("monthly_return_pct"),
            ">=",
            objectives.monthly_return_min,
        ),
        ObjectiveRow.make("sharpe", "sharpe (annualised)", metrics.get("sharpe"), ">=", objectives.sharpe_min),
        ObjectiveRow.make(
            "max_drawdown_pct", "max drawdown %", metrics.get("max_drawdown_pct"), "<=", objectives.drawdown_max
        ),
        ObjectiveRow.make(
            "profit_factor", "profit factor", metrics.get("profit_factor"), ">=", objectives.profit_factor_min
        ),
        ObjectiveRow.make("n_trades", "trades (density breaker)", metrics.get("n_trades"), ">=", min_trades),
    ]
    if real_days is not None:
        rows.append(ObjectiveRow.make("real_days", "days of real data", real_days, ">=", objectives.min_real_days))
        both = real_days + (proxy_days or 0.0)
        rows.append(ObjectiveRow.make("real_or_proxy_days", "days of real + proxy data", both, ">=",
                                      objectives.min_real_or_proxy_days))  # fmt: skip
    n_trades = metrics.get("n_trades")
    tripped = n_trades is None or int(n_trades) < min_trades
    message = circuit_breaker_message(int(n_trades or 0), min_trades) if tripped else None
    return ObjectiveCheck(rows=rows, circuit_breaker=message)
