"""The oracle: the planted edge traded perfectly through the one runner, and refused where nothing is planted."""

from __future__ import annotations

import numpy as np
import pytest

from backtest.config import load_objectives, load_params
from backtest.data.load import load_dataset
from backtest.features import compute_features
from backtest.metrics import compute_metrics
from backtest.runner import run_backtest
from backtest.sim import Market
from backtest.strategies.oracle import OracleError, OracleStrategy
from backtest.strategies.registry import StrategyError, resolve_strategy

EDGE = ["synth.edge.enabled=true", "synth.trend_drift_bps=2.0", "trading.max_hold_seconds=0", "backtest.days=6"]


def _run(strategy, params):
    ds = load_dataset(params, "synthetic")
    market = Market.from_bars(ds.bars, params)
    result = run_backtest(strategy, params, load_objectives(), market, compute_features(ds.bars, params.trading))
    return result, compute_metrics(result)


def test_oracle_profits_after_costs_where_rules_lose():
    params = load_params(overrides=EDGE)
    oracle, m = _run("oracle", params)
    _, rules = _run("rules", params)
    assert m["total_return_pct"] > 1.0 and m["n_trades"] >= 10
    assert m["total_return_pct"] > rules["total_return_pct"]
    assert m["fees_paid"] > 0 and oracle.fees == m["fees_paid"]  # it pays fees like anyone


def test_oracle_enters_at_the_open_after_the_close_where_the_signal_said_so():
    params = load_params(overrides=EDGE)
    strategy = OracleStrategy.for_params(params)
    result, _ = _run(strategy, params)
    from backtest.data.synth import DEFAULT_START, simulate
    from backtest.venue.calendar import calendar_for

    path = simulate(6 * 1440, params.synth, start=DEFAULT_START, calendar=calendar_for(params.market.coin))
    sig = path.signal()
    trades = result.trades
    assert len(trades)
    offset = len(path.bars) - len(result.close)  # trade bars count from the first traded bar (after the warm-up)
    entry = trades["entry_bar"].to_numpy() + offset
    side = trades["side"].to_numpy()
    # the decision at entry_bar - 1 asked for that side, knowing only the state at that bar
    target = sig["target"].to_numpy()
    expected = sig["expected_next_bps"].to_numpy()
    assert (target[entry - 1] == side).all()
    assert (expected[entry - 1] * side > 0).all()


def test_oracle_is_refused_without_a_planted_edge_or_on_other_data():
    with pytest.raises(StrategyError, match="planted edge"):
        resolve_strategy("oracle", load_params(overrides=["synth.edge.enabled=false"]))
    with pytest.raises(StrategyError, match="synthetic data only"):
        resolve_strategy("oracle", load_params(overrides=["synth.edge.enabled=true", "backtest.data_source=real"]))
    with pytest.raises(OracleError, match="planted edge"):
        OracleStrategy.for_params(load_params(overrides=["synth.edge.enabled=true", "synth.trend_drift_bps=0"]))


def test_oracle_refuses_bars_that_are_not_its_generators():
    params = load_params(overrides=EDGE)
    oracle = OracleStrategy.for_params(params)
    other = load_params(overrides=[*EDGE, "synth.seed=8"])
    bars = load_dataset(other, "synthetic").bars
    with pytest.raises(OracleError, match="not the synthetic generator's output"):
        oracle.prepare(bars["close"].to_numpy(), np.zeros((len(bars), 1)))
    with pytest.raises(OracleError, match="backtests"):
        oracle.extend(1.0, np.zeros(1))


def test_oracle_finds_a_sub_span_of_its_path():
    params = load_params(overrides=EDGE)
    oracle = OracleStrategy.for_params(params)
    close = load_dataset(params, "synthetic").bars["close"].to_numpy()
    whole = oracle.prepare(close, np.zeros((len(close), 1)))
    part = oracle.prepare(close[1000:3000], np.zeros((2000, 1)))
    np.testing.assert_array_equal(part, whole[1000:3000])
