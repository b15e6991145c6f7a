"""The trading env: gymnasium's checker, simulator-backed accounting, seeded episodes inside the training span."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from backtest.config import params_from_dict
from backtest.sim import BUY, HOLD, SELL
from rl.data import prepare
from rl.env import TradingEnv
from rl.splits import split_spans


@pytest.fixture()
def env(env_config):
    return TradingEnv(env_config)


def test_passes_the_gymnasium_env_checker(env):
    check_env(env, skip_render_check=True)


def test_episodes_are_seeded_segments_of_the_training_span(env, env_config):
    params = params_from_dict(env_config["params"])
    lo, hi = prepare(params, "synthetic", 3.0).splits.train
    starts = []
    for seed in (0, 1, 2):
        _, info = env.reset(seed=seed)
        starts.append(info["start"])
        assert lo <= info["start"] and info["start"] + params.rl.episode_bars <= hi
    _, again = env.reset(seed=1)
    assert again["start"] == starts[1]
    assert len(set(starts)) > 1


def test_rewards_sum_to_the_simulators_equity_change(env):
    """With shaping off (scale 100), the summed reward is the sum of per-bar percent equity changes."""
    obs, _ = env.reset(seed=5)
    rng = np.random.default_rng(0)
    total, pct = 0.0, 0.0
    equity = env.sim.equity
    done = False
    n = 0
    while not done:
        obs, reward, terminated, truncated, info = env.step(int(rng.choice([HOLD, BUY, SELL])))
        assert env.observation_space.contains(obs)
        total += reward
        pct += (info["equity"] - equity) / equity * 100.0
        equity = info["equity"]
        done = terminated or truncated
        n += 1
    assert n == env.episode_bars - 1
    assert truncated and not terminated
    assert total == pytest.approx(pct)
    assert env.sim.result().trades.shape[0] > 0


def test_observation_is_normalised_features_plus_position_state(env):
    obs, _ = env.reset(seed=0)
    t = env.sim.t
    np.testing.assert_array_equal(obs[:-4], env.prepared.features[t])
    np.testing.assert_array_equal(obs[-4:], env.sim.position_state())


def test_time_splits_are_contiguous_and_ordered():
    s = split_spans(1000, 0.6, 0.2)
    assert s.train == (0, 600) and s.validation == (600, 800) and s.test == (800, 1000)
    with pytest.raises(ValueError):
        split_spans(3, 0.1, 0.1)


def test_normalisation_uses_training_span_only(env):
    from backtest.features import fit_norm

    p = env.prepared
    lo, hi = p.splits.train
    np.testing.assert_allclose(p.norm.mean, fit_norm(p.raw_features[lo:hi]).mean)
    assert not np.allclose(p.norm.mean, fit_norm(p.raw_features).mean)


def test_drawdown_halt_is_off_in_training_episodes_unless_asked(env_config):
    from backtest.config import load_objectives

    assert TradingEnv(env_config).sim.params.auto_stop_frac == 0.0
    halting = TradingEnv({**env_config, "auto_stop": True})
    assert halting.sim.params.auto_stop_frac == pytest.approx(load_objectives().auto_stop_drawdown / 100.0)


def test_vectorised_copies_draw_different_episodes(env_config):
    from ray.rllib.env.env_context import EnvContext

    from rl.env import TradingEnv

    starts = set()
    for vector_index in range(3):
        env = TradingEnv(EnvContext(env_config, worker_index=1, vector_index=vector_index))
        starts.add(env.reset()[1]["start"])
    assert len(starts) == 3


def test_the_env_uses_the_objectives_it_is_given_not_the_default_file(env_config):
    from backtest.config import load_objectives

    objectives = load_objectives(overrides=["auto_stop_drawdown=1.5"])
    env = TradingEnv({**env_config, "objectives": objectives.model_dump(mode="json"), "auto_stop": True})
    assert env.sim.params.auto_stop_frac == pytest.approx(0.015)


def test_rl_episodes_end_at_the_last_bar_before_a_break():
    from backtest.config import load_params
    from backtest.data.load import Dataset
    from backtest.gaps import breaks
    from rl import data as rl_data
    from rl.env import TradingEnv
    from tests.support.gaps import weekend_series

    p = load_params(overrides=["rl.episode_bars=3000", "backtest.warmup_bars=20"])
    bars = weekend_series(p)
    rl_data.prepare(p, "proxy-test", 4.0, dataset=Dataset(bars, {"source": "synthetic", "share_real": 0.0}))
    env = TradingEnv({"params": p.model_dump(mode="json"), "source": "proxy-test", "days": 4.0})
    cuts = breaks(env.prepared.market.ts, 60)
    for seed in range(20):
        _, info = env.reset(seed=seed)
        start = info["start"]
        end = env.sim._end
        assert not any(start < c < end for c in cuts), (start, end, cuts)
        assert end - start >= 2


def test_the_env_trains_on_the_execution_style_in_force(env_config):
    """With maker entries and exits the env's simulator rests post-only orders: fills come at the touch, some orders
    expire unfilled, and the reward still sums to the equity change."""
    params = params_from_dict(env_config["params"])
    from backtest.config import with_overrides

    maker = with_overrides(params, ["execution.entry=maker", "execution.exit=maker", "execution.entry_ttl_bars=3"])
    env = TradingEnv({**env_config, "params": maker.model_dump(mode="json")})
    assert env.sim.params.entry_maker and env.sim.params.exit_maker
    env.reset(seed=5)
    rng = np.random.default_rng(0)
    done = False
    while not done:
        _, _, terminated, truncated, _ = env.step(int(rng.choice([HOLD, BUY, SELL])))
        done = terminated or truncated
    res = env.sim.result()
    assert res.trades["entry_maker"].all() and len(res.trades) > 0
    assert res.orders[0, 0] > len(res.trades)  # more entry orders sent than filled
