"""Policy backtests on one time split through the shared simulator (`BatchSimulator`), batched over segments.

Used for validation during training (early stopping) and for the learning bench. The span is cut into segments of
`backtest.chunk_size` bars that each start flat; before each segment the policy's recurrent state is warmed up on
the `backtest.warmup_bars` preceding bars with a flat position state (no trading). Per bar: ONE batched policy call
for all segments, then one `BatchSimulator.step`. Figures come from `backtest.metrics.compute_metrics` on the
merged result: simulator PnL after fees, slippage and funding; never the shaped training reward.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from backtest.config import Params, load_objectives
from backtest.strategies.observation import build_observation

POSITION_STATE_DIM = 4


class BatchPolicy(Protocol):
    def reset(self, batch: int) -> None: ...
    def act(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


def segment_bounds(span: tuple[int, int], chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """[start, end) of consecutive segments covering `span`; each ends where the next starts (>= 2 bars each)."""
    lo, hi = span
    starts = np.arange(lo, hi - 1, chunk, dtype=np.int64)
    ends = np.minimum(starts + chunk, hi).astype(np.int64)
    if len(starts) > 1 and ends[-1] - starts[-1] < 2:
        starts, ends = starts[:-1], np.concatenate([ends[:-2], [hi]])
    return starts, ends


def warm_up(policy: BatchPolicy, features: np.ndarray, starts: np.ndarray, warmup: int) -> None:
    """Feed the `warmup` bars before each start (clamped at bar 0) with a flat position state; decisions ignored."""
    flat = np.zeros((len(starts), POSITION_STATE_DIM), np.float32)
    for k in range(warmup, 0, -1):
        bars = np.maximum(starts - k, 0)
        policy.act(build_observation(features[bars], flat))


def simulate_policy(policy: BatchPolicy, features: np.ndarray, market: Any, params: Params, span: tuple[int, int]):
    """Run `policy` on every segment of `span` in lockstep; returns the simulator's SegmentRuns."""
    from backtest.sim import BatchSimulator, SimParams

    sp = SimParams.from_config(params, load_objectives())
    starts, ends = segment_bounds(span, params.backtest.chunk_size)
    policy.reset(len(starts))
    warm_up(policy, features, starts, params.backtest.warmup_bars)
    sim = BatchSimulator(market, sp, starts, ends)
    while not sim.done:
        obs = build_observation(features[sim.t], sim.position_state())
        actions, _ = policy.act(obs)
        sim.step(actions)
    return sim.runs()


def run_policy(
    policy: BatchPolicy,
    features: np.ndarray,
    market: Any,
    params: Params,
    span: tuple[int, int],
    strategy: str = "policy",
    provenance: dict[str, Any] | None = None,
):
    """Backtest `policy` over `span`; returns the merged BacktestResult."""
    from backtest.sim import merge_runs

    runs = simulate_policy(policy, features, market, params, span)
    return merge_runs(market, runs, params.backtest.initial_equity, strategy=strategy, provenance=provenance)


def evaluate(policy: BatchPolicy, prepared: Any, params: Params, split: str = "validation") -> dict[str, Any]:
    """Headline metrics of `policy` on one split of `prepared` data (see backtest/metrics.py for definitions)."""
    from backtest.metrics import compute_metrics

    span = prepared.splits.span(split)
    result = run_policy(policy, prepared.features, prepared.market, params, span, provenance=prepared.provenance)
    return compute_metrics(result)
