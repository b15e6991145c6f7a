"""Policy backtests on one time split, through the backtest engine's own lockstep driver.

Used for validation during training (early stopping) and by the learning bench. The split is cut into segments
exactly as the backtest engine cuts a span (`backtest.segments.plan_segments`, `backtest.chunk_size` bars, each
segment starting flat where the previous one ends) and run by `backtest.runner.run_policy`: the policy's recurrent
state is warmed up on the `backtest.warmup_bars` preceding bars, then ONE batched policy call per bar for all
segments and one `BatchSimulator.step`. Figures come from `backtest.metrics.compute_metrics` on the merged result:
simulator PnL after fees, slippage and funding, never the shaped training reward.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from backtest.config import Objectives, Params, load_objectives
from backtest.strategies.base import PolicyStrategy


def span_segments(span: tuple[int, int], chunk: int) -> list[tuple[int, int]]:
    """Engine-style segments [(start, end_exclusive)] covering bars [span[0], span[1])."""
    from backtest.segments import plan_segments

    lo, hi = span
    return [(lo + s, lo + e) for s, e in plan_segments(hi - lo, chunk, 0)]


def as_strategy(policy: Any) -> PolicyStrategy:
    """A `FastPolicy` wrapped as a PolicyStrategy (features already prepared); strategies pass through."""
    if isinstance(policy, PolicyStrategy):
        return policy
    from rl.policy import RLPolicyStrategy

    return RLPolicyStrategy(policy, norm=None, feature_names=[], name=f"rl-{policy.kind}")


def simulate_policy(
    policy: Any,
    features: np.ndarray,
    market: Any,
    params: Params,
    span: tuple[int, int],
    objectives: Objectives | None = None,
):
    """Run `policy` (FastPolicy or PolicyStrategy) on every segment of `span` in lockstep; the SegmentRuns."""
    from backtest.runner import run_policy
    from backtest.sim import SimParams

    sp = SimParams.from_config(params, objectives or load_objectives())
    segments = span_segments(span, params.backtest.chunk_size)
    return run_policy(market, features, sp, as_strategy(policy), segments, params.backtest.warmup_bars)


def run_policy_span(
    policy: Any,
    features: np.ndarray,
    market: Any,
    params: Params,
    span: tuple[int, int],
    strategy: str = "policy",
    provenance: dict[str, Any] | None = None,
    objectives: Objectives | None = None,
):
    """Backtest `policy` over `span`; returns the merged BacktestResult."""
    from backtest.sim import merge_runs

    runs = simulate_policy(policy, features, market, params, span, objectives)
    return merge_runs(market, runs, params.backtest.initial_equity, strategy=strategy, provenance=provenance)


def evaluate(
    policy: Any, prepared: Any, params: Params, split: str = "validation", objectives: Objectives | None = None
) -> dict[str, Any]:
    """Headline metrics of `policy` on one split of `prepared` data (see backtest/metrics.py for definitions)."""
    from backtest.metrics import compute_metrics

    span = prepared.splits.span(split)
    result = run_policy_span(
        policy, prepared.features, prepared.market, params, span, provenance=prepared.provenance, objectives=objectives
    )
    return compute_metrics(result)
