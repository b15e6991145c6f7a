"""Maker execution in the one kernel: post-only limits, the trade-through fill rule, ttl, expiry, cancels and exits
(docs/ARCHITECTURE.md, "Execution styles"). Prices around 100: tick 0.01, slippage 0.1 % -> bid 99.90, ask 100.10."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backtest.sim import BUY, HOLD, SELL, Simulator, run_signals
from backtest.sim import layout as L
from backtest.sim.pricing import to_tick
from tests.support.sim import FLAT, assert_three_paths_agree, make_market, random_market, run, sim_params

MAKER = 0.0001  # maker_commission_pct 0.01 %
TAKER = 0.0005


def maker(**kw):
    base = {"execution__entry": "maker", "backtest__maker_commission_pct": 0.01}
    return sim_params(**{**base, **kw})


def counts(res, kind: str) -> dict[str, int]:
    row = res.orders[0 if kind == "entry" else 1]
    return dict(zip(L.ORDER_OUTCOMES, row.astype(int).tolist()))


def test_a_maker_buy_rests_at_the_bid_and_fills_at_its_price_when_a_later_low_trades_through_it():
    m = make_market([FLAT, (100.0, 100.2, 99.95, 100.0), (100.0, 100.1, 99.85, 100.0), FLAT, FLAT])
    res = run(m, maker(execution__entry_ttl_bars=3), [BUY])
    t = res.trades.iloc[0]
    assert (t.entry_bar, t.entry_price, t.entry_wait_bars) == (2, 99.90, 1)
    assert t.entry_maker and not t.exit_maker
    assert t.fees == pytest.approx(5000 * MAKER + t.qty * t.exit_price * TAKER)  # qty sized at the decision
    assert t.qty == pytest.approx(5000 / 99.90)
    assert t.entry_time == pd.Timestamp(2 * 60_000 + 30_000, unit="ms", tz="UTC")  # time in the bar unknown: mid
    assert counts(res, "entry") == {**dict.fromkeys(L.ORDER_OUTCOMES, 0), "submitted": 1, "filled": 1}


def test_a_limit_touched_but_not_traded_through_does_not_fill():
    m = make_market([FLAT, (100.0, 100.2, 99.90, 100.0), FLAT, FLAT])
    res = run(m, maker(), [BUY])
    assert res.trades.empty
    assert counts(res, "entry")["expired"] == 1


def test_a_touch_fills_with_touch_fill_prob_one_and_the_draw_is_counter_based():
    m = make_market([FLAT, (100.0, 100.2, 99.90, 100.0), FLAT, FLAT])
    assert len(run(m, maker(execution__touch_fill_prob=1.0), [BUY]).trades) == 1
    rm = random_market(600, seed=9)
    p = maker(execution__touch_fill_prob=0.5, execution__exit="maker", execution__take_profit="maker")
    # prices on the tick so that touches happen
    for arr in (rm.open, rm.high, rm.low, rm.close):
        arr[:] = np.round(arr, 2)
    rm.high[:] = np.maximum.reduce([rm.high, rm.open, rm.close])
    rm.low[:] = np.minimum.reduce([rm.low, rm.open, rm.close])
    signals = np.random.default_rng(1).choice([0, 0, 1, 2], size=rm.n_bars)
    whole = run_signals(rm, p, signals, 0, rm.n_bars)
    again = run_signals(rm, p, signals, 0, rm.n_bars)
    np.testing.assert_array_equal(whole.trades, again.trades)
    left = run_signals(rm, p, signals, 0, 301)  # the same account up to bar 300: the same draws, the same trades
    before = whole.trades[whole.trades[:, L.T_EXIT_BAR] < 300]
    np.testing.assert_array_equal(before, left.trades[left.trades[:, L.T_EXIT_BAR] < 300])
    assert len(before) >= 3


def test_an_alo_that_would_cross_is_rejected_and_one_a_tick_short_of_the_ask_rests():
    bars = [FLAT, (100.0, 100.2, 99.8, 100.0), FLAT, FLAT]
    res = run(make_market(bars), maker(execution__entry_offset_ticks=20), [BUY])  # 99.90 + 0.20 = the ask
    assert res.trades.empty
    assert counts(res, "entry")["rejected"] == 1 and counts(res, "entry")["submitted"] == 1
    t = run(make_market(bars), maker(execution__entry_offset_ticks=19), [BUY]).trades.iloc[0]
    assert t.entry_price == 100.09


def test_a_negative_offset_rests_behind_the_touch():
    m = make_market([FLAT, (100.0, 100.2, 99.85, 100.0), FLAT])
    assert run(m, maker(execution__entry_offset_ticks=-5), [BUY]).trades.empty  # at 99.85: touched only
    m = make_market([FLAT, (100.0, 100.2, 99.84, 100.0), FLAT])
    assert run(m, maker(execution__entry_offset_ticks=-5), [BUY]).trades.iloc[0].entry_price == 99.85


def test_the_arrival_bar_can_fill_the_order():
    m = make_market([FLAT, (100.0, 100.2, 99.80, 100.0), FLAT])
    t = run(m, maker(), [BUY]).trades.iloc[0]
    assert (t.entry_bar, t.entry_wait_bars) == (1, 0)


def test_an_open_gapped_through_a_resting_buy_fills_it_at_its_limit_not_the_better_open():
    m = make_market([FLAT, (100.0, 100.2, 99.95, 100.0), (99.5, 99.7, 99.4, 99.6), FLAT])
    t = run(m, maker(execution__entry_ttl_bars=1), [BUY]).trades.iloc[0]  # ttl 1: the expiry open still fills
    assert (t.entry_bar, t.entry_price) == (2, 99.90)
    assert t.entry_time == pd.Timestamp(2 * 60_000, unit="ms", tz="UTC")


def test_a_maker_entry_has_no_stop_or_take_profit_in_its_fill_bar_and_has_them_from_the_next():
    # fills at 99.90 in bar 1 whose low (98.0) is far below the stop (99.40): the stop is live from bar 2 only
    m = make_market([FLAT, (100.0, 101.5, 98.0, 99.5), (99.5, 99.6, 99.3, 99.5), FLAT])
    t = run(m, maker(), [BUY]).trades.iloc[0]
    assert (t.entry_bar, t.exit_bar, t.exit_reason) == (1, 2, "stop_loss")
    assert t.exit_price == pytest.approx(99.90 * 0.995 * (1 - 0.001))


QUIET = (100.0, 100.05, 99.95, 100.0)  # never reaches the touch (99.90 / 100.10)


def test_the_same_action_keeps_a_resting_entry_and_the_opposite_action_cancels_it_and_acts():
    m = make_market([QUIET] * 6)
    sim = Simulator(m, maker(execution__entry_ttl_bars=10))
    sim.reset(0, 6)
    sim.step(BUY)
    assert sim.resting_order == (1, 99.90, "entry")
    placed = sim.acct[L.A_O_PLACED]
    sim.step(BUY)
    sim.step(HOLD)
    assert sim.resting_order == (1, 99.90, "entry") and sim.acct[L.A_O_PLACED] == placed  # kept, ttl not renewed
    sim.step(SELL)
    assert sim.resting_order == (-1, 100.10, "entry")
    c = counts(sim.result(), "entry")
    assert (c["submitted"], c["cancelled"]) == (2, 1)


def test_an_entry_at_its_expiry_is_cancelled_or_sent_at_market():
    bars = [FLAT, (100.0, 100.2, 99.95, 100.0), (101.0, 101.2, 100.9, 101.0), FLAT]
    res = run(make_market(bars), maker(), [BUY])
    assert res.trades.empty and counts(res, "entry")["expired"] == 1
    res = run(make_market(bars), maker(execution__entry_on_expiry="market"), [BUY])
    t = res.trades.iloc[0]
    assert (t.entry_bar, t.entry_maker) == (2, False)
    assert t.entry_price == pytest.approx(101.0 * 1.001)
    assert t.qty == pytest.approx(5000 / 99.90)  # the order's size, fixed when it was placed
    assert counts(res, "entry")["converted"] == 1


def test_a_maker_exit_rests_at_the_ask_and_closes_at_its_price_with_the_maker_fee():
    m = make_market([FLAT, FLAT, (100.0, 100.3, 99.9, 100.0), FLAT])
    res = run(m, sim_params(execution__exit="maker", backtest__maker_commission_pct=0.01), [BUY, SELL])
    t = res.trades.iloc[0]
    assert (t.exit_bar, t.exit_reason, t.exit_price, t.exit_maker, t.exit_wait_bars) == (2, "signal", 100.10, True, 0)
    assert t.fees == pytest.approx(5000 * TAKER + t.qty * 100.10 * MAKER)
    assert counts(res, "exit")["filled"] == 1


def test_an_unfilled_maker_exit_closes_at_market_at_its_expiry_or_stays_open_if_cancelled():
    bars = [FLAT, FLAT, (100.0, 100.1, 99.9, 100.0), (99.8, 99.9, 99.7, 99.8), FLAT]
    t = run(make_market(bars), sim_params(execution__exit="maker"), [BUY, SELL]).trades.iloc[0]
    assert (t.exit_bar, t.exit_reason, t.exit_maker) == (3, "signal", False)
    assert t.exit_price == pytest.approx(99.8 * (1 - 0.001))
    res = run(make_market(bars), sim_params(execution__exit="maker", execution__exit_on_expiry="cancel"), [BUY, SELL])
    assert res.trades.iloc[0].exit_reason == "end" and counts(res, "exit")["expired"] == 1


def test_the_stop_wins_over_a_resting_exit_limit_reached_in_the_same_bar():
    m = make_market([FLAT, FLAT, (100.0, 100.3, 99.0, 100.0), FLAT])
    t = run(m, sim_params(execution__exit="maker"), [BUY, SELL]).trades.iloc[0]
    assert t.exit_reason == "stop_loss"
    t = run(m, sim_params(execution__exit="maker", trading__both_touched="take_profit"), [BUY, SELL]).trades.iloc[0]
    assert (t.exit_reason, t.exit_price) == ("signal", 100.10)


def test_max_hold_with_maker_exits_posts_an_exit_that_an_opposite_signal_does_not_cancel():
    m = make_market([FLAT, FLAT, QUIET, (100.0, 100.3, 99.9, 100.0), FLAT])
    p = sim_params(execution__exit="maker", execution__exit_ttl_bars=3, trading__max_hold_seconds=60)
    res = run(m, p, [BUY, HOLD, BUY])  # entry at bar 1; max hold posts the exit at the open of bar 2
    t = res.trades.iloc[0]
    assert (t.exit_reason, t.exit_maker, t.exit_price, t.exit_bar) == ("timeout", True, 100.10, 3)


def test_a_max_hold_exit_sent_to_market_at_its_expiry_is_not_posted_again_for_the_closed_position():
    m = make_market([FLAT, QUIET, QUIET, QUIET, QUIET, QUIET])
    p = sim_params(execution__exit="maker", trading__max_hold_seconds=60)  # ttl 1, on expiry market
    res = run(m, p, [BUY, HOLD, HOLD, HOLD, HOLD])
    t = res.trades.iloc[0]
    assert (t.entry_bar, t.exit_bar, t.exit_reason, t.exit_maker) == (1, 3, "timeout", False)
    assert counts(res, "exit") == {"submitted": 1, "rejected": 0, "filled": 0, "expired": 0, "converted": 1,
                                   "cancelled": 0}  # fmt: skip
    p = sim_params(execution__exit="maker", execution__entry="maker", trading__max_hold_seconds=60)
    dip = (100.0, 100.1, 99.85, 100.0)
    m = make_market([FLAT, dip, QUIET, dip, FLAT, FLAT])
    res = run(m, p, [BUY, HOLD, BUY])  # the exit goes to market at the open of 3, where the buy is placed and fills
    assert res.trades.entry_bar.tolist() == [1, 3] and counts(res, "entry")["filled"] == 2


def test_a_maker_take_profit_needs_a_trade_through_and_fills_at_the_level_even_on_a_gap():
    p = sim_params(execution__take_profit="maker", backtest__maker_commission_pct=0.01)
    entry = 100.0 * 1.001
    tp = entry * 1.01
    touch = make_market([FLAT, FLAT, (100.0, tp, 99.9, 100.0), FLAT])
    assert run(touch, p, [BUY]).trades.iloc[0].exit_reason == "end"
    through = make_market([FLAT, FLAT, (100.0, tp + 0.01, 99.9, 100.0), FLAT])
    t = run(through, p, [BUY]).trades.iloc[0]
    assert (t.exit_reason, t.exit_price, t.exit_maker) == ("take_profit", tp, True)
    gap = make_market([FLAT, FLAT, (103.0, 103.5, 102.5, 103.0), FLAT])
    assert run(gap, p, [BUY]).trades.iloc[0].exit_price == tp  # the resting limit's price, not the open


def test_the_drawdown_halt_cancels_a_resting_entry():
    # long from bar 1; an add rests from the open of bar 2; bar 2's funding (1 %, leverage 2) fires the 1 % halt
    m = make_market([FLAT, (100.0, 100.2, 99.8, 100.0), QUIET, QUIET, QUIET], funding=[0, 0, 0.01, 0, 0])
    p = sim_params(execution__entry="maker", execution__entry_ttl_bars=5, trading__max_positions=2,
                   trading__position_size_pct=1.0, trading__leverage=2, trading__stop_loss_pct=50)  # fmt: skip
    sim = Simulator(m, p._replace(auto_stop_frac=0.01))
    sim.reset(0, 5)
    sim.step(BUY)
    sim.step(BUY)
    assert sim.halted and sim.resting_order == (1, 99.90, "entry")
    sim.step(HOLD)
    assert sim.resting_order is None and counts(sim.result(), "entry")["cancelled"] == 1


def test_a_resting_entry_is_cancelled_at_an_open_outside_the_session_when_only_sessions_are_traded():
    """`trading.trade_closed_sessions` false refuses entries whose fill opens outside the session: a post-only entry
    resting into a closed open leaves the book there (cancelled), as the live trader's blocked opens cancel it."""
    import dataclasses

    m = make_market([FLAT, QUIET, QUIET, (100.0, 100.05, 99.5, 100.0), FLAT])  # bar 3 trades through the bid
    gated = dataclasses.replace(m, opens=np.array([1, 1, 1, 0, 1], dtype=np.float64))
    p = maker(execution__entry_ttl_bars=5)
    assert run(m, p, [BUY]).trades.iloc[0].entry_bar == 3  # in session it rests and fills in bar 3
    res = run(gated, p, [BUY])
    assert res.trades.empty
    assert counts(res, "entry") == {**dict.fromkeys(L.ORDER_OUTCOMES, 0), "submitted": 1, "cancelled": 1}


MAKER_CONFIGS = [
    {"execution__entry": "maker"},
    {"execution__entry": "maker", "execution__exit": "maker", "execution__take_profit": "maker",
     "trading__max_positions": 3, "trading__max_hold_seconds": 300, "backtest__latency_ms": "[5, 15]"},
    {"execution__entry": "maker", "execution__entry_ttl_bars": 4, "execution__entry_on_expiry": "market",
     "execution__entry_offset_ticks": 3, "execution__exit": "maker", "execution__exit_offset_ticks": -2,
     "trading__max_hold_seconds": 120, "trading__kelly__enabled": "true", "trading__kelly__min_trades": 5},
]  # fmt: skip


@pytest.mark.parametrize("overrides", MAKER_CONFIGS)
def test_step_batched_and_whole_series_paths_agree_with_maker_orders(overrides):
    m = random_market(1500, seed=3)
    p = sim_params(**overrides)
    signals = np.random.default_rng(4).choice([0, 0, 0, 1, 2], size=m.n_bars)
    whole = assert_three_paths_agree(m, p, signals)
    assert int(whole.trades[:, L.T_ENTRY_MAKER].sum()) >= 3
    tr = whole.trades  # accounting holds with maker fills too
    assert whole.equity[-1] == pytest.approx(p.initial_equity + tr[:, L.T_GROSS].sum() - tr[:, L.T_FEES].sum()
                                             - tr[:, L.T_FUNDING].sum(), rel=1e-12)  # fmt: skip


def test_the_kernel_rounds_to_the_venue_tick_as_the_venue_rules_do():
    from backtest.venue.rules import AssetRules, price_steps, round_prices

    rng = np.random.default_rng(0)
    px = np.exp(rng.uniform(np.log(0.01), np.log(200_000), 3000))
    for szd in (0, 2, 4):
        rules = AssetRules("x", 0, szd, 20)
        want = np.array([rules.round_price(float(x)) for x in px])
        np.testing.assert_array_equal(round_prices(px, szd), want)
        steps = price_steps(px, szd)
        got = np.array([to_tick(x, s) for x, s in zip(px, steps)])
        np.testing.assert_array_equal(got, want)
