"""N trading envs stepped by one compiled call: what RLlib's env runner samples from (`rl.vector_env: true`).

`TradingVectorEnv` is a `gymnasium.vector.VectorEnv` with the exact behaviour of RLlib's default vectorisation of
`rl.env.TradingEnv` (a `SyncVectorEnv` of N of them, next-step autoreset), but one `vector_step` call (numba)
advances every account: the simulator's own `kernel.step_bar` (one simulator: the same function `Simulator.step`
calls), the end-of-segment close, the reward (`rl.reward.reward_terms`, the function the single env's
`RewardShaper` calls) and the observation. Python runs once per vector step, not once per env.

Parity with the single env, tested in tests/rl/test_vector_env.py: for the same seeds and actions, observations,
rewards, terminations, truncations and equity are identical to a `SyncVectorEnv` of `TradingEnv`s. Episode starts
come from one `np_random` generator per sub-env, seeded like SyncVectorEnv seeds its sub-envs (seed + i), so the
episodes are the same too. The per-trade records the single env keeps (for `Simulator.result`) are not kept here:
the kernel counts the trades without writing them (a zero-length trade buffer), which changes nothing else.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector.vector_env import AutoresetMode

from backtest.jit import cached_njit
from backtest.sim import POSITION_STATE_DIM, SimParams
from backtest.sim import kernel as K
from backtest.sim import layout as L
from backtest.sim.account import init_account
from rl.env import N_ACTIONS, TradingEnv, vol_pct_series
from rl.reward import N_STATE, N_TERMS, reset_reward_state, reward_config_vector, reward_terms


@cached_njit()
def _side(slots):  # pragma: no cover - compiled
    for k in range(slots.shape[0]):
        if slots[k, L.S_SIDE] != 0.0:
            return slots[k, L.S_SIDE]
    return 0.0


@cached_njit()
def write_obs(features, acct, slots, close, bar_ms, pos, out):  # pragma: no cover - compiled
    """out[:] = features[t] then the position state at t: `build_observation`'s layout, in float32."""
    t = int(acct[L.A_T])
    nf = features.shape[1]
    for j in range(nf):
        out[j] = features[t, j]
    K.position_state(acct, slots, close, bar_ms, pos)
    for j in range(pos.shape[0]):
        out[nf + j] = np.float32(pos[j])


@cached_njit()
def vector_step(
    accts, slots, trades, ts, op, hi, lo, cl, atr, funding, tick, opens, p, features, vol_pct, rcfg, rstate,
    actions, mask, obs, rewards, terminated, truncated, equity, pos, terms,
):  # fmt: skip  # pragma: no cover - compiled
    """Advance every account b with mask[b] one bar with its action (exactly `TradingEnv.step`): fills, reward,
    observation; the others are left as they are."""
    for b in range(accts.shape[0]):
        if not mask[b]:
            continue
        acct = accts[b]
        sl = slots[b]
        before = acct[L.A_EQUITY]
        side_before = _side(sl)
        K.step_bar(acct, sl, trades[b], ts, op, hi, lo, cl, atr, funding, tick, opens, actions[b], p)
        t = int(acct[L.A_T])
        done = t >= int(acct[L.A_END]) - 1
        if done:
            K.close_all(acct, sl, trades[b], ts, cl, p)
        after = acct[L.A_EQUITY]
        side_after = _side(sl)
        held = 0
        if side_after != 0.0:
            first = 1e18
            for k in range(sl.shape[0]):
                if sl[k, L.S_SIDE] != 0.0 and sl[k, L.S_ENTRY_BAR] < first:
                    first = sl[k, L.S_ENTRY_BAR]
            held = t - int(first) + 1
        vol = vol_pct[t] if vol_pct.shape[0] > 0 else np.nan
        rewards[b] = reward_terms(
            rcfg, rstate[b], before, after, acct[L.A_STEP_NCLOSED], acct[L.A_STEP_NWIN], side_before, side_after,
            acct[L.A_STEP_OPENED], float(held), vol, terms,
        )  # fmt: skip
        broke = after <= 0.0
        terminated[b] = broke
        truncated[b] = done and not broke
        equity[b] = after
        write_obs(features, acct, sl, cl, p.bar_ms, pos, obs[b])


class TradingVectorEnv(gym.vector.VectorEnv):
    """`num_envs` accounts on one split of one prepared dataset, stepped together (see the module docstring)."""

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP}  # noqa: RUF012

    def __init__(self, config: dict[str, Any] | None = None, num_envs: int | None = None) -> None:
        config = dict(config or {})
        n = int(num_envs if num_envs is not None else config.pop("num_envs", 1))
        config.pop("num_envs", None)
        # one TradingEnv holds the data, spans, simulator parameters and spaces: the same construction, the same
        # checks (its simulator is not used to step)
        self._proto = TradingEnv(config)
        proto = self._proto
        params = proto.params
        self.num_envs = n
        self.single_observation_space = proto.observation_space
        self.single_action_space = proto.action_space
        self.observation_space = gym.vector.utils.batch_space(self.single_observation_space, n)
        self.action_space = gym.spaces.MultiDiscrete(np.full(n, N_ACTIONS))
        self.span = proto.span
        self.episode_bars = proto.episode_bars
        self._sim_params: SimParams = proto.sim.params
        self._arr = proto.sim.kernel_market()  # (ts, open, high, low, close, atr, funding, tick, opens)
        self._features = np.ascontiguousarray(proto.prepared.features, dtype=np.float32)
        vol = vol_pct_series(proto.prepared)
        self._vol = np.zeros(0) if vol is None else vol
        self._rcfg = reward_config_vector(params.rl.reward, params.backtest.bar_seconds)
        p = self._sim_params
        self._accts = np.zeros((n, L.N_ACCT))
        self._slots = np.zeros((n, p.max_positions, L.N_SLOT))
        self._trades = np.zeros((n, 0, L.N_TRADE))  # counted, not recorded (see the module docstring)
        self._rstate = np.zeros((n, N_STATE))
        self._obs = np.zeros((n, self.single_observation_space.shape[0]), dtype=np.float32)
        self._rew = np.zeros(n)
        self._term = np.zeros(n, dtype=np.bool_)
        self._trunc = np.zeros(n, dtype=np.bool_)
        self._equity = np.zeros(n)
        self._pos = np.zeros(POSITION_STATE_DIM)
        self._terms = np.zeros(N_TERMS)
        self._autoreset = np.zeros(n, dtype=np.bool_)
        self._rngs: list[np.random.Generator | None] = [None] * n
        self._starts = np.zeros(n, dtype=np.int64)

    # --- episodes --------------------------------------------------------------------------------------------
    def _reset_one(self, i: int, seed: int | None) -> None:
        if seed is not None or self._rngs[i] is None:
            self._rngs[i], _ = seeding.np_random(seed)
        lo, hi = self.span
        start = int(self._rngs[i].integers(lo, hi - self.episode_bars))
        p = self._sim_params
        init_account(self._accts[i], self._slots[i], start, start + self.episode_bars, p.initial_equity, 0.0)
        reset_reward_state(self._rstate[i])
        write_obs(self._features, self._accts[i], self._slots[i], self._arr[4], p.bar_ms, self._pos, self._obs[i])
        self._starts[i] = start

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None):
        seeds = [seed + i for i in range(self.num_envs)] if isinstance(seed, int) else seed
        seeds = [None] * self.num_envs if seeds is None else seeds
        for i in range(self.num_envs):
            self._reset_one(i, seeds[i])
        self._autoreset[:] = False
        return self._obs.copy(), {"start": self._starts.copy(), "_start": np.ones(self.num_envs, dtype=np.bool_)}

    def step(self, actions: Any):
        actions = np.ascontiguousarray(actions, dtype=np.int64).reshape(self.num_envs)
        if np.any((actions < 0) | (actions >= N_ACTIONS)):
            raise ValueError(f"actions must be 0 (HOLD), 1 (BUY) or 2 (SELL), got {actions}")
        resetting = self._autoreset.copy()
        stepping = ~resetting
        if stepping.any():
            vector_step(
                self._accts, self._slots, self._trades, *self._arr, self._sim_params, self._features, self._vol,
                self._rcfg, self._rstate, actions, stepping, self._obs, self._rew, self._term, self._trunc,
                self._equity, self._pos, self._terms,
            )  # fmt: skip
        for i in np.flatnonzero(resetting):
            self._reset_one(int(i), None)
            self._rew[i] = 0.0
            self._term[i] = False
            self._trunc[i] = False
        self._autoreset = self._term | self._trunc
        infos = self._infos(stepping, resetting)
        return self._obs.copy(), self._rew.copy(), self._term.copy(), self._trunc.copy(), infos

    def _infos(self, stepped: np.ndarray, reset: np.ndarray) -> dict[str, Any]:
        """SyncVectorEnv's info layout: one array per key, with a `_key` mask of the envs that reported it."""
        infos: dict[str, Any] = {}
        if stepped.any():
            infos["equity"] = np.where(stepped, self._equity, 0.0)
            infos["_equity"] = stepped.copy()
        if reset.any():
            infos["start"] = np.where(reset, self._starts, 0)
            infos["_start"] = reset.copy()
        return infos

    def close_extras(self, **kwargs: Any) -> None:
        self._proto.close()


def make_env(config: dict[str, Any] | None = None) -> gym.Env | gym.vector.VectorEnv:
    """RLlib's env creator: with `num_envs` in the config (vector entry point) the compiled vector env, else one
    `TradingEnv`."""
    if config is not None and "num_envs" in config:
        return TradingVectorEnv(config)
    return TradingEnv(config)
