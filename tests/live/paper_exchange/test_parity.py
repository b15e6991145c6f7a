"""The paper exchange fills like the backtest simulator: same bars, same orders, same fills.

The exchange runs its stock fee schedule (HIP-3 standard on xyz: the venue's) and the simulator charges the same
schedule from `backtest.venue.fees`; the rest of the simulator's execution model is matched (half-spread =
slippage, no funding, zero latency on the simulator's side). Entries, signal exits, take-profits, stops, gap exits
and the stop-wins-when-both-touch rule agree bar for bar; prices agree up to the exchange's tick (5 significant
figures), sizes up to its lot (szDecimals), and every trade's fees to the cent. The exchange takes its exit rules
from the simulator's kernel (`gap_exit`, `intrabar_exit`); this test holds the two against each other end to end,
through the SDK.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backtest.sim import layout as L
from backtest.venue.rules import round_price
from tests.support.parity import (
    COIN,
    N_BARS,
    SL,
    START,
    TP,
    exchange_trades,
    parity_bars,
    parity_exchange,
    signals,
    simulate,
    tick_safe,
)


def run_exchange(bars: pd.DataFrame, sig: np.ndarray, sim_trades: pd.DataFrame) -> pd.DataFrame:
    """Drive the paper exchange through the SDK with the simulator's orders, at the same opens."""
    h, ex, user, market = parity_exchange(bars)
    eng = h.exchange.engine
    qty_at = dict(zip(sim_trades["entry_bar"], sim_trades["qty"]))
    try:
        for i in range(START + 1, N_BARS):  # we stand at the open of bar i; the decision came at the close of i - 1
            assert (h.exchange.feed.bar, h.exchange.feed.point) == (i, 0)
            action = int(sig[i - 1])
            pos = eng.position(user, COIN)
            mid = eng.mark(COIN)
            want = 1 if action == L.BUY else -1 if action == L.SELL else 0
            if want and pos and (pos > 0) != (want > 0):  # the opposite position closes (no reversal in one bar)
                r = ex.order(COIN, want > 0, abs(pos), round_price(mid * (1 + 0.05 * want), market.sz_decimals),
                             {"limit": {"tif": "Ioc"}}, reduce_only=True)  # fmt: skip
                assert "filled" in r["response"]["data"]["statuses"][0], r
            elif want and not pos:
                assert i in qty_at, f"the exchange opens at bar {i} where the simulator did not"
                sz = round(float(qty_at[i]), market.sz_decimals)
                limit = round_price(mid * (1 + 0.05 * want), market.sz_decimals)
                r = ex.order(COIN, want > 0, sz, limit, {"limit": {"tif": "Ioc"}})
                entry = float(r["response"]["data"]["statuses"][0]["filled"]["avgPx"])
                tp, sl = (round_price(entry * (1 + want * x), market.sz_decimals) for x in (TP, -SL))
                exits = [
                    {"coin": COIN, "is_buy": want < 0, "sz": sz, "reduce_only": True,
                     "limit_px": round_price(level * (1 - 0.1 * want), market.sz_decimals),
                     "order_type": {"trigger": {"triggerPx": level, "isMarket": True, "tpsl": kind}}}
                    for level, kind in ((tp, "tp"), (sl, "sl"))
                ]  # fmt: skip
                statuses = ex.bulk_orders(exits, grouping="positionTpsl")["response"]["data"]["statuses"]
                assert all("resting" in s or "filled" in s for s in statuses), statuses
            h.step(4)  # through bar i (intrabar triggers) into the open of bar i + 1 (gaps)
    finally:
        h.stop()
    return exchange_trades(eng, user)


@pytest.fixture(scope="module")
def both():
    sig = signals()
    bars = tick_safe(parity_bars(), sig)
    sim = simulate(bars, sig)
    return bars, sim, run_exchange(bars, sig, sim)


def test_the_same_bars_and_orders_give_the_same_trades_in_the_exchange_and_the_simulator(both):
    bars, sim, ex = both
    key = ["entry_bar", "side", "exit_bar", "exit_reason"]
    got = ex[key].astype(str).values.tolist()
    want = sim[key].astype({"side": int, "exit_reason": str}).astype(str).values.tolist()
    assert got == want
    tick = 1.0  # 5 significant figures at ~20,000
    assert np.abs(ex["entry_price"].to_numpy() - sim["entry_price"].to_numpy()).max() <= tick
    assert np.abs(ex["exit_price"].to_numpy() - sim["exit_price"].to_numpy()).max() <= tick
    assert np.abs(ex["qty"].to_numpy() - sim["qty"].to_numpy()).max() <= 0.5e-4  # szDecimals 4
    assert np.abs(ex["fees"].to_numpy() - sim["fees"].to_numpy()).max() < 0.005  # the same schedule, to the cent
    assert ex["fees"].sum() == pytest.approx(sim["fees"].sum(), rel=1e-3) and ex["fees"].sum() > 0


def test_the_parity_run_covers_every_exit_rule(both):
    bars, sim, ex = both
    reasons = set(sim["exit_reason"].astype(str))
    assert reasons == {"signal", "take_profit", "stop_loss"}
    hi, lo, op = bars["high"].to_numpy(), bars["low"].to_numpy(), bars["open"].to_numpy()
    both_touched = gaps = 0
    for t in sim.itertuples():
        tp = t.entry_price * (1 + t.side * TP)
        sl = t.entry_price * (1 - t.side * SL)
        b = t.exit_bar
        touched_tp = hi[b] >= tp if t.side > 0 else lo[b] <= tp
        gapped = op[b] <= sl if t.side > 0 else op[b] >= sl
        if t.exit_reason == "stop_loss" and touched_tp and not gapped:
            both_touched += 1
        if t.exit_reason in ("stop_loss", "take_profit") and ex.loc[t.Index, "at_open"]:
            gaps += 1
    assert both_touched >= 1, "no bar touched both levels: the stop-first rule went untested"
    assert gaps >= 1, "no exit at a gapped open: the gap rule went untested"
