"""The step's maker paths: a resting post-only order, maker exits and maker take-profits at the open and inside
the bar. `kernel.step_bar` calls them only when they can matter, so the market path never enters them."""

from __future__ import annotations

import numpy as np

from backtest.jit import kernel_jit
from backtest.sim.account import close_slot, end_order, fill_entry_order, place_order
from backtest.sim.draws import touch_fill
from backtest.sim.layout import (
    A_O_EXPIRY,
    A_O_FILLED,
    A_O_KIND,
    A_O_PLACED,
    A_O_PX,
    A_O_REASON,
    A_O_SIDE,
    O_ENTRY,
    O_EXIT,
    OC_CANCELLED,
    OC_CONVERTED,
    OC_FILLED,
    R_STOP_LOSS,
    R_TAKE_PROFIT,
    R_TIMEOUT,
    S_ENTRY_BAR,
    S_EXITS_FROM,
    S_SIDE,
    S_SL,
    S_TP,
)
from backtest.sim.rules import gap_exit, intrabar_exit, resting_order_rule, traded_through


@kernel_jit(inline="always")
def _tp_level(side, tp, h, lw, seed, bar, stream, p):
    """The take-profit level the trigger rules compare against. A market TP is a trigger (a touch fires it); a
    maker TP is a resting limit, so it needs a trade through (the level nudged one float beyond), unless a
    touch fills it by the `touch_prob` draw."""
    if not p.tp_limit:
        return tp
    if touch_fill(side, tp, h, lw, seed, bar, stream, p.touch_prob):
        return tp
    return np.nextafter(tp, side * np.inf)


@kernel_jit(inline="always")
def _holds_side(slots, side):
    for k in range(slots.shape[0]):  # noqa: SIM110 (numba compiles no generator expressions)
        if slots[k, S_SIDE] == side:
            return True
    return False


@kernel_jit(inline="always")
def _exit_side_gone(acct, slots):
    """A resting exit whose positions are all closed leaves the book (filled if it closed one, else cancelled)."""
    if acct[A_O_KIND] != O_EXIT:
        return
    for k in range(slots.shape[0]):
        if slots[k, S_SIDE] == -acct[A_O_SIDE]:
            return
    end_order(acct, OC_FILLED if acct[A_O_FILLED] > 0.0 else OC_CANCELLED)


@kernel_jit()
def _entry_gapped(acct, slots, i, o, bar_open_ms, p):
    """2a. A resting entry the open gapped through fills at its price (its TP/SL go live from the next bar)."""
    o_side = acct[A_O_SIDE]
    o_px = acct[A_O_PX]
    if acct[A_O_KIND] == O_ENTRY and (o < o_px if o_side > 0.0 else o > o_px):
        if fill_entry_order(acct, slots, o_px, p.maker_frac, 1.0, i, bar_open_ms, i + 1.0, p):
            end_order(acct, OC_FILLED)
        else:
            end_order(acct, OC_CANCELLED)


@kernel_jit()
def open_with_limits(acct, slots, trades, i, o, bar_open_ms, p):
    """2-3 with maker orders: a resting entry the open gapped through fills at its price; a position's stop gapped
    through exits at the open, a resting exit (or a maker TP) gapped through fills at its price, of two limits the
    one nearer the open; max hold closes at the open, or with maker exits is returned (its side) to be posted.
    Positions filled as maker entries in this bar have no live TP/SL yet."""
    slip = p.slip_frac
    if acct[A_O_SIDE] != 0.0:
        _entry_gapped(acct, slots, i, o, bar_open_ms, p)
    o_px = acct[A_O_PX]
    x_side = -acct[A_O_SIDE] if acct[A_O_KIND] == O_EXIT and acct[A_O_SIDE] != 0.0 else 0.0
    timeout_side = 0.0
    for k in range(slots.shape[0]):
        side = slots[k, S_SIDE]
        if side == 0.0 or slots[k, S_EXITS_FROM] > i:
            continue
        sl = slots[k, S_SL]
        tp = slots[k, S_TP]
        gap = gap_exit(side, o, sl, np.nextafter(tp, side * np.inf) if p.tp_limit else tp)
        if gap == R_STOP_LOSS:
            close_slot(acct, slots, k, o * (1.0 - side * slip), p.taker_frac, i, bar_open_ms, R_STOP_LOSS, trades)
        elif (
            side == x_side
            and (o > o_px if side > 0.0 else o < o_px)
            and (gap != R_TAKE_PROFIT or side * (o_px - tp) <= 0.0)
        ):
            wait = i - acct[A_O_PLACED]
            close_slot(acct, slots, k, o_px, p.maker_frac, i, bar_open_ms, int(acct[A_O_REASON]), trades, 1.0, wait)
            acct[A_O_FILLED] = 1.0
        elif gap == R_TAKE_PROFIT:
            if p.tp_limit:
                close_slot(acct, slots, k, tp, p.maker_frac, i, bar_open_ms, R_TAKE_PROFIT, trades, 1.0)
            else:
                px = o * (1.0 - side * slip)
                close_slot(acct, slots, k, px, p.taker_frac, i, bar_open_ms, R_TAKE_PROFIT, trades)
        elif p.hold_bars > 0 and i - slots[k, S_ENTRY_BAR] >= p.hold_bars:
            if p.exit_maker:
                timeout_side = side
            else:
                px = o * (1.0 - side * slip)
                close_slot(acct, slots, k, px, p.taker_frac, i, bar_open_ms, R_TIMEOUT, trades)
    if x_side != 0.0:
        _exit_side_gone(acct, slots)
    return timeout_side


@kernel_jit()
def order_at_open(acct, slots, trades, i, o, want, drift, fill_ms, timeout_side, tick_i, blocked, p):
    """3b. The resting order at this open: an opposite action cancels it (then acts as if none rested; a max-hold
    exit is the hold limit's, not the policy's, and stays), a block on opens (`blocked`: the drawdown halt, or the
    market's session closed with `trade_closed_sessions` false) cancels an entry, an action of its own
    direction is absorbed by it; at its expiry open it is cancelled or sent as a market order. Then a max-hold close
    with maker exits becomes a post-only exit order (one resting order per account: it replaces a resting entry).
    Returns True when the action was absorbed."""
    absorbed = False
    o_side = acct[A_O_SIDE]
    if o_side != 0.0:
        kind = acct[A_O_KIND]
        to_market = p.entry_expiry_market if kind == O_ENTRY else p.exit_expiry_market
        outcome, absorbed = resting_order_rule(
            kind, o_side, acct[A_O_REASON], want, blocked, i, acct[A_O_EXPIRY], to_market
        )
        if outcome == OC_CONVERTED:
            px = o * (1.0 + o_side * p.slip_frac) + o_side * drift
            if kind == O_ENTRY:
                fill_entry_order(acct, slots, px, p.taker_frac, 0.0, i, fill_ms, float(i), p)
            else:
                reason = int(acct[A_O_REASON])
                for k in range(slots.shape[0]):
                    if slots[k, S_SIDE] == -o_side:
                        close_slot(acct, slots, k, px, p.taker_frac, i, fill_ms, reason, trades)
        if outcome >= 0:
            end_order(acct, outcome)
    if timeout_side != 0.0:
        if acct[A_O_SIDE] != 0.0 and acct[A_O_KIND] == O_ENTRY:
            end_order(acct, OC_CANCELLED)
        # posted only while the positions are still there (an exit sent to market at its expiry just closed them)
        if acct[A_O_SIDE] == 0.0 and _holds_side(slots, timeout_side):
            place_order(acct, O_EXIT, -timeout_side, o, tick_i, i, R_TIMEOUT, 0.0, p)
    return absorbed


@kernel_jit()
def intrabar_with_limits(acct, slots, trades, i, h, lw, mid_ms, p):
    """5 with limits: maker take-profits and a resting exit order, besides the stops. When the stop and a limit are
    both reached the stop wins (`stop_first`); of two limits the one nearer the open fills (the path meets it first);
    positions filled as maker entries in this bar have no live TP/SL yet, but a resting exit applies to them."""
    slip = p.slip_frac
    seed = p.seed
    o_side = acct[A_O_SIDE]
    o_px = acct[A_O_PX]
    x_side = -o_side if o_side != 0.0 and acct[A_O_KIND] == O_EXIT else 0.0
    x_fill = False
    if x_side != 0.0:
        x_fill = traded_through(o_side, o_px, h, lw) or touch_fill(o_side, o_px, h, lw, seed, i, 2, p.touch_prob)
    for k in range(slots.shape[0]):
        side = slots[k, S_SIDE]
        if side == 0.0:
            continue
        live = slots[k, S_EXITS_FROM] <= i
        x = x_fill and side == x_side
        if not live and not x:
            continue
        sl = slots[k, S_SL]
        tp = slots[k, S_TP]
        hit = -1
        if live:
            tp_eff = _tp_level(side, tp, h, lw, seed, i, 3 + k, p)
            if not x:
                hit = intrabar_exit(side, h, lw, sl, tp_eff, p.stop_first)
            else:
                hit_sl = lw <= sl if side > 0.0 else h >= sl
                hit_tp = h >= tp_eff if side > 0.0 else lw <= tp_eff
                if hit_sl and p.stop_first:
                    hit = R_STOP_LOSS
                elif hit_tp and side * (tp - o_px) < 0.0:
                    hit = R_TAKE_PROFIT
        if hit == R_STOP_LOSS:
            close_slot(acct, slots, k, sl * (1.0 - side * slip), p.taker_frac, i, mid_ms, R_STOP_LOSS, trades)
        elif hit == R_TAKE_PROFIT:
            if p.tp_limit:
                close_slot(acct, slots, k, tp, p.maker_frac, i, mid_ms, R_TAKE_PROFIT, trades, 1.0)
            else:
                close_slot(acct, slots, k, tp * (1.0 - side * slip), p.taker_frac, i, mid_ms, R_TAKE_PROFIT, trades)
        elif x:
            wait = i - acct[A_O_PLACED]
            close_slot(acct, slots, k, o_px, p.maker_frac, i, mid_ms, int(acct[A_O_REASON]), trades, 1.0, wait)
            acct[A_O_FILLED] = 1.0
    if x_side != 0.0:
        _exit_side_gone(acct, slots)
    # 5b. a resting entry traded through inside the bar fills at its price; its TP/SL go live from the next bar
    o_side = acct[A_O_SIDE]
    if o_side != 0.0 and acct[A_O_KIND] == O_ENTRY:
        o_px = acct[A_O_PX]
        if traded_through(o_side, o_px, h, lw) or touch_fill(o_side, o_px, h, lw, seed, i, 1, p.touch_prob):
            if fill_entry_order(acct, slots, o_px, p.maker_frac, 1.0, i, mid_ms, i + 1.0, p):
                end_order(acct, OC_FILLED)
            else:
                end_order(acct, OC_CANCELLED)
