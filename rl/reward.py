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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rl.config import RewardConfig

VOL_FLOOR_PCT = 0.01  # volatility floor for vol_scaled rewards, percent


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
        self.reset()

    def reset(self) -> None:
        self.streak = 0
        self.bar = 0
        self.last_closed_side = 0
        self.last_close_bar = -(10**9)

    def terms(self, ev: Any, vol_pct: float | None = None) -> RewardTerms:
        """Reward components of one `Simulator.step` event; `vol_pct` (ATR / close * 100) is used if vol_scaled."""
        cfg = self.cfg
        self.bar += 1
        out = RewardTerms()
        change_pct = (ev.equity_after - ev.equity_before) / ev.equity_before * 100.0 if ev.equity_before > 0 else 0.0
        out.pnl = change_pct * cfg.scale / 100.0
        if cfg.vol_scaled:
            out.pnl /= max(float(vol_pct) if vol_pct is not None else VOL_FLOOR_PCT, VOL_FLOOR_PCT)

        holding = ev.side_after != 0
        if cfg.trade_bonus and ev.n_wins:
            out.trade_bonus = cfg.trade_bonus * ev.n_wins
        if cfg.hold_penalty and holding:
            out.hold_penalty = -cfg.hold_penalty
        if cfg.hold_timeout_penalty and holding and ev.bars_held * self.bar_seconds > cfg.hold_timeout_seconds:
            out.hold_timeout_penalty = -cfg.hold_timeout_penalty

        if ev.n_closed:
            if ev.n_wins == ev.n_closed:
                self.streak += ev.n_wins
                out.streak_bonus = cfg.streak_bonus * self.streak if cfg.streak_bonus else 0.0
            else:
                self.streak = 0
            self.last_closed_side = int(ev.side_before)
            self.last_close_bar = self.bar

        reversed_now = ev.side_before != 0 and ev.side_after == -ev.side_before
        reopened = (
            ev.opened
            and ev.side_before == 0
            and ev.side_after == -self.last_closed_side != 0
            and self.bar - self.last_close_bar <= cfg.flip_flop_bars
        )
        if cfg.flip_flop_penalty and (reversed_now or reopened):
            out.flip_flop_penalty = -cfg.flip_flop_penalty
        return out

    def __call__(self, ev: Any, vol_pct: float | None = None) -> float:
        return self.terms(ev, vol_pct).total
