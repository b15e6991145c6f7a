"""Causal bar features for strategies and policies.

Every feature at bar t uses bars 0..t only (the bar's close is known when the decision at t is taken); warm-up rows
where a window is not yet full are 0, never NaN. The indicator functions (`rsi`, `macd`, `atr`) return float64 with
NaN during warm-up and follow the usual definitions (Wilder RSI and ATR, EMA-based MACD seeded at the first value,
as in the `ta` library). `fit_norm` takes statistics from a training span only; `NormStats.apply` uses them anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numba import njit

from backtest.config import TradingConfig

RETURN_HORIZONS = (1, 5, 15, 60)
VOL_WINDOWS = (15, 60)
VOLUME_WINDOW = 60
NORM_CLIP = 10.0

FEATURE_NAMES: tuple[str, ...] = (
    *(f"ret_{k}" for k in RETURN_HORIZONS),  # log(close_t / close_{t-k})
    *(f"vol_{w}" for w in VOL_WINDOWS),  # std of the last w one-bar log returns
    "rsi",  # (Wilder RSI - 50) / 50, in [-1, 1]
    "macd_hist",  # MACD histogram / close
    "atr",  # Wilder ATR / close
    "volume_z",  # z-score of log(1 + volume) over the last VOLUME_WINDOW bars
    "range",  # (high - low) / close
    "tod_sin",  # time of day of the bar open, UTC
    "tod_cos",
    "dow_sin",  # day of week of the bar open, UTC
    "dow_cos",
)


@njit(cache=True)
def _rolling_mean_std(x, window):  # pragma: no cover - compiled
    """Mean and population std of each full trailing window (NaN before the window fills), in one pass."""
    n = x.shape[0]
    mean = np.full(n, np.nan)
    std = np.full(n, np.nan)
    for t in range(window - 1, n):
        s = 0.0
        for i in range(t - window + 1, t + 1):
            s += x[i]
        m = s / window
        v = 0.0
        for i in range(t - window + 1, t + 1):
            v += (x[i] - m) * (x[i] - m)
        mean[t] = m
        std[t] = np.sqrt(v / window)
    return mean, std


@njit(cache=True)
def _ema(x, span, first):  # pragma: no cover - compiled
    """EMA with alpha = 2 / (span + 1), seeded with x[first]; NaN before `first`."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    if first >= n:
        return out
    a = 2.0 / (span + 1.0)
    e = x[first]
    out[first] = e
    for t in range(first + 1, n):
        e = a * x[t] + (1.0 - a) * e
        out[t] = e
    return out


@njit(cache=True)
def _rsi(close, period):  # pragma: no cover - compiled
    n = close.shape[0]
    out = np.full(n, np.nan)
    if n <= period:
        return out
    gain = 0.0
    loss = 0.0
    for t in range(1, period + 1):
        d = close[t] - close[t - 1]
        if d > 0:
            gain += d
        else:
            loss -= d
    gain /= period
    loss /= period
    for t in range(period, n):
        if t > period:
            d = close[t] - close[t - 1]
            g = d if d > 0 else 0.0
            lo = -d if d < 0 else 0.0
            gain = (gain * (period - 1) + g) / period
            loss = (loss * (period - 1) + lo) / period
        if loss == 0.0:
            out[t] = 100.0 if gain > 0.0 else 50.0
        else:
            out[t] = 100.0 - 100.0 / (1.0 + gain / loss)
    return out


@njit(cache=True)
def _atr(high, low, close, period):  # pragma: no cover - compiled
    n = close.shape[0]
    out = np.full(n, np.nan)
    if n < period:
        return out
    tr = np.empty(n)
    tr[0] = high[0] - low[0]
    for t in range(1, n):
        pc = close[t - 1]
        tr[t] = max(high[t] - low[t], abs(high[t] - pc), abs(low[t] - pc))
    s = 0.0
    for t in range(period):
        s += tr[t]
    a = s / period
    out[period - 1] = a
    for t in range(period, n):
        a = (a * (period - 1) + tr[t]) / period
        out[t] = a
    return out


def rsi(close: np.ndarray, period: int) -> np.ndarray:
    """Wilder RSI (0..100), seeded with the mean gain/loss of the first `period` changes; NaN before index period.

    A window with neither gains nor losses reads 50.
    """
    return _rsi(np.asarray(close, dtype=np.float64), int(period))


def macd(close: np.ndarray, fast: int, slow: int, signal: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(macd, signal, histogram): EMA(fast) - EMA(slow) of close, its EMA(signal), and their difference.

    EMAs are seeded with the first value; macd is NaN before index slow - 1, signal and histogram before
    slow + signal - 2 (the same conventions as `ta.trend.MACD`).
    """
    c = np.asarray(close, dtype=np.float64)
    line = _ema(c, float(fast), 0) - _ema(c, float(slow), 0)
    line[: slow - 1] = np.nan
    sig = _ema(np.nan_to_num(line), float(signal), slow - 1)
    sig[: slow + signal - 2] = np.nan
    return line, sig, line - sig


def atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int) -> np.ndarray:
    """Wilder ATR: mean true range of the first `period` bars, then (prev * (period - 1) + TR) / period.

    The first bar's true range is high - low; NaN before index period - 1.
    """
    f = np.float64
    return _atr(np.asarray(high, f), np.asarray(low, f), np.asarray(close, f), int(period))


def _lag_log_return(log_c: np.ndarray, k: int) -> np.ndarray:
    out = np.full(log_c.shape[0], np.nan)
    out[k:] = log_c[k:] - log_c[:-k]
    return out


def compute_features(bars: pd.DataFrame, trading: TradingConfig) -> np.ndarray:
    """Feature matrix float32 [T, len(FEATURE_NAMES)] for `bars` (bar schema), causal, warm-up rows 0."""
    o = bars["open"].to_numpy(dtype=np.float64)
    h = bars["high"].to_numpy(dtype=np.float64)
    lo = bars["low"].to_numpy(dtype=np.float64)
    c = bars["close"].to_numpy(dtype=np.float64)
    v = bars["volume"].to_numpy(dtype=np.float64)
    n = len(c)
    del o
    log_c = np.log(c)
    r1 = _lag_log_return(log_c, 1)
    cols = [_lag_log_return(log_c, k) for k in RETURN_HORIZONS]
    r1_filled = np.nan_to_num(r1)
    for w in VOL_WINDOWS:
        vol = np.full(n, np.nan)
        if n > 1:
            vol[1:] = _rolling_mean_std(r1_filled[1:], w)[1]
        cols.append(vol)
    cols.append((rsi(c, trading.rsi_period) - 50.0) / 50.0)
    cols.append(macd(c, trading.macd_fast, trading.macd_slow, trading.macd_signal)[2] / c)
    cols.append(atr(h, lo, c, trading.atr_stop.period) / c)
    lv = np.log1p(np.maximum(v, 0.0))
    mean, std = _rolling_mean_std(lv, VOLUME_WINDOW)
    with np.errstate(invalid="ignore", divide="ignore"):
        cols.append(np.where(std > 1e-12, (lv - mean) / std, 0.0))
    cols.append((h - lo) / c)
    if pd.api.types.is_datetime64_any_dtype(bars["timestamp"]):
        ts = bars["timestamp"].dt.as_unit("ms").to_numpy(dtype="datetime64[ms]").view(np.int64)
    else:
        ts = bars["timestamp"].to_numpy(dtype=np.int64)
    sec = ts // 1000
    tod = 2 * np.pi * (sec % 86400) / 86400.0
    dow = 2 * np.pi * (((sec // 86400) + 3) % 7) / 7.0
    cols += [np.sin(tod), np.cos(tod), np.sin(dow), np.cos(dow)]
    out = np.stack(cols, axis=1)
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)


@dataclass
class NormStats:
    """Per-feature mean and std from a training span; `apply` standardises and clips to +-NORM_CLIP."""

    mean: np.ndarray
    std: np.ndarray
    names: tuple[str, ...]

    def apply(self, x: np.ndarray) -> np.ndarray:
        z = (np.asarray(x, dtype=np.float64) - self.mean) / self.std
        return np.clip(z, -NORM_CLIP, NORM_CLIP).astype(np.float32)

    def to_dict(self) -> dict:
        return {"mean": self.mean.tolist(), "std": self.std.tolist(), "names": list(self.names)}

    @classmethod
    def from_dict(cls, d: dict) -> NormStats:
        return cls(
            mean=np.asarray(d["mean"], dtype=np.float64),
            std=np.asarray(d["std"], dtype=np.float64),
            names=tuple(d["names"]),
        )


def fit_norm(x: np.ndarray, names: tuple[str, ...] = FEATURE_NAMES) -> NormStats:
    """Mean and std per column of `x` (pass the training span only); constant columns get std 1."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != len(names):
        raise ValueError(f"expected [T, {len(names)}] features, got shape {x.shape}")
    mean = x.mean(axis=0) if len(x) else np.zeros(x.shape[1])
    std = x.std(axis=0) if len(x) else np.ones(x.shape[1])
    std = np.where(std > 1e-12, std, 1.0)
    return NormStats(mean=mean, std=std, names=tuple(names))
