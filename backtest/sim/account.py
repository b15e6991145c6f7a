"""Changes to an account and its position slots: the account at a segment's start, positions opened and closed
(fees, trade records, statistics), and the resting maker order placed and ended (with its counters)."""

from __future__ import annotations

from backtest.jit import kernel_jit
from backtest.sim.layout import (
    A_CASH,
    A_END,
    A_EQUITY,
    A_FEES,
    A_HALT_BAR,
    A_NOPEN,
    A_NTRADES,
    A_NWIN,
    A_O_ATR,
    A_O_EQ,
    A_O_EXPIRY,
    A_O_FILLED,
    A_O_KIND,
    A_O_NOTIONAL,
    A_O_PLACED,
    A_O_PX,
    A_O_REASON,
    A_O_SIDE,
    A_ORD,
    A_OVERFLOW,
    A_PEAK,
    A_START,
    A_START_EQ,
    A_STEP_FEES,
    A_STEP_NCLOSED,
    A_STEP_NWIN,
    A_STEP_OPENED,
    A_STEP_PNL,
    A_SUMLOSS,
    A_SUMWIN,
    A_T,
    N_OC,
    O_ENTRY,
    OC_REJECTED,
    OC_SUBMITTED,
    S_ENTRY,
    S_ENTRY_BAR,
    S_ENTRY_TIME,
    S_EQ_ENTRY,
    S_EXITS_FROM,
    S_FEES,
    S_FUNDING,
    S_MAKER,
    S_QTY,
    S_SIDE,
    S_SL,
    S_TP,
    S_WAIT,
    T_ENTRY_BAR,
    T_ENTRY_MAKER,
    T_ENTRY_PX,
    T_ENTRY_TIME,
    T_ENTRY_WAIT,
    T_EXIT_BAR,
    T_EXIT_MAKER,
    T_EXIT_PX,
    T_EXIT_TIME,
    T_EXIT_WAIT,
    T_FEES,
    T_FUNDING,
    T_GROSS,
    T_PNL,
    T_QTY,
    T_REASON,
    T_RETURN,
    T_SIDE,
)
from backtest.sim.pricing import maker_price, post_only_crosses, touch_quotes
from backtest.sim.rules import exit_levels, size_fraction


@kernel_jit()
def init_account(acct, slots, start, end, initial_equity, peak):
    """Flat account standing at the close of bar `start`; `peak` seeds the drawdown halt (>= initial_equity)."""
    acct[:] = 0.0
    slots[:, :] = 0.0
    acct[A_CASH] = initial_equity
    acct[A_PEAK] = max(peak, initial_equity)
    acct[A_HALT_BAR] = -1.0
    acct[A_EQUITY] = initial_equity
    acct[A_T] = start
    acct[A_START_EQ] = initial_equity
    acct[A_END] = end
    acct[A_START] = start


@kernel_jit(inline="always")
def _size_frac(acct, p):
    return size_fraction(acct[A_NTRADES], acct[A_NWIN], acct[A_SUMWIN], acct[A_SUMLOSS], p)


@kernel_jit(inline="always")
def close_slot(acct, slots, k, exit_px, fee_frac, exit_bar, exit_time, reason, trades, maker=0.0, wait=0.0):
    side = slots[k, S_SIDE]
    qty = slots[k, S_QTY]
    gross = side * qty * (exit_px - slots[k, S_ENTRY])
    exit_fee = qty * exit_px * fee_frac
    fees = slots[k, S_FEES] + exit_fee
    funding = slots[k, S_FUNDING]
    pnl = gross - fees - funding
    ret = pnl / slots[k, S_EQ_ENTRY]
    acct[A_CASH] += gross - exit_fee
    acct[A_FEES] += exit_fee
    acct[A_STEP_FEES] += exit_fee
    n = int(acct[A_NTRADES])
    if n < trades.shape[0]:
        tr = trades[n]
        tr[T_ENTRY_BAR] = slots[k, S_ENTRY_BAR]
        tr[T_EXIT_BAR] = exit_bar
        tr[T_SIDE] = side
        tr[T_QTY] = qty
        tr[T_ENTRY_PX] = slots[k, S_ENTRY]
        tr[T_EXIT_PX] = exit_px
        tr[T_GROSS] = gross
        tr[T_FEES] = fees
        tr[T_FUNDING] = funding
        tr[T_PNL] = pnl
        tr[T_RETURN] = ret
        tr[T_REASON] = reason
        tr[T_ENTRY_TIME] = slots[k, S_ENTRY_TIME]
        tr[T_EXIT_TIME] = exit_time
        tr[T_ENTRY_MAKER] = slots[k, S_MAKER]
        tr[T_EXIT_MAKER] = maker
        tr[T_ENTRY_WAIT] = slots[k, S_WAIT]
        tr[T_EXIT_WAIT] = wait
    else:
        acct[A_OVERFLOW] += 1.0
    acct[A_NTRADES] = n + 1
    if pnl > 0.0:
        acct[A_NWIN] += 1.0
        acct[A_SUMWIN] += ret
        acct[A_STEP_NWIN] += 1.0
    else:
        acct[A_SUMLOSS] -= ret
    acct[A_STEP_NCLOSED] += 1.0
    acct[A_STEP_PNL] += pnl
    acct[A_NOPEN] -= 1.0
    slots[k, :] = 0.0


@kernel_jit(inline="always")
def _free_slot(slots):
    for j in range(slots.shape[0]):
        if slots[j, S_SIDE] == 0.0:
            return j
    return -1


@kernel_jit(inline="always")
def _fill_slot(acct, slots, k, side, qty, px, fee, atr_t, eq_entry, bar, time_ms, exits_from, maker, wait, p):
    """Slot `k` becomes a position of `qty` filled at `px`, paying `fee`: the one place a position is opened."""
    acct[A_CASH] -= fee
    acct[A_FEES] += fee
    acct[A_STEP_FEES] += fee
    acct[A_STEP_OPENED] = side
    tp, sl = exit_levels(side, px, atr_t, p)
    slots[k, S_SIDE] = side
    slots[k, S_QTY] = qty
    slots[k, S_ENTRY] = px
    slots[k, S_ENTRY_BAR] = bar
    slots[k, S_TP] = tp
    slots[k, S_SL] = sl
    slots[k, S_FEES] = fee
    slots[k, S_FUNDING] = 0.0
    slots[k, S_EQ_ENTRY] = eq_entry
    slots[k, S_ENTRY_TIME] = time_ms
    slots[k, S_EXITS_FROM] = exits_from
    slots[k, S_MAKER] = maker
    slots[k, S_WAIT] = wait
    acct[A_NOPEN] += 1.0


@kernel_jit(inline="always")
def open_slot(acct, slots, side, px, bar, time_ms, atr_t, p):
    """Open a position at fill price `px` sized from equity at the decision; False if sizing says zero."""
    frac = _size_frac(acct, p)
    if frac <= 0.0:
        return False
    k = _free_slot(slots)
    if k < 0:
        return False
    equity = acct[A_EQUITY]
    notional = equity * frac * p.leverage
    _fill_slot(acct, slots, k, side, notional / px, px, notional * p.taker_frac, atr_t, equity, bar, time_ms, bar,
               0.0, 0.0, p)  # fmt: skip
    return True


@kernel_jit(inline="always")
def fill_entry_order(acct, slots, px, fee_frac, maker, bar, time_ms, exits_from, p):
    """Open the resting entry order's position at `px` with the size fixed when it was placed."""
    k = _free_slot(slots)
    if k < 0:
        return False
    qty = acct[A_O_NOTIONAL] / acct[A_O_PX]
    wait = bar - acct[A_O_PLACED] if maker > 0.0 else 0.0
    _fill_slot(acct, slots, k, acct[A_O_SIDE], qty, px, qty * px * fee_frac, acct[A_O_ATR], acct[A_O_EQ], bar,
               time_ms, exits_from, maker, wait, p)  # fmt: skip
    return True


@kernel_jit(inline="always")
def _count(acct, kind, outcome):
    acct[A_ORD + (int(kind) - 1) * N_OC + outcome] += 1.0


@kernel_jit(inline="always")
def end_order(acct, outcome):
    """The resting order leaves the book with `outcome` (counted)."""
    _count(acct, acct[A_O_KIND], outcome)
    acct[A_O_SIDE] = 0.0
    acct[A_O_KIND] = 0.0
    acct[A_O_FILLED] = 0.0


@kernel_jit(inline="always")
def place_order(acct, kind, side, o, tick_i, bar, reason, atr_t, p):
    """Send a post-only limit at the open of `bar` (it arrives after the latency, priced off the book at that open):
    rejected if it would cross; else it rests until filled, cancelled, or its expiry open. Entries are sized now."""
    notional = 0.0
    if kind == O_ENTRY:
        frac = _size_frac(acct, p)
        if frac <= 0.0:  # sizing says no entry: nothing is sent
            return
        notional = acct[A_EQUITY] * frac * p.leverage
    _count(acct, kind, OC_SUBMITTED)
    bid, ask = touch_quotes(o, p.slip_frac, tick_i)
    offset = p.entry_offset if kind == O_ENTRY else p.exit_offset
    px = maker_price(side, bid, ask, offset, tick_i)
    if post_only_crosses(side, px, bid, ask):
        _count(acct, kind, OC_REJECTED)
        return
    acct[A_O_SIDE] = side
    acct[A_O_KIND] = kind
    acct[A_O_PX] = px
    acct[A_O_NOTIONAL] = notional
    acct[A_O_PLACED] = bar
    acct[A_O_EXPIRY] = bar + (p.entry_ttl if kind == O_ENTRY else p.exit_ttl)
    acct[A_O_REASON] = reason
    acct[A_O_ATR] = atr_t
    acct[A_O_EQ] = acct[A_EQUITY]
    acct[A_O_FILLED] = 0.0
