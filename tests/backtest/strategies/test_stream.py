"""Bar by bar equals batched: the feature kernel, the rules, a policy in lockstep with the simulator, and the
action interpreter every caller shares."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backtest.config import load_objectives, load_params
from backtest.data.load import load_dataset
from backtest.domain import frame_bars
from backtest.features import FeatureStream, compute_features
from backtest.runner import run_policy
from backtest.sim import BUY, HOLD, SELL, Market, SimParams, Simulator, action_orders
from backtest.strategies.base import PolicyStrategy, SignalStrategy
from backtest.strategies.buyhold import BuyHoldStrategy
from backtest.strategies.rules import RulesStrategy
from backtest.strategies.stream import StrategyStream

SMALL = ["backtest.days=2", "backtest.warmup_bars=60", "trading.max_hold_seconds=600"]


@pytest.fixture(scope="module")
def small():
    params = load_params(overrides=SMALL)
    ds = load_dataset(params, "synthetic")
    features = compute_features(ds.bars, params.trading, params.market.coin)
    return params, ds.bars, features, Market.from_bars(ds.bars, params)


def drive(strategy, params, bars: pd.DataFrame, market: Market, start: int, end: int):
    """The live path offline: a StrategyStream warmed on bars[:start], then one on_bar per close, the simulator
    stepping with each decision. Returns the decisions and the simulator's result."""
    stream = StrategyStream(strategy, params.trading, params.backtest.warmup_bars, params.market.coin)
    stream.warm_up(bars.iloc[:start])
    sim = Simulator(market, SimParams.from_config(params, load_objectives()))
    sim.reset(start, end)
    decisions = []
    for bar in frame_bars(bars.iloc[start : end - 1]):
        d = stream.on_bar(bar, sim.position_state())
        decisions.append(d.action)
        sim.step(d.action)
    return np.array(decisions, dtype=np.int8), sim.result()


@settings(max_examples=20, deadline=None)
@given(cut=st.integers(min_value=1, max_value=299), seed=st.integers(min_value=0, max_value=1000))
def test_feature_stream_rows_are_bit_identical_to_compute_features(params, cut, seed):
    from backtest.data.synth import generate_bars

    start = pd.Timestamp("2026-03-06 22:00", tz="UTC") - pd.Timedelta(minutes=1 + seed % 250)  # Friday 17:00 ET inside
    bars = generate_bars(300, params.synth, start=start, seed=seed)
    batch = compute_features(bars, params.trading, "xyz:XYZ100")
    assert batch[:, -2].min() == 0 and batch[:, -2].max() == 1  # the session closes inside these bars
    stream = FeatureStream(params.trading, "xyz:XYZ100")
    first = stream.push_bars(bars.iloc[:cut])
    rest = [stream.push(b.time_ms, b.high, b.low, b.close, b.volume) for b in frame_bars(bars.iloc[cut:])]
    np.testing.assert_array_equal(np.vstack([first, *rest]), batch)
    assert stream.rsi == pytest.approx(50 + 50 * float(batch[-1, 6]), abs=1e-3)


def test_rules_bar_by_bar_equal_the_whole_series_signals(small):
    params, bars, features, _ = small
    rules = RulesStrategy(params.trading)
    batch = rules.signals(bars["close"].to_numpy(), features)
    assert (batch != HOLD).sum() > 20
    stream = rules.signal_stream()
    stream.warm_up(bars["close"].to_numpy()[:500], features[:500])
    tail = [stream.push(c, f) for c, f in zip(bars["close"].to_numpy()[500:], features[500:])]
    np.testing.assert_array_equal(tail, batch[500:])


def test_a_plugin_signal_strategy_streams_by_recomputing(small):
    params, bars, features, market = small

    class Momentum(SignalStrategy):
        def signals(self, close, features):
            r = np.r_[0.0, np.diff(close)]
            return np.where(r > 0, BUY, np.where(r < 0, SELL, HOLD)).astype(np.int8)

    start, end = 300, 700
    actions, _ = drive(Momentum(), params, bars, market, start, end)
    np.testing.assert_array_equal(actions, Momentum().signals(bars["close"].to_numpy(), features)[start : end - 1])


class LaggedPolicy(PolicyStrategy):
    """A recurrent stand-in for a trained policy: its state (a running mean of ret_1) depends on every bar it saw,
    including the warm-up, and it reads the position state."""

    name = "lagged"

    def reset(self, batch: int) -> None:
        self.m = np.zeros(batch, dtype=np.float32)

    def act(self, obs: np.ndarray) -> np.ndarray:
        self.m = np.float32(0.9) * self.m + np.float32(0.1) * obs[:, 0]
        side, upnl = obs[:, -4], obs[:, -3]
        out = np.full(len(obs), HOLD, dtype=np.int8)
        out[(side == 0) & (self.m > 2e-5)] = BUY
        out[(side == 0) & (self.m < -2e-5)] = SELL
        out[(side != 0) & (upnl > 0)] = np.where(side[(side != 0) & (upnl > 0)] > 0, SELL, BUY)
        return out


def test_a_policy_bar_by_bar_takes_the_batched_backtests_actions_and_trades(small):
    params, bars, features, market = small
    sp = SimParams.from_config(params, load_objectives())
    start, end = 400, 1600
    actions, result = drive(LaggedPolicy(), params, bars, market, start, end)
    # the same segment, batched in lockstep with two others
    segments = [(start, end), (100, 900), (900, 2000)]
    runs = run_policy(market, features, sp, LaggedPolicy(), segments, params.backtest.warmup_bars)
    batched = runs[0]
    assert (actions != HOLD).sum() > 20
    np.testing.assert_array_equal(actions, batched.actions[:-1])
    np.testing.assert_array_equal(result.equity, batched.equity)
    assert len(result.trades) == len(batched.trades) > 5


def test_buy_and_hold_streams_too(small):
    params, bars, _, market = small
    actions, result = drive(BuyHoldStrategy(), params, bars, market, 100, 400)
    assert (actions == BUY).all() and len(result.trades) >= 1


def test_the_stream_refuses_old_bars_and_decisions_before_warm_up(small):
    params, bars, _, _ = small
    stream = StrategyStream(RulesStrategy(params.trading), params.trading, 60)
    bar = frame_bars(bars.iloc[10:11])[0]
    with pytest.raises(RuntimeError, match="warm_up"):
        stream.on_bar(bar, np.zeros(4))
    stream.warm_up(bars.iloc[:20])
    with pytest.raises(ValueError, match="not after"):
        stream.on_bar(bar, np.zeros(4))


@pytest.mark.parametrize(
    ("action", "side", "n_open", "halted", "expected"),
    [
        (HOLD, 1.0, 1, False, (0.0, 0.0)),
        (BUY, 0.0, 0, False, (0.0, 1.0)),  # flat: open long
        (SELL, 0.0, 0, False, (0.0, -1.0)),
        (BUY, -1.0, 1, False, (-1.0, 0.0)),  # short: close the shorts, no reversal in the same bar
        (SELL, 1.0, 2, False, (1.0, 0.0)),
        (BUY, 1.0, 1, False, (0.0, 0.0)),  # long at max_positions = 1: nothing
        (BUY, 0.0, 0, True, (0.0, 0.0)),  # halted: no opens
        (SELL, 1.0, 1, True, (1.0, 0.0)),  # halted: closes allowed
    ],
)
def test_the_action_interpreter(action, side, n_open, halted, expected):
    assert action_orders(action, side, n_open, halted, 1) == expected


def test_adding_to_a_position_below_max_positions():
    assert action_orders(BUY, 1.0, 1, False, 2) == (0.0, 1.0)


def test_position_state_of_outside_legs_equals_the_simulators(small):
    from backtest.sim import position_state_of

    params, bars, _, market = small
    sim = Simulator(market, SimParams.from_config(params, load_objectives()))
    sim.reset(100, 400)
    sim.step(BUY)
    for _ in range(3):
        sim.step(HOLD)
    slot = sim.slots[sim.slots[:, 0] != 0][0]
    legs = [(float(slot[0]), float(slot[1]), float(slot[2]), int(slot[3]))]
    got = position_state_of(legs, float(market.close[sim.t]), sim.equity, sim.initial_equity, sim.t, 60)
    np.testing.assert_array_equal(got, sim.position_state())
    flat = position_state_of([], 100.0, 9000.0, 10000.0, 12345, 60)
    np.testing.assert_allclose(flat, [0, 0, 0, -0.1], atol=1e-7)
