"""Policy inference speed: a 180-day 1-minute backtest's worth of LSTM decisions, batched in lockstep.

    python -m bench.bench_inference [--days 180] [--threads 1 2] [--full]

259,200 bars as ~52 segments of `backtest.chunk_size` (5000) bars plus `backtest.warmup_bars` (500) of warm-up:
one batched forward over all segments per bar (rl/inference.py). The policy is an untrained module with the
configured architecture (rl.lstm_layers x rl.lstm_hidden, fcnet_hiddens): speed does not depend on the weights.
Compared with RLlib's own `forward_inference` called once per bar on the same batch, and once per bar per segment
(no lockstep batching), both timed on a sample of bars and extrapolated. `--full` also times a complete policy
backtest through the engine's `run_policy` (simulator included) on synthetic bars. Prints a markdown table.
Target: policy inference < 3 s on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")

import gymnasium as gym
import numpy as np
import torch

from backtest.config import load_params
from backtest.features import FEATURE_NAMES
from backtest.sim import POSITION_STATE_DIM
from rl.algos import model_config
from rl.inference import FastPolicy
from rl.modules import LSTMActorCriticModule, LSTMDuelingQModule

RLLIB_SAMPLE_BARS = 200


def build(cls, params, dim: int):
    torch.manual_seed(0)
    cfg = {**model_config(params), "dueling": True, "double_q": True, "num_atoms": 1, "epsilon": 0.0}
    space = gym.spaces.Box(-np.inf, np.inf, (dim,), np.float32)
    module = cls(observation_space=space, action_space=gym.spaces.Discrete(3), model_config=cfg)
    return module.eval()


def time_fast(module, batch: int, steps: int, dim: int, threads: int) -> float:
    torch.set_num_threads(threads)
    policy = FastPolicy(module, threads=threads)
    obs = np.random.default_rng(0).normal(size=(batch, dim)).astype(np.float32)
    policy.reset(batch)
    t0 = time.perf_counter()
    for _ in range(steps):
        policy.act(obs)
    return time.perf_counter() - t0


def time_rllib(module, batch: int, steps: int, dim: int) -> float:
    """RLlib forward_inference once per bar, timed on RLLIB_SAMPLE_BARS bars and scaled to `steps`."""
    from ray.rllib.core.columns import Columns

    torch.set_num_threads(1)
    obs = torch.from_numpy(np.random.default_rng(0).normal(size=(batch, 1, dim)).astype(np.float32))
    state = {k: torch.from_numpy(v)[None].repeat(batch, 1, 1) for k, v in module.get_initial_state().items()}
    t0 = time.perf_counter()
    with torch.inference_mode():
        for _ in range(RLLIB_SAMPLE_BARS):
            state = module.forward_inference({Columns.OBS: obs, Columns.STATE_IN: state})[Columns.STATE_OUT]
    return (time.perf_counter() - t0) * steps / RLLIB_SAMPLE_BARS


def time_full_backtest(params, days: float) -> tuple[float, float, int]:
    """(total seconds, seconds inside policy.act, bars) of a policy backtest via backtest.runner.run_policy."""
    from backtest.config import load_objectives
    from backtest.data.load import load_dataset
    from backtest.features import compute_features, fit_norm
    from backtest.runner import run_policy
    from backtest.segments import plan_segments
    from backtest.sim import Market, SimParams
    from rl.policy import RLPolicyStrategy

    bars = load_dataset(params, source="synthetic", days=days).bars
    raw = compute_features(bars, params.trading)
    market = Market.from_bars(bars, params)
    module = build(LSTMActorCriticModule, params, raw.shape[1] + POSITION_STATE_DIM)
    strategy = RLPolicyStrategy(FastPolicy(module), fit_norm(raw), list(FEATURE_NAMES))
    spent = [0.0]
    inner = strategy.act

    def timed_act(obs):
        t0 = time.perf_counter()
        out = inner(obs)
        spent[0] += time.perf_counter() - t0
        return out

    strategy.act = timed_act
    features = strategy.prepare_features(raw)
    segments = plan_segments(market.n_bars, params.backtest.chunk_size, params.backtest.warmup_bars)
    sp = SimParams.from_config(params, load_objectives())
    t0 = time.perf_counter()
    run_policy(market, features, sp, strategy, segments, params.backtest.warmup_bars)
    return time.perf_counter() - t0, spent[0], market.n_bars


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--days", type=float, default=180.0)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--full", action="store_true", help="also time a full engine backtest (simulator included)")
    args = ap.parse_args(argv)
    params = load_params()
    bt = params.backtest
    n_bars = int(args.days * 86400 / bt.bar_seconds)
    batch = -(-(n_bars - bt.warmup_bars) // bt.chunk_size)
    steps = bt.chunk_size + bt.warmup_bars
    dim = len(FEATURE_NAMES) + POSITION_STATE_DIM
    rl = params.rl
    print(
        f"{args.days:g} days = {n_bars} bars -> {batch} segments x ({bt.chunk_size} + {bt.warmup_bars} warm-up) "
        f"lockstep steps; LSTM {rl.lstm_layers} x {rl.lstm_hidden}, fcnet {rl.fcnet_hiddens}, obs {dim}; "
        f"cpu cores {os.cpu_count()}\n"
    )
    print("| policy | path | threads | seconds | us / bar step |")
    print("|---|---|---|---|---|")
    for name, cls in (("PPO", LSTMActorCriticModule), ("DQN", LSTMDuelingQModule)):
        module = build(cls, params, dim)
        for threads in args.threads:
            s = time_fast(module, batch, steps, dim, threads)
            print(f"| {name} | fast batched (rl/inference.py) | {threads} | {s:.2f} | {s / steps * 1e6:.0f} |")
        for label, b, calls in (("batched", batch, 1), ("per segment", 1, batch)):
            s = time_rllib(module, b, steps, dim) * calls
            path = f"RLlib forward_inference per bar, {label} (extrapolated)"
            print(f"| {name} | {path} | 1 | {s:.2f} | {s / steps * 1e6:.0f} |")
    if args.full:
        total, inside, n = time_full_backtest(params, args.days)
        print(f"\nfull engine backtest, {n} bars: {total:.2f} s total, {inside:.2f} s in policy.act")


if __name__ == "__main__":
    main()
