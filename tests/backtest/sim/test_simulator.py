"""Hand-computed scenarios for the simulator's semantics (docs/ARCHITECTURE.md, "Simulator semantics")."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backtest.sim import BUY, HOLD, SELL, Simulator, run_signals
from backtest.sim.draws import latency_ms
from tests.support.sim import FLAT, MIN, assert_three_paths_agree, make_market, random_market, run, sim_params


def test_entry_fills_at_next_open_moved_by_slippage_and_pays_taker_fee():
    m = make_market([FLAT, (101.0, 101.2, 100.8, 101.0), (101.0, 101.2, 100.8, 101.0)])
    p = sim_params()
    sim = Simulator(m, p)
    sim.reset(0, 3)
    ev = sim.step(BUY)
    entry = 101.0 * 1.001
    notional = 10_000 * 0.5
    assert ev.opened == 1 and ev.side_after == 1
    assert ev.fees == pytest.approx(notional * 0.0005)
    qty = notional / entry
    assert ev.equity_after == pytest.approx(10_000 - notional * 0.0005 + qty * (101.0 - entry))


def test_take_profit_fills_inside_the_bar_at_the_level_with_slippage():
    m = make_market([FLAT, FLAT, (100.0, 101.5, 99.9, 101.0), FLAT])
    res = run(m, sim_params(), [BUY])
    t = res.trades.iloc[0]
    entry = 100.0 * 1.001
    assert t.exit_reason == "take_profit"
    assert t.exit_bar == 2
    assert t.exit_price == pytest.approx(entry * 1.01 * (1 - 0.001))


def test_take_profit_as_limit_fills_at_the_level_and_pays_maker_fee():
    m = make_market([FLAT, FLAT, (100.0, 101.5, 99.9, 101.0), FLAT])
    res = run(m, sim_params(execution__take_profit="maker", backtest__maker_commission_pct=0.01), [BUY])
    t = res.trades.iloc[0]
    entry = 100.0 * 1.001
    qty = 5000 / entry
    assert t.exit_price == pytest.approx(entry * 1.01)
    assert t.fees == pytest.approx(5000 * 0.0005 + qty * entry * 1.01 * 0.0001)


def test_stop_loss_wins_when_both_levels_touch_in_one_bar():
    m = make_market([FLAT, FLAT, (100.0, 102.0, 99.0, 100.0), FLAT])
    t = run(m, sim_params(), [BUY]).trades.iloc[0]
    entry = 100.0 * 1.001
    assert t.exit_reason == "stop_loss"
    assert t.exit_price == pytest.approx(entry * 0.995 * (1 - 0.001))


def test_take_profit_wins_when_both_touch_and_configured_so():
    m = make_market([FLAT, FLAT, (100.0, 102.0, 99.0, 100.0), FLAT])
    t = run(m, sim_params(trading__both_touched="take_profit"), [BUY]).trades.iloc[0]
    assert t.exit_reason == "take_profit"


def test_gap_through_the_stop_fills_at_the_open_not_the_level():
    m = make_market([FLAT, FLAT, (98.0, 98.5, 97.5, 98.0), FLAT])
    t = run(m, sim_params(), [BUY]).trades.iloc[0]
    assert t.exit_reason == "stop_loss"
    assert t.exit_bar == 2
    assert t.exit_price == pytest.approx(98.0 * (1 - 0.001))


def test_gap_through_the_take_profit_fills_at_the_better_open():
    m = make_market([FLAT, FLAT, (103.0, 103.5, 102.5, 103.0), FLAT])
    t = run(m, sim_params(), [BUY]).trades.iloc[0]
    assert t.exit_reason == "take_profit"
    assert t.exit_price == pytest.approx(103.0 * (1 - 0.001))


def test_max_hold_closes_at_the_open_after_hold_bars():
    m = make_market([FLAT] * 6)
    t = run(m, sim_params(trading__max_hold_seconds=120), [BUY]).trades.iloc[0]
    assert t.exit_reason == "timeout"
    assert t.entry_bar == 1 and t.exit_bar == 3
    assert t.exit_price == pytest.approx(100.0 * (1 - 0.001))


def test_max_hold_of_sixty_seconds_on_one_minute_bars_holds_one_bar():
    m = make_market([FLAT] * 5)
    t = run(m, sim_params(trading__max_hold_seconds=60), [BUY]).trades.iloc[0]
    assert (t.entry_bar, t.exit_bar) == (1, 2)


def test_round_trip_pays_fees_on_both_legs_and_loses_the_spread():
    m = make_market([FLAT] * 4)
    res = run(m, sim_params(), [BUY, SELL])
    t = res.trades.iloc[0]
    entry, exit_ = 100.0 * 1.001, 100.0 * 0.999
    qty = 5000 / entry
    assert t.exit_reason == "signal"
    assert t.gross_pnl == pytest.approx(qty * (exit_ - entry))
    assert t.fees == pytest.approx(5000 * 0.0005 + qty * exit_ * 0.0005)
    assert res.final_equity == pytest.approx(10_000 + t.gross_pnl - t.fees)


def test_sell_closes_a_long_without_opening_a_short():
    m = make_market([FLAT] * 5)
    res = run(m, sim_params(), [BUY, SELL])
    assert len(res.trades) == 1
    assert res.position[2] == 0.0 and res.position[3] == 0.0


def test_short_side_profits_when_price_falls():
    m = make_market([FLAT, FLAT, (99.0, 99.2, 98.8, 99.0), (99.0, 99.2, 98.8, 99.0)])
    t = run(m, sim_params(trading__stop_loss_pct=5, trading__take_profit_pct=5), [SELL, HOLD, BUY]).trades.iloc[0]
    entry, exit_ = 100.0 * 0.999, 99.0 * 1.001
    assert t.side == -1
    assert t.gross_pnl == pytest.approx(-(5000 / entry) * (exit_ - entry))
    assert t.gross_pnl > 0


def test_funding_is_charged_on_open_notional_and_longs_pay_positive_rates():
    funding = np.zeros(4)
    funding[2] = 0.001
    m = make_market([FLAT] * 4, funding=funding)
    res = run(m, sim_params(trading__take_profit_pct=50, trading__stop_loss_pct=50), [BUY])
    t = res.trades.iloc[0]
    qty = 5000 / (100.0 * 1.001)
    assert t.funding == pytest.approx(qty * 100.0 * 0.001)
    assert res.funding == pytest.approx(t.funding)
    assert t.pnl == pytest.approx(t.gross_pnl - t.fees - t.funding)


def test_leverage_scales_notional():
    m = make_market([FLAT] * 3)
    sim = Simulator(m, sim_params(trading__leverage=3))
    sim.reset(0, 3)
    ev = sim.step(BUY)
    assert ev.fees == pytest.approx(10_000 * 0.5 * 3 * 0.0005)


def test_max_positions_allows_adding_then_refuses():
    m = make_market([FLAT] * 6)
    res = run(m, sim_params(trading__max_positions=2), [BUY, BUY, BUY])
    assert res.position[3] == pytest.approx(2 * res.position[1], rel=1e-3)
    assert len(res.trades) == 2  # both closed at the end


def test_drawdown_halt_stops_new_entries_and_is_reported():
    crash = (95.0, 95.2, 94.8, 95.0)
    m = make_market([FLAT, FLAT, crash, crash, crash, crash])
    p = sim_params(trading__stop_loss_pct=50, trading__take_profit_pct=50)._replace(auto_stop_frac=0.02)
    res = run(m, p, [BUY, HOLD, SELL, HOLD, BUY])
    assert res.halts == [2]
    assert len(res.trades) == 1  # the BUY at bar 4 was refused


def test_latency_is_deterministic_in_range_and_moves_fills_against_the_trader():
    draws = [latency_ms(1, b, 5.0, 15.0) for b in range(2000)]
    assert min(draws) >= 5.0 and max(draws) <= 15.0
    assert np.std(draws) > 2.0
    assert draws == [latency_ms(1, b, 5.0, 15.0) for b in range(2000)]
    m = make_market([FLAT, (100.0, 101.0, 99.0, 100.0), FLAT])
    sim = Simulator(m, sim_params(backtest__latency_ms="[10, 10]", backtest__slippage_pct=0))
    sim.reset(0, 3)
    sim.step(BUY)
    sim.step(HOLD)
    entry = sim.trades().iloc[0].entry_price
    assert entry == pytest.approx(100.0 + 2.0 * 10 / 60_000)


def test_atr_stop_uses_the_atr_known_at_the_decision():
    atr = np.full(4, 0.2)
    m = make_market([FLAT, FLAT, (100.0, 100.1, 99.5, 99.8), FLAT], atr=atr)
    p = sim_params(trading__atr_stop__enabled="true", trading__atr_stop__multiple=2)
    t = run(m, p, [BUY]).trades.iloc[0]
    entry = 100.0 * 1.001
    assert t.exit_reason == "stop_loss"
    assert t.exit_price == pytest.approx((entry - 0.4) * (1 - 0.001))


def test_kelly_sizes_from_running_win_rate_after_min_trades():
    up = [(100.0 + i, 100.5 + i, 99.9 + i, 100.0 + i) for i in range(12)]
    m = make_market(up)
    p = sim_params(
        trading__kelly__enabled="true",
        trading__kelly__min_trades=2,
        trading__kelly__fraction=0.5,
        trading__kelly__cap=0.3,
        trading__take_profit_pct=50,
        trading__stop_loss_pct=50,
    )
    res = run(m, p, [BUY, SELL, BUY, SELL, BUY, SELL])
    notional = res.trades.qty * res.trades.entry_price
    assert notional.iloc[0] == pytest.approx(res.initial_equity * 0.5, rel=1e-9)
    # two winners, no losers: Kelly says all in, capped at 30 %
    eq_before_third = res.equity[res.trades.entry_bar.iloc[2] - 1]
    assert notional.iloc[2] == pytest.approx(eq_before_third * 0.3, rel=1e-9)


PARITY_CONFIGS = [
    {},
    {"trading__max_positions": 3, "trading__max_hold_seconds": 300},
    {"trading__kelly__enabled": "true", "trading__kelly__min_trades": 5, "trading__both_touched": "take_profit"},
    {"trading__atr_stop__enabled": "true", "backtest__latency_ms": "[5, 15]", "execution__take_profit": "maker"},
]


@pytest.mark.parametrize("overrides", PARITY_CONFIGS)
def test_step_batched_and_whole_series_paths_give_identical_trades(overrides):
    m = random_market(1500, seed=3)
    p = sim_params(**overrides)
    signals = np.random.default_rng(4).choice([0, 0, 0, 1, 2], size=m.n_bars)
    whole = assert_three_paths_agree(m, p, signals)
    assert len(whole.trades) >= 5


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), density=st.floats(0.05, 0.9), max_pos=st.integers(1, 3))
def test_equity_equals_start_plus_realised_pnl_minus_fees_and_funding(seed, density, max_pos):
    m = random_market(400, seed)
    rng = np.random.default_rng(seed)
    signals = np.where(rng.random(m.n_bars) < density, rng.integers(1, 3, m.n_bars), 0)
    p = sim_params(trading__max_positions=max_pos, backtest__latency_ms="[5, 15]")
    run_ = run_signals(m, p, signals)
    tr = run_.trades
    gross, fees, funding = tr[:, 6].sum(), tr[:, 7].sum(), tr[:, 8].sum()
    assert run_.equity[-1] == pytest.approx(p.initial_equity + gross - fees - funding, rel=1e-12, abs=1e-9)
    assert fees == pytest.approx(run_.fees) and funding == pytest.approx(run_.funding)


def test_no_fill_or_decision_before_t_plus_one_changes_when_later_bars_change():
    m = random_market(600, seed=11)
    signals = np.random.default_rng(5).choice([0, 0, 1, 2], size=m.n_bars)
    p = sim_params(backtest__latency_ms="[5, 15]")
    base = run_signals(m, p, signals)
    t = 300
    changed = random_market(600, seed=12)
    mixed = make_market(
        np.c_[
            np.r_[m.open[: t + 1], changed.open[t + 1 :]],
            np.r_[m.high[: t + 1], changed.high[t + 1 :]],
            np.r_[m.low[: t + 1], changed.low[t + 1 :]],
            np.r_[m.close[: t + 1], changed.close[t + 1 :]],
        ],
        funding=m.funding,
        atr=m.atr,
    )
    other = run_signals(mixed, p, signals)
    np.testing.assert_array_equal(base.equity[: t + 1], other.equity[: t + 1])
    done_before = base.trades[base.trades[:, 1] <= t]
    np.testing.assert_array_equal(done_before, other.trades[: len(done_before)])


def test_bad_actions_and_spans_are_refused_with_a_clear_error():
    m = make_market([FLAT] * 3)
    sim = Simulator(m, sim_params())
    with pytest.raises(ValueError, match="start"):
        sim.reset(2, 3)
    sim.reset(0, 3)
    with pytest.raises(ValueError, match="action"):
        sim.step(7)


def test_funding_series_applies_each_hours_rate_at_the_hour_boundary():
    from backtest.sim.market import funding_per_bar

    ts = np.arange(180, dtype=np.int64) * MIN  # three hours of 1-minute bars from midnight
    series = pd.Series([0.001, -0.002], index=pd.to_datetime([0, 3_600_000], unit="ms", utc=True))
    rates = funding_per_bar(ts, 60, 0.0005, series)
    assert rates[0] == 0.001 and rates[60] == -0.002 and rates[120] == 0.0005  # the constant fills uncovered hours
    assert np.count_nonzero(rates) == 3
    hourly = funding_per_bar(np.arange(3, dtype=np.int64) * 3_600_000 * 4, 4 * 3600, 0.001)
    assert np.allclose(hourly, 0.004)  # a 4-hour bar pays four hours of funding


def test_a_closed_session_refuses_entries_but_lets_positions_close():
    """`trading.trade_closed_sessions` false: no entry fills at an open outside the session; closes still do."""
    import dataclasses

    m = make_market([FLAT] * 8)
    opens = np.array([1, 1, 0, 0, 1, 1, 1, 1], dtype=np.float64)  # bars 2 and 3 open outside the session
    gated = dataclasses.replace(m, opens=opens)
    p = sim_params()
    refused = run(gated, p, [HOLD, BUY])  # decided at bar 1, would fill at the open of bar 2: refused
    assert len(refused.trades) == 0 and (refused.position == 0).all()
    res = run(gated, p, [BUY, HOLD, SELL, HOLD, BUY])  # long at bar 1; closed at bar 3 (session closed); long at 5
    assert list(res.trades["entry_bar"]) == [1, 5] and res.trades["exit_bar"].iloc[0] == 3
    assert len(run(m, p, [HOLD, BUY]).trades) == 1  # without the gate the same decision fills


def test_the_market_gates_entries_by_the_calendar_only_when_asked():
    from backtest.config import load_params
    from backtest.data.synth import generate_bars
    from backtest.sim import Market

    params = load_params()
    bars = generate_bars(3 * 1440, params.synth, start=pd.Timestamp("2026-03-06 00:00", tz="UTC"))
    assert (Market.from_bars(bars, params).opens == 1).all()  # the market trades 24/7
    gated = Market.from_bars(bars, load_params(overrides=["trading.trade_closed_sessions=false"])).opens
    from backtest.venue.calendar import calendar_for

    np.testing.assert_array_equal(gated, calendar_for("xyz:XYZ100").is_open(Market.from_bars(bars, params).ts))
    assert 0 < gated.mean() < 1
