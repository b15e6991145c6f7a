"""Shared fixtures: one small, quiet Ray instance per test session; default configs."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
# the live traders' locks and nonce files (live/lock.py): this session's own, inherited by the processes it starts
if "AML100_RUNTIME_DIR" not in os.environ:
    os.environ["AML100_RUNTIME_DIR"] = tempfile.mkdtemp(prefix="aml100-test-run-")
    atexit.register(shutil.rmtree, os.environ["AML100_RUNTIME_DIR"], ignore_errors=True)

import pytest

from backtest.config import Objectives, Params, load_objectives, load_params
from tests.support.rl import TINY


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
