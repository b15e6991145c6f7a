"""What a backtest produces: per-bar arrays, the trade list, totals and provenance."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pandas is imported where used: Ray workers never need it (~0.3 s of start-up)
    import pandas as pd

EXIT_REASONS = ("signal", "take_profit", "stop_loss", "timeout", "end")

TRADE_COLUMNS = (
    "entry_time",  # datetime64[ms, UTC]: bar open time of the fill bar plus latency
    "exit_time",  # datetime64[ms, UTC]
    "entry_bar",  # int: index of the bar whose open filled the entry
    "exit_bar",  # int: index of the bar in which the exit filled
    "side",  # +1 long, -1 short
    "qty",  # coin units
    "entry_price",  # fill price after slippage and latency
    "exit_price",
    "gross_pnl",  # side * qty * (exit - entry)
    "fees",  # entry + exit commission
    "funding",  # funding paid while open (positive = paid)
    "pnl",  # gross_pnl - fees - funding
    "return_pct",  # pnl / equity at entry decision * 100
    "exit_reason",  # one of EXIT_REASONS
    "hold_seconds",
    "entry_maker",  # bool: the entry filled as a post-only limit (maker fee, no slippage)
    "exit_maker",  # bool: the exit filled as a post-only limit (exit order or maker take-profit)
    "entry_wait_bars",  # int: maker entry: bars from the order's arrival to its fill (0 = the arrival bar)
    "exit_wait_bars",  # int: maker exit order: likewise
)


@dataclass
class BacktestResult:
    """One backtest over bars [0, T) of `timestamps`; segment runs are merged into one of these."""

    timestamps: np.ndarray  # int64 ms, bar open times [T]
    open: np.ndarray  # float64 [T]
    close: np.ndarray  # float64 [T]
    equity: np.ndarray  # float64 [T]: mark-to-market equity at each bar close
    position: np.ndarray  # float64 [T]: signed position in coin units at each bar close
    actions: np.ndarray  # int8 [T]: decision at each bar close (0 HOLD, 1 BUY, 2 SELL); -1 where no decision was taken
    trades: pd.DataFrame  # TRADE_COLUMNS
    initial_equity: float
    bar_seconds: int
    fees: float = 0.0
    funding: float = 0.0
    halts: list[int] = field(default_factory=list)  # bar indices where the drawdown halt fired
    segments: list[tuple[int, int]] = field(default_factory=list)  # [start, end) bar ranges simulated
    strategy: str = ""
    provenance: dict[str, Any] = field(default_factory=dict)  # data source, share_real, seed, ...
    orders: np.ndarray = field(default_factory=lambda: np.zeros((2, 6)))  # maker orders [entry, exit] x outcomes
    execution: dict[str, Any] = field(default_factory=dict)  # the execution section the run used (styles, ...)

    @property
    def n_bars(self) -> int:
        return len(self.timestamps)

    @property
    def final_equity(self) -> float:
        return float(self.equity[-1]) if len(self.equity) else self.initial_equity

    @property
    def halt_times(self) -> list[pd.Timestamp]:
        import pandas as pd

        return [pd.Timestamp(int(self.timestamps[i]), unit="ms", tz="UTC") for i in self.halts]
