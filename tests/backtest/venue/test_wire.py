"""Wire shapes -> domain objects, price and size rules, client order ids."""

from __future__ import annotations

import pytest

from backtest.venue.quirks import capability
from backtest.venue.rules import AssetRules, rules_from_meta
from backtest.venue.wire import (
    WireError,
    candle_to_bar,
    cloid_for,
    parse_account,
    parse_fills,
    parse_open_orders,
    parse_order_response,
    parse_order_status,
)

XYZ = AssetRules("xyz:XYZ100", 110000, 4, 20)


def test_a_candle_becomes_a_bar():
    bar = candle_to_bar({"t": 60000, "T": 119999, "s": "x", "i": "1m", "o": "1", "h": "2", "l": "0.5", "c": "1.5",
                         "v": "3", "n": 4})  # fmt: skip
    assert (bar.time_ms, bar.open, bar.high, bar.low, bar.close, bar.volume, bar.trades) == (
        60000,
        1,
        2,
        0.5,
        1.5,
        3,
        4,
    )
    with pytest.raises(WireError, match="candle"):
        candle_to_bar({"t": 1, "o": "x", "h": "1", "l": "1", "c": "1"})


def test_account_state_keeps_open_positions_only():
    state = {
        "marginSummary": {"accountValue": "10100.5", "totalMarginUsed": "400"},
        "withdrawable": "9700",
        "assetPositions": [
            {"position": {"coin": "xyz:XYZ100", "szi": "-0.2", "entryPx": "20000", "leverage": {"value": 2},
                          "unrealizedPnl": "10", "marginUsed": "400"}},
            {"position": {"coin": "BTC", "szi": "0.0", "entryPx": None, "unrealizedPnl": "0"}},
        ],
        "time": 5,
    }  # fmt: skip
    acct = parse_account(state)
    assert acct.equity == 10100.5 and list(acct.positions) == ["xyz:XYZ100"]
    p = acct.positions["xyz:XYZ100"]
    assert p.side == -1 and p.size == -0.2 and p.entry_px == 20000 and p.leverage == 2


def test_open_orders_tell_triggers_from_limits():
    rows = [
        {"coin": "xyz:XYZ100", "oid": 7, "side": "A", "sz": "0.2", "limitPx": "19000", "isTrigger": True,
         "triggerPx": "19900", "orderType": "Stop Market", "reduceOnly": True, "cloid": "0x" + "1" * 32},
        {"coin": "xyz:XYZ100", "oid": 8, "side": "B", "sz": "0.1", "limitPx": "19500", "isTrigger": False,
         "triggerPx": "0", "orderType": "Limit"},
    ]  # fmt: skip
    stop, limit = parse_open_orders(rows)
    assert stop.tpsl == "sl" and stop.trigger_px == 19900 and stop.reduce_only and not stop.is_buy
    assert limit.trigger_px is None and limit.cloid is None and limit.is_buy


def test_fills_come_out_oldest_first():
    base = {"coin": "c", "sz": "1", "fee": "0.1", "closedPnl": "0"}
    rows = [
        {**base, "oid": 2, "side": "A", "px": "10", "time": 20, "tid": 2},
        {**base, "oid": 1, "side": "B", "px": "9", "time": 10, "tid": 1},
    ]
    assert [f.tid for f in parse_fills(rows)] == [1, 2]


def test_order_responses_and_statuses():
    acks = parse_order_response(
        {"status": "ok", "response": {"type": "order", "data": {"statuses": [
            {"filled": {"totalSz": "0.2", "avgPx": "20001", "oid": 5, "cloid": "0xab"}},
            {"resting": {"oid": 6}}, "waitingForFill", {"error": "Insufficient margin to place order."}]}}}
    )  # fmt: skip
    assert [a.kind for a in acks] == ["filled", "resting", "waiting", "error"]
    assert acks[0].avg_px == 20001 and acks[0].filled_size == 0.2 and not acks[3].ok
    assert parse_order_response({"status": "err", "response": "User or API Wallet 0x1 does not exist."})[0].error
    assert parse_order_status({"status": "unknownOid"}).found is False
    st = parse_order_status(
        {"status": "order", "order": {"order": {"oid": 5, "sz": "0.0", "origSz": "0.2", "cloid": "0xab"},
                                       "status": "filled", "statusTimestamp": 1}}
    )  # fmt: skip
    assert st.found and st.status == "filled" and st.filled_size == 0.2


def test_cloids_are_deterministic_16_byte_hex():
    a = cloid_for("ppo-1", 1_700_000_000_000, "entry")
    assert a == cloid_for("ppo-1", 1_700_000_000_000, "entry") != cloid_for("ppo-1", 1_700_000_060_000, "entry")
    assert a.startswith("0x") and len(a) == 34 and int(a, 16) >= 0


@pytest.mark.parametrize(
    ("px", "up", "expected"),
    [(20123.456, None, 20123.0), (20123.5, True, 20124.0), (20123.9, False, 20123.0), (1.234567, None, 1.23),
     (0.0123456, None, 0.01), (123456.7, None, 123457.0)],
)  # fmt: skip
def test_prices_round_to_five_significant_figures_and_the_decimal_limit(px, up, expected):
    assert XYZ.round_price(px, up) == pytest.approx(expected)


def test_sizes_round_down_to_the_lot_and_the_minimum_value_holds():
    assert XYZ.round_size(0.123456) == 0.1234
    assert XYZ.round_size(0.99999) == 0.9999
    assert XYZ.meets_minimum(0.0005, 20000) and not XYZ.meets_minimum(0.0004, 20000)
    with pytest.raises(ValueError):
        XYZ.round_price(float("nan"))


def test_rules_come_from_meta_and_unknown_names_say_what_is_known():
    meta = {"universe": [{"name": "xyz:XYZ100", "szDecimals": 4, "maxLeverage": 20}]}
    assert rules_from_meta(meta, "xyz:XYZ100", 110000) == XYZ
    with pytest.raises(KeyError, match="known"):
        rules_from_meta(meta, "BTC", 0)
    assert capability("candle_history_limit") == 5000
