"""Execution: a lost answer is looked up by cloid before any resend; the same cloid is never placed twice."""

from __future__ import annotations

import time

import requests

from backtest.venue.retry import RetryPolicy
from backtest.venue.rules import AssetRules
from live.execution import Execution, OrderIntent
from live.journal import Journal, read_records

RULES = AssetRules("xyz:XYZ100", 110000, 4, 20)


class FlakyVenue:
    """Places every order it receives; loses the answer of the first `lose` calls (a timeout after the fact)."""

    def __init__(self, lose: int = 1, place: bool = True):
        self.lose, self.place = lose, place
        self.placed: dict[str, dict] = {}
        self.calls = 0

    # Exchange
    def order(self, coin, is_buy, sz, px, order_type, reduce_only=False, cloid=None):
        self.calls += 1
        key = str(cloid)
        if key in self.placed:
            return {
                "status": "ok",
                "response": {"type": "order", "data": {"statuses": [{"error": "Duplicate cloid."}]}},
            }
        if self.place or self.calls > self.lose:
            self.placed[key] = {"oid": 100 + len(self.placed), "sz": sz, "px": px}
        if self.calls <= self.lose:
            raise requests.Timeout("read timed out")
        o = self.placed[key]
        filled = {"totalSz": str(sz), "avgPx": str(px), "oid": o["oid"], "cloid": key}
        return {"status": "ok", "response": {"type": "order", "data": {"statuses": [{"filled": filled}]}}}

    # Info
    def query_order_by_cloid(self, user, cloid):
        o = self.placed.get(str(cloid))
        if o is None:
            return {"status": "unknownOid"}
        order = {"oid": o["oid"], "sz": "0.0", "origSz": str(o["sz"]), "cloid": str(cloid)}
        return {"status": "order", "order": {"order": order, "status": "filled", "statusTimestamp": 1}}

    def user_fills_by_time(self, user, start):
        return [
            {"coin": "xyz:XYZ100", "oid": o["oid"], "cloid": c, "side": "B", "sz": str(o["sz"]), "px": str(o["px"]),
             "fee": "0.1", "closedPnl": "0", "time": 1, "tid": o["oid"]}
            for c, o in self.placed.items()
        ]  # fmt: skip


def make_exec(tmp_path, venue):
    return Execution(venue, venue, "0xabc", "xyz:XYZ100", "xyz", RULES, Journal(tmp_path),
                     policy=RetryPolicy(max_attempts=4, base_delay_s=0.0), sleep=lambda s: None)  # fmt: skip


INTENT = OrderIntent(cloid="0x" + "ab" * 16, is_buy=True, size=0.2, limit_px=20100.0, reason="open",
                     decision_px=20000.0, bar_ms=60_000)  # fmt: skip


def test_a_lost_answer_is_looked_up_and_never_resent(tmp_path):
    venue = FlakyVenue(lose=1, place=True)
    ack = make_exec(tmp_path, venue).submit(INTENT)
    assert ack.kind == "filled" and ack.filled_size == 0.2 and ack.avg_px == 20100.0
    assert venue.calls == 1 and len(venue.placed) == 1  # found by lookup: no second send
    kinds = [r["kind"] for r in read_records(tmp_path)]
    assert kinds == ["order", "order_unanswered", "ack"]
    ack_rec = next(read_records(tmp_path, kinds={"ack"}))
    assert ack_rec["via"] == "lookup" and ack_rec["slippage_bps"] == 50.0


def test_an_order_that_never_arrived_is_resent_with_the_same_cloid(tmp_path):
    venue = FlakyVenue(lose=1, place=False)
    ack = make_exec(tmp_path, venue).submit(INTENT)
    assert ack.kind == "filled" and venue.calls == 2 and list(venue.placed) == [INTENT.cloid]
    assert [r["kind"] for r in read_records(tmp_path)] == ["order", "order_unanswered", "order_resend", "ack"]


def test_a_duplicate_cloid_answer_reports_the_first_order(tmp_path):
    venue = FlakyVenue(lose=0)
    ex = make_exec(tmp_path, venue)
    first = ex.submit(INTENT)
    again = ex.submit(INTENT)
    assert first.kind == again.kind == "filled" and again.oid == first.oid and len(venue.placed) == 1


def test_prices_are_put_on_the_tick_in_the_trader_s_disfavour(tmp_path):
    ex = make_exec(tmp_path, FlakyVenue())
    assert ex.ioc_price(True, 20000.4, 0.01) == 20201.0  # buy limit rounds up
    assert ex.ioc_price(False, 20000.4, 0.01) == 19800.0
    trig, limit = ex.trigger_prices(False, 19950.6, "tp")  # a long's TP: the trigger rounds up, away from entry
    assert trig == 19951.0 and limit == 17955.0
    assert ex.trigger_prices(False, 19950.6, "sl")[0] == 19950.0  # a long's SL rounds down
    assert ex.trigger_prices(True, 19950.4, "tp")[0] == 19950.0  # a short's TP down, its SL up
    assert ex.trigger_prices(True, 19950.4, "sl")[0] == 19951.0


class CancelVenue(FlakyVenue):
    """Answers every cancel with `answer` (None: success)."""

    def __init__(self, answer: str | None):
        super().__init__(lose=0)
        self.answer = answer

    def cancel_by_cloid(self, coin, cloid):
        status = "success" if self.answer is None else {"error": self.answer}
        return {"status": "ok", "response": {"type": "cancel", "data": {"statuses": [status]}}}


def test_cancelling_an_order_the_venue_already_closed_succeeds_and_is_journalled_as_gone_not_as_an_error(tmp_path):
    gone = "Order was never placed, already canceled, or filled."
    assert make_exec(tmp_path / "a", CancelVenue(gone)).cancel(INTENT.cloid, "leg closed") is True
    rec = next(read_records(tmp_path / "a", kinds={"cancel"}))
    assert rec["gone"] is True and rec["error"] is None and rec["reason"] == "leg closed"
    assert make_exec(tmp_path / "b", CancelVenue(None)).cancel(INTENT.cloid) is True
    assert next(read_records(tmp_path / "b", kinds={"cancel"}))["gone"] is False
    assert make_exec(tmp_path / "c", CancelVenue("Rate limited.")).cancel(INTENT.cloid) is False
    rec = next(read_records(tmp_path / "c", kinds={"cancel"}))
    assert rec["error"] == "Rate limited." and rec["gone"] is False


def test_two_processes_signing_for_one_wallet_in_the_same_millisecond_never_reuse_a_nonce(tmp_path, monkeypatch):
    """The clock stands still (a burst, or two processes in one millisecond): with the signer's shared nonce file
    every action is accepted by the paper exchange (which refuses a reused nonce as the venue does); with each
    process's own memory alone the second process's first action is refused."""
    from eth_account import Account

    import live.lock
    from backtest.venue.sdk import make_exchange, make_info
    from live.lock import NonceSource
    from tests.support.paper_exchange import random_walk_bars, start

    wallet = Account.create()
    server = start(random_walk_bars(300, seed=1), fund=((wallet.address.lower(), 10_000.0),))
    frozen = [int(time.time() * 1000)]
    monkeypatch.setattr(live.lock.time, "time", lambda: frozen[0] / 1000)
    try:
        info = make_info(server.url, "xyz", 5.0)

        def execution(nonces: NonceSource) -> Execution:
            exchange = make_exchange(wallet, server.url, "xyz", 5.0)
            return Execution(exchange, info, wallet.address.lower(), "xyz:XYZ100", "xyz", RULES, Journal(tmp_path),
                             policy=RetryPolicy(max_attempts=1), sleep=lambda s: None, nonces=nonces)  # fmt: skip

        shared = tmp_path / "signer.nonce"
        a, b = execution(NonceSource(shared)), execution(NonceSource(shared))
        assert all(ex.cancel("0x" + f"{i:032x}", "test") for i in range(3) for ex in (a, b))  # 6 actions, 1 ms
        frozen[0] += 1000  # later, and still standing: each process's own memory only
        c, d = execution(NonceSource()), execution(NonceSource())
        assert c.cancel("0x" + "1" * 32, "test") and not d.cancel("0x" + "2" * 32, "test")
        refused = [r for r in read_records(tmp_path, kinds={"cancel"}) if r.get("error")]
        assert len(refused) == 1 and "Invalid nonce: duplicate nonce" in refused[0]["error"]
    finally:
        server.stop()
