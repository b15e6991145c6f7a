"""The venue's candle WebSocket, client side: the SDK's socket behind a small protocol, and candle assembly.

- `SdkFeed` is the SDK's `Info` with its WebSocket behind a small protocol (`FeedClient`), so tests can swap it.
- `CandleAssembler` turns repeated, updating candle messages into closed candles: a candle is closed when a message
  for a later open time arrives, or when its interval has ended by more than a grace period.

The recorder (`backtest/data/recorder.py`) and the live trader's bar feed (`live/feed.py`: reconnect, backfill,
polling, stale detection) are built on these pieces.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from backtest.venue.retry import RetryPolicy
from backtest.venue.sdk import make_info

log = logging.getLogger(__name__)


class FeedClient(Protocol):
    """What a feed needs from a connection: subscriptions, liveness, REST candles, close."""

    def subscribe(self, subscription: dict, callback: Callable[[Any], None]) -> int: ...
    def is_alive(self) -> bool: ...
    def candles_snapshot(self, name: str, interval: str, startTime: int, endTime: int) -> Any: ...
    def close(self) -> None: ...


class SdkFeed:
    """`FeedClient` over the SDK's `Info` with its WebSocket (skip_ws=False)."""

    def __init__(self, base_url: str, dex: str, timeout_s: float, policy: RetryPolicy | None = None):
        self.info = make_info(base_url, dex, timeout_s, skip_ws=False, policy=policy)

    def subscribe(self, subscription: dict, callback: Callable[[Any], None]) -> int:
        return self.info.subscribe(subscription, callback)

    def is_alive(self) -> bool:
        ws = self.info.ws_manager
        return ws is not None and ws.is_alive() and bool(ws.ws.keep_running)

    def candles_snapshot(self, name: str, interval: str, startTime: int, endTime: int) -> Any:
        return self.info.candles_snapshot(name, interval, startTime, endTime)

    def close(self) -> None:
        try:
            self.info.disconnect_websocket()
        except Exception as exc:  # a dead socket may fail to close; the client is dropped either way
            log.debug("closing websocket: %s", exc)


class CandleAssembler:
    """Turns a stream of (repeated, updating) candle messages into closed candles."""

    def __init__(self, step_ms: int, close_grace_ms: int = 2000):
        self.step_ms = step_ms
        self.grace_ms = close_grace_ms
        self.current: dict | None = None

    def feed(self, candle: dict) -> list[dict]:
        """Take one candle message's data; return the candles it closes (the previous one if `t` moved on)."""
        t = int(candle["t"])
        if self.current is None or t == int(self.current["t"]):
            self.current = candle
            return []
        if t < int(self.current["t"]):
            return []  # late update of a candle already closed
        closed, self.current = self.current, candle
        return [closed]

    def close_by_time(self, now_ms: int) -> list[dict]:
        """Close the current candle if its interval ended more than the grace period ago."""
        if self.current is not None and int(self.current["t"]) + self.step_ms + self.grace_ms <= now_ms:
            closed, self.current = self.current, None
            return [closed]
        return []
