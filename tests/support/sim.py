"""Simulator test helpers: hand-made markets, easy-number params and a step-by-step run (tests/backtest/sim)."""

from __future__ import annotations

import numpy as np

from backtest.config import load_objectives, load_params
from backtest.sim import Market, SimParams, Simulator

MIN = 60_000


def make_market(rows, funding=None, atr=None, start_ms=0):
    """Market from (open, high, low, close) rows, one minute apart."""
    a = np.asarray(rows, dtype=np.float64)
    n = len(a)
    return Market(
        ts=start_ms + np.arange(n, dtype=np.int64) * MIN,
        open=a[:, 0].copy(),
        high=a[:, 1].copy(),
        low=a[:, 2].copy(),
        close=a[:, 3].copy(),
        atr=np.zeros(n) if atr is None else np.asarray(atr, dtype=np.float64),
        funding=np.zeros(n) if funding is None else np.asarray(funding, dtype=np.float64),
        bar_seconds=60,
    )


def sim_params(**trading_and_backtest) -> SimParams:
    """Defaults with zero latency and easy numbers; keyword overrides as section__key=value."""
    overrides = [
        "backtest.latency_ms=[0, 0]",
        "backtest.slippage_pct=0.1",
        "backtest.commission_pct=0.05",
        "trading.position_size_pct=0.5",
        "trading.take_profit_pct=1.0",
        "trading.stop_loss_pct=0.5",
        "trading.max_hold_seconds=0",
    ]
    overrides += [f"{k.replace('__', '.')}={v}" for k, v in trading_and_backtest.items()]
    objectives = load_objectives(overrides=["auto_stop_drawdown=50"])
    return SimParams.from_config(load_params(overrides=overrides), objectives)


def run(market, params, actions):
    signals = np.zeros(market.n_bars, dtype=np.int64)
    signals[: len(actions)] = actions
    sim = Simulator(market, params)
    sim.reset(0, market.n_bars)
    while not sim.done:
        sim.step(int(signals[sim.t]))
    return sim.result()


FLAT = (100.0, 100.2, 99.8, 100.0)


def random_market(n, seed):
    """A seeded random walk of n one-minute bars with hourly funding and a constant ATR."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.003, n)))
    open_ = np.r_[100.0, close[:-1]] * np.exp(rng.normal(0, 0.0005, n))
    high = np.maximum(open_, close) * (1 + rng.exponential(0.001, n))
    low = np.minimum(open_, close) * (1 - rng.exponential(0.001, n))
    funding = np.where(np.arange(n) % 60 == 0, 0.0001, 0.0)
    return make_market(np.c_[open_, high, low, close], funding=funding, atr=np.full(n, 0.3))


def assert_three_paths_agree(m, p, signals):
    """The step API, the batched lockstep (two overlapping segments) and the whole-series path give identical
    trades, equity and order outcomes on `signals`; returns the whole-series run."""
    import pandas as pd

    from backtest.sim import BatchSimulator, run_signals
    from backtest.sim.engine import trades_frame

    whole = run_signals(m, p, signals, 0, m.n_bars)
    stepped = run(m, p, signals)
    batch = BatchSimulator(m, p, np.array([0, 700]), np.array([701, m.n_bars]))
    while not batch.done:
        batch.step(signals[np.minimum(batch.t, m.n_bars - 1)])
    pd.testing.assert_frame_equal(trades_frame(whole.trades, 60), stepped.trades)
    np.testing.assert_array_equal(whole.equity, stepped.equity)
    np.testing.assert_array_equal(whole.orders, stepped.orders)
    for (s, e), seg in zip(((0, 701), (700, m.n_bars)), batch.runs(), strict=True):
        alone = run_signals(m, p, signals, s, e)
        np.testing.assert_array_equal(alone.trades, seg.trades)
        np.testing.assert_array_equal(alone.equity, seg.equity)
        np.testing.assert_array_equal(alone.orders, seg.orders)
    return whole
