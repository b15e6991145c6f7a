"""The one implementation of order and fill semantics, compiled with numba.

`step_bar` advances one account by one bar; every caller (the step API, the batched lockstep path and the
whole-series path) goes through it, so they cannot disagree. Semantics are documented in docs/ARCHITECTURE.md;
in short, for an action decided at the close of bar t, bar i = t + 1 is processed in this order:

1. funding at the open of i (rate `funding[i]`, charged on open notional; longs pay a positive rate);
2. gaps: an open position whose stop (or take-profit) level the open of i is already through exits at that open;
3. max hold: positions held `hold_bars` bars exit at the open of i;
4. the action fills at the open of i, moved against the trader by slippage and by latency (see `latency_ms`);
5. intrabar: take-profit and stop-loss checked against the high and low of i; both touched -> `stop_first` decides;
6. mark to market at the close of i; the drawdown halt fires when equity falls `auto_stop_frac` below its peak.

With maker execution styles (`SimParams.entry_maker` / `exit_maker` / `tp_limit`) an action places a post-only limit
at the touch instead (one resting order per account, held in the account vector): it fills at its price, maker fee,
only when a later price trades *through* it (the open gapped past it, or the bar's low/high strictly beyond it), is
cancelled by an opposite action, and expires after its ttl. The exact rules are in docs/ARCHITECTURE.md.

State lives in plain float64 arrays so one account, a batch of accounts, or a whole run all share the same code.
"""

from __future__ import annotations

import numpy as np

from backtest.jit import cached_njit

HOLD, BUY, SELL = 0, 1, 2  # the three actions every strategy speaks
ACTION_NAMES = ("HOLD", "BUY", "SELL")
N_POSITION_STATE = 4  # side, unrealised PnL / equity, hours held, equity change since start (`position_state`)


def kernel_jit(**options):
    """numba njit for kernel functions: cached, and without the runtime's reference counting.

    Kernel functions never allocate, so reference counting is pure overhead: with it, every per-bar call pays
    atomic increments on each array argument (measured: ~150 ns a call, 20x the work of a flat bar).
    """
    return cached_njit(_nrt=False, **options)


# Account vector fields.
A_CASH = 0  # initial equity + realised gross PnL - fees - funding
A_PEAK = 1  # highest marked equity
A_HALTED = 2  # 1 once the drawdown halt fired
A_HALT_BAR = 3  # bar index where it fired (-1 if never)
A_NTRADES = 4  # trades closed (and recorded)
A_NWIN = 5  # closed trades with pnl > 0
A_SUMWIN = 6  # sum of winning trade returns (fraction of equity at entry)
A_SUMLOSS = 7  # sum of |losing trade returns|
A_FEES = 8  # total fees
A_FUNDING = 9  # total funding paid
A_EQUITY = 10  # marked equity at the close of bar A_T
A_T = 11  # current bar (we stand at its close)
A_START_EQ = 12  # equity at segment start
A_END = 13  # segment end bar (exclusive)
A_STEP_NCLOSED = 14  # per-step outputs, reset at each step
A_STEP_PNL = 15
A_STEP_NWIN = 16
A_STEP_OPENED = 17
A_STEP_FEES = 18
A_STEP_FUNDING = 19
A_OVERFLOW = 20  # trades that did not fit the trade buffer (a sizing bug if ever > 0)
A_START = 21  # segment start bar
A_NOPEN = 22  # open position slots
# the resting maker order (at most one per account); A_O_SIDE == 0 means none
A_O_SIDE = 23  # +1 buy, -1 sell
A_O_KIND = 24  # O_ENTRY or O_EXIT
A_O_PX = 25  # limit price, on the venue's tick
A_O_NOTIONAL = 26  # entry: notional sized at the decision (qty = notional / price)
A_O_PLACED = 27  # bar at whose open it arrived
A_O_EXPIRY = 28  # bar at whose open it expires (after that open's gap check)
A_O_REASON = 29  # exit: R_SIGNAL or R_TIMEOUT
A_O_ATR = 30  # entry: ATR known at the decision (for the stop distance)
A_O_EQ = 31  # entry: equity at the decision (for return_pct)
A_O_FILLED = 32  # exit: 1 once it closed a position
A_ORD = 33  # order counters: A_ORD + (kind - 1) * N_OC + OC_*
O_ENTRY, O_EXIT = 1, 2
OC_SUBMITTED, OC_REJECTED, OC_FILLED, OC_EXPIRED, OC_CONVERTED, OC_CANCELLED = 0, 1, 2, 3, 4, 5
N_OC = 6
ORDER_OUTCOMES = ("submitted", "rejected", "filled", "expired", "converted", "cancelled")
N_ACCT = A_ORD + 2 * N_OC

# Position slot fields.
S_SIDE = 0  # +1 long, -1 short, 0 empty
S_QTY = 1
S_ENTRY = 2  # entry fill price
S_ENTRY_BAR = 3
S_TP = 4
S_SL = 5
S_FEES = 6  # entry fee
S_FUNDING = 7  # funding paid while open
S_EQ_ENTRY = 8  # equity at the entry decision (for return_pct)
S_ENTRY_TIME = 9  # ms, includes latency
S_EXITS_FROM = 10  # first bar whose prices can trigger its TP/SL (the bar after a maker entry's fill bar)
S_MAKER = 11  # 1 if the entry was a maker fill
S_WAIT = 12  # maker entry: bars from the order's arrival to its fill
N_SLOT = 13

# Trade record fields.
T_ENTRY_BAR = 0
T_EXIT_BAR = 1
T_SIDE = 2
T_QTY = 3
T_ENTRY_PX = 4
T_EXIT_PX = 5
T_GROSS = 6
T_FEES = 7
T_FUNDING = 8
T_PNL = 9
T_RETURN = 10
T_REASON = 11
T_ENTRY_TIME = 12
T_EXIT_TIME = 13
T_ENTRY_MAKER = 14  # 1 if the entry filled as a maker limit
T_EXIT_MAKER = 15  # 1 if the exit filled as a maker limit (exit order or maker take-profit)
T_ENTRY_WAIT = 16  # bars from the maker order's arrival to its fill (0: in the arrival bar)
T_EXIT_WAIT = 17
N_TRADE = 18

R_SIGNAL, R_TAKE_PROFIT, R_STOP_LOSS, R_TIMEOUT, R_END = 0, 1, 2, 3, 4


@kernel_jit(inline="always")
def uniform01(seed: int, bar: int, stream: int) -> float:
    """A uniform draw in [0, 1) from a splitmix64 hash of (seed, bar, stream): counter-based, so the draw for a bar
    is the same however the span is cut into segments or workers. Stream 0 is the latency; 1.. the touch fills."""
    z = np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(bar) + np.uint64(0x632BE59BD9B4E019)
    z = z + np.uint64(stream) * np.uint64(0xD1B54A32D192ED03)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return float(z >> np.uint64(11)) / 9007199254740992.0


@kernel_jit(inline="always")
def latency_ms(seed: int, bar: int, lo: float, hi: float) -> float:
    """Latency for a fill in `bar`: uniform in [lo, hi] from the counter-based hash of (seed, bar)."""
    return lo + (hi - lo) * uniform01(seed, bar, 0)


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


@kernel_jit(inline="always")
def traded_through(side, px, h, lw):
    """The fill rule for a resting limit over a price range [lw, h]: a buy fills only when the range goes strictly
    below its price, a sell strictly above (a touch is not a trade through: queue-averse, as Passivbot and
    hftbacktest). Shared with the paper exchange's matching engine."""
    return lw < px if side > 0 else h > px


@kernel_jit(inline="always")
def _touch_fill(side, px, h, lw, seed, bar, stream, prob):
    """A bar that only touches the limit (its low equals a buy's price) fills it with probability `prob`."""
    if prob <= 0.0:
        return False
    touched = lw == px if side > 0 else h == px
    return touched and uniform01(seed, bar, stream) < prob


@kernel_jit(inline="always")
def action_orders(action, side_open, n_open, halted, max_positions):
    """The action interpreter: what an action decided at a close does at the next open, as (close_side, open_side):
    close every position of side `close_side`, or open one of side `open_side` (0 = nothing).

    HOLD does nothing. BUY closes every short if short (no reversal in the same bar), else opens a long when fewer
    than `max_positions` are open and the drawdown halt has not fired; SELL mirrors it. `side_open` is the side of
    the open positions (+1, -1, or 0 when flat). The simulator, the RL env (through it) and the live trader all ask
    this one function, so an action means the same thing everywhere.
    """
    if action == BUY:
        want = 1.0
    elif action == SELL:
        want = -1.0
    else:
        return 0.0, 0.0
    if n_open > 0 and side_open == -want:
        return -want, 0.0
    if not halted and n_open < max_positions:
        return 0.0, want
    return 0.0, 0.0


@kernel_jit(inline="always")
def resting_order_rule(kind, side, reason, want, blocked, bar, expiry, to_market):
    """What the resting post-only order becomes at the open of `bar`, given the action decided at the close before
    (`want`: +1 buy, -1 sell, 0 nothing): (outcome, absorbed), outcome an `OC_*` or -1 (it keeps resting).

    An opposite action cancels it (the action is then interpreted as if nothing rested), except a max-hold exit
    (reason R_TIMEOUT: the hold limit is not the policy's to override); a block on opens (`blocked`: the drawdown
    halt, or a closed session when only sessions are traded) cancels an entry; an action of its own direction is
    absorbed (nothing new is sent, the ttl is not renewed); at its expiry open it expires, or becomes a market order
    of the same size when `to_market` (OC_CONVERTED). The simulator and the live trader (live/orders.py) both ask
    this one function, like `action_orders`.
    """
    if (kind == O_ENTRY and blocked) or (want == -side and not (kind == O_EXIT and reason == R_TIMEOUT)):
        return OC_CANCELLED, False
    absorbed = want == side
    if bar >= expiry:
        return (OC_CONVERTED if to_market else OC_EXPIRED), absorbed
    return -1, absorbed


@kernel_jit(inline="always")
def size_fraction(n_trades, n_wins, sum_win, sum_loss, p):
    """Margin fraction of equity for a new position: fixed, or capped fractional Kelly once enough trades closed.

    Kelly f = W - (1 - W) / R from the win rate W and the ratio R of average win to average loss (as returns on
    equity), times `kelly_fraction`, capped at `kelly_cap`; 0 means no entry.
    """
    if not p.kelly_on or n_trades < p.kelly_min_trades:
        return p.size_frac
    nloss = n_trades - n_wins
    if n_wins == 0.0:
        return 0.0
    if nloss == 0.0 or sum_loss == 0.0:
        return p.kelly_cap
    w = n_wins / n_trades
    ratio = (sum_win / n_wins) / (sum_loss / nloss)
    f = (w - (1.0 - w) / ratio) * p.kelly_fraction
    if f <= 0.0:
        return 0.0
    return min(f, p.kelly_cap)


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
def halt_fires(equity, peak, auto_stop_frac):
    """The drawdown halt: equity marked at a close at or below the peak by `auto_stop_frac` (0 disables it)."""
    return auto_stop_frac > 0.0 and equity <= peak * (1.0 - auto_stop_frac)


@kernel_jit(inline="always")
def exit_levels(side, entry_px, atr_t, p):
    """(take-profit, stop-loss) levels of a position entered at `entry_px`, fixed at entry: TP = entry * (1 + side *
    tp), SL = entry - side * entry * sl, or with the ATR stop SL distance = multiple * ATR known at the decision."""
    stop_dist = entry_px * p.sl_frac
    if p.atr_on and atr_t > 0.0:
        stop_dist = p.atr_mult * atr_t
    return entry_px * (1.0 + side * p.tp_frac), entry_px - side * stop_dist


@kernel_jit(inline="always")
def _size_frac(acct, p):
    return size_fraction(acct[A_NTRADES], acct[A_NWIN], acct[A_SUMWIN], acct[A_SUMLOSS], p)


@kernel_jit(inline="always")
def _close_slot(acct, slots, k, exit_px, fee_frac, exit_bar, exit_time, reason, trades, maker=0.0, wait=0.0):
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
def _open_slot(acct, slots, side, px, bar, time_ms, atr_t, p):
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
def _fill_entry_order(acct, slots, px, fee_frac, maker, bar, time_ms, exits_from, p):
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
def _end_order(acct, outcome):
    """The resting order leaves the book with `outcome` (counted)."""
    _count(acct, acct[A_O_KIND], outcome)
    acct[A_O_SIDE] = 0.0
    acct[A_O_KIND] = 0.0
    acct[A_O_FILLED] = 0.0


@kernel_jit(inline="always")
def _place_order(acct, kind, side, o, tick_i, bar, reason, atr_t, p):
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


@kernel_jit(inline="always")
def gap_exit(side, o, sl, tp):
    """The gap rule: R_STOP_LOSS when the open is already through the stop (checked first), R_TAKE_PROFIT when it
    is through the take-profit, else -1. Both exit at the open. Shared with the paper exchange's matching engine.
    """
    if (o <= sl) if side > 0 else (o >= sl):
        return R_STOP_LOSS
    if (o >= tp) if side > 0 else (o <= tp):
        return R_TAKE_PROFIT
    return -1


@kernel_jit(inline="always")
def intrabar_exit(side, h, lw, sl, tp, stop_first):
    """The intrabar rule over a range [lw, h]: which level exits, R_STOP_LOSS, R_TAKE_PROFIT or -1.

    When both are touched the stop wins if `stop_first` (the conservative default), else the take-profit. A missing
    level is passed as +/-inf. Shared with the paper exchange's matching engine.
    """
    if side > 0:
        hit_sl = lw <= sl
        hit_tp = h >= tp
    else:
        hit_sl = h >= sl
        hit_tp = lw <= tp
    if hit_sl and (stop_first or not hit_tp):
        return R_STOP_LOSS
    if hit_tp:
        return R_TAKE_PROFIT
    return -1


@kernel_jit(inline="always")
def _tp_level(side, tp, h, lw, seed, bar, stream, p):
    """The take-profit level the trigger rules compare against. A market TP is a trigger (a touch fires it); a
    maker TP is a resting limit, so it needs a trade through (the level nudged one float beyond), unless a
    touch fills it by the `touch_prob` draw."""
    if not p.tp_limit:
        return tp
    if _touch_fill(side, tp, h, lw, seed, bar, stream, p.touch_prob):
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
    _end_order(acct, OC_FILLED if acct[A_O_FILLED] > 0.0 else OC_CANCELLED)


@kernel_jit()
def _entry_gapped(acct, slots, i, o, bar_open_ms, p):
    """2a. A resting entry the open gapped through fills at its price (its TP/SL go live from the next bar)."""
    o_side = acct[A_O_SIDE]
    o_px = acct[A_O_PX]
    if acct[A_O_KIND] == O_ENTRY and (o < o_px if o_side > 0.0 else o > o_px):
        if _fill_entry_order(acct, slots, o_px, p.maker_frac, 1.0, i, bar_open_ms, i + 1.0, p):
            _end_order(acct, OC_FILLED)
        else:
            _end_order(acct, OC_CANCELLED)


@kernel_jit()
def _open_with_limits(acct, slots, trades, i, o, bar_open_ms, p):
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
            _close_slot(acct, slots, k, o * (1.0 - side * slip), p.taker_frac, i, bar_open_ms, R_STOP_LOSS, trades)
        elif (
            side == x_side
            and (o > o_px if side > 0.0 else o < o_px)
            and (gap != R_TAKE_PROFIT or side * (o_px - tp) <= 0.0)
        ):
            wait = i - acct[A_O_PLACED]
            _close_slot(acct, slots, k, o_px, p.maker_frac, i, bar_open_ms, int(acct[A_O_REASON]), trades, 1.0, wait)
            acct[A_O_FILLED] = 1.0
        elif gap == R_TAKE_PROFIT:
            if p.tp_limit:
                _close_slot(acct, slots, k, tp, p.maker_frac, i, bar_open_ms, R_TAKE_PROFIT, trades, 1.0)
            else:
                px = o * (1.0 - side * slip)
                _close_slot(acct, slots, k, px, p.taker_frac, i, bar_open_ms, R_TAKE_PROFIT, trades)
        elif p.hold_bars > 0 and i - slots[k, S_ENTRY_BAR] >= p.hold_bars:
            if p.exit_maker:
                timeout_side = side
            else:
                px = o * (1.0 - side * slip)
                _close_slot(acct, slots, k, px, p.taker_frac, i, bar_open_ms, R_TIMEOUT, trades)
    if x_side != 0.0:
        _exit_side_gone(acct, slots)
    return timeout_side


@kernel_jit()
def _order_at_open(acct, slots, trades, i, o, want, drift, fill_ms, timeout_side, tick_i, blocked, p):
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
                _fill_entry_order(acct, slots, px, p.taker_frac, 0.0, i, fill_ms, float(i), p)
            else:
                reason = int(acct[A_O_REASON])
                for k in range(slots.shape[0]):
                    if slots[k, S_SIDE] == -o_side:
                        _close_slot(acct, slots, k, px, p.taker_frac, i, fill_ms, reason, trades)
        if outcome >= 0:
            _end_order(acct, outcome)
    if timeout_side != 0.0:
        if acct[A_O_SIDE] != 0.0 and acct[A_O_KIND] == O_ENTRY:
            _end_order(acct, OC_CANCELLED)
        # posted only while the positions are still there (an exit sent to market at its expiry just closed them)
        if acct[A_O_SIDE] == 0.0 and _holds_side(slots, timeout_side):
            _place_order(acct, O_EXIT, -timeout_side, o, tick_i, i, R_TIMEOUT, 0.0, p)
    return absorbed


@kernel_jit()
def _intrabar_with_limits(acct, slots, trades, i, h, lw, mid_ms, p):
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
        x_fill = traded_through(o_side, o_px, h, lw) or _touch_fill(o_side, o_px, h, lw, seed, i, 2, p.touch_prob)
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
            _close_slot(acct, slots, k, sl * (1.0 - side * slip), p.taker_frac, i, mid_ms, R_STOP_LOSS, trades)
        elif hit == R_TAKE_PROFIT:
            if p.tp_limit:
                _close_slot(acct, slots, k, tp, p.maker_frac, i, mid_ms, R_TAKE_PROFIT, trades, 1.0)
            else:
                _close_slot(acct, slots, k, tp * (1.0 - side * slip), p.taker_frac, i, mid_ms, R_TAKE_PROFIT, trades)
        elif x:
            wait = i - acct[A_O_PLACED]
            _close_slot(acct, slots, k, o_px, p.maker_frac, i, mid_ms, int(acct[A_O_REASON]), trades, 1.0, wait)
            acct[A_O_FILLED] = 1.0
    if x_side != 0.0:
        _exit_side_gone(acct, slots)
    # 5b. a resting entry traded through inside the bar fills at its price; its TP/SL go live from the next bar
    o_side = acct[A_O_SIDE]
    if o_side != 0.0 and acct[A_O_KIND] == O_ENTRY:
        o_px = acct[A_O_PX]
        if traded_through(o_side, o_px, h, lw) or _touch_fill(o_side, o_px, h, lw, seed, i, 1, p.touch_prob):
            if _fill_entry_order(acct, slots, o_px, p.maker_frac, 1.0, i, mid_ms, i + 1.0, p):
                _end_order(acct, OC_FILLED)
            else:
                _end_order(acct, OC_CANCELLED)


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
        timeout_side = _open_with_limits(acct, slots, trades, i, o, bar_open_ms, p)
    else:
        for k in range(nk):
            side = slots[k, S_SIDE]
            if side == 0.0:
                continue
            gap = gap_exit(side, o, slots[k, S_SL], slots[k, S_TP])
            if gap == R_STOP_LOSS:
                px = o * (1.0 - side * slip)
                _close_slot(acct, slots, k, px, p.taker_frac, i, bar_open_ms, R_STOP_LOSS, trades)
            elif gap == R_TAKE_PROFIT:
                px = o * (1.0 - side * slip)
                _close_slot(acct, slots, k, px, p.taker_frac, i, bar_open_ms, R_TAKE_PROFIT, trades)
            elif p.hold_bars > 0 and i - slots[k, S_ENTRY_BAR] >= p.hold_bars:
                px = o * (1.0 - side * slip)
                _close_slot(acct, slots, k, px, p.taker_frac, i, bar_open_ms, R_TIMEOUT, trades)

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
        absorbed = _order_at_open(acct, slots, trades, i, o, want, drift, fill_ms, timeout_side, tick[i], blocked, p)

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
                        _close_slot(acct, slots, k, px, p.taker_frac, i, fill_ms, R_SIGNAL, trades)
            elif acct[A_O_SIDE] == 0.0:
                _place_order(acct, O_EXIT, -close_side, o, tick[i], i, R_SIGNAL, 0.0, p)
        elif open_side != 0.0:
            if not p.entry_maker:
                _open_slot(acct, slots, open_side, px, i, fill_ms, atr[t], p)
            elif acct[A_O_SIDE] == 0.0:
                _place_order(acct, O_ENTRY, open_side, o, tick[i], i, R_SIGNAL, atr[t], p)

    # 5. take-profit and stop-loss inside the bar (time within the bar is unknown: recorded as mid-bar)
    mid_ms = bar_open_ms + 0.5 * p.bar_ms
    if resting or acct[A_O_SIDE] != 0.0 or p.tp_limit:  # a maker fill in this bar needs a resting order at its open
        _intrabar_with_limits(acct, slots, trades, i, h, lw, mid_ms, p)
    else:
        for k in range(nk):
            side = slots[k, S_SIDE]
            if side == 0.0:
                continue
            sl = slots[k, S_SL]
            tp = slots[k, S_TP]
            hit = intrabar_exit(side, h, lw, sl, tp, p.stop_first)
            if hit == R_STOP_LOSS:
                _close_slot(acct, slots, k, sl * (1.0 - side * slip), p.taker_frac, i, mid_ms, R_STOP_LOSS, trades)
            elif hit == R_TAKE_PROFIT:
                px = tp * (1.0 - side * slip)
                _close_slot(acct, slots, k, px, p.taker_frac, i, mid_ms, R_TAKE_PROFIT, trades)

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
        _end_order(acct, OC_CANCELLED)
    for k in range(slots.shape[0]):
        side = slots[k, S_SIDE]
        if side != 0.0:
            _close_slot(acct, slots, k, c * (1.0 - side * p.slip_frac), p.taker_frac, t, close_ms, R_END, trades)
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
