"""What maker execution did: order outcomes, fill rate, time to fill, markout (adverse selection), cost per trade.

Definitions (docs/ARCHITECTURE.md, "Execution styles", quotes them):

* Orders, per purpose (entry, exit): `submitted` post-only orders; `rejected` at arrival because they would have
  crossed; `filled`; `expired` (cancelled at the ttl); `converted` (sent at market at the ttl); `cancelled` (by an
  opposite action, the drawdown halt, the positions closing first, or the segment end).
  fill_rate_pct = filled / (submitted - rejected) * 100: of the orders that rested, the share that filled.
* time_to_fill_bars: mean bars from an order's arrival bar to its fill bar over maker fills (0 = the arrival bar).
* markout_bps after N bars (`execution.adverse_bars`): for each maker fill at price P in bar b, in the fill's own
  direction d (+1 a buy, -1 a sell), d * (close[b + N] - P) / P * 1e4, averaged. Negative means the mid went
  against the fill (adverse selection); a taker pays the spread instead.
* cost_per_round_trip_bps: (fees + modelled slippage of taker legs) / entry notional * 1e4, averaged over trades;
  a taker leg's slippage is qty * price * slippage (maker legs pay none). Latency drift is not included.
* fees_saved_vs_taker: sum over maker legs of notional * (taker fee - maker fee): the fee difference on the same
  fills. The taker-only twin (`python -m backtest` runs it when a maker style is on) is the whole counterfactual.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from backtest.sim.layout import ORDER_OUTCOMES
from backtest.sim.result import BacktestResult

KINDS = ("entry", "exit")


def _markout(px: np.ndarray, bars: np.ndarray, d: np.ndarray, close: np.ndarray, n: int) -> float | None:
    if len(px) == 0:
        return None
    later = close[np.minimum(bars + n, len(close) - 1)]
    return float(np.mean(d * (later - px) / px) * 1e4)


def cost_per_round_trip_bps(result: BacktestResult) -> float:
    """Mean (fees + taker slippage) per trade over its entry notional, in basis points (0 without trades)."""
    tr = result.trades
    if tr.empty:
        return 0.0
    slip = float(result.execution.get("slippage_pct", 0.0)) / 100.0
    qty = tr["qty"].to_numpy(float)
    entry_notional = qty * tr["entry_price"].to_numpy(float)
    slip_cost = slip * (
        entry_notional * ~tr["entry_maker"].to_numpy(bool)
        + qty * tr["exit_price"].to_numpy(float) * ~tr["exit_maker"].to_numpy(bool)
    )
    return float(np.mean((tr["fees"].to_numpy(float) + slip_cost) / entry_notional) * 1e4)


def execution_metrics(result: BacktestResult) -> dict[str, Any]:
    """Flat, JSON-safe execution figures of `result` (keys prefixed `entry_` / `exit_` per order purpose)."""
    ex = result.execution
    tr = result.trades
    n = int(ex.get("adverse_bars", 5))
    close = np.asarray(result.close, dtype=np.float64)
    out: dict[str, Any] = {
        "execution_entry": ex.get("entry", "market"),
        "execution_exit": ex.get("exit", "market"),
        "execution_take_profit": ex.get("take_profit", "market"),
        "adverse_bars": n,
        "cost_per_round_trip_bps": cost_per_round_trip_bps(result),
    }
    orders = np.asarray(result.orders).reshape(2, len(ORDER_OUTCOMES))
    for kind, row in zip(KINDS, orders):
        counts = dict(zip(ORDER_OUTCOMES, row.astype(int).tolist()))
        for outcome, value in counts.items():
            out[f"{kind}_orders_{outcome}"] = value
        rested = counts["submitted"] - counts["rejected"]
        out[f"{kind}_fill_rate_pct"] = counts["filled"] / rested * 100.0 if rested > 0 else None
    side = tr["side"].to_numpy(float) if len(tr) else np.zeros(0)
    em = tr["entry_maker"].to_numpy(bool) if len(tr) else np.zeros(0, bool)
    xm = tr["exit_maker"].to_numpy(bool) if len(tr) else np.zeros(0, bool)
    x_order = xm & tr["exit_reason"].astype(str).isin(["signal", "timeout"]).to_numpy() if len(tr) else xm
    out["entry_maker_fills"] = int(em.sum())
    out["exit_maker_fills"] = int(xm.sum())
    out["entry_time_to_fill_bars"] = float(tr["entry_wait_bars"][em].mean()) if em.any() else None
    out["exit_time_to_fill_bars"] = float(tr["exit_wait_bars"][x_order].mean()) if x_order.any() else None
    if len(tr):
        ebar, xbar = tr["entry_bar"].to_numpy(np.int64), tr["exit_bar"].to_numpy(np.int64)
        epx, xpx = tr["entry_price"].to_numpy(float), tr["exit_price"].to_numpy(float)
        out["entry_markout_bps"] = _markout(epx[em], ebar[em], side[em], close, n)
        out["exit_markout_bps"] = _markout(xpx[xm], xbar[xm], -side[xm], close, n)
        qty = tr["qty"].to_numpy(float)
        fee_gap = (float(ex.get("taker_pct", 0.0)) - float(ex.get("maker_pct", 0.0))) / 100.0
        maker_notional = float((qty * epx)[em].sum() + (qty * xpx)[xm].sum())
        out["maker_notional"] = maker_notional
        out["fees_saved_vs_taker"] = maker_notional * fee_gap
    else:
        out.update(entry_markout_bps=None, exit_markout_bps=None, maker_notional=0.0, fees_saved_vs_taker=0.0)
    return out


def uses_maker(result: BacktestResult) -> bool:
    """True when the run had a maker style on (or any maker order): the report then shows the execution block."""
    ex = result.execution
    return "maker" in (ex.get("entry"), ex.get("exit"), ex.get("take_profit")) or bool(np.any(result.orders))
