"""Merge independently simulated segments into one result by chaining their returns.

Every segment starts flat with the same initial equity, and sizing, fees and funding are proportional to equity,
so segment k's money figures scale exactly by the equity it would have started with in a continuous chain:
scale_k = prod_{j<k} final_j / initial. Results therefore do not depend on how segments were spread over workers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from backtest.sim import layout as L
from backtest.sim.engine import SegmentRun, trades_frame
from backtest.sim.market import Market
from backtest.sim.result import BacktestResult

_MONEY_FIELDS = (L.T_QTY, L.T_GROSS, L.T_FEES, L.T_FUNDING, L.T_PNL)


def merge_runs(
    market: Market,
    runs: list[SegmentRun],
    initial_equity: float,
    strategy: str = "",
    provenance: dict[str, Any] | None = None,
) -> BacktestResult:
    """One BacktestResult over [first start, last end) from segment runs (any order; sorted by start here)."""
    if not runs:
        raise ValueError("no segment runs to merge")
    runs = sorted(runs, key=lambda r: r.start)
    lo, hi = runs[0].start, runs[-1].end
    n = hi - lo
    equity = np.full(n, np.nan)
    position = np.zeros(n)
    actions = np.full(n, -1, dtype=np.int8)
    trade_parts, halts = [], []
    fees = funding = 0.0
    orders = np.zeros((2, L.N_OC))
    scale = 1.0
    for run in runs:
        a, b = run.start - lo, run.end - lo
        equity[a:b] = run.equity * scale
        position[a:b] = run.position * scale
        actions[a:b] = run.actions
        tr = run.trades.copy()
        for f in _MONEY_FIELDS:
            tr[:, f] *= scale
        trade_parts.append(tr)
        fees += run.fees * scale
        funding += run.funding * scale
        orders += run.orders
        if run.halt_bar >= 0:
            halts.append(run.halt_bar - lo)
        scale *= run.equity[-1] / initial_equity
    # bars between non-adjacent segments (if any) keep the last equity
    mask = np.isnan(equity)
    if mask.any():
        idx = np.where(~mask, np.arange(n), 0)
        np.maximum.accumulate(idx, out=idx)
        equity = equity[idx]
    records = np.concatenate(trade_parts) if trade_parts else np.zeros((0, L.N_TRADE))
    return BacktestResult(
        timestamps=market.ts[lo:hi].copy(),
        open=market.open[lo:hi].copy(),
        close=market.close[lo:hi].copy(),
        equity=equity,
        position=position,
        actions=actions,
        trades=_rebase(trades_frame(records, market.bar_seconds), lo),
        initial_equity=initial_equity,
        bar_seconds=market.bar_seconds,
        fees=fees,
        funding=funding,
        halts=halts,
        segments=[(r.start, r.end) for r in runs],
        strategy=strategy,
        provenance=dict(provenance or {}),
        orders=orders,
    )


def _rebase(trades, lo: int):
    """Bar indices relative to the result's first bar."""
    trades["entry_bar"] -= lo
    trades["exit_bar"] -= lo
    return trades
