"""Shared fixtures: one small, quiet Ray instance per test session; default configs."""

from __future__ import annotations

import os

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")

import pytest

from backtest.config import Objectives, Params, load_objectives, load_params


@pytest.fixture(scope="session")
def ray_session():
    """One Ray instance for the whole test session: 2 CPUs, no dashboard, a small object store."""
    import ray

    if not ray.is_initialized():
        ray.init(
            num_cpus=2,
            include_dashboard=False,
            object_store_memory=256 * 1024 * 1024,
            log_to_driver=False,
            configure_logging=False,
        )
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session")
def params() -> Params:
    return load_params()


@pytest.fixture(scope="session")
def objectives() -> Objectives:
    return load_objectives()


# Small, fast RL settings shared by the RL and live tests: 3 days of synthetic bars, a tiny LSTM, short episodes.
TINY = [
    "backtest.days=3",
    "backtest.chunk_size=400",
    "backtest.warmup_bars=20",
    "rl.lstm_hidden=16",
    "rl.fcnet_hiddens=[16]",
    "rl.episode_bars=200",
    "rl.batch_size=4",
    "rl.max_seq_len=8",
    "rl.epochs=2",
]


@pytest.fixture(scope="session")
def tiny_runs(ray_session, tmp_path_factory):
    """A tiny PPO + DQN training (with its ensemble manifest), once per test session."""
    from rl.train import main

    out = tmp_path_factory.mktemp("runs")
    argv = ["--algo", "ensemble", "--timesteps", "256", "--iter-steps", "128", "--data", "synthetic", "--days", "3"]
    for item in TINY:
        argv += ["--set", item]
    assert main([*argv, "--out", str(out)]) == 0
    return out
