"""The simulator's state layouts: index constants and sizes of the float64 arrays every kernel function works on.

An account is a vector of `N_ACCT` fields (`A_*`, its resting maker order `A_O_*` and the order counters at `A_ORD`:
`A_ORD + (kind - 1) * N_OC + OC_*`), its positions `N_SLOT`-field slots (`S_*`), its closed trades `N_TRADE`-field
records (`T_*`, exit reasons `R_*`); the actions are `HOLD` / `BUY` / `SELL`. Plain arrays, so one account, a batch
of accounts or a whole run share the same code.

Compiled functions (`kernel_jit`, `cached_njit`) read these as compile-time constants, so this module must be part of
numba's cache stamp: backtest/jit.py stamps every module that names `kernel_jit` (this docstring does;
tests/backtest/test_jit.py checks it).
"""

from __future__ import annotations

HOLD, BUY, SELL = 0, 1, 2  # the three actions every strategy speaks
ACTION_NAMES = ("HOLD", "BUY", "SELL")
N_POSITION_STATE = 4  # side, unrealised PnL / equity, hours held, equity change since start (`position_state`)

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
