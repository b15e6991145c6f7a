"""Market arrays the simulator reads: bar prices, ATR, the per-bar funding rate and where entries may open."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from backtest.config import Params

if TYPE_CHECKING:  # pandas is imported where used: Ray workers never need it (~0.3 s of start-up)
    import pandas as pd

HOUR_MS = 3_600_000


@dataclass(frozen=True)
class Market:
    """Contiguous float64 arrays over bars [0, T); `ts` holds bar open times in ms since the epoch (UTC)."""

    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    atr: np.ndarray  # ATR known at each bar's close (0 when the ATR stop is off)
    funding: np.ndarray  # rate charged at each bar's open on open notional (non-zero on hour boundaries)
    bar_seconds: int
    opens: np.ndarray | None = None  # 1.0 where an entry may fill at the bar's open, 0.0 where the session forbids it

    def __post_init__(self) -> None:
        if self.opens is None:
            object.__setattr__(self, "opens", np.ones(len(self.ts)))

    @property
    def n_bars(self) -> int:
        return len(self.ts)

    @classmethod
    def from_bars(cls, bars: pd.DataFrame, params: Params, funding_hourly: pd.Series | None = None) -> Market:
        """Build from validated bars; funding from `funding_hourly` (rates indexed by hour) or the config constant."""
        ts = _to_ms(bars["timestamp"])
        high = bars["high"].to_numpy(np.float64)
        low = bars["low"].to_numpy(np.float64)
        close = bars["close"].to_numpy(np.float64)
        atr_cfg = params.trading.atr_stop
        if atr_cfg.enabled:
            from backtest.features import atr as atr_indicator

            atr = np.nan_to_num(atr_indicator(high, low, close, atr_cfg.period), nan=0.0)
        else:
            atr = np.zeros(len(ts))
        funding = funding_per_bar(ts, params.backtest.bar_seconds, params.backtest.funding_rate_hourly, funding_hourly)
        return cls(
            opens=opens_per_bar(ts, params.market.coin, params.trading.trade_closed_sessions),
            ts=ts,
            open=np.ascontiguousarray(bars["open"].to_numpy(np.float64)),
            high=np.ascontiguousarray(high),
            low=np.ascontiguousarray(low),
            close=np.ascontiguousarray(close),
            atr=np.ascontiguousarray(atr, dtype=np.float64),
            funding=funding,
            bar_seconds=params.backtest.bar_seconds,
        )


def opens_per_bar(ts: np.ndarray, coin: str, trade_closed_sessions: bool) -> np.ndarray:
    """1.0 where an entry may fill at the bar's open: everywhere, unless `trading.trade_closed_sessions` is false,
    then only while the market's outside market is in session (`backtest.venue.calendar`). The live trader applies
    the same rule (`live.risk.session_blocks_opens`) at the open its order fills at."""
    if trade_closed_sessions:
        return np.ones(len(ts))
    from backtest.venue.calendar import calendar_for

    return np.ascontiguousarray(calendar_for(coin).is_open(ts), dtype=np.float64)


def _to_ms(timestamps: pd.Series) -> np.ndarray:
    import pandas as pd

    values = pd.to_datetime(timestamps, utc=True)
    return np.ascontiguousarray(values.astype("datetime64[ms, UTC]").astype("int64").to_numpy(np.int64))


def funding_per_bar(
    ts: np.ndarray, bar_seconds: int, constant_hourly: float, hourly: pd.Series | None = None
) -> np.ndarray:
    """Per-bar funding rate: the hourly rate at every bar that opens on an hour boundary.

    Bars of an hour or longer pay the rate once per hour they span. A series (index: hour timestamps, UTC) overrides
    the constant for the hours it covers.
    """
    out = np.zeros(len(ts), dtype=np.float64)
    hours_per_bar = max(1.0, bar_seconds / 3600.0)
    on_hour = (ts % HOUR_MS) == 0 if bar_seconds < 3600 else np.ones(len(ts), dtype=bool)
    out[on_hour] = constant_hourly * hours_per_bar
    if hourly is not None and len(hourly):
        import pandas as pd

        idx = pd.to_datetime(hourly.index, utc=True).astype("datetime64[ms, UTC]").astype("int64").to_numpy()
        rates = dict(zip(idx.tolist(), hourly.to_numpy(np.float64).tolist()))
        hour_of_bar = (ts // HOUR_MS) * HOUR_MS
        for j in np.flatnonzero(on_hour):
            rate = rates.get(int(hour_of_bar[j]))
            if rate is not None:
                out[j] = rate * hours_per_bar
    return out
