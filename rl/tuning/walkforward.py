"""Walk-forward spans and scores: where a trial is judged, how folds are aggregated, and the one-off test backtest.

Time splits come from `rl.train_fraction` / `rl.validation_fraction` (`rl.splits`): train | validation |
test. The SELECTION span is what trials are scored on: the validation span for trained policies (their training
span is in-sample), and train + validation for a fixed rules strategy (nothing was fitted on it). The selection span
is cut into `folds` consecutive windows; each window's backtest runs through `backtest.runner.run_backtest` on a
slice of the market that starts `backtest.warmup_bars` bars early (indicators and recurrent state warm up, no trading
there), so every fold trades exactly its own window, after fees and slippage, in the one simulator.

Fold score: the fold's annualised Sharpe, or `no_trade_score` when its trade count is below the trade-density
minimum scaled to the window's length. Trial score = mean(fold scores) - spread_penalty * std(fold scores): a trial
must be good in every window, not great in one. The test span is never scored during a sweep.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from backtest.config import Objectives, Params
from backtest.sim import Market
from backtest.sim.result import BacktestResult
from backtest.spans import SpanData, slice_span
from rl.gate import scaled_min_trades
from rl.splits import Splits, splits_for

__all__ = [
    "SpanData", "aggregate", "backtest_split", "backtest_window", "fold_score", "fold_windows", "slice_span",
    "trial_strategy",
]  # fmt: skip


def selection_span(splits: Splits, trained: bool) -> tuple[int, int]:
    """Where trials are scored: validation for trained policies, train + validation for fixed rules."""
    return splits.validation if trained else (splits.train[0], splits.validation[1])


def fold_windows(span: tuple[int, int], folds: int) -> list[tuple[int, int]]:
    """`folds` consecutive, equal-length [start, end) windows covering `span`."""
    lo, hi = span
    if hi - lo < 2 * folds:
        raise ValueError(f"span of {hi - lo} bars is too short for {folds} folds")
    edges = np.linspace(lo, hi, folds + 1).round().astype(int)
    return [(int(edges[i]), int(edges[i + 1])) for i in range(folds)]


def trial_strategy(spec: Any, params: Params) -> Any:
    """What a backtest runs for `spec`: a `rl.policy.LoadedSpec` (anything with `build(params)`) built with these
    params; a spec name or a strategy object as given."""
    return spec.build(params) if hasattr(spec, "build") else spec


def backtest_window(spec: Any, params: Params, objectives: Objectives, data: SpanData) -> BacktestResult:
    """`run_backtest` of `spec` (a spec or a strategy object) over one window's slice, in this process.

    The slice starts `warmup_bars` before the window, so trading covers exactly the window; a window at the very
    start of the series has no bars before it and trades from bar `warmup_bars` on, like any backtest.
    """
    from backtest.runner import run_backtest

    strategy = trial_strategy(spec, params)
    return run_backtest(strategy, params, objectives, data.market, data.features, data.provenance, workers=0)


def fold_score(metrics: dict[str, Any], params: Params, no_trade_score: float) -> float:
    """Annualised Sharpe of a fold, or `no_trade_score` below the span-scaled trade-density minimum."""
    need = scaled_min_trades(params.backtest.min_trades_threshold, metrics["days"], params.backtest.days)
    return float(metrics["sharpe"]) if metrics["n_trades"] >= need else float(no_trade_score)


def aggregate(scores: list[float], spread_penalty: float) -> float:
    """mean(scores) - spread_penalty * std(scores) (population std; 0 spread for one fold)."""
    s = np.asarray(scores, dtype=np.float64)
    return float(s.mean() - spread_penalty * (s.std() if s.size > 1 else 0.0))


@dataclass
class SpanOutcome:
    """The one-off backtest of a span (the test span of a winner)."""

    result: BacktestResult
    metrics: dict[str, Any]
    min_trades: int
    window: tuple[int, int]


def backtest_split(
    spec: Any,
    params: Params,
    objectives: Objectives,
    bars: pd.DataFrame,
    market: Market,
    features: np.ndarray,
    provenance: dict[str, Any],
    split: str = "test",
) -> SpanOutcome:
    """Backtest `spec` (a spec, a strategy or a `LoadedSpec`) on one time split ("test" by default) and compute its
    metrics and trade minimum."""
    from backtest.metrics import compute_metrics

    window = splits_for(market.n_bars, params).span(split)
    data = slice_span(bars, market, features, provenance, window, params.backtest.warmup_bars)
    result = backtest_window(spec, params, objectives, data)
    metrics = compute_metrics(result)
    min_trades = scaled_min_trades(params.backtest.min_trades_threshold, metrics["days"], params.backtest.days)
    return SpanOutcome(result, metrics, min_trades, window)
