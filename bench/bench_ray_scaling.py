"""Ray scaling of chunked backtests on a CPU-heavy strategy: 1 worker vs 2, identical results required.

    python -m bench.bench_ray_scaling [--days 30]

The strategy is a policy-shaped workload (a 3-layer MLP with 512 units run once per bar over the lockstep batch, one
thread per actor), standing in for neural-policy inference. The drawdown halt is off, so every segment is computed
(a halting run skips the segments after the halt). Ray start-up and actor start-up are excluded: each configuration
runs once to warm up, then is timed.
"""

from __future__ import annotations

import argparse
import itertools
import os
import time

import numpy as np

from backtest.config import Params, load_objectives, load_params
from backtest.strategies.base import PolicyStrategy


class HeavyPolicy(PolicyStrategy):
    """Deterministic MLP over the observation; BUY/SELL/HOLD by argmax."""

    name = "heavy-mlp"

    def __init__(self, params: Params, hidden: int = 512) -> None:
        self.hidden = hidden
        self.w: list[np.ndarray] = []  # built at the first observation: its width is the feature set's

    def reset(self, batch: int) -> None:
        pass

    def _weights(self, width: int) -> list[np.ndarray]:
        if not self.w or self.w[0].shape[0] != width:
            rng = np.random.default_rng(0)
            dims = [width, self.hidden, self.hidden, self.hidden, 3]
            self.w = [rng.normal(0, 1 / np.sqrt(a), (a, b)).astype(np.float32) for a, b in itertools.pairwise(dims)]
        return self.w

    def act(self, obs: np.ndarray) -> np.ndarray:
        self._weights(obs.shape[1])
        x = obs
        for w in self.w[:-1]:
            x = np.tanh(x @ w)
        return np.argmax(x @ self.w[-1], axis=1).astype(np.int8)


def measure(days: float = 90, repeat: int = 3) -> dict[str, list]:
    """Seconds per repeat with 1 and 2 workers (interleaved, after a warm-up run of each) and whether every pair of
    results was identical. Needs Ray up (`cluster.connect`)."""
    from backtest.data.load import load_dataset
    from backtest.features import compute_features
    from backtest.runner import run_backtest, shutdown_pool
    from backtest.sim import Market

    params = load_params(overrides=[f"backtest.days={days}", "backtest.chunk_size=2000"])
    objectives = load_objectives(overrides=["auto_stop_drawdown=100"])  # no halt: every segment is computed
    ds = load_dataset(params, "synthetic")
    features = compute_features(ds.bars, params.trading, params.market.coin)
    market = Market.from_bars(ds.bars, params)
    spec = "bench.bench_ray_scaling:HeavyPolicy"
    out: dict[str, list] = {"1_worker_s": [], "2_workers_s": [], "identical": []}
    try:
        for workers in (1, 2):
            run_backtest(spec, params, objectives, market, features, workers=workers, keep_workers=True)  # warm
        for _ in range(repeat):
            results = {}
            for workers, key in ((1, "1_worker_s"), (2, "2_workers_s")):
                t0 = time.perf_counter()
                results[workers] = run_backtest(
                    spec, params, objectives, market, features, workers=workers, keep_workers=True
                )
                out[key].append(time.perf_counter() - t0)
            one, two = results[1], results[2]
            out["identical"].append(one.trades.equals(two.trades) and np.array_equal(one.equity, two.equity))
    finally:
        shutdown_pool()
    return out


def main() -> None:
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=float, default=30)
    args = ap.parse_args()
    from backtest.data.load import load_dataset
    from backtest.features import compute_features
    from backtest.runner import run_backtest, shutdown_pool
    from backtest.sim import Market
    from cluster import connect

    params = load_params(overrides=[f"backtest.days={args.days}", "backtest.chunk_size=2000"])
    objectives = load_objectives(overrides=["auto_stop_drawdown=100"])  # no halt: every segment is computed
    ds = load_dataset(params, "synthetic")
    features = compute_features(ds.bars, params.trading, params.market.coin)
    market = Market.from_bars(ds.bars, params)
    print(connect(num_cpus=2))
    spec = "bench.bench_ray_scaling:HeavyPolicy"
    timings, results = {}, {}
    for workers in (1, 2):
        run_backtest(spec, params, objectives, market, features, workers=workers, keep_workers=True)  # warm
        t0 = time.perf_counter()
        results[workers] = run_backtest(spec, params, objectives, market, features, workers=workers, keep_workers=True)
        timings[workers] = time.perf_counter() - t0
    shutdown_pool()
    same = results[1].trades.equals(results[2].trades) and np.array_equal(results[1].equity, results[2].equity)
    print(f"{market.n_bars:,} bars, {len(results[1].segments)} segments, {len(results[1].trades):,} trades")
    print(
        f"1 worker: {timings[1]:.2f} s; 2 workers: {timings[2]:.2f} s; speed-up {timings[1] / timings[2]:.2f}x; "
        f"identical results: {same}"
    )


if __name__ == "__main__":
    main()
