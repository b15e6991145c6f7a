"""Paper-exchange test helpers: seeded and scripted bar sources injected into a manual-clock server."""

from __future__ import annotations

import numpy as np
import pandas as pd

from live.paper_exchange.config import PaperExchangeConfig
from live.paper_exchange.server import ServerHandle, start_in_thread

PERP_DEXS = ["", "xyz"]
STARTED: list[ServerHandle] = []  # every server a test started, for the invariant check at teardown (conftest)


def random_walk_bars(
    n: int, seed: int = 0, start_price: float = 20000.0, start_ms: int = 1_699_999_980_000
) -> pd.DataFrame:
    """A small seeded random walk of 1m bars with the synthetic generator's columns."""
    rng = np.random.default_rng(seed)
    close = start_price * np.exp(np.cumsum(rng.normal(0, 0.0008, n)))
    open_ = np.r_[start_price, close[:-1]]
    wick = np.abs(rng.normal(0, 0.0004, n)) * close
    ts = pd.to_datetime(start_ms + np.arange(n) * 60_000, unit="ms", utc=True)
    return pd.DataFrame(
        {
            "timestamp": ts,
            "open": open_,
            "high": np.maximum(open_, close) + wick,
            "low": np.minimum(open_, close) - wick,
            "close": close,
            "volume": rng.uniform(10, 100, n),
            "trades": rng.integers(5, 50, n),
            "source": "random_walk",
        }
    )


def bars_from_closes(closes: list[float], start_ms: int = 1_699_999_980_000, wick: float = 0.0) -> pd.DataFrame:
    """Bars with chosen opens/closes (open = previous close) for scripted price paths."""
    closes_a = np.asarray(closes, dtype=float)
    open_ = np.r_[closes_a[0], closes_a[:-1]]
    ts = pd.to_datetime(start_ms + np.arange(len(closes_a)) * 60_000, unit="ms", utc=True)
    return pd.DataFrame(
        {
            "timestamp": ts,
            "open": open_,
            "high": np.maximum(open_, closes_a) + wick,
            "low": np.minimum(open_, closes_a) - wick,
            "close": closes_a,
            "volume": 50.0,
            "trades": 10,
            "source": "scripted",
        }
    )


def start(bars: pd.DataFrame, **kw) -> ServerHandle:
    """A manual-clock server (speed 0) on a free loopback port, checking its invariants after every action/step."""
    kw.setdefault("speed", 0.0)
    kw.setdefault("history_bars", 100)
    kw.setdefault("funding_rate_hourly", 0.0)
    kw.setdefault("check_invariants", True)
    h = start_in_thread(PaperExchangeConfig(port=0, **kw), bars=bars)
    STARTED.append(h)
    return h
