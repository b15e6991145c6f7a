"""Scenarios with the unmodified hyperliquid-python-sdk as the client, all on loopback."""

from __future__ import annotations

import time

import pytest
from eth_account import Account
from hyperliquid.exchange import Exchange
from hyperliquid.info import Info
from hyperliquid.utils.types import Cloid

from tests.support.paper_exchange import PERP_DEXS, bars_from_closes, random_walk_bars, start

COIN = "xyz:XYZ100"


def clients(h, wallet):
    info = Info(h.url, skip_ws=True, perp_dexs=PERP_DEXS, timeout=5)
    ex = Exchange(wallet, h.url, perp_dexs=PERP_DEXS, timeout=5)
    return info, ex


def position(info, wallet, coin=COIN):
    for p in info.user_state(wallet.address, "xyz")["assetPositions"]:
        if p["position"]["coin"] == coin:
            return p["position"]
    return None


def flat_then(levels: list[float], flat: int = 101) -> list[float]:
    """Bars 0..100 flat at 20000 (the server starts at bar 100), then one bar per level."""
    return [20000.0] * flat + levels


def test_info_and_exchange_construct_and_read_meta_mids_candles(server, wallet):
    info, _ = clients(server, wallet)
    assert info.coin_to_asset == {"BTC": 0, "ETH": 1, COIN: 110000}
    assert info.asset_to_sz_decimals[110000] == 4
    assert info.perp_dexs()[0] is None and info.perp_dexs()[1]["name"] == "xyz"
    meta = info.meta(dex="xyz")["universe"][0]
    assert meta["name"] == COIN and meta["szDecimals"] == 4 and 20 <= meta["maxLeverage"] <= 30
    mids = info.all_mids("xyz")
    assert list(mids) == [COIN] and float(mids[COIN]) > 0
    assert set(info.all_mids("")) == {"BTC", "ETH"}
    now = server.exchange.feed.now_ms
    candles = info.candles_snapshot(COIN, "1m", now - 3_600_000, now)
    assert 55 <= len(candles) <= 61
    assert [c["t"] for c in candles] == sorted(c["t"] for c in candles)
    assert {"t", "T", "s", "i", "o", "c", "h", "l", "v", "n"} <= set(candles[-1])
    assert candles[-1]["s"] == COIN and isinstance(candles[-1]["o"], str)
    hourly = info.candles_snapshot("BTC", "1h", 0, now)
    assert len(hourly) >= 2 and float(hourly[-1]["c"]) > 50_000  # main-dex coins are scaled copies
    book = info.l2_snapshot(COIN)
    bids, asks = book["levels"]
    assert len(bids) == len(asks) == 10 and float(bids[0]["px"]) < float(mids[COIN]) < float(asks[0]["px"])
    ctx = info.meta_and_asset_ctxs()
    assert ctx[0]["universe"][0]["name"] == "BTC" and "markPx" in ctx[1][0]


def test_candle_snapshot_serves_only_the_latest_5000():
    h = start(random_walk_bars(6200, seed=1), history_bars=6000)
    try:
        info = Info(h.url, skip_ws=True, perp_dexs=PERP_DEXS, timeout=5)
        rows = info.candles_snapshot(COIN, "1m", 0, h.exchange.feed.now_ms + 60_000)
        assert len(rows) == 5000
        assert rows[-1]["t"] == h.exchange.feed.t_ms[6000]  # the bar being replayed now, partially
    finally:
        h.stop()


def test_market_open_then_close_on_xyz100_realises_pnl(wallet):
    h = start(bars_from_closes(flat_then([20000.0, 20200.0, 20200.0])), fund=((wallet.address.lower(), 100_000.0),))
    try:
        info, ex = clients(h, wallet)
        r = ex.market_open(COIN, True, 0.5)
        filled = r["response"]["data"]["statuses"][0]["filled"]
        entry = float(filled["avgPx"])
        assert filled["totalSz"] == "0.5" and entry == pytest.approx(20002.0)  # ask = mid + 1 bp half-spread
        h.step(12)  # at the close of the second level bar the mark is 20200
        pos = position(info, wallet)
        assert pos["szi"] == "0.5" and float(pos["entryPx"]) == pytest.approx(entry)
        assert float(pos["unrealizedPnl"]) == pytest.approx(0.5 * (20200 - entry), abs=1e-6)
        r = ex.market_close(COIN)
        exit_px = float(r["response"]["data"]["statuses"][0]["filled"]["avgPx"])
        assert exit_px == pytest.approx(20198.0)  # bid = mid - 1 bp
        assert position(info, wallet) is None
        fills = info.user_fills(wallet.address)
        assert [f["dir"] for f in fills] == ["Close Long", "Open Long"]
        pnl = 0.5 * (exit_px - entry)
        assert float(fills[0]["closedPnl"]) == pytest.approx(pnl, abs=1e-6)
        fees = sum(float(f["fee"]) for f in fills)
        assert fees == pytest.approx(0.5 * (entry + exit_px) * 0.00045 * 2.0, rel=1e-6)  # HIP-3: 2x base taker
        value = float(info.user_state(wallet.address, "xyz")["marginSummary"]["accountValue"])
        assert value == pytest.approx(100_000 + pnl - fees, abs=1e-4)
        assert ex.market_close(COIN) is None  # nothing left to close
    finally:
        h.stop()


def test_limit_order_rests_and_is_cancelled_by_oid_and_by_cloid(server, wallet):
    info, ex = clients(server, wallet)
    mid = float(info.all_mids("xyz")[COIN])
    px = round(mid * 0.95)
    r = ex.order(COIN, True, 0.01, px, {"limit": {"tif": "Gtc"}})
    oid = r["response"]["data"]["statuses"][0]["resting"]["oid"]
    assert [o["oid"] for o in info.open_orders(wallet.address, "xyz")] == [oid]
    front = info.frontend_open_orders(wallet.address, "xyz")[0]
    assert front["orderType"] == "Limit" and front["tif"] == "Gtc" and front["isTrigger"] is False
    assert ex.cancel(COIN, oid)["response"]["data"]["statuses"] == ["success"]
    assert info.open_orders(wallet.address, "xyz") == []
    again = ex.cancel(COIN, oid)["response"]["data"]["statuses"][0]
    assert again == {"error": "Order was never placed, already canceled, or filled."}
    assert info.query_order_by_oid(wallet.address, oid)["order"]["status"] == "canceled"

    cloid = Cloid.from_int(7)
    r = ex.order(COIN, True, 0.01, px, {"limit": {"tif": "Alo"}}, cloid=cloid)
    resting = r["response"]["data"]["statuses"][0]["resting"]
    assert resting["cloid"] == cloid.to_raw()
    assert info.query_order_by_cloid(wallet.address, cloid)["order"]["status"] == "open"
    assert ex.cancel_by_cloid(COIN, cloid)["response"]["data"]["statuses"] == ["success"]
    assert info.query_order_by_cloid(wallet.address, cloid)["order"]["status"] == "canceled"
    assert info.query_order_by_oid(wallet.address, 999_999) == {"status": "unknownOid"}


def _bracket(ex, entry_px: float, tp: float, sl: float, sz: float = 0.1):
    def trigger(px: float, kind: str) -> dict:
        return {"trigger": {"triggerPx": px, "isMarket": True, "tpsl": kind}}

    parent = {"limit": {"tif": "Gtc"}}
    orders = [
        {"coin": COIN, "is_buy": True, "sz": sz, "limit_px": entry_px, "order_type": parent, "reduce_only": False},
        {
            "coin": COIN,
            "is_buy": False,
            "sz": sz,
            "limit_px": tp * 0.9,
            "order_type": trigger(tp, "tp"),
            "reduce_only": True,
        },
        {
            "coin": COIN,
            "is_buy": False,
            "sz": sz,
            "limit_px": sl * 0.9,
            "order_type": trigger(sl, "sl"),
            "reduce_only": True,
        },
    ]
    return ex.bulk_orders(orders, grouping="normalTpsl")


def test_bracket_take_profit_triggers_as_price_rises_and_cancels_the_stop(wallet):
    h = start(bars_from_closes(flat_then([20050.0, 20150.0, 20200.0])), fund=((wallet.address.lower(), 100_000.0),))
    try:
        info, ex = clients(h, wallet)
        statuses = _bracket(ex, 20100, 20100, 19900)["response"]["data"]["statuses"]
        assert "filled" in statuses[0] and "resting" in statuses[1] and "resting" in statuses[2]
        sl_oid = statuses[2]["resting"]["oid"]
        assert len(info.frontend_open_orders(wallet.address, "xyz")) == 2
        h.step(8)  # up to 20050: nothing fires
        assert position(info, wallet)["szi"] == "0.1"
        h.step(4)  # the bar 20050 -> 20150 crosses the TP at 20100
        assert position(info, wallet) is None
        close = info.user_fills(wallet.address)[0]
        assert close["dir"] == "Close Long" and float(close["px"]) == pytest.approx(20098.0)  # trigger px - 1 bp
        assert float(close["closedPnl"]) > 0
        assert info.query_order_by_oid(wallet.address, sl_oid)["order"]["status"] == "reduceOnlyCanceled"
        assert info.open_orders(wallet.address, "xyz") == []
    finally:
        h.stop()


def test_bracket_children_wait_for_a_resting_parent_then_activate(wallet):
    h = start(bars_from_closes(flat_then([19950.0, 19900.0])), fund=((wallet.address.lower(), 100_000.0),))
    try:
        info, ex = clients(h, wallet)
        statuses = _bracket(ex, 19960, 20300, 19700)["response"]["data"]["statuses"]
        assert "resting" in statuses[0] and statuses[1:] == ["waitingForFill", "waitingForFill"]
        front = info.frontend_open_orders(wallet.address, "xyz")
        assert len(front) == 1 and len(front[0]["children"]) == 2
        h.step(8)  # the bar 20000 -> 19950 trades through 19960: the parent fills as maker, children go live
        assert position(info, wallet)["szi"] == "0.1"
        fill = info.user_fills(wallet.address)[0]
        assert fill["px"] == "19960" and fill["crossed"] is False
        assert {o["orderType"] for o in info.frontend_open_orders(wallet.address, "xyz")} == {
            "Take Profit Market",
            "Stop Market",
        }
    finally:
        h.stop()


def test_stop_wins_when_one_bar_touches_both_take_profit_and_stop(wallet):
    # a down bar 20000 -> 19990 with wicks to 20200 / 19790: its path visits the high (TP) first, yet the stop fills
    h = start(bars_from_closes(flat_then([20000.0, 19990.0, 19990.0]), wick=0.0), fund=((wallet.address.lower(), 1e5),))
    try:
        feed = h.exchange.feed
        feed.h[102], feed.lo[102] = 20200.0, 19790.0
        info, ex = clients(h, wallet)
        _bracket(ex, 20100, 20100, 19900)
        h.step(12)
        close = info.user_fills(wallet.address)[0]
        assert close["dir"] == "Close Long" and float(close["px"]) == pytest.approx(19898.0)  # the stop, 19900 - 1 bp
        assert float(close["closedPnl"]) < 0
        assert position(info, wallet) is None
    finally:
        h.stop()


def test_stop_fills_at_the_open_when_a_bar_gaps_through_it(wallet):
    h = start(bars_from_closes(flat_then([20000.0, 19700.0, 19700.0])), fund=((wallet.address.lower(), 1e5),))
    try:
        feed = h.exchange.feed
        feed.o[102], feed.h[102], feed.lo[102] = 19750.0, 19750.0, 19700.0  # opens at 19750, previous close 20000
        info, ex = clients(h, wallet)
        _bracket(ex, 20100, 20300, 19900)
        h.step(12)
        close = info.user_fills(wallet.address)[0]
        assert float(close["px"]) == pytest.approx(19748.0)  # the open 19750 - 1 bp, not the trigger 19900
    finally:
        h.stop()


def test_user_state_shows_isolated_leverage_and_liquidation(wallet):
    h = start(bars_from_closes(flat_then([19800.0, 18300.0, 18200.0])), fund=((wallet.address.lower(), 120.0),))
    try:
        info, ex = clients(h, wallet)
        assert ex.update_leverage(10, COIN, is_cross=False) == {"status": "ok", "response": {"type": "default"}}
        ex.market_open(COIN, True, 0.05)  # ~$1000 notional, $100 isolated margin
        pos = position(info, wallet)
        assert pos["leverage"] == {"type": "isolated", "value": 10, "rawUsd": pos["leverage"]["rawUsd"]}
        assert float(pos["marginUsed"]) == pytest.approx(100.0, rel=0.01)
        liq = float(pos["liquidationPx"])
        assert 18_300 < liq < 18_600
        h.step(20)  # price falls through the liquidation price
        assert position(info, wallet) is None
        assert info.user_fills(wallet.address)[0]["dir"] == "Close Long"
    finally:
        h.stop()


def test_order_rules_tick_lot_minimum_reduce_only_and_margin(server, wallet):
    info, ex = clients(server, wallet)
    mid = float(info.all_mids("xyz")[COIN])

    def status(**kw):
        args = {
            "name": COIN,
            "is_buy": True,
            "sz": 0.01,
            "limit_px": round(mid * 0.9),
            "order_type": {"limit": {"tif": "Gtc"}},
        }
        args.update(kw)
        return ex.order(**args)["response"]["data"]["statuses"][0]

    assert status(limit_px=round(mid * 0.9) + 0.5) == {"error": "Price must be divisible by tick size."}
    assert status(limit_px=12345.67) == {"error": "Price must be divisible by tick size."}
    assert status(sz=0.00001) == {"error": "Order has invalid size."}
    assert status(sz=0.0001) == {"error": "Order must have minimum value of $10."}
    assert status(reduce_only=True) == {"error": "Reduce only order would increase position."}
    assert status(sz=500.0) == {"error": "Insufficient margin to place order."}
    far = round(mid * 0.5)
    assert status(limit_px=far, order_type={"limit": {"tif": "Ioc"}}) == {
        "error": "Order could not immediately match against any resting orders."
    }
    alo = status(limit_px=round(mid * 1.01), order_type={"limit": {"tif": "Alo"}})
    assert alo["error"].startswith("Post only order would have immediately matched")


def test_batch_modify_replaces_a_resting_order(server, wallet):
    info, ex = clients(server, wallet)
    mid = float(info.all_mids("xyz")[COIN])
    oid = ex.order(COIN, True, 0.01, round(mid * 0.9), {"limit": {"tif": "Gtc"}})["response"]["data"]["statuses"][0][
        "resting"
    ]["oid"]
    r = ex.modify_order(oid, COIN, True, 0.02, round(mid * 0.8), {"limit": {"tif": "Gtc"}})
    new_oid = r["response"]["data"]["statuses"][0]["resting"]["oid"]
    orders = info.open_orders(wallet.address, "xyz")
    assert [(o["oid"], o["sz"]) for o in orders] == [(new_oid, "0.02")]
    assert info.query_order_by_oid(wallet.address, oid)["order"]["status"] == "canceled"


def test_websocket_candle_and_user_fills_subscriptions_receive_updates(server, wallet):
    info = Info(server.url, skip_ws=False, perp_dexs=PERP_DEXS, timeout=5)
    _, ex = clients(server, wallet)
    candles, fills, mids = [], [], []
    try:
        info.subscribe({"type": "candle", "coin": COIN, "interval": "1m"}, candles.append)
        info.subscribe({"type": "userFills", "user": wallet.address}, fills.append)
        info.subscribe({"type": "allMids", "dex": "xyz"}, mids.append)
        deadline = time.time() + 5
        while (not fills or not candles) and time.time() < deadline:
            time.sleep(0.02)
        assert fills[0]["data"]["isSnapshot"] is True and fills[0]["data"]["fills"] == []
        n_candles = len(candles)
        server.step(3)
        ex.market_open(COIN, False, 0.01)
        while (len(fills) < 2 or len(candles) < n_candles + 3) and time.time() < deadline:
            time.sleep(0.02)
        assert candles[-1]["data"]["s"] == COIN and candles[-1]["data"]["i"] == "1m"
        update = fills[-1]["data"]
        assert update["isSnapshot"] is False and update["fills"][0]["dir"] == "Open Short"
        assert COIN in mids[-1]["data"]["mids"]
    finally:
        info.disconnect_websocket()


def test_unfunded_signer_is_refused_with_the_real_error_shape(server):
    stranger = Account.create()
    _, ex = clients(server, stranger)
    r = ex.market_open(COIN, True, 0.01)
    assert r == {"status": "err", "response": f"User or API Wallet {stranger.address.lower()} does not exist."}
