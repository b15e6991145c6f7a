"""Gymnasium trading env on the shared simulator (Qlib-RL split: simulator / state interpreter / reward).

- Simulator: `backtest.sim.Simulator`; every fill, fee, funding charge and PnL comes from `Simulator.step`.
- State interpreter: `rl.obs` (normalised causal features at t + position state, via `build_observation`).
- Reward: `rl.reward.RewardShaper` on the simulator's StepEvent.

An episode is a random segment of `rl.episode_bars` bars inside one time split (the training span by default),
drawn with the env's seeded generator (seed = env seed + 1000 * worker index + vector index). Actions are
Discrete(3): HOLD / BUY / SELL as the simulator defines them. The segment's end is a time limit (truncated). On a
series with breaks (a proxy's closed sessions, `backtest.gaps`) an episode also ends at the last bar before the next
break, as backtest segments do: no position is held across hours without bars.

The drawdown auto-stop (`objectives.auto_stop_drawdown`) is off in training episodes by default
(env_config auto_stop=False): a halted account earns zero reward whatever it does, and an exploring policy hits
the halt within a few hundred bars, so most of each episode would teach nothing. Fills, fees and PnL are
unchanged; validation and test backtests run with the halt on, as every backtest does.

env_config: params (dict dump of Params), objectives (dict dump; default configs/objectives.yaml), source, days,
span ("train" | "validation" | "test"), seed, auto_stop, fees (the venue fee schedule the driver resolved, a
`FeeSchedule.to_dict()`; default: the one the env's data provenance records).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from backtest.config import Params, load_objectives, objectives_from_dict, params_from_dict
from backtest.gaps import breaks, run_end
from backtest.sim import POSITION_STATE_DIM
from rl.data import Prepared, prepare
from rl.obs import observation
from rl.reward import RewardShaper

N_ACTIONS = 3


class TradingEnv(gym.Env):
    """One simulated account trading random segments of one time split."""

    metadata = {"render_modes": []}  # noqa: RUF012

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        # RLlib passes an EnvContext (a dict with worker_index / vector_index attributes): read those first
        worker = int(getattr(config, "worker_index", 0))
        vector = int(getattr(config, "vector_index", 0))
        config = dict(config or {})
        self.params: Params = params_from_dict(config["params"]) if "params" in config else _default_params()
        self.prepared: Prepared = prepare(self.params, config.get("source"), config.get("days"))
        self.span = self.prepared.splits.span(config.get("span", "train"))
        self.episode_bars = min(int(self.params.rl.episode_bars), self.span[1] - self.span[0] - 1)
        if self.episode_bars < 2:
            raise ValueError(f"span {self.span} is too short for an episode")
        market = self.prepared.market
        self._breaks = breaks(market.ts, market.bar_seconds)
        self._base_seed = int(config.get("seed", self.params.rl.seed)) + 1000 * worker + vector

        from backtest.sim import SimParams, Simulator
        from backtest.venue.fees import resolve_fees

        objectives = objectives_from_dict(config["objectives"]) if "objectives" in config else load_objectives()
        recorded = config.get("fees") or self.prepared.provenance.get("fees")  # the driver's venue schedule
        sim_params = SimParams.from_config(self.params, objectives, resolve_fees(self.params, recorded=recorded))
        if not config.get("auto_stop", False):
            sim_params = sim_params._replace(auto_stop_frac=0.0)
        self.sim = Simulator(self.prepared.market, sim_params)
        self._vol_pct = vol_pct_series(self.prepared)
        self.shaper = RewardShaper(self.params.rl.reward, self.params.backtest.bar_seconds)
        dim = self.prepared.features.shape[1] + POSITION_STATE_DIM
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (dim,), np.float32)
        self.action_space = gym.spaces.Discrete(N_ACTIONS)
        self._seeded = False

    def _obs(self) -> np.ndarray:
        return observation(self.prepared.features, self.sim.t, self.sim.position_state()).astype(np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if seed is None and not self._seeded:
            seed = self._base_seed
        super().reset(seed=seed)
        self._seeded = True
        lo, hi = self.span
        if options and "start" in options:
            start = int(options["start"])
        else:
            for _ in range(1000):  # a start with at least two unbroken bars after it (always the first try if no gaps)
                start = int(self.np_random.integers(lo, hi - self.episode_bars))
                if run_end(self._breaks, hi, start) - start >= 2:
                    break
        end = min(start + self.episode_bars, run_end(self._breaks, self.prepared.market.n_bars, start))
        self.sim.reset(start, end)
        self.shaper.reset()
        return self._obs(), {"start": start}

    def step(self, action: int):
        ev = self.sim.step(int(action))
        vol_pct = None if self._vol_pct is None else float(self._vol_pct[self.sim.t])
        terms = self.shaper.terms(ev, vol_pct)
        info = {"equity": float(ev.equity_after), "pnl_reward": terms.pnl, "n_closed": int(ev.n_closed)}
        broke = ev.equity_after <= 0
        return self._obs(), float(terms.total), bool(broke), bool(ev.done and not broke), info


def vol_pct_series(prepared: Prepared) -> np.ndarray | None:
    """ATR / close per bar in percent (causal: known at the bar's close), float64, for vol-scaled rewards; None
    without an `atr` feature. Computed in float32 like the features, so every env reads the same numbers."""
    names = prepared.feature_names
    if "atr" not in names:
        return None
    col = prepared.raw_features[:, names.index("atr")]
    return np.ascontiguousarray((col * np.float32(100.0)).astype(np.float64))


def _default_params() -> Params:
    from backtest.config import load_params

    return load_params()
