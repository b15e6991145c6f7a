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
from tests.support.rl import TINY


@pytest.fixture(scope="module")
def runs(tiny_runs):
    return tiny_runs


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
    assert meta["data"]["share_proxy"] == 0.0 and meta["data"]["share_synthetic"] == 1.0
    assert meta["data"]["splits"]["test"]["share_synthetic"] == 1.0
    splits = meta["data"]["splits"]
    assert splits["train"]["bars"][1] == splits["validation"]["bars"][0] < splits["test"]["bars"][0]
    assert 0 < meta["timesteps"] <= 256 + 128 and meta["iteration"] >= 1
    assert {"sharpe", "n_trades", "hold_rate_pct", "total_return_pct"} <= set(meta["validation"])
    assert meta["fees"]["coin"] == "xyz:XYZ100" and meta["fees"]["taker"] > 0 and meta["fees"]["source"]
    assert meta["validation"]["fee_schedule"] == meta["fees"]["label"]  # what the validation was charged
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
    from rl.evaluate import span_result

    _, path = resolve("ensemble", runs)
    ens = load_strategy(str(path), tiny_params)
    assert isinstance(ens, EnsembleStrategy) and sorted(m.kind for m in ens.members) == ["dqn", "ppo"]
    prepared = prepare(tiny_params, "synthetic", 3.0)
    result = span_result(ens, prepared, tiny_params, prepared.splits.validation)
    decided = result.actions[result.actions >= 0]
    assert len(decided) > 0 and set(decided.tolist()) <= {0, 1, 2}


@pytest.mark.parametrize("algo", ["ppo", "dqn"])
def test_validation_figures_are_what_python_m_backtest_gives_on_the_checkpoint_and_span(runs, algo, tmp_path):
    """One evaluation path: the validation recorded in training equals the CLI backtest of the saved checkpoint
    over the validation span (same segments, warm-up and global drawdown halt)."""
    from backtest.__main__ import main as backtest_main

    best = ck.latest(runs, algo)
    meta = ck.read_metadata(best)
    span = meta["data"]["splits"]["validation"]
    argv = ["--strategy", str(best), "--data", "synthetic", "--days", "3", "--workers", "0"]
    argv += ["--start", span["start"], "--end", span["end"], "--out", str(tmp_path)]
    for item in TINY:
        argv += ["--set", item]
    assert backtest_main(argv) == 0
    cli = json.loads((tmp_path / "metrics.json").read_text())["metrics"]
    recorded = meta["validation"]
    assert cli["n_bars"] == span["bars"][1] - span["bars"][0]
    for key in ("final_equity", "n_trades", "sharpe", "max_drawdown_pct", "hold_rate_pct", "n_decisions", "halted"):
        assert cli[key] == pytest.approx(recorded[key], rel=1e-12, abs=1e-12), key


def test_foreign_specs_are_not_ours(tiny_params, tmp_path):
    assert load_strategy("rules", tiny_params) is None
    assert load_strategy(str(tmp_path), tiny_params) is None


@pytest.mark.parametrize("algo", ["ppo", "dqn"])
def test_same_seed_and_config_give_the_same_policy(runs, tmp_path, algo):
    """A second run with the same seed and config reproduces the first one's weights and validation figures (DQN
    too: its replay buffer is seeded, which RLlib does not do)."""
    import torch

    argv = ["--algo", algo, "--timesteps", "256", "--iter-steps", "128", "--data", "synthetic", "--days", "3"]
    for item in TINY:
        argv += ["--set", item]
    assert main([*argv, "--out", str(tmp_path)]) == 0
    first, second = ck.latest(runs, algo), ck.latest(tmp_path, algo)
    assert ck.read_metadata(first)["validation"] == ck.read_metadata(second)["validation"]
    a, b = load_module(first).state_dict(), load_module(second).state_dict()
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)


@pytest.mark.parametrize("spec", ["ppo", "dqn", "ensemble"])
def test_trained_policies_bar_by_bar_take_the_batched_backtests_actions(runs, spec, tiny_params):
    """The live path (StrategyStream, batch of one, state carried) equals the lockstep backtest (three segments)."""
    from backtest.config import load_objectives
    from backtest.data.load import load_dataset
    from backtest.domain import frame_bars
    from backtest.features import compute_features
    from backtest.runner import run_policy
    from backtest.sim import Market, SimParams, Simulator
    from backtest.strategies.stream import StrategyStream

    kind, path = resolve(spec, runs) if spec == "ensemble" else ("policy", ck.latest(runs, spec))
    bars = load_dataset(tiny_params, "synthetic", 3.0).bars
    market = Market.from_bars(bars, tiny_params)
    sp = SimParams.from_config(tiny_params, load_objectives())
    start, end, warm = 700, 1500, tiny_params.backtest.warmup_bars

    live = load_strategy(str(path), tiny_params)
    stream = StrategyStream(live, tiny_params.trading, warm)
    stream.warm_up(bars.iloc[:start])
    sim = Simulator(market, sp)
    sim.reset(start, end)
    actions, details = [], []
    for bar in frame_bars(bars.iloc[start : end - 1]):
        d = stream.on_bar(bar, sim.position_state())
        actions.append(d.action)
        details.append(d.detail)
        sim.step(d.action)

    batched = load_strategy(str(path), tiny_params)
    features = batched.prepare(market.close, compute_features(bars, tiny_params.trading))
    runs_ = run_policy(market, features, sp, batched, [(start, end), (300, 900), (1200, 2000)], warm)
    np.testing.assert_array_equal(np.array(actions, dtype=np.int8), runs_[0].actions[:-1])
    np.testing.assert_array_equal(sim.result().equity, runs_[0].equity)
    assert details[0] and all(np.isfinite(v) for v in details[0].values())
