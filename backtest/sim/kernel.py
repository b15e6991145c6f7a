"""The one implementation of order and fill semantics, compiled with numba.

`step_bar` advances one account by one bar; every caller (the step API, the batched lockstep path and the
whole-series path) goes through it, so they cannot disagree. Semantics are documented in docs/ARCHITECTURE.md;
in short, for an action decided at the close of bar t, bar i = t + 1 is processed in this order:

1. funding at the open of i (rate `funding[i]`, charged on open notional; longs pay a positive rate);
2. gaps: an open position whose stop (or take-profit) level the open of i is already through exits at that open;
3. max hold: positions held `hold_bars` bars exit at the open of i;
4. the action fills at the open of i, moved against the trader by slippage and by latency (see `draws.latency_ms`);
5. intrabar: take-profit and stop-loss checked against the high and low of i; both touched -> `stop_first` decides;
6. mark to market at the close of i; the drawdown halt fires when equity falls `auto_stop_frac` below its peak.

With maker execution styles (`SimParams.entry_maker` / `exit_maker` / `tp_limit`) an action places a post-only limit
at the touch instead (one resting order per account, held in the account vector): it fills at its price, maker fee,
only when a later price trades *through* it (the open gapped past it, or the bar's low/high strictly beyond it), is
cancelled by an opposite action, and expires after its ttl. The exact rules are in docs/ARCHITECTURE.md.

State lives in plain float64 arrays so one account, a batch of accounts, or a whole run all share the same code;
their layouts are in `layout.py`. The step's parts: `account.py` (positions opened and closed, the resting order
placed and ended), `maker.py` (the maker paths), `rules.py` (the rules live/ and the paper exchange share),
`pricing.py` (tick and book prices), `draws.py` (latency and touch-fill draws).
"""

from __future__ import annotations

from backtest.jit import kernel_jit
from backtest.sim.account import close_slot, end_order, init_account, open_slot, place_order
from backtest.sim.draws import latency_ms
from backtest.sim.layout import (
    A_CASH,
    A_END,
    A_EQUITY,
    A_FUNDING,
    A_HALT_BAR,
    A_HALTED,
    A_NOPEN,
    A_O_SIDE,
    A_PEAK,
    A_START,
    A_START_EQ,
    A_STEP_FEES,
    A_STEP_FUNDING,
    A_STEP_NCLOSED,
    A_STEP_NWIN,
    A_STEP_OPENED,
    A_STEP_PNL,
    A_T,
    BUY,
    HOLD,
    O_ENTRY,
    O_EXIT,
    OC_CANCELLED,
    R_END,
    R_SIGNAL,
    R_STOP_LOSS,
    R_TAKE_PROFIT,
    R_TIMEOUT,
    S_ENTRY,
    S_ENTRY_BAR,
    S_FUNDING,
    S_QTY,
    S_SIDE,
    S_SL,
    S_TP,
    SELL,
)
from backtest.sim.maker import intrabar_with_limits, open_with_limits, order_at_open
from backtest.sim.rules import action_orders, gap_exit, halt_fires, intrabar_exit


@kernel_jit(inline="always")
def step_bar(acct, slots, trades, ts, op, hi, lo, cl, atr, funding, tick, opens, action, p):
    """Advance one account from the close of bar t to the close of bar t + 1, with `action` decided at t.

    `opens[i]` 0.0 refuses new entries decided for the open of bar i (the market's session is closed there and the
    run trades only in session: `trading.trade_closed_sessions` false), as the drawdown halt does; closes are
    always allowed.

    The maker paths (a resting order, maker exits or take-profits) run in their own functions, called only when
    they can matter: the market path stays as small and fast as it was."""
    t = int(acct[A_T])
    i = t + 1
    acct[A_STEP_NCLOSED] = 0.0
    acct[A_STEP_PNL] = 0.0
    acct[A_STEP_NWIN] = 0.0
    acct[A_STEP_OPENED] = 0.0
    acct[A_STEP_FEES] = 0.0
    acct[A_STEP_FUNDING] = 0.0
    resting = acct[A_O_SIDE] != 0.0
    if action == HOLD and acct[A_NOPEN] == 0.0 and not resting:
        # flat, holding, no resting order: nothing can happen in this bar; equity (all cash) is unchanged
        acct[A_T] = i
        return
    o = op[i]
    h = hi[i]
    lw = lo[i]
    c = cl[i]
    bar_open_ms = float(ts[i])
    slip = p.slip_frac
    nk = slots.shape[0]

    # 1. funding at the open, on positions carried into this bar
    fr = funding[i]
    if fr != 0.0:
        for k in range(nk):
            side = slots[k, S_SIDE]
            if side != 0.0:
                amount = side * slots[k, S_QTY] * o * fr
                slots[k, S_FUNDING] += amount
                acct[A_CASH] -= amount
                acct[A_FUNDING] += amount
                acct[A_STEP_FUNDING] += amount

    # 2. the open: a resting entry the open gapped through fills at its price; gaps through a position's levels (or
    #    its resting exit) fill at the open (at the level for limits); 3. max hold closes at the open
    timeout_side = 0.0
    if resting or p.tp_limit or (p.exit_maker and p.hold_bars > 0):  # else nothing but market rules can apply
        timeout_side = open_with_limits(acct, slots, trades, i, o, bar_open_ms, p)
    else:
        for k in range(nk):
            side = slots[k, S_SIDE]
            if side == 0.0:
                continue
            gap = gap_exit(side, o, slots[k, S_SL], slots[k, S_TP])
            if gap == R_STOP_LOSS:
                px = o * (1.0 - side * slip)
                close_slot(acct, slots, k, px, p.taker_frac, i, bar_open_ms, R_STOP_LOSS, trades)
            elif gap == R_TAKE_PROFIT:
                px = o * (1.0 - side * slip)
                close_slot(acct, slots, k, px, p.taker_frac, i, bar_open_ms, R_TAKE_PROFIT, trades)
            elif p.hold_bars > 0 and i - slots[k, S_ENTRY_BAR] >= p.hold_bars:
                px = o * (1.0 - side * slip)
                close_slot(acct, slots, k, px, p.taker_frac, i, bar_open_ms, R_TIMEOUT, trades)

    want = 1.0 if action == BUY else (-1.0 if action == SELL else 0.0)
    lat = 0.0
    drift = 0.0
    if want != 0.0 or resting:
        lat = latency_ms(p.seed, i, p.lat_lo_ms, p.lat_hi_ms)
        drift = (h - lw) * lat / p.bar_ms
    fill_ms = bar_open_ms + lat

    # 3b. the resting order at this open (cancel, absorb, expire; a maker max-hold exit is posted)
    absorbed = False
    blocked = acct[A_HALTED] != 0.0 or opens[i] == 0.0
    if acct[A_O_SIDE] != 0.0 or timeout_side != 0.0:
        absorbed = order_at_open(acct, slots, trades, i, o, want, drift, fill_ms, timeout_side, tick[i], blocked, p)

    # 4. the decision from the close of t: a market order fills at this open, against the trader by slippage and
    #    latency; a maker order is placed (while another order rests, nothing more is sent)
    if want != 0.0 and not absorbed:
        px = o * (1.0 + want * slip) + want * drift
        n_open = 0
        side_open = 0.0
        for k in range(nk):
            side = slots[k, S_SIDE]
            if side != 0.0:
                n_open += 1
                side_open = side
        close_side, open_side = action_orders(action, side_open, n_open, blocked, p.max_positions)
        if close_side != 0.0:
            if not p.exit_maker:
                for k in range(nk):
                    if slots[k, S_SIDE] == close_side:
                        close_slot(acct, slots, k, px, p.taker_frac, i, fill_ms, R_SIGNAL, trades)
            elif acct[A_O_SIDE] == 0.0:
                place_order(acct, O_EXIT, -close_side, o, tick[i], i, R_SIGNAL, 0.0, p)
        elif open_side != 0.0:
            if not p.entry_maker:
                open_slot(acct, slots, open_side, px, i, fill_ms, atr[t], p)
            elif acct[A_O_SIDE] == 0.0:
                place_order(acct, O_ENTRY, open_side, o, tick[i], i, R_SIGNAL, atr[t], p)

    # 5. take-profit and stop-loss inside the bar (time within the bar is unknown: recorded as mid-bar)
    mid_ms = bar_open_ms + 0.5 * p.bar_ms
    if resting or acct[A_O_SIDE] != 0.0 or p.tp_limit:  # a maker fill in this bar needs a resting order at its open
        intrabar_with_limits(acct, slots, trades, i, h, lw, mid_ms, p)
    else:
        for k in range(nk):
            side = slots[k, S_SIDE]
            if side == 0.0:
                continue
            sl = slots[k, S_SL]
            tp = slots[k, S_TP]
            hit = intrabar_exit(side, h, lw, sl, tp, p.stop_first)
            if hit == R_STOP_LOSS:
                close_slot(acct, slots, k, sl * (1.0 - side * slip), p.taker_frac, i, mid_ms, R_STOP_LOSS, trades)
            elif hit == R_TAKE_PROFIT:
                px = tp * (1.0 - side * slip)
                close_slot(acct, slots, k, px, p.taker_frac, i, mid_ms, R_TAKE_PROFIT, trades)

    # 6. mark to market at the close; drawdown halt
    equity = acct[A_CASH]
    for k in range(nk):
        side = slots[k, S_SIDE]
        if side != 0.0:
            equity += side * slots[k, S_QTY] * (c - slots[k, S_ENTRY])
    acct[A_EQUITY] = equity
    if equity > acct[A_PEAK]:
        acct[A_PEAK] = equity
    elif acct[A_HALTED] == 0.0 and halt_fires(equity, acct[A_PEAK], p.auto_stop_frac):
        acct[A_HALTED] = 1.0
        acct[A_HALT_BAR] = i
    acct[A_T] = i


@kernel_jit()
def close_all(acct, slots, trades, ts, cl, p):
    """End of a segment: close every position at the close of the current bar (market, reason "end")."""
    t = int(acct[A_T])
    c = cl[t]
    close_ms = float(ts[t]) + p.bar_ms
    if acct[A_O_SIDE] != 0.0:
        end_order(acct, OC_CANCELLED)
    for k in range(slots.shape[0]):
        side = slots[k, S_SIDE]
        if side != 0.0:
            close_slot(acct, slots, k, c * (1.0 - side * p.slip_frac), p.taker_frac, t, close_ms, R_END, trades)
    acct[A_EQUITY] = acct[A_CASH]


@kernel_jit(inline="always")
def net_position(slots):
    """Signed position in coin units."""
    q = 0.0
    for k in range(slots.shape[0]):
        q += slots[k, S_SIDE] * slots[k, S_QTY]
    return q


@kernel_jit()
def position_state(acct, slots, cl, bar_ms, out):
    """Observation of the position: side, unrealised PnL / equity, hours held, equity change since start."""
    t = int(acct[A_T])
    side = 0.0
    upnl = 0.0
    first_bar = -1.0
    for k in range(slots.shape[0]):
        s = slots[k, S_SIDE]
        if s != 0.0:
            side = s
            upnl += s * slots[k, S_QTY] * (cl[t] - slots[k, S_ENTRY])
            if first_bar < 0.0 or slots[k, S_ENTRY_BAR] < first_bar:
                first_bar = slots[k, S_ENTRY_BAR]
    equity = acct[A_EQUITY]
    out[0] = side
    out[1] = upnl / equity if equity > 0.0 else 0.0
    out[2] = (t - first_bar + 1.0) * bar_ms / 3_600_000.0 if first_bar >= 0.0 else 0.0
    out[3] = equity / acct[A_START_EQ] - 1.0


@kernel_jit()
def run_signals_kernel(
    acct, slots, trades, ts, op, hi, lo, cl, atr, funding, tick, opens, signals, start, end, p, eq_out, pos_out, peak
):
    """Whole-series path: decisions `signals[t]` at the close of each bar t in [start, end - 1)."""
    init_account(acct, slots, start, end, p.initial_equity, peak)
    eq_out[start] = p.initial_equity
    pos_out[start] = 0.0
    for t in range(start, end - 1):
        step_bar(acct, slots, trades, ts, op, hi, lo, cl, atr, funding, tick, opens, signals[t], p)
        eq_out[t + 1] = acct[A_EQUITY]
        pos_out[t + 1] = net_position(slots) if acct[A_NOPEN] > 0.0 else 0.0
    close_all(acct, slots, trades, ts, cl, p)
    eq_out[end - 1] = acct[A_EQUITY]
    pos_out[end - 1] = 0.0


@kernel_jit()
def step_batch(
    accts, slots, trades, ts, op, hi, lo, cl, atr, funding, tick, opens, actions, p, eq_out, pos_out, act_out
):
    """Batched path: advance every still-running account one bar.

    Outputs are per segment, indexed by bar - segment start: `eq_out[b, t - start_b]`.
    """
    for b in range(accts.shape[0]):
        acct = accts[b]
        t = int(acct[A_T])
        end = int(acct[A_END])
        if t >= end - 1:
            continue
        j = t - int(acct[A_START])
        act_out[b, j] = actions[b]
        step_bar(acct, slots[b], trades[b], ts, op, hi, lo, cl, atr, funding, tick, opens, actions[b], p)
        if t + 1 == end - 1:
            close_all(acct, slots[b], trades[b], ts, cl, p)
        eq_out[b, j + 1] = acct[A_EQUITY]
        pos_out[b, j + 1] = net_position(slots[b])


@kernel_jit()
def batch_position_state(accts, slots, cl, bar_ms, out):
    for b in range(accts.shape[0]):
        position_state(accts[b], slots[b], cl, bar_ms, out[b])
