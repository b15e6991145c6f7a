"""Policy inference alone: a 180-day 1-minute backtest's worth of LSTM decisions, without the simulator.

    python -m bench.bench_inference [--days 180] [--repeat 3]

259,200 bars as 52 segments of `backtest.chunk_size` (5000) bars plus `backtest.warmup_bars` (500) of warm-up, in
lockstep batches of `backtest.segments_per_task` (8) segments, as the runner's tasks are: one pass of the compiled
network (rl/netkernel.py) per bar and batch, one process. The policy is an untrained module with the configured
architecture (rl.lstm_layers x rl.lstm_hidden, fcnet_hiddens): speed does not depend on the weights. For scale:
RLlib's own `forward_inference` once per bar on the same batches (timed on a sample of bars and extrapolated). The
full user command (loading, features, inference fused with the simulator, metrics, Ray workers) is
bench/bench_backtest.py. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")

import numpy as np

from backtest.config import Params, load_params
from backtest.features import FEATURE_NAMES
from backtest.sim import POSITION_STATE_DIM

RLLIB_SAMPLE_BARS = 200


def build(cls, params: Params, dim: int):
    """An untrained module of the configured architecture (imports torch and RLlib)."""
    import gymnasium as gym
    import torch

    from rl.algos import model_config

    torch.manual_seed(0)
    cfg = {**model_config(params), "dueling": True, "double_q": True, "num_atoms": 1, "epsilon": 0.0}
    space = gym.spaces.Box(-np.inf, np.inf, (dim,), np.float32)
    module = cls(observation_space=space, action_space=gym.spaces.Discrete(3), model_config=cfg)
    return module.eval()


def shape(params: Params, days: float) -> tuple[int, int, int]:
    """(segments, lockstep steps per segment, segments per task) of a `days` backtest."""
    bt = params.backtest
    n_bars = int(days * 86400 / bt.bar_seconds)
    return -(-(n_bars - bt.warmup_bars) // bt.chunk_size), bt.chunk_size + bt.warmup_bars, bt.segments_per_task


def time_compiled(module, segments: int, steps: int, per_task: int, min_q_diff: float) -> float:
    """Seconds for every task's lockstep steps through `FastPolicy` (decisions included)."""
    from rl.inference import FastPolicy

    policy = FastPolicy(module, min_q_diff)
    dim = policy.net.obs_dim
    t0 = time.perf_counter()
    for first in range(0, segments, per_task):
        batch = min(per_task, segments - first)
        obs = np.random.default_rng(first).normal(size=(batch, dim)).astype(np.float32)
        policy.reset(batch)
        for _ in range(steps):
            policy.act(obs)
    return time.perf_counter() - t0


def time_rllib(module, segments: int, steps: int, per_task: int) -> float:
    """RLlib forward_inference once per bar and task, timed on RLLIB_SAMPLE_BARS bars and scaled to `steps`."""
    import torch
    from ray.rllib.core.columns import Columns

    torch.set_num_threads(1)
    total = 0.0
    dim = int(np.prod(module.observation_space.shape))
    for first in range(0, segments, per_task):
        batch = min(per_task, segments - first)
        obs = torch.from_numpy(np.random.default_rng(0).normal(size=(batch, 1, dim)).astype(np.float32))
        state = {k: torch.from_numpy(v)[None].repeat(batch, 1, 1) for k, v in module.get_initial_state().items()}
        t0 = time.perf_counter()
        with torch.inference_mode():
            for _ in range(RLLIB_SAMPLE_BARS):
                state = module.forward_inference({Columns.OBS: obs, Columns.STATE_IN: state})[Columns.STATE_OUT]
        total += (time.perf_counter() - t0) * steps / RLLIB_SAMPLE_BARS
    return total


def measure(days: float, repeat: int, rllib: bool = True) -> dict[str, list[float]]:
    """{"ppo compiled": [seconds per repeat], "dqn compiled": ..., "ppo rllib": ...}."""
    from rl.modules import LSTMActorCriticModule, LSTMDuelingQModule

    params = load_params()
    segments, steps, per_task = shape(params, days)
    dim = len(FEATURE_NAMES) + POSITION_STATE_DIM
    out: dict[str, list[float]] = {}
    for name, cls in (("ppo", LSTMActorCriticModule), ("dqn", LSTMDuelingQModule)):
        module = build(cls, params, dim)
        q = params.trading.min_q_diff
        time_compiled(module, 2, 50, 2, q)  # load the compiled kernels
        out[f"{name} compiled"] = [time_compiled(module, segments, steps, per_task, q) for _ in range(repeat)]
        if rllib:
            out[f"{name} rllib"] = [time_rllib(module, segments, steps, per_task)]
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--days", type=float, default=180.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    params = load_params()
    segments, steps, per_task = shape(params, args.days)
    rl = params.rl
    print(
        f"{args.days:g} days -> {segments} segments x {steps} lockstep steps in tasks of {per_task}; LSTM "
        f"{rl.lstm_layers} x {rl.lstm_hidden}, fcnet {rl.fcnet_hiddens}; one process, cpu cores {os.cpu_count()}\n"
    )
    print("| policy | path | seconds (min / median / max) | us / segment-step |")
    print("|---|---|---|---|")
    for key, values in measure(args.days, args.repeat).items():
        name, path = key.split()
        label = "compiled (rl/netkernel.py)" if path == "compiled" else "RLlib forward_inference per bar (extrap.)"
        med = float(np.median(values))
        print(
            f"| {name.upper()} | {label} | {min(values):.2f} / {med:.2f} / {max(values):.2f} | "
            f"{med / (segments * steps) * 1e6:.2f} |"
        )


if __name__ == "__main__":
    main()
