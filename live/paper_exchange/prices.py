"""Bar replay: 1-minute bars walked as an intrabar path (open -> low/high -> close), candles and a synthetic book.

The path visits open, then the extreme nearer the direction opposite to the bar's body first (an up bar goes
open -> low -> high -> close, a down bar open -> high -> low -> close) so TP/SL triggers fire intrabar and in a
deterministic order. Each call to `step()` moves one point; point 0 of a bar is its open (a gap from the previous
close). Candles are built only from what has been replayed, the current bar partially.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

POINTS_PER_BAR = 4
MINUTE_MS = 60_000
INTERVAL_MS = {
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "2h": 7_200_000,
    "4h": 14_400_000,
    "8h": 28_800_000,
    "12h": 43_200_000,
    "1d": 86_400_000,
    "3d": 259_200_000,
    "1w": 604_800_000,
    "1M": 2_592_000_000,  # approximated as 30 days
}


PRICE_FILE_COLUMNS = ("timestamp", "open", "high", "low", "close")


def validated_bars(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """Bars the replay can trust, checked by the data layer's own `validate_bars` (finite positive prices, low <=
    open/close <= high, strictly increasing timestamps); `volume`/`trades` default to 0 and no source label is
    needed. Raises DataError (a ValueError) naming the file and the first bad rows."""
    from backtest.data.schema import DataError, validate_bars

    missing = [c for c in PRICE_FILE_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"{name}: missing columns {missing}; price files need {list(PRICE_FILE_COLUMNS)}")
    out = df.reset_index(drop=True).copy()
    ts = out["timestamp"]
    out["timestamp"] = pd.to_datetime(ts, utc=True) if pd.api.types.is_datetime64_any_dtype(ts) else ts
    for col, default in (("volume", 0.0), ("trades", 0)):
        if col not in out.columns:
            out[col] = default
    try:
        validate_bars(out, name, check_source=False)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"{name}: columns of the wrong type ({exc})") from None
    if len(out) < 2:
        raise DataError(f"{name}: {len(out)} bar(s); the replay needs at least 2")
    return out


def load_bars(data: str, n_bars: int, seed: int, start: pd.Timestamp | None = None) -> tuple[pd.DataFrame, str]:
    """Bars for the CLI: "synthetic" uses `backtest.data.synth.generate_bars`, anything else is a Parquet path.

    Returns the frame, validated like every bar the data layer loads, and a one-line description of its origin.
    """
    if data == "synthetic":
        from backtest.config import load_params
        from backtest.data.synth import generate_bars
        from backtest.venue.calendar import calendar_for

        params = load_params()
        calendar = calendar_for(params.market.coin)  # the replayed path is that market's: its closed sessions too
        df = generate_bars(n_bars, params.synth, start=start, interval_s=60, seed=seed, calendar=calendar)
        hours = "" if calendar.always_open or not params.synth.off_session.enabled else f", {calendar.name} hours"
        where = f"synthetic bars from backtest.data.synth.generate_bars (n={n_bars}, seed={seed}{hours})"
        return validated_bars(df, "synthetic bars"), where
    path = Path(data)
    if not path.exists():
        raise FileNotFoundError(f"--data {data!r}: neither 'synthetic' nor an existing Parquet file or directory")
    files = sorted(path.rglob("*.parquet")) if path.is_dir() else [path]
    if not files:
        raise FileNotFoundError(f"--data {data!r}: no .parquet files found")
    frames = []
    for f in files:
        try:
            frames.append(pd.read_parquet(f))
        except (OSError, ValueError) as exc:
            raise ValueError(f"--data {f}: not a readable Parquet file ({exc})") from None
    df = validated_bars(pd.concat(frames, ignore_index=True), f"--data {data}")
    return df, f"Parquet bars from {data} ({len(files)} file(s), {len(df)} bars)"


@dataclass
class Segment:
    """One replay step: the price moved from `start` to `end`; `gap` when `end` is a new bar's open."""

    start: float
    end: float
    bar: int
    point: int
    gap: bool

    @property
    def low(self) -> float:
        return min(self.start, self.end)

    @property
    def high(self) -> float:
        return max(self.start, self.end)


class PriceFeed:
    """Replays a bar frame point by point; `price` is the base (unscaled) path price now."""

    def __init__(self, bars: pd.DataFrame, history_bars: int, candle_limit: int) -> None:
        if len(bars) < 2:
            raise ValueError("need at least 2 bars to replay")
        ts = pd.to_datetime(bars["timestamp"], utc=True)
        self.t_ms = ts.dt.as_unit("ms").astype("int64").to_numpy(dtype=np.int64)
        self.o = bars["open"].to_numpy(dtype=float, copy=True)
        self.h = bars["high"].to_numpy(dtype=float, copy=True)
        self.lo = bars["low"].to_numpy(dtype=float, copy=True)
        self.c = bars["close"].to_numpy(dtype=float, copy=True)
        self.v = bars["volume"].to_numpy(dtype=float) if "volume" in bars else np.zeros(len(bars))
        self.n = bars["trades"].to_numpy(dtype=np.int64) if "trades" in bars else np.zeros(len(bars), np.int64)
        self.candle_limit = candle_limit
        self.bar = min(max(history_bars, 0), len(bars) - 1)
        self.point = 0
        self.frozen = False
        self._cur_high = self.o[self.bar]
        self._cur_low = self.o[self.bar]

    def __len__(self) -> int:
        return len(self.o)

    @property
    def first_open(self) -> float:
        return float(self.o[0])

    def path(self, bar: int) -> tuple[float, float, float, float]:
        o, h, lo, c = self.o[bar], self.h[bar], self.lo[bar], self.c[bar]
        return (o, lo, h, c) if c >= o else (o, h, lo, c)

    @property
    def price(self) -> float:
        return float(self.path(self.bar)[self.point])

    @property
    def now_ms(self) -> int:
        """Replay clock: the current bar's open time plus the elapsed quarter-minutes."""
        return int(self.t_ms[self.bar] + self.point * (MINUTE_MS // POINTS_PER_BAR))

    @property
    def exhausted(self) -> bool:
        return self.bar >= len(self.o) - 1 and self.point >= POINTS_PER_BAR - 1

    def remaining_range(self) -> tuple[float, float]:
        """Low and high the rest of the current bar covers, from the current point to its close."""
        pts = self.path(self.bar)[self.point :]
        return float(min(pts)), float(max(pts))

    def step(self, force: bool = False) -> Segment | None:
        """Advance one path point; None when frozen (unless `force`: journal replay) or at the end of the data."""
        if (self.frozen and not force) or self.exhausted:
            return None
        start = self.price
        if self.point < POINTS_PER_BAR - 1:
            self.point += 1
        else:
            self.bar += 1
            self.point = 0
        end = self.price
        if self.point == 0:
            self._cur_high = self._cur_low = end
        else:
            self._cur_high = max(self._cur_high, end)
            self._cur_low = min(self._cur_low, end)
        return Segment(start, end, self.bar, self.point, self.point == 0)

    def _current_candle(self) -> tuple[int, float, float, float, float, float, int]:
        b = self.bar
        frac = (self.point + 1) / POINTS_PER_BAR
        return (
            int(self.t_ms[b]),
            float(self.o[b]),
            float(self._cur_high),
            float(self._cur_low),
            self.price,
            float(self.v[b]) * frac,
            int(self.n[b] * frac),
        )

    def candles(
        self, interval: str, start_ms: int | None = None, end_ms: int | None = None
    ) -> list[tuple[int, int, float, float, float, float, float, int]]:
        """Replayed candles (t, T, o, h, l, c, v, n) of `interval`, only the latest `candle_limit`, ascending."""
        step = INTERVAL_MS[interval]
        per = max(step // MINUTE_MS, 1)
        lo_bar = max(0, self.bar - self.candle_limit * per - per)
        idx = slice(lo_bar, self.bar)
        t = self.t_ms[idx]
        o, h, lo, c, v, n = self.o[idx], self.h[idx], self.lo[idx], self.c[idx], self.v[idx], self.n[idx]
        cur = self._current_candle()
        t = np.append(t, cur[0])
        o, h, lo, c = np.append(o, cur[1]), np.append(h, cur[2]), np.append(lo, cur[3]), np.append(c, cur[4])
        v, n = np.append(v, cur[5]), np.append(n, cur[6])
        bucket = t // step
        starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
        ends = np.r_[starts[1:], len(t)] - 1
        out_t = bucket[starts] * step
        oo, cc = o[starts], c[ends]
        hh, ll = np.maximum.reduceat(h, starts), np.minimum.reduceat(lo, starts)
        vv, nn = np.add.reduceat(v, starts), np.add.reduceat(n, starts)
        rows = []
        keep_from = max(0, len(out_t) - self.candle_limit)
        for i in range(keep_from, len(out_t)):
            ti = int(out_t[i])
            if start_ms is not None and ti < start_ms:
                continue
            if end_ms is not None and ti > end_ms:
                continue
            rows.append((ti, ti + step - 1, oo[i], hh[i], ll[i], cc[i], float(vv[i]), int(nn[i])))
        return rows

    def position(self) -> dict[str, Any]:
        return {"bar": self.bar, "point": self.point, "frozen": self.frozen}

    def restore(self, pos: dict[str, Any]) -> None:
        self.bar = min(int(pos["bar"]), len(self.o) - 1)
        self.point = min(int(pos["point"]), POINTS_PER_BAR - 1)
        self.frozen = bool(pos.get("frozen", False))
        pts = self.path(self.bar)[: self.point + 1]
        self._cur_high, self._cur_low = max(pts), min(pts)


def book_levels(
    mid: float, spread_bps: float, n_levels: int, step_bps: float, level_notional: float
) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """Bids (descending) and asks (ascending) as (price, size) around `mid`, unrounded."""
    half = spread_bps / 2e4
    bids, asks = [], []
    for i in range(n_levels):
        off = half + i * step_bps / 1e4
        bp, ap = mid * (1 - off), mid * (1 + off)
        notional = level_notional * (1 + 0.5 * i)
        bids.append((bp, notional / bp))
        asks.append((ap, notional / ap))
    return bids, asks
