"""Parity test helpers (tests/live/paper_exchange): the bars, decisions and simulator runs the paper exchange is held
against, and its fills read back as trades."""

from __future__ import annotations

import numpy as np
import pandas as pd

from backtest.sim import layout as L
from backtest.sim.engine import Simulator
from backtest.sim.market import Market
from backtest.sim.params import SimParams
from backtest.venue.fees import default_schedule

COIN = "xyz:XYZ100"
FEES = default_schedule(COIN)  # what the stock paper exchange charges on xyz: HIP-3 standard, base tier 0
TAKER, MAKER = FEES.taker, FEES.maker
SLIP, TP, SL = 0.0001, 0.006, 0.004
N_BARS, START, EVERY = 700, 60, 9
T0 = 1_699_999_980_000


def parity_bars(seed: int = 5) -> pd.DataFrame:
    """A random walk around 20,000 with wide wicks (some bars touch both levels) and occasional gaps at the open."""
    rng = np.random.default_rng(seed)
    close = 20_000 * np.exp(np.cumsum(rng.normal(0, 0.0009, N_BARS)))
    prev = np.r_[20_000.0, close[:-1]]
    gap = np.where(rng.random(N_BARS) < 0.06, rng.normal(0, 0.004, N_BARS), 0.0)
    open_ = prev * np.exp(gap)
    spike = np.where(rng.random(N_BARS) < 0.05, 0.007, 0.0)  # a few very wide bars: both levels inside one bar
    wick_hi = (np.abs(rng.normal(0, 0.0013, N_BARS)) + spike) * close
    wick_lo = (np.abs(rng.normal(0, 0.0013, N_BARS)) + spike) * close
    return pd.DataFrame(
        {
            "timestamp": pd.to_datetime(T0 + np.arange(N_BARS) * 60_000, unit="ms", utc=True),
            "open": open_,
            "high": np.maximum(open_, close) + wick_hi,
            "low": np.minimum(open_, close) - wick_lo,
            "close": close,
            "volume": 50.0,
            "trades": 10,
        }
    )


def tick(px: float) -> float:
    """The exchange's price step at `px`: 5 significant figures."""
    return 10.0 ** (np.floor(np.log10(px)) - 4)


def tick_safe(bars: pd.DataFrame, sig: np.ndarray, sim=None) -> pd.DataFrame:
    """Move every open, high or low that lies within a few ticks of a live TP/SL level away from it.

    Right at a level the exchange's tick-rounded level (and tick-rounded entry) decides whether it was touched, and
    can disagree with the simulator's exact one: that is the documented tick difference, not a rule difference.
    Moving those prices by a few ticks (keeping the simulator's verdict where the bar allows it) leaves only rule
    differences for the test to find. Repeats until the simulator's trades no longer need a move.
    """
    bars = bars.copy()
    for _ in range(30):
        o, h, lo, c = (bars[k].to_numpy(copy=True) for k in ("open", "high", "low", "close"))
        moved = False
        for t in (sim or simulate)(bars, sig).itertuples():
            for level in (t.entry_price * (1 + t.side * TP), t.entry_price * (1 - t.side * SL)):
                m = 4 * tick(level)
                for b in range(int(t.entry_bar), int(t.exit_bar) + 1):
                    if abs(o[b] - level) < m:
                        o[b] = level + m if o[b] >= level else level - m
                        h[b], lo[b] = max(h[b], o[b]), min(lo[b], o[b])
                        moved = True
                    if abs(h[b] - level) < m:
                        h[b] = level + m if h[b] >= level or max(o[b], c[b]) > level - m else level - m
                        moved = True
                    if abs(lo[b] - level) < m:
                        lo[b] = level - m if lo[b] <= level or min(o[b], c[b]) < level + m else level + m
                        moved = True
        bars["open"], bars["high"], bars["low"] = o, h, lo
        if not moved:
            return bars
    raise AssertionError("could not move the bars clear of the TP/SL levels")


def signals() -> np.ndarray:
    s = np.zeros(N_BARS, dtype=np.int64)
    for k, t in enumerate(range(START, N_BARS - 2, EVERY)):
        s[t] = L.BUY if (k // 2) % 2 == 0 else L.SELL  # twice the same way (the second is ignored or re-enters)
    return s


def parity_market(bars: pd.DataFrame) -> Market:
    n = len(bars)
    return Market(
        ts=(T0 + np.arange(n) * 60_000).astype(np.int64),
        open=bars["open"].to_numpy(np.float64),
        high=bars["high"].to_numpy(np.float64),
        low=bars["low"].to_numpy(np.float64),
        close=bars["close"].to_numpy(np.float64),
        atr=np.zeros(n),
        funding=np.zeros(n),
        bar_seconds=60,
    )


PARITY_PARAMS = dict(
    tp_frac=TP, sl_frac=SL, size_frac=0.1, leverage=1.0, max_positions=1, hold_bars=0, stop_first=True,
    slip_frac=SLIP, taker_frac=TAKER, maker_frac=MAKER, tp_limit=False, lat_lo_ms=0.0, lat_hi_ms=0.0,
    bar_ms=60_000.0, auto_stop_frac=0.0, kelly_on=False, kelly_fraction=0.5, kelly_cap=0.25, kelly_min_trades=10,
    atr_on=False, atr_mult=1.0, initial_equity=10_000.0, seed=0,
)  # fmt: skip


def simulate(bars: pd.DataFrame, sig: np.ndarray) -> pd.DataFrame:
    n = len(bars)
    market = parity_market(bars)
    sim = Simulator(market, SimParams(**PARITY_PARAMS))
    sim.reset(START, n)
    while not sim.done:
        sim.step(int(sig[sim.t]))
    trades = sim.trades()
    return trades[trades["exit_reason"] != "end"].reset_index(drop=True)


def parity_exchange(bars: pd.DataFrame):
    """A paper exchange on `bars` matched to the simulator (spread = its slippage, no funding), a funded wallet and its
    SDK client: (server handle, SDK Exchange, user address, the market's venue rules)."""
    from eth_account import Account
    from hyperliquid.exchange import Exchange

    from tests.support.paper_exchange import PERP_DEXS, start

    wallet = Account.create()
    h = start(bars, fund=((wallet.address.lower(), 1_000_000.0),), history_bars=START + 1, spread_bps=2 * SLIP * 1e4,
              funding_rate_hourly=0.0)  # fmt: skip
    ex = Exchange(wallet, h.url, perp_dexs=PERP_DEXS, timeout=5)
    return h, ex, wallet.address.lower(), h.exchange.universe.by_name[COIN]


def exchange_trades(eng, user: str) -> pd.DataFrame:
    rows, cur = [], None
    for f in eng.fills[user]:
        bar = (f.time - T0) // 60_000
        rate = TAKER if f.crossed else MAKER
        assert abs(f.fee - f.sz * f.px * rate) <= 1e-12 * max(1.0, f.fee), "a fill's fee is not the venue schedule's"
        if f.direction.startswith("Open"):
            cur = {"entry_bar": bar, "side": 1 if f.is_buy else -1, "qty": f.sz, "entry_price": f.px, "fees": f.fee}
            continue
        o = eng.orders.get(f.oid)
        reason = {"tp": "take_profit", "sl": "stop_loss"}.get(o.tpsl if o is not None else None, "signal")
        at_open = (f.time - T0) % 60_000 == 0
        rows.append({**cur, "exit_bar": bar, "exit_price": f.px, "exit_reason": reason, "at_open": at_open,
                     "fees": cur["fees"] + f.fee})  # fmt: skip
    return pd.DataFrame(rows)
