"""BarFeed: closed bars in order and without gaps, through socket loss, silence and REST-only periods (no network)."""

from __future__ import annotations

import pytest

from backtest.venue.retry import RetryPolicy
from live.feed import BarFeed
from tests.support.stub_api import COIN, make_candles

STEP = 60_000


class FakeVenue:
    """The server's truth: candles; clients subscribe and get pushed updates; REST answers from the same list."""

    def __init__(self, n: int = 50):
        self.candles = make_candles(n, end_ms=1_700_000_000_000 + n * STEP)
        self.clients: list[FakeClient] = []
        self.down = False
        self.rest_calls = 0

    def factory(self):
        if self.down:
            raise ConnectionError("venue down")
        c = FakeClient(self)
        self.clients.append(c)
        return c

    def publish(self, i: int) -> None:
        """Candle i starts forming: live clients get a message for it."""
        for c in self.clients:
            if c.alive and c.callback:
                c.callback({"channel": "candle", "data": self.candles[i]})


class FakeClient:
    def __init__(self, venue: FakeVenue):
        self.venue = venue
        self.alive = True
        self.callback = None

    def subscribe(self, sub, cb):
        if sub["type"] == "candle":
            self.callback = cb
        return 1

    def is_alive(self):
        return self.alive

    def candles_snapshot(self, name, interval, startTime, endTime):
        if self.venue.down:
            raise ConnectionError("venue down")
        self.venue.rest_calls += 1
        return [c for c in self.venue.candles[: self.venue.visible] if startTime <= int(c["t"]) <= endTime]

    def close(self):
        self.alive = False


def make_feed(venue: FakeVenue, **kw) -> BarFeed:
    kw.setdefault("stale_after_s", 1e9)
    kw.setdefault("stale_after_s", 30.0)
    return BarFeed(venue.factory, COIN, "1m", policy=RetryPolicy(max_attempts=1, base_delay_s=0.0), **kw)


def t(venue, i):
    return int(venue.candles[i]["t"])


def test_bars_close_when_the_next_candle_arrives_and_come_out_once_in_order():
    v = FakeVenue()
    v.visible = 11
    feed = make_feed(v)
    feed.start(after_ms=t(v, 9))
    v.publish(10)
    assert feed.poll(0.01) == []  # bar 10 is still forming
    v.publish(10)
    v.publish(11)
    v.visible = 12
    bars = feed.poll(0.01)
    assert [b.time_ms for b in bars] == [t(v, 10)]
    v.publish(11)
    assert feed.poll(0.01) == []


def test_a_gap_in_the_socket_is_backfilled_over_rest_before_the_new_bar():
    v = FakeVenue()
    v.visible = 20
    feed = make_feed(v)
    feed.start(after_ms=t(v, 9))
    v.publish(10)
    v.publish(15)  # messages for 11..14 were lost
    bars = feed.poll(0.01)
    assert [b.time_ms for b in bars] == [t(v, i) for i in range(10, 15)]
    assert [e.kind for e in feed.drain_events()].count("backfill") == 1


def test_a_dead_socket_is_rebuilt_and_the_missed_bars_come_from_rest():
    v = FakeVenue()
    v.visible = 11
    feed = make_feed(v)
    feed.start(after_ms=t(v, 9))
    v.publish(10)
    v.clients[-1].alive = False  # the SDK's thread died silently
    feed.poll(0.01)
    v.visible = 14  # bars 10..12 closed while we were away, 13 forming
    bars = feed.poll(0.01)
    assert [b.time_ms for b in bars] == [t(v, i) for i in (10, 11, 12)]
    kinds = [e.kind for e in feed.drain_events()]
    assert "lost" in kinds and "reconnected" in kinds
    assert feed.health().reconnects == 1


def test_a_silent_socket_counts_as_lost():
    v = FakeVenue()
    v.visible = 11
    clock = [0.0]
    feed = make_feed(v, stale_after_s=5.0, clock=lambda: clock[0])
    feed.start(after_ms=t(v, 9))
    clock[0] = 6.0
    feed.poll(0.0)
    assert feed.health().mode == "rest" and "lost" in [e.kind for e in feed.drain_events()]


def test_a_rebuilt_socket_is_restored_only_once_a_candle_message_arrives_on_it():
    v = FakeVenue()
    v.visible = 11
    clock = [0.0]
    feed = make_feed(v, stale_after_s=5.0, clock=lambda: clock[0])
    feed.start(after_ms=t(v, 9))
    clock[0] = 6.0
    feed.poll(0.0)
    (lost,) = [e for e in feed.drain_events() if e.kind == "lost"]
    assert lost.detail["silent_s"] == 6.0  # how long it had been silent when it was called lost
    feed.poll(0.0)  # a new socket, silent so far
    assert [e.kind for e in feed.drain_events()].count("restored") == 0
    v.publish(10)
    feed.poll(0.0)
    assert [e.kind for e in feed.drain_events()] == ["restored"]
    v.publish(10)
    feed.poll(0.0)
    assert "restored" not in [e.kind for e in feed.drain_events()]  # once per reconnect


def test_while_the_venue_is_down_rest_is_polled_and_bars_keep_coming_once_it_answers():
    v = FakeVenue()
    v.visible = 11
    clock = [0.0]
    feed = make_feed(v, clock=lambda: clock[0])
    feed.start(after_ms=t(v, 9))
    v.clients[-1].alive = False
    v.down = True
    feed.poll(0.0)
    assert feed.poll(0.0) == [] and feed.health().connected is False
    v.down = False
    v.visible = 13
    clock[0] = 100.0  # past the reconnect backoff and overdue for a bar: REST is asked
    bars = feed.poll(0.0)
    assert [b.time_ms for b in bars] == [t(v, 10), t(v, 11)]


def test_history_leaves_out_the_forming_candle():
    v = FakeVenue()
    v.visible = 30
    feed = make_feed(v)
    bars = feed.history(10)
    assert [b.time_ms for b in bars] == [t(v, i) for i in range(19, 29)]
    assert all(b.source == "hyperliquid" for b in bars)


def test_time_scale_must_be_positive():
    with pytest.raises(ValueError, match="time_scale"):
        BarFeed(lambda: None, COIN, "1m", 30.0, time_scale=0)
