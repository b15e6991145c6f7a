"""Long-running candle recorder: WebSocket candles in, closed bars appended to the store, gaps backfilled over REST.

A candle is closed when a message for a later open time arrives, or when its close time has passed by more than
`close_grace_s` (quiet markets send nothing). Each closed bar is appended at once (atomic writes), labelled
"recorded". The SDK does not reconnect a dropped socket, so the loop watches the feed: if its thread died or
nothing arrived for `stale_after_s`, it closes the client, builds a fresh one (with backoff), and backfills the gap
since the newest stored bar over REST (labelled "hyperliquid"), logging what it recovered. `stop` (wired to
SIGINT/SIGTERM by `install_stop_signals`) ends the loop after writing every closed bar it holds.

The network side is a `FeedClient` made by an injectable factory, so the loop is testable without a network; the
client, the candle assembly and the retry policy come from the venue adapter (`backtest/venue/feed.py`).
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from backtest.config import interval_seconds
from backtest.data.hyperliquid import candles_to_bars, fetch_candles
from backtest.data.store import BarStore
from backtest.venue.feed import CandleAssembler, FeedClient
from backtest.venue.ratelimit import WeightBudget
from backtest.venue.retry import RetryPolicy, call_with_retry

log = logging.getLogger(__name__)


@dataclass
class RecorderStats:
    recorded: int = 0  # closed bars from the WebSocket
    backfilled: int = 0  # bars recovered over REST
    reconnects: int = 0
    backfills: list[tuple[str, str, int]] = field(default_factory=list)  # (from, to, bars) per backfill


class Recorder:
    """Record closed candles of one coin and interval into `store` until `stop()`."""

    def __init__(
        self,
        client_factory: Callable[[], FeedClient],
        store: BarStore,
        coin: str,
        interval: str,
        stale_after_s: float = 90.0,
        poll_s: float = 0.5,
        close_grace_s: float = 2.0,
        backfill_days: float = 3.0,
        policy: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.factory = client_factory
        self.store = store
        self.coin, self.interval = coin, interval
        self.step_ms = interval_seconds(interval) * 1000
        self.stale_after_s = stale_after_s
        self.poll_s = poll_s
        self.backfill_days = backfill_days
        self.policy = policy or RetryPolicy(max_attempts=8, base_delay_s=1.0, max_delay_s=60.0)
        self.clock = clock
        self.assembler = CandleAssembler(self.step_ms, int(close_grace_s * 1000))
        self.stats = RecorderStats()
        self._stop = threading.Event()
        self._queue: queue.Queue[dict] = queue.Queue()
        self._budget = WeightBudget()

    def stop(self) -> None:
        """Ask the loop to finish: it writes what is closed and returns."""
        self._stop.set()

    def _on_message(self, msg: Any) -> None:
        data = msg.get("data") if isinstance(msg, dict) else None
        if isinstance(data, dict) and data.get("s") == self.coin and data.get("i") == self.interval:
            self._queue.put(data)

    def _write(self, candles: list[dict], source: str) -> int:
        bars = candles_to_bars(candles, source)
        self.store.append(bars, self.coin, self.interval)
        return len(bars)

    def _connect(self) -> FeedClient:
        client = call_with_retry(self.factory, what=f"connecting the {self.coin} candle feed", policy=self.policy)
        client.subscribe({"type": "candle", "coin": self.coin, "interval": self.interval}, self._on_message)
        return client

    def _backfill(self, client: FeedClient) -> None:
        """Fetch closed bars after the newest stored one up to now over REST."""
        now_ms = int(self.clock() * 1000)
        last = self.store.last_timestamp(self.coin, self.interval, "real")
        if last is None:
            start_ms = now_ms - int(self.backfill_days * 86400 * 1000)
        else:
            start_ms = last.value // 1_000_000 + self.step_ms
        start_ms -= start_ms % self.step_ms
        if start_ms + self.step_ms > now_ms:
            return
        bars, _ = fetch_candles(
            client, self.coin, self.interval, start_ms, now_ms, budget=self._budget, policy=self.policy
        )
        self.store.append(bars, self.coin, self.interval)
        frm, to = pd.Timestamp(start_ms, unit="ms", tz="UTC"), pd.Timestamp(now_ms, unit="ms", tz="UTC")
        self.stats.backfilled += len(bars)
        self.stats.backfills.append((str(frm), str(to), len(bars)))
        log.info("backfilled %d bars over REST for the gap %s .. %s", len(bars), frm, to)

    def _drain(self) -> list[dict]:
        closed: list[dict] = []
        while True:
            try:
                closed += self.assembler.feed(self._queue.get_nowait())
            except queue.Empty:
                return closed

    def run(self) -> RecorderStats:
        """Record until `stop()`; reconnects and backfills on a dead or silent feed."""
        client = self._connect()
        self._backfill(client)
        last_msg = time.monotonic()
        try:
            while not self._stop.is_set():
                try:
                    item = self._queue.get(timeout=self.poll_s)
                    closed = self.assembler.feed(item) + self._drain()
                    last_msg = time.monotonic()
                except queue.Empty:
                    closed = []
                closed += self.assembler.close_by_time(int(self.clock() * 1000))
                if closed:
                    self.stats.recorded += self._write(closed, "recorded")
                silent = time.monotonic() - last_msg > self.stale_after_s
                if (silent or not client.is_alive()) and not self._stop.is_set():
                    why = f"no message for {self.stale_after_s:.0f} s" if silent else "the WebSocket thread died"
                    log.warning("candle feed lost (%s); reconnecting", why)
                    closed = self._drain()
                    if closed:
                        self.stats.recorded += self._write(closed, "recorded")
                    client.close()
                    self.assembler.current = None
                    client = self._connect()
                    self.stats.reconnects += 1
                    self._backfill(client)
                    last_msg = time.monotonic()
        finally:
            closed = self._drain() + self.assembler.close_by_time(int(self.clock() * 1000))
            if closed:
                self.stats.recorded += self._write(closed, "recorded")
            client.close()
            log.info(
                "recorder stopped: %d bars recorded, %d backfilled, %d reconnects",
                self.stats.recorded,
                self.stats.backfilled,
                self.stats.reconnects,
            )
        return self.stats


@contextmanager
def install_stop_signals(stop: Callable[[], None]) -> Iterator[None]:
    """Route SIGINT and SIGTERM to `stop` while inside the block (main thread only); restore handlers after."""
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for s in previous:
        signal.signal(s, lambda signum, frame: stop())
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
