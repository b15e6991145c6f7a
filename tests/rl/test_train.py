"""Tiny PPO and DQN trainings through the CLI: checkpoints with metadata that reload and act identically."""

from __future__ import annotations

import json

import numpy as np
import pytest

from backtest.features import FEATURE_NAMES
from rl import checkpoint as ck
from rl.data import prepare
from rl.evaluate import evaluate
from rl.inference import load_module
from rl.policy import RLPolicyStrategy, load_strategy, resolve
from rl.train import main

from .conftest import TINY


@pytest.fixture(scope="module")
def runs(ray_session, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    argv = ["--algo", "ensemble", "--timesteps", "256", "--iter-steps", "128", "--data", "synthetic", "--days", "3"]
    for item in TINY:
        argv += ["--set", item]
    assert main([*argv, "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("algo", ["ppo", "dqn"])
def test_checkpoint_metadata(runs, algo, tiny_params):
    best = ck.latest(runs, algo)
    assert best is not None and best.name == "best"
    meta = ck.read_metadata(best)
    assert meta["algo"] == algo and meta["seed"] == tiny_params.rl.seed
    assert meta["config"] == tiny_params.model_dump(mode="json")
    assert meta["feature_names"] == list(FEATURE_NAMES)
    assert len(meta["norm"]["mean"]) == len(FEATURE_NAMES)
    assert meta["data"]["source"] == "synthetic" and meta["data"]["share_real"] == 0.0
    splits = meta["data"]["splits"]
    assert splits["train"]["bars"][1] == splits["validation"]["bars"][0] < splits["test"]["bars"][0]
    assert 0 < meta["timesteps"] <= 256 + 128 and meta["iteration"] >= 1
    assert {"sharpe", "n_trades", "hold_rate_pct", "total_return_pct"} <= set(meta["validation"])
    assert meta["code_version"] is None or len(meta["code_version"]) >= 40
    module = load_module(best)
    assert module.lstm.num_layers == tiny_params.rl.lstm_layers == 2
    assert module.lstm.hidden_size == tiny_params.rl.lstm_hidden == 16


@pytest.mark.parametrize("algo", ["ppo", "dqn"])
def test_reloaded_checkpoint_acts_like_the_trained_policy(runs, algo, tiny_params):
    """The validation backtest recorded during training (live module) is reproduced exactly from the checkpoint."""
    best = ck.latest(runs, algo)
    strategy = load_strategy(str(best), tiny_params)
    assert isinstance(strategy, RLPolicyStrategy) and strategy.kind == algo
    prepared = prepare(tiny_params, "synthetic", 3.0)
    np.testing.assert_array_equal(strategy.prepare_features(prepared.raw_features), prepared.features)
    recorded = ck.read_metadata(best)["validation"]
    again = evaluate(strategy.policy, prepared, tiny_params)
    for key in ("final_equity", "n_trades", "hold_rate_pct", "sharpe", "n_decisions"):
        assert again[key] == pytest.approx(recorded[key], rel=1e-9, abs=1e-12), key


def test_ensemble_manifest_names_both_members(runs):
    kind, path = resolve("ensemble", runs)
    assert kind == "ensemble"
    manifest = json.loads((path / ck.MANIFEST_FILE).read_text())
    assert set(manifest["members"]) == {"ppo", "dqn"}
    for rel in manifest["members"].values():
        assert ck.is_checkpoint(path / rel)


def test_ensemble_loads_from_its_manifest_and_backtests(runs, tiny_params):
    from rl.ensemble import EnsembleStrategy
    from rl.evaluate import simulate_policy

    _, path = resolve("ensemble", runs)
    ens = load_strategy(str(path), tiny_params)
    assert isinstance(ens, EnsembleStrategy) and sorted(m.kind for m in ens.members) == ["dqn", "ppo"]
    prepared = prepare(tiny_params, "synthetic", 3.0)
    ens.bind_close(prepared.market.close)
    features = ens.prepare_features(prepared.raw_features)
    runs_ = simulate_policy(ens, features, prepared.market, tiny_params, prepared.splits.validation)
    decided = np.concatenate([r.actions[r.actions >= 0] for r in runs_])
    assert len(decided) > 0 and set(decided.tolist()) <= {0, 1, 2}


def test_foreign_specs_are_not_ours(tiny_params, tmp_path):
    assert load_strategy("rules", tiny_params) is None
    assert load_strategy(str(tmp_path), tiny_params) is None


def test_same_seed_and_config_give_the_same_policy(runs, tmp_path):
    """A second PPO run with the same seed and config reproduces the first one's weights and validation figures."""
    import torch

    argv = ["--algo", "ppo", "--timesteps", "256", "--iter-steps", "128", "--data", "synthetic", "--days", "3"]
    for item in TINY:
        argv += ["--set", item]
    assert main([*argv, "--out", str(tmp_path)]) == 0
    first, second = ck.latest(runs, "ppo"), ck.latest(tmp_path, "ppo")
    assert ck.read_metadata(first)["validation"] == ck.read_metadata(second)["validation"]
    a, b = load_module(first).state_dict(), load_module(second).state_dict()
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)
