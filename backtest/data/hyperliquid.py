"""REST access to HyperLiquid candles through the SDK's `Info`, and `fetch` into the store.

The API keeps only the most recent `limits.CANDLE_HISTORY_LIMIT` (5000) candles per coin and interval (1m is about
3.5 days), so a fetch reports how far back it could actually go; longer history comes from `recorder.py`. Requests
are paced by a `WeightBudget` (candleSnapshot: 20 weight plus 1 per 60 candles) and retried by `call_with_retry`,
both from the venue adapter (`backtest/venue/`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from backtest.config import interval_seconds
from backtest.data.schema import conform, empty_bars, merge_bars, validate_bars
from backtest.data.store import BarStore
from backtest.venue.limits import CANDLE_HISTORY_LIMIT as API_CANDLE_LIMIT
from backtest.venue.ratelimit import INFO_WEIGHT, WeightBudget, candle_snapshot_weight
from backtest.venue.retry import RetryPolicy, call_with_retry
from backtest.venue.sdk import make_info

log = logging.getLogger(__name__)


def candles_to_bars(rows: list[dict[str, Any]], source: str) -> pd.DataFrame:
    """API candle dicts ({t, o, h, l, c, v, n}, prices as strings) to the bar schema, labelled `source`."""
    if not rows:
        return empty_bars()
    df = pd.DataFrame(
        {
            "timestamp": np.array([int(r["t"]) for r in rows], dtype=np.int64),
            "open": np.array([r["o"] for r in rows], dtype=np.float64),
            "high": np.array([r["h"] for r in rows], dtype=np.float64),
            "low": np.array([r["l"] for r in rows], dtype=np.float64),
            "close": np.array([r["c"] for r in rows], dtype=np.float64),
            "volume": np.array([r["v"] for r in rows], dtype=np.float64),
            "trades": np.array([int(r.get("n", 0)) for r in rows], dtype=np.int64),
            "source": source,
        }
    )
    return merge_bars(empty_bars(), conform(df))


@dataclass
class FetchReport:
    """What a fetch asked for and what it got."""

    coin: str
    interval: str
    requested_start: pd.Timestamp
    requested_end: pd.Timestamp
    earliest_available: pd.Timestamp | None
    n_bars: int
    pages: int
    waited_s: float

    @property
    def truncated(self) -> bool:
        """True when the API's window began after the requested start."""
        step = pd.Timedelta(seconds=interval_seconds(self.interval))
        return self.earliest_available is None or self.earliest_available - self.requested_start >= step

    def message(self) -> str:
        head = f"fetched {self.n_bars} closed {self.interval} bars of {self.coin} in {self.pages} requests"
        if self.earliest_available is None:
            return f"{head}; the API returned nothing for {self.requested_start} .. {self.requested_end}"
        if self.truncated:
            return (
                f"{head}; requested start {self.requested_start}, earliest available {self.earliest_available}: "
                f"the API keeps only the latest {API_CANDLE_LIMIT} candles. Run `python -m backtest.data record` "
                "to build longer history."
            )
        return f"{head}; covered the requested span from {self.requested_start}"


def fetch_candles(
    info: Any,
    coin: str,
    interval: str,
    start_ms: int,
    end_ms: int,
    budget: WeightBudget | None = None,
    policy: RetryPolicy | None = None,
    progress: bool = False,
    source: str = "hyperliquid",
) -> tuple[pd.DataFrame, FetchReport]:
    """Closed candles with start_ms <= t and t + interval <= end_ms, paging forward from the last `t`."""
    step = interval_seconds(interval) * 1000
    budget = budget or WeightBudget()
    pages, rows_all = 0, []
    earliest = None
    cursor = start_ms
    expected = max(0, (end_ms - start_ms) // step)
    with tqdm(total=expected, unit="bar", disable=not progress, desc=f"fetch {coin} {interval}") as bar:
        while cursor < end_ms:
            budget.acquire(INFO_WEIGHT)
            page_start = cursor
            rows = call_with_retry(
                lambda s=page_start: info.candles_snapshot(coin, interval, s, end_ms),
                what=f"candleSnapshot {coin} {interval} from {pd.Timestamp(page_start, unit='ms', tz='UTC')}",
                policy=policy,
            )
            pages += 1
            budget.charge(candle_snapshot_weight(len(rows or [])))
            rows = [r for r in rows or [] if int(r["t"]) >= cursor]
            if not rows:
                break
            if earliest is None:
                earliest = int(rows[0]["t"])
                if earliest - start_ms >= step:
                    bar.total = max(0, (end_ms - earliest) // step)
            rows_all.extend(rows)
            bar.update(len(rows))
            cursor = int(rows[-1]["t"]) + step
    rows_all = [r for r in rows_all if int(r["t"]) + step <= end_ms]
    bars = validate_bars(candles_to_bars(rows_all, source), f"candles of {coin}")
    report = FetchReport(
        coin=coin,
        interval=interval,
        requested_start=pd.Timestamp(start_ms, unit="ms", tz="UTC"),
        requested_end=pd.Timestamp(end_ms, unit="ms", tz="UTC"),
        earliest_available=None if earliest is None else pd.Timestamp(earliest, unit="ms", tz="UTC"),
        n_bars=len(bars),
        pages=pages,
        waited_s=budget.waited_s,
    )
    log.info(report.message())
    return bars, report


def fetch_to_store(
    store: BarStore,
    base_url: str,
    coin: str,
    dex: str,
    interval: str,
    days: float,
    timeout_s: float,
    progress: bool = True,
    policy: RetryPolicy | None = None,
    now_ms: int | None = None,
) -> FetchReport:
    """Fetch the last `days` of closed candles (resuming after the newest stored bar) into the real namespace."""
    end_ms = int(time.time() * 1000) if now_ms is None else now_ms
    start_ms = end_ms - int(days * 86400 * 1000)
    step = interval_seconds(interval) * 1000
    start_ms -= start_ms % step
    last = store.last_timestamp(coin, interval, "real")
    if last is not None:
        start_ms = max(start_ms, last.value // 1_000_000 + step)
    info = make_info(base_url, dex, timeout_s, skip_ws=True, policy=policy)
    bars, report = fetch_candles(info, coin, interval, start_ms, end_ms, policy=policy, progress=progress)
    store.append(bars, coin, interval)
    return report
