"""Maker-order tests of the live trader: a scripted strategy and scripted bars around 20,000 (tick 1), where the paper
exchange's book (spread 2 x slippage = 10 bp) has its best bid at 19,990 and best ask at 20,010 at an open of 20,000."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from backtest.sim import HOLD
from backtest.strategies.base import SignalStrategy
from live.rehearsal import Rig, make_rig

PX, BID, ASK = 20_000.0, 19_990.0, 20_010.0
QUIET = (PX, PX + 4, PX - 4, PX)  # never reaches the touch on either side
HISTORY = 60


class Scripted(SignalStrategy):
    """Decides `plan[k]` at the close of the k-th bar after the warm-up history (HOLD otherwise)."""

    name = "scripted"

    def __init__(self, plan: dict[int, int], history: int = HISTORY) -> None:
        self.plan, self.history = plan, history

    def signals(self, close: np.ndarray, features: np.ndarray) -> np.ndarray:
        out = np.full(len(close), HOLD, dtype=np.int8)
        for k, action in self.plan.items():
            if self.history + k < len(close):
                out[self.history + k] = action
        return out


def scripted_bars(rows: dict[int, tuple[float, float, float, float]], n: int = 40) -> pd.DataFrame:
    """HISTORY quiet bars, then `n` bars: `rows[k]` = (open, high, low, close) of the k-th, QUIET otherwise."""
    ohlc = [QUIET] * HISTORY + [rows.get(k, QUIET) for k in range(n)]
    a = np.asarray(ohlc, dtype=float)
    return pd.DataFrame(
        {
            "timestamp": pd.to_datetime(1_772_409_600_000 + np.arange(len(a)) * 60_000, unit="ms", utc=True),
            "open": a[:, 0],
            "high": a[:, 1],
            "low": a[:, 2],
            "close": a[:, 3],
            "volume": 50.0,
            "trades": 10,
            "source": "scripted",
        }
    )


def maker_rig(tmp: Path, plan: dict[int, int], rows: dict, overrides: list[str], n: int = 40) -> Rig:
    """A trader with a scripted plan on scripted bars, maker entries; TP/SL far away unless overridden."""
    settings = ["execution.entry=maker", "live.daily_loss_limit_pct=0", "trading.max_hold_seconds=0",
                "trading.take_profit_pct=2", "trading.stop_loss_pct=2", *overrides]  # fmt: skip
    return make_rig(tmp, lambda p: Scripted(plan), settings, history=HISTORY, bars=scripted_bars(rows, n))
