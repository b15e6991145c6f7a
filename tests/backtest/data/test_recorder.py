from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from backtest.data.recorder import Recorder, install_stop_signals
from backtest.data.store import BarStore
from backtest.venue.feed import CandleAssembler
from backtest.venue.retry import RetryPolicy
from tests.support.stub_api import COIN, make_candles

STEP = 60_000
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
HISTORY = make_candles(40, T0 + 40 * STEP)  # candles t0 .. t39, one a minute from T0


def t(i: int) -> int:
    return T0 + i * STEP


class World:
    """Shared fake time and the REST history every fake client serves."""

    def __init__(self):
        self.now_ms = t(0) + 30_000

    def clock(self) -> float:
        return self.now_ms / 1000


class FakeFeed:
    """A scripted connection: pushes candle messages from a thread, then dies, goes silent, or sends SIGINT."""

    def __init__(self, world: World, script: list[int], then: str, resume_at: int | None = None):
        self.world, self.script, self.then = world, script, then
        self.alive = True
        self.closed = False
        if resume_at is not None:  # time has passed while we were disconnected
            world.now_ms = t(resume_at) + 30_000

    def subscribe(self, subscription, callback):
        assert subscription == {"type": "candle", "coin": COIN, "interval": "1m"}

        def push():
            for i in self.script:
                self.world.now_ms = t(i) + 30_000
                candle = HISTORY[i]
                callback({"channel": "candle", "data": {**candle, "c": candle["o"], "h": candle["h"]}})  # early tick
                callback({"channel": "candle", "data": candle})  # final state of the candle
                time.sleep(0.005)
            if self.then == "die":
                self.alive = False
            elif self.then == "sigint":
                self.world.now_ms = t(self.script[-1] + 1) + 5_000  # the last candle has closed by time
                time.sleep(0.05)
                os.kill(os.getpid(), signal.SIGINT)

        threading.Thread(target=push, daemon=True).start()
        return 1

    def is_alive(self):
        return self.alive

    def candles_snapshot(self, name, interval, startTime, endTime):
        return [c for c in HISTORY if startTime <= c["t"] <= endTime and c["t"] <= self.world.now_ms]

    def close(self):
        self.closed = True


def _recorder(tmp_path, world, feeds, **kw):
    it = iter(feeds)
    return Recorder(
        lambda: next(it)(),
        BarStore(tmp_path),
        COIN,
        "1m",
        poll_s=0.02,
        policy=RetryPolicy(max_attempts=2, base_delay_s=0.01),
        clock=world.clock,
        backfill_days=10 / 1440,
        **kw,
    )


@pytest.mark.parametrize("failure", ["die", "silent"])
def test_reconnects_after_a_lost_feed_and_backfills_the_gap_over_rest(tmp_path, failure):
    world = World()
    first = FakeFeed(world, list(range(0, 10)), failure)
    rec = _recorder(
        tmp_path,
        world,
        [lambda: first, lambda: FakeFeed(world, list(range(15, 20)), "sigint", resume_at=15)],
        stale_after_s=0.3,
    )
    world.now_ms = t(0) + 1_000  # nothing closed yet at start: the first backfill finds nothing
    with install_stop_signals(rec.stop):
        stats = rec.run()
    bars = BarStore(tmp_path).read(COIN, "1m")
    got = [int(x) for x in bars["timestamp"].astype("int64")]
    assert got == [t(i) for i in range(20)]  # no gap, no duplicate
    src = bars["source"].tolist()
    assert src[:9] == ["recorded"] * 9  # t0..t8 closed by the next candle
    assert src[9:15] == ["hyperliquid"] * 6  # t9..t14 recovered over REST
    assert src[15:] == ["recorded"] * 5  # t19 flushed on Ctrl-C (closed by time)
    # the gap's backfill took t9..t14; the start-up backfill may catch t0 when the feed's thread runs first (load)
    assert stats.reconnects == 1 and stats.backfills[-1][2] == 6 and first.closed
    assert stats.backfilled - stats.backfills[-1][2] in (0, 1)
    assert float(bars["close"].iloc[3]) == float(HISTORY[3]["c"])  # the final update of a candle wins


def test_ctrl_c_flushes_closed_bars_and_restores_signal_handlers(tmp_path):
    world = World()
    before = signal.getsignal(signal.SIGINT)
    rec = _recorder(tmp_path, world, [lambda: FakeFeed(world, list(range(0, 6)), "sigint")], stale_after_s=30)
    world.now_ms = t(0) + 1_000
    with install_stop_signals(rec.stop):
        stats = rec.run()
    assert signal.getsignal(signal.SIGINT) is before
    bars = BarStore(tmp_path).read(COIN, "1m")
    assert len(bars) == 6 and stats.recorded == 6 and (bars["source"] == "recorded").all()


def test_startup_backfills_from_the_newest_stored_bar(tmp_path):
    world = World()
    store = BarStore(tmp_path)
    from backtest.data.hyperliquid import candles_to_bars

    store.append(candles_to_bars(HISTORY[:5], "hyperliquid"), COIN, "1m")
    rec = _recorder(tmp_path, world, [lambda: FakeFeed(world, [12, 13], "sigint", resume_at=12)], stale_after_s=30)
    with install_stop_signals(rec.stop):
        stats = rec.run()
    assert stats.backfills[0][2] == 7  # t5 .. t11
    assert len(store.read(COIN, "1m")) == 14


def test_assembler_closes_on_a_later_candle_or_by_time():
    asm = CandleAssembler(STEP, close_grace_ms=2000)
    assert asm.feed({"t": t(0), "c": "1"}) == []
    assert asm.feed({"t": t(0), "c": "2"}) == []
    assert asm.feed({"t": t(1), "c": "3"}) == [{"t": t(0), "c": "2"}]
    assert asm.feed({"t": t(0), "c": "late"}) == []
    assert asm.close_by_time(t(2) + 1_000) == []
    assert asm.close_by_time(t(2) + 2_000) == [{"t": t(1), "c": "3"}]
