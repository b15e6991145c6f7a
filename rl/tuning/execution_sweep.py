"""Execution-level trials: backtests of a FIXED strategy with the trial's TP/SL, threshold and size.

The market slices of the walk-forward folds travel once through the object store (`tune.with_parameters`); each
trial runs one backtest per fold and reports the running walk-forward score after each fold, so ASHA can stop a
trial that is already poor in its first windows.

A strategy backed by files (a checkpoint, an ensemble, `ppo`/`dqn`/`ensemble`) is read once in the driver and
travels the same way, as a `rl.policy.LoadedSpec` that each trial builds with its own params: a trial never opens
the driver's files, so it may run on any node. Names (`rules`, `buyhold`, `package.module:Class`) are resolved in
the trial. Every report carries the node the trial ran on (`node`, short id).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from backtest.config import Objectives, Params
from rl.tuning.space import apply_config
from rl.tuning.stats import return_moments
from rl.tuning.walkforward import SpanData, aggregate, backtest_window, fold_score


def fold_report(fold_metrics: list[dict[str, Any]], scores: list[float], returns: list[np.ndarray], penalty: float):
    """What a trial reports after each fold: running score plus the figures the summary and the DSR need."""
    sr_bar = return_moments(np.concatenate(returns))[0]
    return {
        "score": aggregate(scores, penalty),
        "folds_done": len(scores),
        "fold_score": scores[-1],
        "mean_sharpe": float(np.mean([m["sharpe"] for m in fold_metrics])),
        "sr_bar": float(sr_bar),
        "n_trades": int(sum(m["n_trades"] for m in fold_metrics)),
        "monthly_return_pct": float(np.mean([m["monthly_return_pct"] for m in fold_metrics])),
        "max_drawdown_pct": float(max(m["max_drawdown_pct"] for m in fold_metrics)),
        "profit_factor": float(np.mean([m["profit_factor"] for m in fold_metrics])),
        "hold_rate_pct": float(np.mean([m["hold_rate_pct"] for m in fold_metrics])),
    }


def node_id() -> str | None:
    """Short id of the Ray node this process runs on (None outside Ray)."""
    try:
        import ray

        return ray.get_runtime_context().get_node_id()[:8] if ray.is_initialized() else None
    except Exception:
        return None


def run_folds(
    spec: Any, params: Params, objectives: Objectives, slices: list[SpanData], penalty: float, no_trade: float
):
    """Yield (report, per-bar returns of the fold) fold by fold for `spec` (a spec, a strategy or a `LoadedSpec`)
    under `params`."""
    from backtest.metrics import bar_returns, compute_metrics

    metrics, scores, returns = [], [], []
    for data in slices:
        result = backtest_window(spec, params, objectives, data)  # a LoadedSpec is built there with `params`
        m = compute_metrics(result)
        metrics.append(m)
        scores.append(fold_score(m, params, no_trade))
        returns.append(bar_returns(result))
        yield fold_report(metrics, scores, returns, penalty), returns[-1]


def execution_trainable(
    config: dict[str, Any],
    base: Params,
    objectives: Objectives,
    spec: Any,
    slices: list[SpanData],
    keys: list[str],
    penalty: float,
    no_trade: float,
) -> None:
    """Ray Tune function trainable: one report per walk-forward fold."""
    from ray import tune

    params = apply_config(base, config, keys)
    node = node_id()
    for report, _ in run_folds(spec, params, objectives, slices, penalty, no_trade):
        tune.report({**report, "node": node})
