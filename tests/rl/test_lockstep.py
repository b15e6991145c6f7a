"""The compiled lockstep loop (rl/lockstep.py) takes exactly the actions, fills and equity of the runner's Python
loop (`act` once per bar), for single policies and the ensemble, with warm-up, unequal segments, a batch of one and
seeded drawdown peaks; and the runner gives the same result in-process and on Ray workers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from backtest.config import load_objectives, load_params, with_overrides
from backtest.data.load import load_dataset
from backtest.features import FEATURE_NAMES, compute_features, fit_norm
from backtest.runner import run_backtest, run_policy, start_workers
from backtest.sim import POSITION_STATE_DIM, Market, SimParams
from backtest.sim.layout import T_ENTRY_MAKER
from backtest.strategies.rules import RulesStrategy
from rl.ensemble import EnsembleStrategy
from rl.inference import FastPolicy
from rl.modules import LSTMActorCriticModule, LSTMDuelingQModule
from rl.policy import RLPolicyStrategy
from tests.support.rl_modules import make

SETS = ["backtest.days=3", "backtest.chunk_size=600", "backtest.warmup_bars=50", "trading.max_hold_seconds=600"]


@pytest.fixture(scope="module")
def data():
    params = load_params(overrides=SETS)
    bars = load_dataset(params, "synthetic").bars
    raw = compute_features(bars, params.trading, params.market.coin)
    return params, Market.from_bars(bars, params), raw, fit_norm(raw)


def policy(cls, seed, norm, min_q=0.0):
    """A random module whose actions vary over these bars (a HOLD bias keeps it from trading every bar)."""
    module = make(cls, seed, dim=len(FEATURE_NAMES) + POSITION_STATE_DIM)
    with torch.no_grad():
        (module.pi if cls is LSTMActorCriticModule else module.af).bias.copy_(torch.tensor([0.5, 0.0, 0.0]))
    return RLPolicyStrategy(FastPolicy(module, min_q), norm, list(FEATURE_NAMES))


def ensemble(norm, params, tie_break="hold", rules=True):
    members = [policy(LSTMActorCriticModule, 4, norm), policy(LSTMDuelingQModule, 10, norm, min_q=0.05)]
    return EnsembleStrategy(
        members, 0.3, RulesStrategy(params.trading) if rules else None, tie_break, member_names=["ppo", "dqn"]
    )


def assert_same_runs(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.actions, y.actions)
        np.testing.assert_array_equal(x.equity, y.equity)
        np.testing.assert_array_equal(x.trades, y.trades)
        assert (x.fees, x.funding, x.halt_bar) == (y.fees, y.funding, y.halt_bar)
        np.testing.assert_array_equal(x.orders, y.orders)


@pytest.mark.parametrize(
    "kind", ["ppo", "dqn", "ensemble-hold", "ensemble-confident", "ensemble-no-fallback", "ppo-maker"]
)
def test_the_compiled_loop_takes_the_python_loops_actions(data, kind):
    params, market, raw, norm = data
    if kind == "ppo-maker":  # maker entries and exits: the resting orders live in the same kernel state
        params = with_overrides(params, ["execution.entry=maker", "execution.exit=maker", "execution.entry_ttl_bars=3"])
    if kind.startswith("ppo"):
        strategy = policy(LSTMActorCriticModule, 4, norm)
    elif kind == "dqn":
        strategy = policy(LSTMDuelingQModule, 10, norm, min_q=0.1)
    else:
        tie = "confident" if kind.endswith("confident") else "hold"
        strategy = ensemble(norm, params, tie, rules=not kind.endswith("no-fallback"))
    features = strategy.prepare(market.close, raw)
    sp = SimParams.from_config(params, load_objectives(overrides=["auto_stop_drawdown=100"]))
    segments = [(400, 1000), (999, 1600), (1599, 2100), (60, 300)]  # unequal lengths, one shorter than the warm-up
    compiled = run_policy(market, features, sp, strategy, segments, 50)
    python = run_policy(market, features, sp, strategy, segments, 50, compiled=False)
    assert_same_runs(compiled, python)
    decided = np.concatenate([r.actions[r.actions >= 0] for r in compiled])
    assert len(np.unique(decided)) > 1  # a constant policy would make the comparison vacuous
    assert sum(len(r.trades) for r in compiled) > 5
    if kind == "ppo-maker":
        assert all(r.trades[:, T_ENTRY_MAKER].all() for r in compiled)  # every entry a maker fill
        assert sum(r.orders[0, 0] for r in compiled) > sum(len(r.trades) for r in compiled)  # some never filled
    one = run_policy(market, features, sp, strategy, segments[1:2], 50, peaks=[10_500.0])  # a batch of one
    assert_same_runs(one, run_policy(market, features, sp, strategy, segments[1:2], 50, [10_500.0], compiled=False))


def test_the_runner_gives_the_same_backtest_in_process_and_on_ray_workers(data, ray_session):
    params, market, raw, norm = data
    strategy = ensemble(norm, params)
    local = run_backtest(strategy, params, load_objectives(), market, raw, workers=0)
    start_workers(2, strategy)  # as the CLI does: workers start (and warm their kernels) ahead of the run
    one = run_backtest(strategy, params, load_objectives(), market, raw, workers=1)
    two = run_backtest(strategy, params, load_objectives(), market, raw, workers=2)
    assert len(local.segments) >= 5 and len(local.trades) > 5
    for other in (one, two):
        pd.testing.assert_frame_equal(local.trades, other.trades)
        np.testing.assert_array_equal(local.equity, other.equity)
        np.testing.assert_array_equal(local.actions, other.actions)


def test_a_checkpoint_from_before_the_session_features_reads_its_own_columns(data):
    """A policy trained on the features of an earlier version (no session features) loads and acts on its own
    columns, in its order: the observation it sees is the one it was trained on."""
    params, market, raw, _ = data
    old_names = [n for n in FEATURE_NAMES if not n.startswith("session_")]
    old_norm = fit_norm(raw[:, : len(old_names)], tuple(old_names))
    module = make(LSTMActorCriticModule, 4, dim=len(old_names) + 4)
    old = RLPolicyStrategy(FastPolicy(module, 0.0), old_norm, old_names)
    features = old.prepare(market.close, raw)
    assert features.shape == (market.n_bars, len(old_names))
    np.testing.assert_array_equal(features, old_norm.apply(raw[:, : len(old_names)]))
    sp = SimParams.from_config(params, load_objectives())
    runs = run_policy(market, features, sp, old, [(400, 1000)], 50)
    assert_same_runs(runs, run_policy(market, features, sp, old, [(400, 1000)], 50, compiled=False))
    with pytest.raises(ValueError, match="does not compute"):
        RLPolicyStrategy(FastPolicy(module, 0.0), old_norm, [*old_names[:-1], "tomorrows_close"])
