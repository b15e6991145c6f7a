"""Buy and hold: the baseline every strategy should beat.

Asks to be long at every bar, with its own execution overrides (all equity, no take-profit, no stop, no max hold), so
that a segment is one entry at its first open and one exit at its last close, through the same simulator. The
drawdown halt does not apply to it.
"""

from __future__ import annotations

import numpy as np

from backtest.strategies.base import BUY, SignalStrategy


class BuyHoldStrategy(SignalStrategy):
    name = "buyhold"
    uses_drawdown_halt = False  # a baseline: holds through drawdowns
    param_overrides = (
        "trading.position_size_pct=1.0",
        "trading.take_profit_pct=1000",
        "trading.stop_loss_pct=99.9",
        "trading.max_hold_seconds=0",
        "trading.max_positions=1",
        "trading.kelly.enabled=false",
        "trading.atr_stop.enabled=false",
    )

    def signals(self, close: np.ndarray, features: np.ndarray | None = None) -> np.ndarray:
        return np.full(len(close), BUY, dtype=np.int8)
