"""The live trader's bar feed, with the reconnect the SDK lacks: WebSocket candles in, closed bars out, in order,
without gaps.

`BarFeed` watches the socket (`backtest.venue.feed`: `SdkFeed`, `CandleAssembler`; a dead thread or `stale_after_s`
without a message means lost), rebuilds the client with backoff, backfills missed closed bars over REST
`candleSnapshot`, polls REST while the socket is down, and says what it did in `events` and `health()`. Bars come out
strictly after the last one emitted, so a consumer never sees a bar twice. `restored` follows a reconnect once a
candle message has arrived on the new socket: a socket that connects but stays silent is not a restored feed.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from backtest.config import interval_seconds
from backtest.domain import Bar
from backtest.venue.feed import CandleAssembler, FeedClient
from backtest.venue.ratelimit import INFO_WEIGHT, WeightBudget, candle_snapshot_weight
from backtest.venue.retry import RetryPolicy, call_with_retry, describe_error
from backtest.venue.wire import candle_to_bar

log = logging.getLogger(__name__)
MIN_STALE_S = 2.0  # a socket is never called silent faster than this, whatever the time scale
FAR_FUTURE_MS = 4_102_444_800_000  # 2100-01-01: "up to the newest candle", whatever the venue's clock says


@dataclass
class FeedHealth:
    """How the feed is doing, for status views and risk decisions."""

    mode: str  # "ws" (socket up) | "rest" (socket down, polling REST) | "stopped"
    connected: bool
    last_message_age_s: float | None
    last_bar_ms: int | None
    reconnects: int
    backfilled: int
    rest_polls: int
    last_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class FeedEvent:
    kind: str  # "connected" | "lost" | "reconnected" | "restored" | "backfill" | "rest_poll" | "error"
    detail: dict[str, Any] = field(default_factory=dict)


class BarFeed:
    """Closed bars of one coin and interval from the candle WebSocket, repaired over REST (see module docstring).

    `time_scale` > 1 speeds every time threshold up for a paper exchange replaying faster than real time.
    """

    def __init__(
        self,
        client_factory: Callable[[], FeedClient],
        coin: str,
        interval: str,
        stale_after_s: float,
        close_grace_s: float = 2.0,
        time_scale: float = 1.0,
        source: str = "hyperliquid",
        policy: RetryPolicy | None = None,
        budget: WeightBudget | None = None,
        clock: Callable[[], float] = time.monotonic,
        rest_factory: Callable[[], Any] | None = None,
    ) -> None:
        if time_scale <= 0:
            raise ValueError(f"time_scale must be > 0, got {time_scale}")
        self.factory = client_factory
        self.rest_factory = rest_factory or client_factory
        self._rest: Any = None
        self.coin, self.interval = coin, interval
        self.step_ms = interval_seconds(interval) * 1000
        self.time_scale = float(time_scale)
        self.stale_after_s = max(stale_after_s / self.time_scale, MIN_STALE_S)
        self.bar_wall_s = self.step_ms / 1000.0 / self.time_scale
        self.grace_s = close_grace_s / self.time_scale
        self.source = source
        self.policy = policy or RetryPolicy(max_attempts=3, base_delay_s=0.5, max_delay_s=10.0)
        self.budget = budget or WeightBudget()
        self.clock = clock
        self.assembler = CandleAssembler(self.step_ms)
        self.events: list[FeedEvent] = []
        self.client: FeedClient | None = None
        self._queue: queue.Queue[dict] = queue.Queue()
        self._last_ms: int | None = None  # open time of the last bar emitted
        self._last_msg: float | None = None
        self._last_close: float = clock()  # when a bar last closed (or the feed started)
        self._next_attempt = 0.0
        self._next_rest_poll = 0.0
        self._attempt = 0
        self._awaiting_data = False  # reconnected, no candle message yet
        self._lock = threading.Lock()
        self.mid: float | None = None
        self.reconnects = 0
        self.backfilled = 0
        self.rest_polls = 0
        self.last_error: str | None = None

    # --- connection -------------------------------------------------------------------------------------------
    def _on_candle(self, msg: Any) -> None:
        data = msg.get("data") if isinstance(msg, dict) else None
        if isinstance(data, dict) and data.get("s") == self.coin and data.get("i") == self.interval:
            self._last_msg = self.clock()
            self._queue.put(data)

    def _on_mids(self, msg: Any) -> None:
        mids = (msg.get("data") or {}).get("mids") if isinstance(msg, dict) else None
        if isinstance(mids, dict) and self.coin in mids:
            self._last_msg = self.clock()
            with contextlib.suppress(TypeError, ValueError):
                self.mid = float(mids[self.coin])

    def _connect(self) -> bool:
        """One connection attempt (the factory may retry inside); False and a backoff delay when it fails."""
        try:
            client = self.factory()
            client.subscribe({"type": "candle", "coin": self.coin, "interval": self.interval}, self._on_candle)
            dex = self.coin.split(":", 1)[0] if ":" in self.coin else ""
            client.subscribe({"type": "allMids", "dex": dex}, self._on_mids)
        except Exception as exc:
            self.last_error = describe_error(exc)
            delay = self.policy.delay(self._attempt)
            self._attempt += 1
            self._next_attempt = self.clock() + delay / self.time_scale
            self.events.append(FeedEvent("error", {"error": self.last_error, "retry_in_s": round(delay, 2)}))
            log.warning("candle feed: connecting failed (%s); retry in %.1f s", self.last_error, delay)
            return False
        self.client = client
        self._attempt = 0
        self._last_msg = self.clock()
        self.assembler.current = None
        return True

    def start(self, after_ms: int | None = None) -> None:
        """Connect; the first bar emitted will be the first closed bar after `after_ms` (bar open time)."""
        self._last_ms = after_ms
        self._last_close = self.clock()
        if self._connect():
            self.events.append(FeedEvent("connected", {}))

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        if self._rest is not None and hasattr(self._rest, "close"):
            self._rest.close()
        self._rest = None

    def _lost(self, why: str) -> None:
        log.warning("candle feed lost (%s); reconnecting", why)
        silent = None if self._last_msg is None else round(max(0.0, self.clock() - self._last_msg), 1)
        self.events.append(FeedEvent("lost", {"why": why, "silent_s": silent}))
        self._awaiting_data = False
        if self.client is not None:
            self.client.close()
        self.client = None
        self._next_attempt = 0.0

    # --- REST -------------------------------------------------------------------------------------------------
    def _rest_candles(self, start_ms: int, end_ms: int) -> list[dict]:
        """Candles with start_ms <= t <= end_ms over REST, paging forward; raises RetryError when REST is down."""
        client = self.client if self.client is not None else self._rest_client()
        rows_all: list[dict] = []
        cursor = start_ms
        while cursor <= end_ms:
            self.budget.acquire(INFO_WEIGHT)
            rows = call_with_retry(
                lambda c=cursor: client.candles_snapshot(self.coin, self.interval, c, end_ms),
                what=f"candleSnapshot {self.coin} {self.interval}",
                policy=self.policy,
            )
            self.budget.charge(candle_snapshot_weight(len(rows or [])))
            rows = [r for r in rows or [] if int(r["t"]) >= cursor]
            if not rows:
                break
            rows_all.extend(rows)
            cursor = int(rows[-1]["t"]) + self.step_ms
            if len(rows) < 2:
                break
        return rows_all

    def _rest_client(self) -> Any:
        if self._rest is None:
            self._rest = self.rest_factory()
        return self._rest

    def history(self, n_bars: int) -> list[Bar]:
        """The latest `n_bars` closed bars over REST (the forming candle excluded), oldest first.

        Asks for everything the venue still has (its clock may run ahead of ours on a fast paper exchange).
        """
        rows = self._rest_candles(0, FAR_FUTURE_MS)
        closed = rows[:-1] if rows else []  # the last candle may still be forming
        return [candle_to_bar(r, self.source) for r in closed][-n_bars:]

    def _backfill(self, upto_ms: int | None) -> list[Bar]:
        """Closed bars after the last one emitted, up to (excluding) `upto_ms`, or all closed ones REST has."""
        if self._last_ms is None:
            return []
        start = self._last_ms + self.step_ms
        end = (upto_ms - self.step_ms) if upto_ms is not None else FAR_FUTURE_MS
        if upto_ms is not None and start >= upto_ms:
            return []
        rows = self._rest_candles(start, end)
        if upto_ms is None:
            rows = rows[:-1]  # without a later candle the newest may still be forming
        bars = [candle_to_bar(r, self.source) for r in rows if upto_ms is None or int(r["t"]) < upto_ms]
        if bars:
            self.backfilled += len(bars)
            self.events.append(
                FeedEvent("backfill", {"from": bars[0].time_ms, "to": bars[-1].time_ms, "bars": len(bars)})
            )
        return bars

    # --- polling ----------------------------------------------------------------------------------------------
    def _emit(self, bars: list[Bar], out: list[Bar]) -> None:
        for b in bars:
            if self._last_ms is None or b.time_ms > self._last_ms:
                out.append(b)
                self._last_ms = b.time_ms
                self._last_close = self.clock()

    def poll(self, timeout_s: float = 1.0) -> list[Bar]:
        """New closed bars (ascending), waiting up to `timeout_s` for the socket; repairs the feed as needed."""
        out: list[Bar] = []
        with self._lock:
            if self.client is None and self.clock() >= self._next_attempt and self._connect():
                self.reconnects += 1
                self.events.append(FeedEvent("reconnected", {"reconnects": self.reconnects}))
                self._awaiting_data = True
                self._safe(lambda: self._emit(self._backfill(None), out))
            if self.client is not None:
                try:
                    first = self._queue.get(timeout=timeout_s)
                except queue.Empty:
                    first = None
                items = [first] if first is not None else []
                while True:
                    try:
                        items.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                if items and self._awaiting_data:
                    self._awaiting_data = False
                    self.events.append(FeedEvent("restored", {"reconnects": self.reconnects}))
                for item in items:
                    for c in self.assembler.feed(item):
                        bar = candle_to_bar(c, self.source)
                        if self._last_ms is not None and bar.time_ms > self._last_ms + self.step_ms:
                            self._safe(lambda t=bar.time_ms: self._emit(self._backfill(t), out))
                        self._emit([bar], out)
                forming = self.assembler.current
                if forming is not None and self._last_ms is not None:
                    t_forming = int(forming["t"])
                    if t_forming > self._last_ms + self.step_ms:
                        # bars between the last emitted and the forming one closed without a message: fetch them
                        self._safe(lambda t=t_forming: self._emit(self._backfill(t), out))
                now = self.clock()
                silent = self._last_msg is not None and now - self._last_msg > self.stale_after_s
                if silent or not self.client.is_alive():
                    why = f"no message for {self.stale_after_s:.1f} s" if silent else "the WebSocket thread died"
                    self._lost(why)
            else:
                time.sleep(min(timeout_s, max(0.0, self._next_attempt - self.clock())))
            now = self.clock()
            overdue = now - self._last_close > self.bar_wall_s + self.grace_s
            down = self.client is None and now >= self._next_rest_poll
            if (down or overdue) and self._last_ms is not None:
                self.rest_polls += 1
                self._next_rest_poll = now + self.bar_wall_s / 4  # while down: four REST polls a bar at most
                self._safe(lambda: self._emit(self._backfill(None), out))
                if overdue:
                    self._last_close = self.clock() - self.bar_wall_s  # poll REST again a grace period later
        return out

    def _safe(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception as exc:
            self.last_error = describe_error(exc)
            self.events.append(FeedEvent("error", {"error": self.last_error}))
            log.warning("candle feed: REST failed (%s)", self.last_error)

    def drain_events(self) -> list[FeedEvent]:
        events, self.events = self.events, []
        return events

    def health(self) -> FeedHealth:
        age = None if self._last_msg is None else max(0.0, self.clock() - self._last_msg)  # wall seconds
        return FeedHealth(
            mode="ws" if self.client is not None else "rest",
            connected=self.client is not None,
            last_message_age_s=age,
            last_bar_ms=self._last_ms,
            reconnects=self.reconnects,
            backfilled=self.backfilled,
            rest_polls=self.rest_polls,
            last_error=self.last_error,
        )
