"""The compiled vector env is RLlib's SyncVectorEnv of TradingEnvs, bit for bit, only faster."""

from __future__ import annotations

import time

import gymnasium as gym
import numpy as np
import pytest

from backtest.config import params_from_dict, with_overrides
from rl.env import TradingEnv
from rl.vector_env import TradingVectorEnv, make_env

SHAPED = [
    "rl.reward.trade_bonus=0.2",
    "rl.reward.hold_penalty=0.001",
    "rl.reward.hold_timeout_penalty=0.05",
    "rl.reward.hold_timeout_seconds=180",
    "rl.reward.streak_bonus=0.03",
    "rl.reward.flip_flop_penalty=0.1",
    "rl.reward.vol_scaled=true",
]
POSITIONS = ["trading.max_positions=2", "trading.atr_stop.enabled=true", "trading.kelly.enabled=true",
             "trading.kelly.min_trades=3", "trading.max_hold_seconds=0"]  # fmt: skip


def _config(env_config: dict, sets: list[str]) -> dict:
    params = with_overrides(params_from_dict(env_config["params"]), sets)
    return {**env_config, "params": params.model_dump(mode="json")}


def _sync(config: dict, n: int) -> gym.vector.SyncVectorEnv:
    return gym.vector.SyncVectorEnv([lambda: TradingEnv(config) for _ in range(n)])


MAKER = ["execution.entry=maker", "execution.exit=maker", "execution.take_profit=maker", "execution.entry_ttl_bars=2",
         "trading.max_hold_seconds=180"]  # fmt: skip
IN_SESSION = ["trading.trade_closed_sessions=false"]  # entries refused while the outside market is closed


@pytest.mark.parametrize(
    "sets",
    [[], SHAPED, POSITIONS, MAKER, IN_SESSION],
    ids=["default", "shaped-rewards", "positions", "maker-orders", "in-session-only"],
)
def test_vector_env_matches_a_sync_vector_of_single_envs_step_for_step(env_config, sets):
    config = _config(env_config, sets)
    n = 4
    ref, vec = _sync(config, n), TradingVectorEnv(config, num_envs=n)
    obs_r, info_r = ref.reset(seed=11)
    obs_v, info_v = vec.reset(seed=11)
    np.testing.assert_array_equal(obs_v, obs_r)
    np.testing.assert_array_equal(info_v["start"], info_r["start"])
    rng = np.random.default_rng(0)
    episode = ref.envs[0].unwrapped.episode_bars
    resets = 0
    for _ in range(2 * episode + 7):  # every env runs through an autoreset (next-step mode) and on
        actions = rng.choice(3, size=n, p=[0.6, 0.2, 0.2])
        got_r = ref.step(actions)
        got_v = vec.step(actions)
        for a, b in zip(got_v[:4], got_r[:4]):
            np.testing.assert_array_equal(a, b)
        if "_equity" in got_r[4]:
            mask = got_r[4]["_equity"]
            np.testing.assert_array_equal(got_v[4]["_equity"], mask)
            np.testing.assert_array_equal(got_v[4]["equity"][mask], got_r[4]["equity"][mask])
        if "_start" in got_r[4]:
            resets += int(got_r[4]["_start"].sum())
            np.testing.assert_array_equal(got_v[4]["start"][got_r[4]["_start"]], got_r[4]["start"][got_r[4]["_start"]])
    assert resets >= 2 * n


def test_vector_env_charges_the_venue_fee_schedule_the_single_env_charges(env_config):
    from backtest.venue.fees import resolve_fees

    vec, single = TradingVectorEnv(env_config, num_envs=2), TradingEnv(env_config)
    params = single.params
    fees = resolve_fees(params, recorded=single.prepared.provenance.get("fees"))
    assert vec._sim_params == single.sim.params
    assert (vec._sim_params.taker_frac, vec._sim_params.maker_frac) == (fees.taker, fees.maker)
    assert params.market.coin == "xyz:XYZ100" and fees.taker == pytest.approx(0.0009)  # HIP-3 standard, offline
    opens = TradingVectorEnv(_config(env_config, IN_SESSION), num_envs=2)._arr[-1]
    assert np.any(opens == 0.0) and np.any(opens == 1.0)  # the market's session rule reaches the stepped kernel


def test_rllib_env_creator_gives_the_vector_env_with_num_envs_and_the_single_env_without(env_config):
    assert isinstance(make_env({**env_config, "num_envs": 3}), TradingVectorEnv)
    assert make_env({**env_config, "num_envs": 3}).num_envs == 3
    assert isinstance(make_env(env_config), TradingEnv)


def test_vector_env_steps_faster_than_the_sync_vector(env_config):
    n, steps = 8, 300
    ref, vec = _sync(env_config, n), TradingVectorEnv(env_config, num_envs=n)
    actions = np.random.default_rng(1).choice(3, size=(steps, n), p=[0.8, 0.1, 0.1])
    timings = []
    for env in (ref, vec):
        env.reset(seed=1)
        env.step(actions[0])  # compiled on first use
        t0 = time.perf_counter()
        for a in actions:
            env.step(a)
        timings.append(time.perf_counter() - t0)
    assert timings[1] < timings[0] / 2, timings
