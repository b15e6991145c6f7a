"""Hand-built backtest results and objectives whose figures can be worked out on paper (metrics, objectives and
report tests)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from backtest.config import Objectives
from backtest.sim.result import TRADE_COLUMNS, BacktestResult

OBJ = Objectives(
    monthly_return_min=15.0,
    sharpe_min=1.5,
    drawdown_max=5.0,
    auto_stop_drawdown=4.0,
    profit_factor_min=1.3,
    min_real_days=30,
)

T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC, ms


def make_trades(pnls: list[float], sides: list[int] | None = None, start_ms: int = T0, bar_ms: int = 60_000):
    """A trade list with the given net pnl per trade; one bar held each, entries spaced ten bars apart."""
    n = len(pnls)
    sides = sides if sides is not None else [1] * n
    entry_bar = np.arange(n, dtype=np.int64) * 10
    exit_bar = entry_bar + 1
    pnl = np.asarray(pnls, dtype=np.float64)
    df = pd.DataFrame(
        {
            "entry_time": pd.to_datetime(start_ms + entry_bar * bar_ms, unit="ms", utc=True),
            "exit_time": pd.to_datetime(start_ms + exit_bar * bar_ms, unit="ms", utc=True),
            "entry_bar": entry_bar,
            "exit_bar": exit_bar,
            "side": np.asarray(sides, dtype=np.int64),
            "qty": np.full(n, 0.1),
            "entry_price": np.full(n, 100.0),
            "exit_price": 100.0 + pnl,
            "gross_pnl": pnl + 0.1,
            "fees": np.full(n, 0.1),
            "funding": np.zeros(n),
            "pnl": pnl,
            "return_pct": pnl / 100.0,
            "exit_reason": ["signal"] * n,
            "hold_seconds": np.full(n, bar_ms / 1000.0),
            "entry_maker": np.zeros(n, dtype=bool),
            "exit_maker": np.zeros(n, dtype=bool),
            "entry_wait_bars": np.zeros(n, dtype=np.int64),
            "exit_wait_bars": np.zeros(n, dtype=np.int64),
        }
    )
    return df[list(TRADE_COLUMNS)]


def make_result(
    equity,
    *,
    bar_seconds: int = 60,
    initial: float | None = None,
    trades: pd.DataFrame | None = None,
    actions=None,
    position=None,
    close=None,
    start_ms: int = T0,
    provenance: dict | None = None,
    halts: list[int] | None = None,
    fees: float = 0.0,
    funding: float = 0.0,
) -> BacktestResult:
    """A BacktestResult over len(equity) bars starting at `start_ms`."""
    eq = np.asarray(equity, dtype=np.float64)
    n = len(eq)
    ts = start_ms + np.arange(n, dtype=np.int64) * bar_seconds * 1000
    px = np.asarray(close, dtype=np.float64) if close is not None else np.full(n, 100.0)
    return BacktestResult(
        timestamps=ts,
        open=px.copy(),
        close=px,
        equity=eq,
        position=np.asarray(position, dtype=np.float64) if position is not None else np.zeros(n),
        actions=np.asarray(actions, dtype=np.int8) if actions is not None else np.zeros(n, dtype=np.int8),
        trades=trades if trades is not None else make_trades([]),
        initial_equity=float(initial if initial is not None else eq[0]),
        bar_seconds=bar_seconds,
        fees=fees,
        funding=funding,
        halts=list(halts or []),
        segments=[(0, n)],
        strategy="hand",
        provenance=dict(provenance or {}),
    )
