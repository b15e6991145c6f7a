"""The simulator's three callers, all over `kernel.step_bar`.

- `Simulator`: step by step (the RL env, live replay).
- `BatchSimulator`: many independent segments advanced in lockstep (policy-driven backtests).
- `run_signals`: a whole series of precomputed decisions (signal strategies).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from backtest.sim import kernel as K
from backtest.sim import layout as L
from backtest.sim.account import init_account
from backtest.sim.market import Market
from backtest.sim.params import SimParams
from backtest.sim.result import EXIT_REASONS, TRADE_COLUMNS, BacktestResult

if TYPE_CHECKING:  # pandas is imported where used: Ray workers never need it (~0.3 s of start-up)
    import pandas as pd

POSITION_STATE_NAMES = ("side", "unrealised_pnl", "hours_held", "equity_change")
POSITION_STATE_DIM = L.N_POSITION_STATE
assert len(POSITION_STATE_NAMES) == POSITION_STATE_DIM


@dataclass(frozen=True)
class StepEvent:
    """What one step did. Money in account currency; `closed_pnl` is net of fees and funding."""

    equity_before: float
    equity_after: float
    fees: float
    funding: float
    n_closed: int
    closed_pnl: float
    n_wins: int
    opened: int  # +1 opened a long, -1 a short, 0 none
    side_before: int
    side_after: int
    bars_held: int  # bars the open position has been held at the close (0 when flat)
    done: bool


def _side(slots: np.ndarray) -> int:
    sides = slots[:, L.S_SIDE]
    nz = sides[sides != 0]
    return int(nz[0]) if len(nz) else 0


def trades_frame(records: np.ndarray, bar_seconds: int) -> pd.DataFrame:
    """Trade records (kernel layout) as a DataFrame with `TRADE_COLUMNS`."""
    import pandas as pd

    r = records
    df = pd.DataFrame(
        {
            "entry_time": pd.to_datetime(r[:, L.T_ENTRY_TIME].astype(np.int64), unit="ms", utc=True),
            "exit_time": pd.to_datetime(r[:, L.T_EXIT_TIME].astype(np.int64), unit="ms", utc=True),
            "entry_bar": r[:, L.T_ENTRY_BAR].astype(np.int64),
            "exit_bar": r[:, L.T_EXIT_BAR].astype(np.int64),
            "side": r[:, L.T_SIDE].astype(np.int8),
            "qty": r[:, L.T_QTY],
            "entry_price": r[:, L.T_ENTRY_PX],
            "exit_price": r[:, L.T_EXIT_PX],
            "gross_pnl": r[:, L.T_GROSS],
            "fees": r[:, L.T_FEES],
            "funding": r[:, L.T_FUNDING],
            "pnl": r[:, L.T_PNL],
            "return_pct": r[:, L.T_RETURN] * 100.0,
            "exit_reason": pd.Categorical.from_codes(r[:, L.T_REASON].astype(np.int8), categories=list(EXIT_REASONS)),
            "hold_seconds": (r[:, L.T_EXIT_TIME] - r[:, L.T_ENTRY_TIME]) / 1000.0,
            "entry_maker": r[:, L.T_ENTRY_MAKER].astype(bool),
            "exit_maker": r[:, L.T_EXIT_MAKER].astype(bool),
            "entry_wait_bars": r[:, L.T_ENTRY_WAIT].astype(np.int64),
            "exit_wait_bars": r[:, L.T_EXIT_WAIT].astype(np.int64),
        }
    )
    return df[list(TRADE_COLUMNS)]


def position_state_of(
    legs: list[tuple[float, float, float, int]],
    close: float,
    equity: float,
    start_equity: float,
    bar: int,
    bar_seconds: int,
) -> np.ndarray:
    """`POSITION_STATE_NAMES` for positions held outside the simulator (the live trader), by the kernel's own rule.

    `legs` are (side, qty, entry price, entry bar); `equity` is marked at `close`; bars are any consistent index
    (the live trader uses bar open time // bar length).
    """
    acct = np.zeros(L.N_ACCT)
    slots = np.zeros((max(1, len(legs)), L.N_SLOT))
    base = min([bar, *(int(e) for *_, e in legs)])  # index the kernel's close array from the oldest entry bar
    for k, (side, qty, entry, entry_bar) in enumerate(legs):
        slots[k, L.S_SIDE], slots[k, L.S_QTY], slots[k, L.S_ENTRY] = side, qty, entry
        slots[k, L.S_ENTRY_BAR] = entry_bar - base
    acct[L.A_EQUITY], acct[L.A_START_EQ], acct[L.A_T] = equity, start_equity, float(bar - base)
    out = np.zeros(POSITION_STATE_DIM)
    K.position_state(acct, slots, np.full(bar - base + 1, close), float(bar_seconds * 1000), out)
    return out.astype(np.float32)


_TICKS: dict[str, tuple] = {}


def ticks(m: Market, p: SimParams) -> np.ndarray:
    """The venue's price step at each bar's open (backtest/venue/rules.py), where maker orders are priced; an empty
    array when no maker order can be placed. The last market's steps are kept: segment runs reuse them."""
    if not (p.entry_maker or p.exit_maker):
        return np.ones(0)
    hit = _TICKS.get("last")
    if hit is not None and hit[0] is m.open and hit[1] == p.sz_decimals:
        return hit[2]
    from backtest.venue.rules import price_steps

    steps = np.ascontiguousarray(price_steps(m.open, p.sz_decimals))
    _TICKS["last"] = (m.open, p.sz_decimals, steps)
    return steps


def _arrays(m: Market, p: SimParams) -> tuple:
    return (m.ts, m.open, m.high, m.low, m.close, m.atr, m.funding, ticks(m, p), m.opens)


def order_counts(acct: np.ndarray) -> np.ndarray:
    """The account's maker-order counters: [entry, exit] x `layout.ORDER_OUTCOMES`."""
    return acct[L.A_ORD : L.A_ORD + 2 * L.N_OC].reshape(2, L.N_OC).copy()


class Simulator:
    """Step-by-step simulation of one account over bars [start, end) of a market."""

    def __init__(self, market: Market, params: SimParams) -> None:
        self.market = market
        self.params = params
        self._arr = _arrays(market, params)
        self.acct = np.zeros(L.N_ACCT)
        self.slots = np.zeros((params.max_positions, L.N_SLOT))
        self.trades_buf = np.zeros((0, L.N_TRADE))
        self._pos = np.zeros(POSITION_STATE_DIM)
        self._start = 0
        self._end = 0

    def reset(self, start: int = 0, end: int | None = None, peak: float = 0.0) -> None:
        """Stand flat at the close of bar `start`; the last bar processed is `end - 1`.

        `peak` (default: the initial equity) is the equity high-water mark the drawdown halt starts from.
        """
        end = self.market.n_bars if end is None else end
        if not 0 <= start < end - 1 < self.market.n_bars:
            raise ValueError(f"need 0 <= start < end - 1 < {self.market.n_bars} bars, got start={start} end={end}")
        self._start, self._end = start, end
        self.trades_buf = np.zeros((end - start + self.params.max_positions, L.N_TRADE))
        self._eq = np.full(end - start, np.nan)
        self._posq = np.zeros(end - start)
        self._actions = np.full(end - start, -1, dtype=np.int8)
        init_account(self.acct, self.slots, start, end, self.params.initial_equity, peak)
        self._eq[0] = self.params.initial_equity

    def kernel_market(self) -> tuple[np.ndarray, ...]:
        """(ts, open, high, low, close, atr, funding, tick, opens): the market arguments of `kernel.step_bar`, for
        compiled callers that step accounts themselves (rl/vector_env.py)."""
        return self._arr

    @property
    def t(self) -> int:
        return int(self.acct[L.A_T])

    @property
    def done(self) -> bool:
        return self.t >= self._end - 1

    @property
    def equity(self) -> float:
        return float(self.acct[L.A_EQUITY])

    @property
    def initial_equity(self) -> float:
        return self.params.initial_equity

    @property
    def side(self) -> int:
        return _side(self.slots)

    @property
    def halted(self) -> bool:
        return bool(self.acct[L.A_HALTED])

    @property
    def resting_order(self) -> tuple[int, float, str] | None:
        """The resting maker order: (side +1 buy / -1 sell, limit price, "entry" | "exit"), or None."""
        side = int(self.acct[L.A_O_SIDE])
        if side == 0:
            return None
        return side, float(self.acct[L.A_O_PX]), "entry" if self.acct[L.A_O_KIND] == L.O_ENTRY else "exit"

    def position_state(self) -> np.ndarray:
        """float32 [POSITION_STATE_DIM]: `POSITION_STATE_NAMES` at the current close."""
        K.position_state(self.acct, self.slots, self.market.close, self.params.bar_ms, self._pos)
        return self._pos.astype(np.float32)

    def step(self, action: int) -> StepEvent:
        """Apply `action` decided at the close of `t`; process bar t + 1; close everything after the last bar."""
        if self.done:
            raise RuntimeError("episode is over: call reset()")
        if action not in (L.HOLD, L.BUY, L.SELL):
            raise ValueError(f"action must be 0 (HOLD), 1 (BUY) or 2 (SELL), got {action!r}")
        before = self.equity
        side_before = self.side
        t = self.t
        K.step_bar(self.acct, self.slots, self.trades_buf, *self._arr, int(action), self.params)
        a = self.acct
        funding = a[L.A_STEP_FUNDING]
        opened = int(a[L.A_STEP_OPENED])
        self._actions[t - self._start] = action
        if self.done:
            # close_all keeps adding to the step accumulators, so the event includes the end-of-segment exits
            K.close_all(self.acct, self.slots, self.trades_buf, self.market.ts, self.market.close, self.params)
        n_closed, pnl, nwin = int(a[L.A_STEP_NCLOSED]), a[L.A_STEP_PNL], int(a[L.A_STEP_NWIN])
        fees = a[L.A_STEP_FEES]
        self._eq[self.t - self._start] = self.equity
        self._posq[self.t - self._start] = K.net_position(self.slots)
        side_after = self.side
        held = 0
        if side_after != 0:
            held = self.t - int(self.slots[self.slots[:, L.S_SIDE] != 0, L.S_ENTRY_BAR].min()) + 1
        return StepEvent(
            equity_before=before,
            equity_after=self.equity,
            fees=float(fees),
            funding=float(funding),
            n_closed=n_closed,
            closed_pnl=float(pnl),
            n_wins=nwin,
            opened=opened,
            side_before=side_before,
            side_after=side_after,
            bars_held=held,
            done=self.done,
        )

    @property
    def n_trades(self) -> int:
        return int(self.acct[L.A_NTRADES])

    def trades(self) -> pd.DataFrame:
        return trades_frame(self.trades_buf[: self.n_trades], self.market.bar_seconds)

    def result(self, strategy: str = "", provenance: dict | None = None) -> BacktestResult:
        """The run so far as a BacktestResult over bars [start, t]."""
        n = self.t - self._start + 1
        sl = slice(self._start, self.t + 1)
        halt = int(self.acct[L.A_HALT_BAR])
        return BacktestResult(
            timestamps=self.market.ts[sl].copy(),
            open=self.market.open[sl].copy(),
            close=self.market.close[sl].copy(),
            equity=self._eq[:n].copy(),
            position=self._posq[:n].copy(),
            actions=self._actions[:n].copy(),
            trades=self.trades(),
            initial_equity=self.params.initial_equity,
            bar_seconds=self.market.bar_seconds,
            fees=float(self.acct[L.A_FEES]),
            funding=float(self.acct[L.A_FUNDING]),
            halts=[halt - self._start] if halt >= 0 else [],
            segments=[(self._start, self.t + 1)],
            orders=order_counts(self.acct),
            strategy=strategy,
            provenance=dict(provenance or {}),
        )


@dataclass
class SegmentRun:
    """One segment's raw outcome: bars [start, end) with equity starting at `params.initial_equity`."""

    start: int
    end: int
    equity: np.ndarray
    position: np.ndarray
    actions: np.ndarray
    trades: np.ndarray  # kernel trade records
    fees: float
    funding: float
    halt_bar: int  # absolute bar index, -1 if never
    orders: np.ndarray = field(default_factory=lambda: np.zeros((2, L.N_OC)))  # maker orders: `order_counts`


def run_signals(
    market: Market,
    params: SimParams,
    signals: np.ndarray,
    start: int = 0,
    end: int | None = None,
    peak: float = 0.0,
) -> SegmentRun:
    """Whole-series path: decisions `signals[t]` (HOLD/BUY/SELL) at each close in [start, end - 1).

    `peak` (default: the initial equity) is the equity high-water mark the drawdown halt starts from.
    """
    end = market.n_bars if end is None else end
    if not 0 <= start < end - 1 < market.n_bars:
        raise ValueError(f"need 0 <= start < end - 1 < {market.n_bars} bars, got start={start} end={end}")
    signals = np.ascontiguousarray(signals, dtype=np.int64)
    if len(signals) != market.n_bars:
        raise ValueError(f"signals has {len(signals)} entries, market has {market.n_bars} bars")
    acct = np.zeros(L.N_ACCT)
    slots = np.zeros((params.max_positions, L.N_SLOT))
    # every trade needs an entry, and entries need a BUY or SELL decision: that bounds the trade buffer
    n_decisions = int(np.count_nonzero(signals[start : end - 1]))
    trades = np.empty((n_decisions + params.max_positions, L.N_TRADE))
    eq = np.empty(market.n_bars)
    pos = np.empty(market.n_bars)
    K.run_signals_kernel(
        acct, slots, trades, *_arrays(market, params), signals, start, end, params, eq, pos, float(peak)
    )
    actions = signals[start:end].astype(np.int8).copy()
    actions[-1] = -1
    return SegmentRun(
        start=start,
        end=end,
        equity=eq[start:end].copy(),
        position=pos[start:end].copy(),
        actions=actions,
        trades=trades[: int(acct[L.A_NTRADES])].copy(),
        fees=float(acct[L.A_FEES]),
        funding=float(acct[L.A_FUNDING]),
        halt_bar=int(acct[L.A_HALT_BAR]),
        orders=order_counts(acct),
    )


class BatchSimulator:
    """B independent segments [starts[b], ends[b]) advanced one bar at a time in lockstep.

    Each segment keeps its own output rows, so segments may share bars (a segment may start on the bar where the
    previous one ends).
    """

    def __init__(
        self,
        market: Market,
        params: SimParams,
        starts: np.ndarray,
        ends: np.ndarray,
        peaks: np.ndarray | None = None,
    ) -> None:
        starts = np.asarray(starts, dtype=np.int64)
        ends = np.asarray(ends, dtype=np.int64)
        if len(starts) != len(ends) or len(starts) == 0:
            raise ValueError("starts and ends must be non-empty and of equal length")
        if np.any(starts < 0) or np.any(ends > market.n_bars) or np.any(ends - starts < 2):
            raise ValueError(f"every segment needs 0 <= start, start + 2 <= end <= {market.n_bars}")
        self.market = market
        self.params = params
        self.starts, self.ends = starts, ends
        b = len(starts)
        self._arr = _arrays(market, params)
        self.accts = np.zeros((b, L.N_ACCT))
        self.slots = np.zeros((b, params.max_positions, L.N_SLOT))
        cap = int((ends - starts).max()) + params.max_positions
        self.trades = np.zeros((b, cap, L.N_TRADE))
        self._pos_state = np.zeros((b, POSITION_STATE_DIM))
        length = int((ends - starts).max())
        self._eq = np.zeros((b, length))
        self._posq = np.zeros((b, length))
        self._act = np.full((b, length), -1, dtype=np.int8)
        for j in range(b):
            peak = 0.0 if peaks is None else float(peaks[j])
            init_account(self.accts[j], self.slots[j], starts[j], ends[j], params.initial_equity, peak)
        self._eq[:, 0] = params.initial_equity

    @property
    def t(self) -> np.ndarray:
        return self.accts[:, L.A_T].astype(np.int64)

    @property
    def active(self) -> np.ndarray:
        return self.t < self.ends - 1

    @property
    def done(self) -> bool:
        return not bool(self.active.any())

    def position_state(self) -> np.ndarray:
        """float32 [B, POSITION_STATE_DIM]: `POSITION_STATE_NAMES` for every segment at its current close."""
        K.batch_position_state(self.accts, self.slots, self.market.close, self.params.bar_ms, self._pos_state)
        return self._pos_state.astype(np.float32)

    def step(self, actions: np.ndarray) -> None:
        """Advance every active segment one bar with its action; finished segments ignore theirs."""
        actions = np.ascontiguousarray(actions, dtype=np.int64)
        if actions.shape != (len(self.starts),):
            raise ValueError(f"actions must have shape ({len(self.starts)},), got {actions.shape}")
        if np.any((actions < 0) | (actions > 2)):
            raise ValueError("actions must be 0 (HOLD), 1 (BUY) or 2 (SELL)")
        K.step_batch(
            self.accts, self.slots, self.trades, *self._arr, actions, self.params, self._eq, self._posq, self._act
        )

    def kernel_state(self) -> tuple[np.ndarray, ...]:
        """(accts, slots, trades, ts, open, high, low, close, atr, funding, tick, opens): the state and market
        arguments of `kernel.step_batch`, for compiled callers that fuse their own decisions with the step
        (rl/lockstep.py)."""
        return (self.accts, self.slots, self.trades, *self._arr)

    def kernel_outputs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(equity, position, actions) per segment and bar: the output arguments of `kernel.step_batch`."""
        return self._eq, self._posq, self._act

    def runs(self) -> list[SegmentRun]:
        out = []
        for b, (s, e) in enumerate(zip(self.starts.tolist(), self.ends.tolist())):
            acct = self.accts[b]
            out.append(
                SegmentRun(
                    start=s,
                    end=e,
                    equity=self._eq[b, : e - s].copy(),
                    position=self._posq[b, : e - s].copy(),
                    actions=self._act[b, : e - s].copy(),
                    trades=self.trades[b, : int(acct[L.A_NTRADES])].copy(),
                    fees=float(acct[L.A_FEES]),
                    funding=float(acct[L.A_FUNDING]),
                    halt_bar=int(acct[L.A_HALT_BAR]),
                    orders=order_counts(acct),
                )
            )
        return out
