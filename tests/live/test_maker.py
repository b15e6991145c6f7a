"""Maker orders in the live trader on the paper exchange: post-only (Alo) entries and exits, their rejection, ttl,
cancels, fills, a fill racing a cancel, and replay parity (docs/LIVE.md, "Maker orders").

Scripted bars around 20,000 (tests/support/maker.py): at an open of 20,000 the book's best bid is 19,990 and its best
ask 20,010 (spread = 2 x slippage), one tick is 1. A decision at the close of bar k acts at the open of bar k + 1.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from backtest.sim import BUY, SELL
from live.journal import read_records
from live.replay import replay, sessions
from tests.support.maker import BID, PX, Scripted, maker_rig

DIP_TO_BID = (PX, PX + 4, BID, PX)  # its low only touches a resting buy at the bid
THROUGH_BID = (PX, PX + 4, BID - 1, PX)  # trades through it


def _records(rig, kind: str) -> list[dict]:
    return list(read_records(rig.root, kinds={kind}))


def _run(rig, bars: int) -> None:
    try:
        for _ in range(bars):
            rig.advance()
    finally:
        rig.stop()


def _replayed(rig, plan: dict[int, int]):
    return replay(sessions(rig.root)[-1], Scripted(plan), rig.params, rig.objectives)


def test_a_limit_touched_but_not_traded_through_does_not_fill_live_either(tmp_path):
    plan = {0: BUY, 4: BUY}  # a buy at the bid rests over bars 1-3 (ttl 3); another at bar 5
    rows = {1: DIP_TO_BID, 2: DIP_TO_BID, 5: THROUGH_BID}
    rig = maker_rig(tmp_path, plan, rows, ["execution.entry_ttl_bars=3"])
    _run(rig, 8)
    orders = [o for o in _records(rig, "order") if o["order_type"] == "alo"]
    assert [o["limit_px"] for o in orders] == [BID, BID]
    outcomes = _records(rig, "outcome")
    assert [(o["outcome"], o["filled"]) for o in outcomes] == [("expired", 0.0), ("filled", orders[1]["size"])]
    fills = _records(rig, "fill")
    assert fills[0]["cloid"] == orders[1]["cloid"] and fills[0]["px"] == BID and not fills[0]["crossed"]  # maker
    report = _replayed(rig, plan)
    print(report.table())
    assert report.identical and report.orders_agree and report.trades_agree
    assert report.orders_live[0].tolist() == [2, 0, 1, 1, 0, 0]  # entries: submitted, rejected, filled, expired, ...


def test_a_maker_entry_gets_its_tp_sl_at_the_open_after_its_fill_bar_never_inside_it(tmp_path):
    rig = maker_rig(tmp_path, {0: BUY}, {1: THROUGH_BID}, [])
    _run(rig, 4)
    leg = rig.trader.state.legs[0]
    assert (leg.maker, leg.protected, leg.entry_px) == (True, True, BID)
    eng = rig.exchange.engine
    placed = {o.cloid: o.timestamp for o in eng.orders.values() if o.cloid in (leg.tp_cloid, leg.sl_cloid)}
    open_after_fill = int(rig.bars["timestamp"].iloc[rig.history + 2].value // 1_000_000)
    assert sorted(placed.values()) == [open_after_fill, open_after_fill]


def test_an_alo_that_would_cross_is_rejected_and_journalled_once_with_no_retry(tmp_path):
    plan = {0: BUY, 1: BUY, 3: SELL}
    rig = maker_rig(tmp_path, plan, {}, ["execution.entry_offset_ticks=25"])  # 25 ticks > the 20-tick spread
    _run(rig, 5)
    alos = [o for o in _records(rig, "order") if o["order_type"] == "alo"]
    assert len(alos) == 3 and len({o["cloid"] for o in alos}) == 3  # one order per decision, none sent twice
    acks = [a for a in _records(rig, "ack") if a["cloid"] in {o["cloid"] for o in alos}]
    assert [a["status"] for a in acks] == ["rejected"] * 3
    assert all(a["error"].startswith("Post only order would have immediately matched") for a in acks)
    outcomes = _records(rig, "outcome")
    assert Counter(o["outcome"] for o in outcomes) == {"rejected": 3} and len(outcomes) == 3
    kinds = {r["kind"] for r in read_records(rig.root)}
    assert not kinds & {"order_resend", "order_unanswered"}
    assert rig.trader.state.risk.failures == 0 and rig.trader.exec.stats["errors"] == 0  # not a failure
    assert not [a for a in rig.trader.journal.alerts if a.get("kind") == "order_error"]
    assert rig.trader.state.resting is None and not rig.trader.state.legs


def test_expiry_cancels_and_with_on_expiry_market_converts_to_an_ioc(tmp_path):
    behind = ["execution.entry_offset_ticks=-5", "execution.entry_ttl_bars=2"]  # never reached by QUIET bars
    rig = maker_rig(tmp_path / "cancel", {0: BUY}, {}, behind)
    _run(rig, 4)
    (out,) = _records(rig, "outcome")
    assert (out["outcome"], out["end_bar_ms"] - out["placed_bar_ms"]) == ("expired", 120_000)
    assert [c["gone"] for c in _records(rig, "cancel") if c["cloid"] == out["cloid"]] == [False]
    assert not rig.trader.state.legs and not _records(rig, "fill")

    rig = maker_rig(tmp_path / "market", {0: BUY}, {}, [*behind, "execution.entry_on_expiry=market"])
    _run(rig, 4)
    (out,) = _records(rig, "outcome")
    assert out["outcome"] == "converted"
    ioc = [o for o in _records(rig, "order") if o["order_type"] == "ioc"]
    assert len(ioc) == 1 and ioc[0]["size"] == out["size"] and ioc[0]["is_buy"]
    (leg,) = rig.trader.state.legs
    assert (leg.maker, leg.protected, leg.size) == (False, True, out["size"])  # a taker fill, protected at once
    assert [f["crossed"] for f in _records(rig, "fill")] == [True]
    report = _replayed(rig, {0: BUY})
    assert report.orders_agree and report.orders_live[0].tolist() == [1, 0, 0, 0, 1, 0]


def test_an_opposite_decision_cancels_a_resting_entry_and_the_same_one_is_absorbed(tmp_path):
    plan = {0: BUY, 1: BUY, 2: SELL}  # the second BUY is absorbed (no order, ttl not renewed); SELL cancels
    rig = maker_rig(tmp_path, plan, {}, ["execution.entry_offset_ticks=-5", "execution.entry_ttl_bars=5"])
    _run(rig, 6)
    alos = [o for o in _records(rig, "order") if o["order_type"] == "alo"]
    assert [o["is_buy"] for o in alos] == [True, False]  # the sell entry placed at the open where the buy left
    first = _records(rig, "outcome")[0]
    assert (first["cloid"], first["outcome"], first["why"]) == (alos[0]["cloid"], "cancelled", "opposite decision")
    assert first["end_bar_ms"] - first["placed_bar_ms"] == 120_000
    report = _replayed(rig, plan)
    assert report.identical and report.orders_agree


def test_a_fill_racing_a_cancel_is_reconciled_once(tmp_path):
    """The expiry's cancel reaches the venue just after the order filled: "already canceled, or filled". The trader
    looks it up by cloid: the fill stands (a leg, counted once), the order is filled and never also expired."""
    from live.paper_exchange.prices import Segment

    rig = maker_rig(tmp_path, {0: BUY}, {}, ["execution.entry_ttl_bars=2"])
    px = rig.exchange
    sdk = rig.trader.exec.exchange
    cancel = sdk.cancel_by_cloid

    def traded_through_first(coin, cloid):
        feed = px.feed  # the market trades through the resting buy while the cancel is in flight
        px.engine.on_segment(Segment(feed.price, BID - 2, feed.bar, feed.point, False))
        return cancel(coin, cloid)

    sdk.cancel_by_cloid = traded_through_first
    _run(rig, 5)
    (out,) = _records(rig, "outcome")
    assert out["outcome"] == "filled" and out["why"] == ""
    cancels = [c for c in _records(rig, "cancel") if c["cloid"] == out["cloid"]]
    assert [c["gone"] for c in cancels] == [True]  # "never placed, already canceled, or filled"
    (leg,) = rig.trader.state.legs
    assert (leg.leg_id, leg.entry_px, leg.size) == (out["cloid"], BID, out["size"])
    assert leg.entry_bar * 60_000 == out["placed_bar_ms"] + 120_000  # filled at the expiry open: its bar
    fills = [f for f in _records(rig, "fill") if f["cloid"] == out["cloid"]]
    assert len(fills) == 1 and len({f["tid"] for f in fills}) == 1
    user = rig.trader.id.account
    assert rig.exchange.engine.position(user, "xyz:XYZ100") == leg.size
    assert rig.trader.state.counts.get("maker_expired", 0) == 0 and rig.trader.state.counts["maker_filled"] == 1


def test_the_emergency_stop_cancels_a_resting_entry(tmp_path):
    rig = maker_rig(tmp_path, {0: BUY}, {}, ["execution.entry_offset_ticks=-5", "execution.entry_ttl_bars=10"])
    try:
        rig.advance()
        assert rig.trader.state.resting is not None
        open(rig.trader.risk.limits.emergency_stop_file, "w").close()
        rig.advance()
    finally:
        rig.stop()
    (out,) = _records(rig, "outcome")
    assert (out["outcome"], out["why"]) == ("cancelled", "emergency")
    assert rig.trader.state.resting is None
    assert not [o for o in rig.exchange.engine.orders.values() if o.status == "open"]


def test_the_maker_rehearsal_replays_exactly(tmp_path, capsys):
    """`python -m live.rehearsal --set execution.entry=maker ...` on synthetic bars: the same decisions, the same
    trades (entry and exit bars, sides, reasons), the same order outcomes, the maker fills at the same prices, and
    every fill's fee (maker and taker) what the backtest charges, to the cent."""
    from live.rehearsal import main

    sets = ["execution.entry=maker", "execution.entry_offset_ticks=5", "execution.entry_ttl_bars=3",
            "execution.exit=maker", "execution.exit_offset_ticks=10", "execution.exit_ttl_bars=2",
            "trading.rsi_buy_below=45", "trading.rsi_sell_above=55", "trading.macd_confirm=false",
            "trading.max_hold_seconds=300", "trading.take_profit_pct=0.1", "trading.stop_loss_pct=0.1",
            "live.daily_loss_limit_pct=0"]  # fmt: skip
    args = ["--strategy", "rules", "--bars", "100", "--history", "300", "--out", str(tmp_path)]
    code = main([*args, *(a for s in sets for a in ("--set", s))])
    out = capsys.readouterr().out
    print(out)
    assert code == 0, out
    assert "post-only orders       live / backtest (identical)" in out
    assert "replay                 agrees (decisions, trades, fees, post-only orders)" in out
    session = sessions(tmp_path / "live")[-1]
    report = replay(session, "rules", *_configs(tmp_path / "live"))
    assert report.identical and report.trades_agree and report.orders_agree and report.agrees
    # fee parity holds for maker fills: the venue charged each post-only fill the maker rate, to the cent
    assert report.fees_agree and len(report.fee_diffs) == len(session.fills)
    assert [f for f in session.fills if not f["crossed"]] and [f for f in session.fills if f["crossed"]]
    filled = report.orders_live[:, 2]
    assert filled[0] >= 3 and report.orders_live[0, 3] >= 1, report.table()  # fills and expiries both happen
    assert report.maker_fill_diff_bps and np.abs(report.maker_fill_diff_bps).max() == 0.0


def _configs(root):
    from backtest.config import objectives_from_dict, params_from_dict

    start = sessions(root)[-1].start
    return params_from_dict(start["params"]), objectives_from_dict(start["objectives"])


def test_a_damaged_state_json_keeps_the_resting_order_from_status_json_and_it_ends_once(tmp_path):
    """state.json torn while a post-only entry rests: the rebuilt state takes the order from status.json (its
    outcome is not in the journal yet), the trader looks it up by cloid and keeps it (no orphan cancelled), and its
    ttl ends it once."""
    from tests.support.trader import crash, restart

    rig = maker_rig(tmp_path, {0: BUY}, {}, ["execution.entry_offset_ticks=-5", "execution.entry_ttl_bars=4"])
    try:
        rig.advance()
        resting = rig.trader.state.resting
        assert resting is not None
        crash(rig)
        (rig.root / "state.json").write_text('{"version": 1, "legs": [')
        trader = restart(rig, lambda p: Scripted({}))
        assert trader.state.resting is not None and trader.state.resting.cloid == resting.cloid
        alert = next(r for r in read_records(rig.root, kinds={"alert"}) if r["event"] == "state_rebuilt")
        assert "and its resting post-only order from status.json" in alert["message"]
        start = [r for r in read_records(rig.root, kinds={"reconcile"}) if r["why"] == "start"][-1]
        assert start["diffs"] == []  # the venue's open order is the trader's own: not an orphan
        for _ in range(4):
            rig.advance()
    finally:
        rig.stop()
    (out,) = _records(rig, "outcome")
    assert (out["cloid"], out["outcome"]) == (resting.cloid, "expired")
    assert out["end_bar_ms"] - out["placed_bar_ms"] == 4 * 60_000
    assert not [o for o in rig.exchange.engine.orders.values() if o.status == "open"]


def test_a_maker_take_profit_rests_at_its_level_and_needs_a_trade_through(tmp_path):
    """`execution.take_profit=maker`: the TP is a reduce-only resting limit (Gtc) at the level on the tick, rounded
    towards the entry; a bar that touches it does not fill it, one that trades through fills it at its price with the
    maker fee, on the bar the simulator fills it."""
    tp_px = 20_009.0  # entry 19,990 + 0.1 % = 20,009.99, on the tick towards the entry
    rows = {1: THROUGH_BID, 3: (PX, tp_px, PX - 4, PX), 4: (PX, tp_px + 1, PX - 4, PX)}
    sets = ["execution.take_profit=maker", "trading.take_profit_pct=0.1", "trading.stop_loss_pct=0.5"]
    rig = maker_rig(tmp_path, {0: BUY}, rows, sets)
    _run(rig, 6)
    (tp,) = [o for o in _records(rig, "order") if o.get("tpsl") is None and o["reason"] == "tp"]
    assert (tp["order_type"], tp["limit_px"], tp["reduce_only"], tp["is_buy"]) == ("gtc", tp_px, True, False)
    exit_fill = [f for f in _records(rig, "fill") if f["cloid"] == tp["cloid"]]
    assert len(exit_fill) == 1 and exit_fill[0]["px"] == tp_px and not exit_fill[0]["crossed"]  # maker
    (trade,) = _records(rig, "trade")
    assert trade["reason"] == "tp" and trade["exit_bar_ms"] - trade["entry_bar_ms"] == 3 * 60_000
    assert trade["maker"] == [True, True] and not rig.trader.state.legs
    report = _replayed(rig, {0: BUY})
    assert report.agrees, report.table()
