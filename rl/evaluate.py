"""Validation and test backtests of trained policies, through the backtester's own runner.

Every RL evaluation (validation during training, learning sweeps, the learning bench) is `backtest.runner.
run_backtest` on a span of the prepared data, cut by `backtest.spans.slice_span`: the same segments, warm-up,
global drawdown halt and merge as `python -m backtest --start ... --end ...` on that span
(`tests/rl/test_train.py` checks they agree). Figures come from `backtest.metrics.compute_metrics`: simulator PnL
after fees, slippage and funding, never the shaped training reward.
"""

from __future__ import annotations

from typing import Any

from backtest.config import Objectives, Params, load_objectives
from backtest.sim.result import BacktestResult
from backtest.strategies.base import Strategy


def as_strategy(policy: Any, prepared: Any) -> Strategy | str:
    """What the runner takes: strategies and `--strategy` specs ("rules", a checkpoint path) pass through; a bare
    `FastPolicy` gets the prepared data's normalisation (what its checkpoint would carry)."""
    if isinstance(policy, Strategy | str):
        return policy
    from rl.policy import RLPolicyStrategy

    return RLPolicyStrategy(policy, prepared.norm, prepared.feature_names, name=f"rl-{policy.kind}")


def span_result(
    policy: Any,
    prepared: Any,
    params: Params,
    span: tuple[int, int],
    objectives: Objectives | None = None,
    workers: int = 0,
) -> BacktestResult:
    """`run_backtest` of `policy` (a strategy, a spec or a FastPolicy) trading exactly bars [span[0], span[1])."""
    from backtest.runner import run_backtest
    from backtest.spans import slice_span

    data = slice_span(
        prepared.bars, prepared.market, prepared.raw_features, prepared.provenance, span, params.backtest.warmup_bars
    )
    return run_backtest(
        as_strategy(policy, prepared),
        params,
        objectives or load_objectives(),
        data.market,
        data.features,
        data.provenance,
        workers=workers,
    )


def evaluate(
    policy: Any, prepared: Any, params: Params, split: str = "validation", objectives: Objectives | None = None
) -> dict[str, Any]:
    """Headline metrics of `policy` on one split of `prepared` data (see backtest/metrics.py for definitions)."""
    from backtest.metrics import compute_metrics

    return compute_metrics(span_result(policy, prepared, params, prepared.splits.span(split), objectives))
