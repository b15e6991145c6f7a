"""Client-side budget for HyperLiquid's REST weight limit (`limits.REST_WEIGHT_PER_MINUTE` a minute per IP).

A token bucket: `capacity` tokens, refilled at capacity per `period_s`. `acquire(w)` waits until w tokens are
there and takes them; `charge(w)` takes tokens after the fact (candleSnapshot costs 20 plus 1 per 60 candles
returned, known only once the answer is in), which may push the bucket below zero so the next call waits longer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from backtest.venue.limits import REST_WEIGHT_PER_MINUTE, WEIGHT_INFO, candle_snapshot_weight

INFO_WEIGHT = WEIGHT_INFO  # the name the feed and the recorder use
__all__ = ["INFO_WEIGHT", "REST_WEIGHT_PER_MINUTE", "WeightBudget", "candle_snapshot_weight"]


class WeightBudget:
    """Thread-safe token bucket over REST weight."""

    def __init__(
        self,
        capacity: float = REST_WEIGHT_PER_MINUTE,
        period_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.capacity = float(capacity)
        self.rate = self.capacity / period_s
        self._clock, self._sleep = clock, sleep
        self._tokens = self.capacity
        self._last = clock()
        self._lock = threading.Lock()
        self.waited_s = 0.0

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
        self._last = now

    def acquire(self, weight: float) -> None:
        """Block until `weight` tokens are available, then take them."""
        weight = min(float(weight), self.capacity)
        while True:
            with self._lock:
                self._refill()
                if self._tokens >= weight:
                    self._tokens -= weight
                    return
                wait = (weight - self._tokens) / self.rate
            self.waited_s += wait
            self._sleep(wait)

    def charge(self, weight: float) -> None:
        """Take `weight` tokens now, possibly going negative (the next acquire then waits)."""
        with self._lock:
            self._refill()
            self._tokens -= float(weight)
