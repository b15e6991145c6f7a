"""Maker orders: the paper exchange fills post-only (Alo) limits like the simulator, bar for bar.

The same bars and decisions go through the simulator (maker entries resting `ENTRY_TTL` bars then cancelled, maker
exits resting one bar then sent at market) and through the paper exchange via the SDK, driven by the rules the live
trader must follow (docs/ARCHITECTURE.md, "Execution styles"): an Alo at the exchange's own best bid/ask at the open
after the decision; an opposite decision cancels it; the same decision keeps it; at its expiry open it is cancelled
(an exit is then closed with an IOC); TP/SL triggers go on at the first open after the entry's fill bar. Limit
prices are identical (both on the venue tick), fills land on the same bars at the same prices with the maker fee,
and the order fates (filled / expired / cancelled) agree.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from eth_account import Account
from hyperliquid.exchange import Exchange

from backtest.sim import layout as L
from backtest.sim.engine import Simulator
from backtest.sim.params import SimParams
from backtest.venue.rules import round_price
from tests.support.paper_exchange import PERP_DEXS, start
from tests.support.parity import (
    COIN,
    N_BARS,
    PARITY_PARAMS,
    SL,
    SLIP,
    START,
    T0,
    TP,
    exchange_trades,
    parity_bars,
    parity_exchange,
    parity_market,
    tick_safe,
)

ENTRY_TTL, ENTRY_OFFSET, EXIT_OFFSET = 4, -20, -12  # behind the touch (ticks of 1 at ~20,000): many do not fill
PARAMS = SimParams(
    **PARITY_PARAMS,
    entry_maker=True, entry_ttl=ENTRY_TTL, entry_offset=ENTRY_OFFSET, entry_expiry_market=False,
    exit_maker=True, exit_ttl=1, exit_offset=EXIT_OFFSET, exit_expiry_market=True, sz_decimals=4,
)  # fmt: skip


def signals() -> np.ndarray:
    """Decisions every 3 bars, twice each way: orders rest while the same decision repeats or the opposite comes."""
    s = np.zeros(N_BARS, dtype=np.int64)
    for k, t in enumerate(range(START, N_BARS - 2, 3)):
        s[t] = L.BUY if (k // 2) % 2 == 0 else L.SELL
    return s


def simulate(bars: pd.DataFrame, sig: np.ndarray, orders: dict | None = None) -> pd.DataFrame:
    """The simulator's trades; `orders` collects {placement bar: (side, kind, limit, qty)} of the orders it sent."""
    sim = Simulator(parity_market(bars), PARAMS)
    sim.reset(START, len(bars))
    sent = [L.A_ORD + L.OC_SUBMITTED, L.A_ORD + L.N_OC + L.OC_SUBMITTED]
    while not sim.done:
        action = int(sig[sim.t])
        before = sim.acct[sent].copy()
        sim.step(action)
        a = sim.acct
        placed = np.flatnonzero(a[sent] > before)
        if orders is not None and len(placed):  # sent at this open (it may have filled in this bar already)
            side = 1 if action == L.BUY else -1
            orders[sim.t] = (side, int(placed[0]) + 1, float(a[L.A_O_PX]), a[L.A_O_NOTIONAL] / a[L.A_O_PX])
    trades = sim.trades()
    if orders is not None:
        orders["counts"] = sim.result().orders
    return trades[trades["exit_reason"] != "end"].reset_index(drop=True)


def run_exchange(bars: pd.DataFrame, sig: np.ndarray, sim_orders: dict) -> tuple[pd.DataFrame, dict, np.ndarray]:
    """Drive the paper exchange through the SDK by the live rules; returns its trades, the Alo limit prices it sent
    per bar and its order fates [entry, exit] x (filled, expired, cancelled)."""
    h, ex, user, market = parity_exchange(bars)
    eng = h.exchange.engine
    rest = None  # our resting Alo: dict(oid, side, kind, expiry)
    sent: dict[int, float] = {}
    fates = np.zeros((2, 3), dtype=int)
    protected = None  # tid of the entry fill whose TP/SL are on

    def status(r):
        return r["response"]["data"]["statuses"][0]

    try:
        for i in range(START + 1, N_BARS):  # at the open of bar i; the decision came at the close of i - 1
            want = {L.BUY: 1, L.SELL: -1}.get(int(sig[i - 1]), 0)
            pos = eng.position(user, COIN)
            opens = [f for f in eng.fills[user] if f.direction.startswith("Open")] if user in eng.fills else []
            # TP/SL go on at the first open after the entry's fill bar
            if pos and opens and opens[-1].tid != protected and (opens[-1].time - T0) // 60_000 < i:
                entry, side = opens[-1].px, 1 if pos > 0 else -1
                tp, sl = (
                    round_price(entry * (1 + side * TP), market.sz_decimals),
                    round_price(entry * (1 - side * SL), market.sz_decimals),
                )
                exits = [
                    {"coin": COIN, "is_buy": side < 0, "sz": abs(pos), "reduce_only": True,
                     "limit_px": round_price(level * (1 - 0.1 * side), market.sz_decimals),
                     "order_type": {"trigger": {"triggerPx": level, "isMarket": True, "tpsl": kind}}}
                    for level, kind in ((tp, "tp"), (sl, "sl"))
                ]  # fmt: skip
                ex.bulk_orders(exits, grouping="positionTpsl")
                protected = opens[-1].tid
                pos = eng.position(user, COIN)
            absorbed = False
            if rest is not None:
                o = eng.orders[rest["oid"]]
                k = rest["kind"] - 1
                if o.status == "filled":
                    fates[k, 0] += 1
                    rest = None
                elif o.status != "open":  # reduce-only cancelled: the positions closed first
                    fates[k, 2] += 1
                    rest = None
                elif rest["kind"] == L.O_EXIT and pos == 0:  # its position closed first (a stop): cancel it
                    ex.cancel(COIN, rest["oid"])
                    fates[k, 2] += 1
                    rest = None
                elif want == -rest["side"]:
                    assert ex.cancel(COIN, rest["oid"])["status"] == "ok"
                    fates[k, 2] += 1
                    rest = None
                else:
                    absorbed = want == rest["side"]
                    if i >= rest["expiry"]:
                        ex.cancel(COIN, rest["oid"])
                        fates[k, 1] += 1
                        if rest["kind"] == L.O_EXIT and pos:  # exit_on_expiry = market
                            px = round_price(eng.mark(COIN) * (1 - 0.05 * np.sign(pos)), market.sz_decimals)
                            r = ex.order(COIN, pos < 0, abs(pos), px, {"limit": {"tif": "Ioc"}}, reduce_only=True)
                            assert "filled" in status(r), r
                            pos = 0.0
                        rest = None
            if want and not absorbed and rest is None:
                bids, asks = eng.book(market)
                closing = pos != 0 and (pos > 0) != (want > 0)
                if closing or pos == 0:
                    kind = L.O_EXIT if closing else L.O_ENTRY
                    offset = EXIT_OFFSET if closing else ENTRY_OFFSET
                    assert bids[0][0] >= 10_000  # the tick is 1 there (5 significant figures)
                    px = asks[0][0] - offset if want < 0 else bids[0][0] + offset
                    sz = abs(pos) if closing else round(sim_orders[i][3], market.sz_decimals)
                    r = ex.order(COIN, want > 0, sz, px, {"limit": {"tif": "Alo"}}, reduce_only=closing)
                    sent[i] = px
                    assert "resting" in status(r), r
                    ttl = ENTRY_TTL if kind == L.O_ENTRY else 1
                    rest = {"oid": status(r)["resting"]["oid"], "side": want, "kind": kind, "expiry": i + ttl}
            h.step(4)  # through bar i into the open of bar i + 1
        if rest is not None and eng.orders[rest["oid"]].status == "filled":  # filled in the last bar
            fates[rest["kind"] - 1, 0] += 1
    finally:
        h.stop()
    return exchange_trades(eng, user), sent, fates


@pytest.fixture(scope="module")
def both():
    sig = signals()
    bars = tick_safe(parity_bars(), sig, simulate)
    orders: dict = {}
    sim = simulate(bars, sig, orders)
    ex, sent, fates = run_exchange(bars, sig, orders)
    return bars, sim, orders, ex, sent, fates


def test_maker_orders_give_the_same_fills_in_the_exchange_and_the_simulator(both):
    bars, sim, orders, ex, sent, fates = both
    assert {i: px for i, (_, _, px, _) in ((k, v) for k, v in orders.items() if k != "counts")} == sent
    key = ["entry_bar", "side", "exit_bar", "exit_reason"]
    got = ex[key].astype(str).values.tolist()
    want = sim[key].astype({"side": int, "exit_reason": str}).astype(str).values.tolist()
    assert got == want
    np.testing.assert_array_equal(ex["entry_price"].to_numpy(), sim["entry_price"].to_numpy())  # limits: exact
    maker_exits = sim["exit_maker"].to_numpy()
    np.testing.assert_array_equal(ex["exit_price"].to_numpy()[maker_exits], sim["exit_price"].to_numpy()[maker_exits])
    assert np.abs(ex["exit_price"].to_numpy() - sim["exit_price"].to_numpy()).max() <= 1.0  # market legs: a tick
    c = orders["counts"].astype(int)
    assert fates[0, 0] == c[0, L.OC_FILLED] and fates[0, 1] == c[0, L.OC_EXPIRED]  # entries: filled, expired
    assert fates[1, 0] == c[1, L.OC_FILLED] and fates[1, 1] == c[1, L.OC_CONVERTED]  # exits: filled, to market
    assert fates[1, 2] == c[1, L.OC_CANCELLED] and abs(fates[0, 2] - c[0, L.OC_CANCELLED]) <= 1  # + the run's end


def test_the_maker_parity_run_covers_fills_expiries_cancels_and_every_exit_path(both):
    bars, sim, orders, ex, sent, fates = both
    c = orders["counts"].astype(int)
    assert c[0, L.OC_FILLED] >= 10 and c[0, L.OC_EXPIRED] >= 3 and c[0, L.OC_CANCELLED] >= 3
    assert c[1, L.OC_FILLED] >= 3 and c[1, L.OC_CONVERTED] >= 3
    assert set(sim["exit_reason"].astype(str)) >= {"signal", "stop_loss"}
    assert sim["entry_maker"].all()
    assert (sim["entry_wait_bars"] > 0).any(), "no entry rested more than one bar"


def test_an_alo_that_would_cross_is_rejected_by_the_exchange_with_the_venue_text():
    bars = parity_bars()
    wallet = Account.create()
    h = start(bars, fund=((wallet.address.lower(), 100_000.0),), history_bars=START + 1, spread_bps=2 * SLIP * 1e4)
    try:
        market = h.exchange.universe.by_name[COIN]
        _, asks = h.exchange.engine.book(market)
        ex = Exchange(wallet, h.url, perp_dexs=PERP_DEXS, timeout=5)
        r = ex.order(COIN, True, 0.01, asks[0][0], {"limit": {"tif": "Alo"}})
        text = r["response"]["data"]["statuses"][0]["error"]
        assert text.startswith("Post only order would have immediately matched")
    finally:
        h.stop()
