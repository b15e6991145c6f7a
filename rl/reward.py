"""Training reward: the simulator's equity change plus optional shaping terms (Qlib-RL style "reward" component).

Base term: (equity_after - equity_before) / equity_before * 100 * scale / 100, i.e. the bar's equity change after
fees, slippage and funding in percent of equity, times `rl.reward.scale / 100`. With `vol_scaled` it is divided by
the bar's volatility in percent (ATR / close * 100, floored at VOL_FLOOR_PCT), so calm and wild regimes weigh alike.

Shaping terms (each weighted in `configs/params.yaml` `rl.reward`, off when its weight is zero):
- trade_bonus: + weight per trade closed in profit this bar.
- hold_penalty: - weight every bar that ends with a position open.
- hold_timeout_penalty: - weight every bar that ends with a position held longer than hold_timeout_seconds.
- streak_bonus: on a bar whose closes are all profitable, + weight * (consecutive profitable trades so far);
  any losing close resets the streak.
- flip_flop_penalty: - weight when a position is opened on the side opposite to the previous position within
  flip_flop_bars bars of closing it (BUY-while-short closes, the next BUY opens long: that is a flip).

Shaped rewards only shape learning. Every reported figure comes from the simulator's PnL on data not trained on.

One implementation: `reward_terms` (compiled) computes every term from a step's outcome and a small state vector;
`RewardShaper` (the single env) and the compiled vector env (`rl.vector_env`) both call it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from backtest.jit import cached_njit
from rl.config import RewardConfig

VOL_FLOOR_PCT = 0.01  # volatility floor for vol_scaled rewards, percent

# reward_terms' config vector (float64), from `reward_config_vector`
C_TRADE_BONUS, C_HOLD_PENALTY, C_TIMEOUT_PENALTY, C_TIMEOUT_S, C_STREAK_BONUS = 0, 1, 2, 3, 4
C_FLIP_PENALTY, C_FLIP_BARS, C_VOL_SCALED, C_SCALE, C_BAR_S = 5, 6, 7, 8, 9
N_CFG = 10
# its state vector (float64, one per account), reset by `reset_reward_state`
R_STREAK, R_BAR, R_LAST_SIDE, R_LAST_CLOSE_BAR = 0, 1, 2, 3
N_STATE = 4
# its output: the terms in RewardTerms order, then the total
N_TERMS = 6


def reward_config_vector(cfg: RewardConfig, bar_seconds: int) -> np.ndarray:
    """The reward settings as the float64 vector `reward_terms` reads."""
    out = np.zeros(N_CFG)
    out[C_TRADE_BONUS] = cfg.trade_bonus
    out[C_HOLD_PENALTY] = cfg.hold_penalty
    out[C_TIMEOUT_PENALTY] = cfg.hold_timeout_penalty
    out[C_TIMEOUT_S] = cfg.hold_timeout_seconds
    out[C_STREAK_BONUS] = cfg.streak_bonus
    out[C_FLIP_PENALTY] = cfg.flip_flop_penalty
    out[C_FLIP_BARS] = cfg.flip_flop_bars
    out[C_VOL_SCALED] = 1.0 if cfg.vol_scaled else 0.0
    out[C_SCALE] = cfg.scale
    out[C_BAR_S] = int(bar_seconds)
    return out


@cached_njit()
def reset_reward_state(state):  # pragma: no cover - compiled
    state[R_STREAK] = 0.0
    state[R_BAR] = 0.0
    state[R_LAST_SIDE] = 0.0
    state[R_LAST_CLOSE_BAR] = -1e9


@cached_njit()
def reward_terms(
    cfg, state, equity_before, equity_after, n_closed, n_wins, side_before, side_after, opened, bars_held, vol_pct, out
):  # pragma: no cover - compiled
    """Every reward term of one step into `out` [N_TERMS] (pnl, trade bonus, hold penalty, hold-timeout penalty,
    streak bonus, flip-flop penalty), updating `state`; returns their sum. `vol_pct` NaN = unknown (floor)."""
    state[R_BAR] += 1.0
    for k in range(N_TERMS):
        out[k] = 0.0
    change_pct = (equity_after - equity_before) / equity_before * 100.0 if equity_before > 0 else 0.0
    pnl = change_pct * cfg[C_SCALE] / 100.0
    if cfg[C_VOL_SCALED] != 0.0:
        vol = VOL_FLOOR_PCT if vol_pct != vol_pct else vol_pct
        pnl /= max(vol, VOL_FLOOR_PCT)
    out[0] = pnl
    holding = side_after != 0
    if cfg[C_TRADE_BONUS] != 0.0 and n_wins != 0:
        out[1] = cfg[C_TRADE_BONUS] * n_wins
    if cfg[C_HOLD_PENALTY] != 0.0 and holding:
        out[2] = -cfg[C_HOLD_PENALTY]
    if cfg[C_TIMEOUT_PENALTY] != 0.0 and holding and bars_held * cfg[C_BAR_S] > cfg[C_TIMEOUT_S]:
        out[3] = -cfg[C_TIMEOUT_PENALTY]
    if n_closed != 0:
        if n_wins == n_closed:
            state[R_STREAK] += n_wins
            out[4] = cfg[C_STREAK_BONUS] * state[R_STREAK] if cfg[C_STREAK_BONUS] != 0.0 else 0.0
        else:
            state[R_STREAK] = 0.0
        state[R_LAST_SIDE] = side_before
        state[R_LAST_CLOSE_BAR] = state[R_BAR]
    reversed_now = side_before != 0 and side_after == -side_before
    reopened = (
        opened != 0
        and side_before == 0
        and side_after == -state[R_LAST_SIDE]
        and state[R_LAST_SIDE] != 0
        and state[R_BAR] - state[R_LAST_CLOSE_BAR] <= cfg[C_FLIP_BARS]
    )
    if cfg[C_FLIP_PENALTY] != 0.0 and (reversed_now or reopened):
        out[5] = -cfg[C_FLIP_PENALTY]
    return out[0] + out[1] + out[2] + out[3] + out[4] + out[5]


@dataclass
class RewardTerms:
    """Each component of one bar's reward (already weighted and signed); `total` is their sum."""

    pnl: float = 0.0
    trade_bonus: float = 0.0
    hold_penalty: float = 0.0
    hold_timeout_penalty: float = 0.0
    streak_bonus: float = 0.0
    flip_flop_penalty: float = 0.0

    @property
    def total(self) -> float:
        return (
            self.pnl
            + self.trade_bonus
            + self.hold_penalty
            + self.hold_timeout_penalty
            + self.streak_bonus
            + self.flip_flop_penalty
        )


class RewardShaper:
    """Turns simulator StepEvents into rewards; keeps the small state the shaping terms need (streak, last close)."""

    def __init__(self, cfg: RewardConfig, bar_seconds: int) -> None:
        self.cfg = cfg
        self.bar_seconds = int(bar_seconds)
        self._cfg = reward_config_vector(cfg, bar_seconds)
        self._state = np.zeros(N_STATE)
        self._out = np.zeros(N_TERMS)
        self.reset()

    def reset(self) -> None:
        reset_reward_state(self._state)

    def terms(self, ev: Any, vol_pct: float | None = None) -> RewardTerms:
        """Reward components of one `Simulator.step` event; `vol_pct` (ATR / close * 100) is used if vol_scaled."""
        reward_terms(
            self._cfg,
            self._state,
            float(ev.equity_before),
            float(ev.equity_after),
            float(ev.n_closed),
            float(ev.n_wins),
            float(ev.side_before),
            float(ev.side_after),
            float(ev.opened),
            float(ev.bars_held),
            np.nan if vol_pct is None else float(vol_pct),
            self._out,
        )
        return RewardTerms(*(float(v) for v in self._out))

    def __call__(self, ev: Any, vol_pct: float | None = None) -> float:
        return self.terms(ev, vol_pct).total
