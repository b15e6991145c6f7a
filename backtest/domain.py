"""Domain objects shared by the data layer, the venue adapter and the live trader: plain, typed, venue-neutral.

Prices and sizes are floats in the coin's quote currency (USD) and coin units; times are UTC milliseconds.
Wire shapes (HyperLiquid's JSON with prices as strings) are translated to and from these in `backtest/venue/wire.py`
only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd

Side = Literal[1, -1]


@dataclass(frozen=True)
class Bar:
    """One closed candle: open time, OHLC, volume and trade count, labelled with where it came from."""

    time_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: float = 0.0
    trades: int = 0
    source: str = "hyperliquid"

    @property
    def timestamp(self) -> pd.Timestamp:
        return pd.Timestamp(self.time_ms, unit="ms", tz="UTC")

    def to_row(self) -> dict:
        """A row of the bar schema (`backtest.data.schema`)."""
        return {
            "timestamp": self.timestamp,
            "open": self.open,
            "high": self.high,
            "low": self.low,
            "close": self.close,
            "volume": self.volume,
            "trades": self.trades,
            "source": self.source,
        }


def bars_frame(bars: list[Bar]) -> pd.DataFrame:
    """Bars as a bar-schema DataFrame (ascending as given)."""
    cols = ["timestamp", "open", "high", "low", "close", "volume", "trades", "source"]
    return pd.DataFrame([b.to_row() for b in bars], columns=cols)


def frame_bars(df: pd.DataFrame) -> list[Bar]:
    """A bar-schema DataFrame as Bar objects."""
    ts = pd.to_datetime(df["timestamp"], utc=True).dt.as_unit("ms").astype("int64").to_numpy()
    src = df["source"].astype(str).to_numpy() if "source" in df else ["unknown"] * len(df)
    trades = df["trades"].to_numpy() if "trades" in df else [0] * len(df)
    return [
        Bar(int(t), float(o), float(h), float(lo), float(c), float(v), int(n), str(s))
        for t, o, h, lo, c, v, n, s in zip(
            ts, df["open"], df["high"], df["low"], df["close"], df["volume"], trades, src
        )
    ]


@dataclass(frozen=True)
class Position:
    """A one-way position on the venue: signed size (coin units), average entry price."""

    coin: str
    size: float  # > 0 long, < 0 short
    entry_px: float
    leverage: float = 1.0
    unrealized_pnl: float = 0.0
    margin_used: float = 0.0

    @property
    def side(self) -> int:
        return 1 if self.size > 0 else (-1 if self.size < 0 else 0)


@dataclass(frozen=True)
class AccountState:
    """What the venue says about the account: equity (account value), withdrawable cash, positions by coin."""

    equity: float
    withdrawable: float
    margin_used: float
    positions: dict[str, Position]
    time_ms: int = 0


@dataclass(frozen=True)
class OpenOrder:
    """A resting order or trigger on the venue."""

    coin: str
    oid: int
    cloid: str | None
    is_buy: bool
    size: float
    limit_px: float
    reduce_only: bool = False
    trigger_px: float | None = None
    tpsl: str | None = None  # "tp" | "sl" for triggers
    timestamp_ms: int = 0


@dataclass(frozen=True)
class Fill:
    """One execution of one of our orders."""

    coin: str
    oid: int
    cloid: str | None
    is_buy: bool
    size: float
    px: float
    fee: float
    closed_pnl: float
    time_ms: int
    tid: int
    start_position: float = 0.0
    direction: str = ""
    crossed: bool = True  # True: taker


@dataclass(frozen=True)
class OrderStatus:
    """The venue's answer to 'what happened to this order' (looked up by oid or client order id)."""

    found: bool
    status: str = "unknownOid"  # open | filled | canceled | triggered | rejected | ... | unknownOid
    oid: int | None = None
    cloid: str | None = None
    filled_size: float = 0.0
