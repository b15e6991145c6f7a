"""The trading rules the simulator, the live trader and the paper exchange share: what an action does, the resting
order's life, sizing, exit levels, the drawdown halt, and which level a price path reaches (gap, intrabar, limit).

Each is one compiled function called by the kernel and, from Python, by live/ and the paper exchange, so a rule
means the same thing everywhere.
"""

from __future__ import annotations

from backtest.jit import kernel_jit
from backtest.sim.layout import (
    BUY,
    O_ENTRY,
    O_EXIT,
    OC_CANCELLED,
    OC_CONVERTED,
    OC_EXPIRED,
    R_STOP_LOSS,
    R_TAKE_PROFIT,
    R_TIMEOUT,
    SELL,
)


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
def traded_through(side, px, h, lw):
    """The fill rule for a resting limit over a price range [lw, h]: a buy fills only when the range goes strictly
    below its price, a sell strictly above (a touch is not a trade through: queue-averse, as Passivbot and
    hftbacktest). Shared with the paper exchange's matching engine."""
    return lw < px if side > 0 else h > px
