"""Prices on the venue's tick for the simulator's maker orders: the book's touch at an open, a post-only price."""

from __future__ import annotations

import numpy as np

from backtest.jit import kernel_jit


@kernel_jit(inline="always")
def to_tick(x, tick):
    """`x` rounded to the nearest multiple of `tick` (the venue's price step there, from backtest/venue/rules.py's
    `price_steps`), written as the float nearest the decimal price, as `rules.round_prices` does."""
    v = np.rint(x / tick) * tick
    if tick < 1.0:
        v = np.round(v, int(np.rint(-np.log10(tick))))
    return v


@kernel_jit(inline="always")
def touch_quotes(o, slip_frac, tick):
    """(bid, ask) of the book at an open `o`: `o * (1 -/+ slip_frac)` on the tick, the paper exchange's book with
    spread_bps = 2 * slippage (live/paper_exchange/prices.py::book_levels)."""
    return to_tick(o * (1.0 - slip_frac), tick), to_tick(o * (1.0 + slip_frac), tick)


@kernel_jit(inline="always")
def maker_price(side, bid, ask, offset_ticks, tick):
    """A post-only limit's price: at the touch of its own side (a buy at the bid, a sell at the ask), moved
    `offset_ticks` ticks towards the other side (> 0 inside the spread, < 0 behind the touch); never below a tick."""
    if side > 0:
        return max(to_tick(bid + offset_ticks * tick, tick), tick)
    return max(to_tick(ask - offset_ticks * tick, tick), tick)


@kernel_jit(inline="always")
def post_only_crosses(side, px, bid, ask):
    """The venue's post-only rule: a buy at or above the ask (a sell at or below the bid) would match at once and
    is rejected ("Post only order would have immediately matched")."""
    return px >= ask if side > 0 else px <= bid
