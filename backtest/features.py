"""Causal bar features for strategies and policies.

Every feature at bar t uses bars 0..t only (the bar's close is known when the decision at t is taken); warm-up rows
where a window is not yet full are 0, never NaN. The session features read the market's published calendar
(`backtest.venue.calendar`: when XYZ100's oracle follows NQ futures) at the bar's open time, a schedule known in
advance, not data: `session_open` is 1 while the outside market trades, `session_to_change` the time until the
session next opens or closes, as a fraction of SESSION_HORIZON_H hours (1 when further away, and always for a
24/7 market). The indicator functions (`rsi`, `macd`, `atr`) return float64 with
NaN during warm-up and follow the usual definitions (Wilder RSI and ATR, EMA-based MACD seeded at the first value,
as in the `ta` library). `fit_norm` takes statistics from a training span only; `NormStats.apply` uses them anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from backtest.config import TradingConfig
from backtest.jit import cached_njit

if TYPE_CHECKING:  # pandas is imported where used: Ray workers never need it (~0.3 s of start-up)
    import pandas as pd

    from backtest.venue.calendar import SessionClock

RETURN_HORIZONS = (1, 5, 15, 60)
SESSION_HORIZON_H = 72.0  # session_to_change saturates this far ahead (a weekend is 48-49 h)
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
    "session_open",  # 1 when the market's outside market trades at the bar's open (24/7 markets: always 1)
    "session_to_change",  # time to the next session open or close / SESSION_HORIZON_H, in [0, 1]
)
N_KERNEL_FEATURES = len(FEATURE_NAMES) - 2  # the step kernel's columns; the session columns follow


# --- one kernel, two callers -----------------------------------------------------------------------------------
# Every indicator is a `*_step` function over a small state vector: `compute_features` (whole series) and
# `FeatureStream` (one closed bar at a time, live) both call `_feature_step`, so they give bit-identical rows.

# indicator state fields
_RSI_PREV, _RSI_GAIN, _RSI_LOSS = 0, 1, 2
_EMA_FAST, _EMA_SLOW, _MACD_SIG = 3, 4, 5
_ATR_PREV, _ATR_SUM, _ATR = 6, 7, 8
_N = 9  # bars seen
# latest indicator values, float64, NaN during warm-up (the rules strategy reads these)
_RSI_VALUE, _MACD_LINE, _MACD_SIGNAL, _MACD_HIST, _MACD_HIST_PREV, _ATR_VALUE = 10, 11, 12, 13, 14, 15
N_STATE = 16
LC_RING = max(RETURN_HORIZONS) + 1  # log closes kept for the return horizons
WIN_RING = max(*VOL_WINDOWS, VOLUME_WINDOW)  # one-bar returns and log volumes kept for the rolling windows


@cached_njit(inline="always")
def rsi_step(st, n, c, period):  # pragma: no cover - compiled
    """Wilder RSI after bar n (0-based) with close c: seeded with the mean gain/loss of the first `period` changes."""
    if n == 0:
        st[_RSI_PREV] = c
        st[_RSI_GAIN] = 0.0
        st[_RSI_LOSS] = 0.0
        return np.nan
    d = c - st[_RSI_PREV]
    st[_RSI_PREV] = c
    if n <= period:
        if d > 0:
            st[_RSI_GAIN] += d
        else:
            st[_RSI_LOSS] -= d
        if n < period:
            return np.nan
        st[_RSI_GAIN] /= period
        st[_RSI_LOSS] /= period
    else:
        g = d if d > 0 else 0.0
        lo = -d if d < 0 else 0.0
        st[_RSI_GAIN] = (st[_RSI_GAIN] * (period - 1) + g) / period
        st[_RSI_LOSS] = (st[_RSI_LOSS] * (period - 1) + lo) / period
    gain, loss = st[_RSI_GAIN], st[_RSI_LOSS]
    if loss == 0.0:
        return 100.0 if gain > 0.0 else 50.0
    return 100.0 - 100.0 / (1.0 + gain / loss)


@cached_njit(inline="always")
def ema_step(st, k, n, x, span, first):  # pragma: no cover - compiled
    """EMA in st[k] with alpha = 2 / (span + 1), seeded with x at bar `first`; NaN before it."""
    if n < first:
        return np.nan
    if n == first:
        st[k] = x
    else:
        a = 2.0 / (span + 1.0)
        st[k] = a * x + (1.0 - a) * st[k]
    return st[k]


@cached_njit(inline="always")
def macd_step(st, n, c, fast, slow, signal):  # pragma: no cover - compiled
    """(line, signal, histogram) after bar n; NaN before slow - 1 (line) and slow + signal - 2 (signal, hist)."""
    ef = ema_step(st, _EMA_FAST, n, c, float(fast), 0)
    es = ema_step(st, _EMA_SLOW, n, c, float(slow), 0)
    line = ef - es if n >= slow - 1 else np.nan
    sig = ema_step(st, _MACD_SIG, n, line, float(signal), slow - 1)
    if n < slow + signal - 2:
        sig = np.nan
    return line, sig, line - sig


@cached_njit(inline="always")
def atr_step(st, n, h, lo, c, period):  # pragma: no cover - compiled
    """Wilder ATR after bar n: mean true range of the first `period` bars, then (prev * (period - 1) + TR) / period."""
    if n == 0:
        tr = h - lo
    else:
        pc = st[_ATR_PREV]
        tr = max(h - lo, abs(h - pc), abs(lo - pc))
    st[_ATR_PREV] = c
    if n < period:
        if n == 0:
            st[_ATR_SUM] = 0.0
        st[_ATR_SUM] += tr
        if n < period - 1:
            return np.nan
        st[_ATR] = st[_ATR_SUM] / period
    else:
        st[_ATR] = (st[_ATR] * (period - 1) + tr) / period
    return st[_ATR]


@cached_njit(inline="always")
def _window_mean_std(ring, n, w):  # pragma: no cover - compiled
    """Mean and population std of the last w values pushed (value j at ring[j % len]); n values pushed so far."""
    size = ring.shape[0]
    s = 0.0
    for j in range(n - w, n):
        s += ring[j % size]
    m = s / w
    v = 0.0
    for j in range(n - w, n):
        d = ring[j % size] - m
        v += d * d
    return m, np.sqrt(v / w)


@cached_njit(inline="always")
def _finite32(x):  # pragma: no cover - compiled
    return np.float32(x) if np.isfinite(x) else np.float32(0.0)


@cached_njit()
def _feature_step(st, lc, r1, lv, ts_ms, h, lo, c, v, rsi_p, fast, slow, signal, atr_p, out):  # pragma: no cover
    """Push one closed bar; write its feature row (float32, warm-up 0) into `out` and the raw indicators into st."""
    n = int(st[_N])
    log_c = np.log(c)
    lc[n % LC_RING] = log_c
    k = 0
    for hz in RETURN_HORIZONS:
        out[k] = _finite32(log_c - lc[(n - hz) % LC_RING]) if n >= hz else np.float32(0.0)
        k += 1
    # one-bar log return r1[n] (pushed from bar 1 on: bar j's return sits at ring index j - 1)
    if n >= 1:
        r1[(n - 1) % WIN_RING] = log_c - lc[(n - 1) % LC_RING]
    for w in VOL_WINDOWS:
        out[k] = _finite32(_window_mean_std(r1, n, w)[1]) if n >= w else np.float32(0.0)
        k += 1
    r = rsi_step(st, n, c, rsi_p)
    st[_RSI_VALUE] = r
    out[k] = _finite32((r - 50.0) / 50.0)
    k += 1
    line, sig, hist = macd_step(st, n, c, fast, slow, signal)
    st[_MACD_HIST_PREV] = st[_MACD_HIST] if n > 0 else np.nan
    st[_MACD_LINE], st[_MACD_SIGNAL], st[_MACD_HIST] = line, sig, hist
    out[k] = _finite32(hist / c)
    k += 1
    a = atr_step(st, n, h, lo, c, atr_p)
    st[_ATR_VALUE] = a
    out[k] = _finite32(a / c)
    k += 1
    lvn = np.log1p(max(v, 0.0))
    lv[n % WIN_RING] = lvn
    z = 0.0
    if n >= VOLUME_WINDOW - 1:
        m, sd = _window_mean_std(lv, n + 1, VOLUME_WINDOW)
        if sd > 1e-12:
            z = (lvn - m) / sd
    out[k] = _finite32(z)
    k += 1
    out[k] = _finite32((h - lo) / c)
    k += 1
    sec = ts_ms // 1000
    tod = 2.0 * np.pi * (sec % 86400) / 86400.0
    dow = 2.0 * np.pi * (((sec // 86400) + 3) % 7) / 7.0
    out[k] = _finite32(np.sin(tod))
    out[k + 1] = _finite32(np.cos(tod))
    out[k + 2] = _finite32(np.sin(dow))
    out[k + 3] = _finite32(np.cos(dow))
    st[_N] = n + 1


@cached_njit()
def _feature_series(ts, h, lo, c, v, rsi_p, fast, slow, signal, atr_p, n_feat):  # pragma: no cover - compiled
    n = c.shape[0]
    out = np.empty((n, n_feat), dtype=np.float32)
    st = np.full(N_STATE, np.nan)
    st[_N] = 0.0
    lc = np.zeros(LC_RING)
    r1 = np.zeros(WIN_RING)
    lv = np.zeros(WIN_RING)
    for t in range(n):
        _feature_step(st, lc, r1, lv, ts[t], h[t], lo[t], c[t], v[t], rsi_p, fast, slow, signal, atr_p, out[t])
    return out


@cached_njit()
def _rsi_series(close, period):  # pragma: no cover - compiled
    st = np.zeros(N_STATE)
    out = np.empty(close.shape[0])
    for t in range(close.shape[0]):
        out[t] = rsi_step(st, t, close[t], period)
    return out


@cached_njit()
def _macd_series(close, fast, slow, signal):  # pragma: no cover - compiled
    st = np.zeros(N_STATE)
    n = close.shape[0]
    line, sig, hist = np.empty(n), np.empty(n), np.empty(n)
    for t in range(n):
        line[t], sig[t], hist[t] = macd_step(st, t, close[t], fast, slow, signal)
    return line, sig, hist


@cached_njit()
def _atr_series(high, low, close, period):  # pragma: no cover - compiled
    st = np.zeros(N_STATE)
    out = np.empty(close.shape[0])
    for t in range(close.shape[0]):
        out[t] = atr_step(st, t, high[t], low[t], close[t], period)
    return out


def rsi(close: np.ndarray, period: int) -> np.ndarray:
    """Wilder RSI (0..100), seeded with the mean gain/loss of the first `period` changes; NaN before index period.

    A window with neither gains nor losses reads 50.
    """
    return _rsi_series(np.ascontiguousarray(close, dtype=np.float64), int(period))


def macd(close: np.ndarray, fast: int, slow: int, signal: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(macd, signal, histogram): EMA(fast) - EMA(slow) of close, its EMA(signal), and their difference.

    EMAs are seeded with the first value; macd is NaN before index slow - 1, signal and histogram before
    slow + signal - 2 (the same conventions as `ta.trend.MACD`).
    """
    return _macd_series(np.ascontiguousarray(close, dtype=np.float64), int(fast), int(slow), int(signal))


def atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int) -> np.ndarray:
    """Wilder ATR: mean true range of the first `period` bars, then (prev * (period - 1) + TR) / period.

    The first bar's true range is high - low; NaN before index period - 1.
    """
    f = np.float64
    arr = [np.ascontiguousarray(x, dtype=f) for x in (high, low, close)]
    return _atr_series(*arr, int(period))


def _timestamps_ms(timestamps: pd.Series) -> np.ndarray:
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(timestamps):
        return timestamps.dt.as_unit("ms").to_numpy(dtype="datetime64[ms]").view(np.int64)
    return timestamps.to_numpy(dtype=np.int64)


def _periods(trading: TradingConfig) -> tuple[int, int, int, int, int]:
    return (
        int(trading.rsi_period),
        int(trading.macd_fast),
        int(trading.macd_slow),
        int(trading.macd_signal),
        int(trading.atr_stop.period),
    )


def session_clock(coin: str | None) -> SessionClock:
    """The session clock of `coin`'s calendar (None or a 24/7 market: always open)."""
    from backtest.venue.calendar import ALWAYS_OPEN, SessionClock, calendar_for

    return SessionClock(calendar_for(coin) if coin else ALWAYS_OPEN, int(SESSION_HORIZON_H * 3_600_000))


def _session_columns(ts_ms: np.ndarray, clock: SessionClock, out: np.ndarray) -> None:
    """Write session_open and session_to_change for bar opens `ts_ms` into the last two columns of `out`."""
    from backtest.venue.calendar import OPEN

    ts = np.asarray(ts_ms, dtype=np.int64)
    out[:, N_KERNEL_FEATURES] = (clock.states(ts) == OPEN).astype(np.float32)
    out[:, N_KERNEL_FEATURES + 1] = (clock.until_change_ms(ts) / clock.horizon_ms).astype(np.float32)


def compute_features(bars: pd.DataFrame, trading: TradingConfig, coin: str | None = None) -> np.ndarray:
    """Feature matrix float32 [T, len(FEATURE_NAMES)] for `bars` (bar schema), causal, warm-up rows 0.

    `coin` names the market whose session calendar the session features read (None: a 24/7 market).
    """
    f = np.float64
    cols = [np.ascontiguousarray(bars[k].to_numpy(dtype=f)) for k in ("high", "low", "close", "volume")]
    ts = np.ascontiguousarray(_timestamps_ms(bars["timestamp"]))
    out = _feature_series(ts, *cols, *_periods(trading), len(FEATURE_NAMES))
    _session_columns(ts, session_clock(coin), out)
    return out


def feature_columns(names: list[str] | tuple[str, ...], who: str = "the policy") -> np.ndarray:
    """Column indices of `names` in FEATURE_NAMES, for a policy trained on (a subset of) today's features, in its
    own order; a name this version does not compute is refused with a clear message."""
    index = {n: i for i, n in enumerate(FEATURE_NAMES)}
    missing = [n for n in names if n not in index]
    if missing:
        raise ValueError(
            f"{who} was trained on features this version does not compute: {missing} (it has {list(FEATURE_NAMES)}); "
            "retrain it or use the version it was trained with"
        )
    return np.array([index[n] for n in names], dtype=np.int64)


class FeatureStream:
    """`compute_features` one closed bar at a time (live trading): the same kernel, so the same rows, bit for bit.

    Also exposes the float64 indicator values of the last bar (`rsi`, `macd_hist`, `macd_hist_prev`, `atr`) for
    strategies that decide on indicators rather than on normalised features.
    """

    def __init__(self, trading: TradingConfig, coin: str | None = None) -> None:
        self.periods = _periods(trading)
        self.clock = session_clock(coin)
        self._st = np.full(N_STATE, np.nan)
        self._st[_N] = 0.0
        self._lc = np.zeros(LC_RING)
        self._r1 = np.zeros(WIN_RING)
        self._lv = np.zeros(WIN_RING)
        self._row = np.zeros(len(FEATURE_NAMES), dtype=np.float32)

    @property
    def n_bars(self) -> int:
        return int(self._st[_N])

    def push(self, ts_ms: int, high: float, low: float, close: float, volume: float) -> np.ndarray:
        """Feature row float32 [F] of the bar that just closed (a copy)."""
        _feature_step(
            self._st,
            self._lc,
            self._r1,
            self._lv,
            int(ts_ms),
            float(high),
            float(low),
            float(close),
            float(volume),
            *self.periods,
            self._row,
        )
        _session_columns(np.array([int(ts_ms)], dtype=np.int64), self.clock, self._row[None])
        return self._row.copy()

    def push_bars(self, bars: pd.DataFrame) -> np.ndarray:
        """Push many closed bars in order; their rows [T, F]."""
        ts = _timestamps_ms(bars["timestamp"])
        if len(ts):
            self.clock.states(np.array([ts[0], ts[-1]], dtype=np.int64))  # one block of change points for all
        cols = [bars[k].to_numpy(dtype=np.float64) for k in ("high", "low", "close", "volume")]
        out = np.empty((len(bars), len(FEATURE_NAMES)), dtype=np.float32)
        for t in range(len(bars)):
            out[t] = self.push(int(ts[t]), cols[0][t], cols[1][t], cols[2][t], cols[3][t])
        return out

    @property
    def rsi(self) -> float:
        return float(self._st[_RSI_VALUE])

    @property
    def macd_hist(self) -> float:
        return float(self._st[_MACD_HIST])

    @property
    def macd_hist_prev(self) -> float:
        return float(self._st[_MACD_HIST_PREV])

    @property
    def atr(self) -> float:
        return float(self._st[_ATR_VALUE])


@dataclass
class NormStats:
    """Per-feature mean and std from a training span; `apply` standardises and clips to +-NORM_CLIP."""

    mean: np.ndarray
    std: np.ndarray
    names: tuple[str, ...]

    def apply(self, x: np.ndarray) -> np.ndarray:
        """float32 standardised features, NaN -> 0, clipped to +/- NORM_CLIP (the one place features are clipped).

        Element by element: z = (float64(x) - mean) / std, NaN -> 0, +/-inf and beyond the clip -> +/-NORM_CLIP,
        rounded to float32; one compiled pass (numpy's five passes took ~0.2 s for 180 days of bars).
        """
        x = np.asarray(x)
        flat = np.ascontiguousarray(x.reshape(-1, x.shape[-1]))
        out = np.empty(flat.shape, dtype=np.float32)
        _standardise(flat, np.ascontiguousarray(self.mean, np.float64), np.ascontiguousarray(self.std, np.float64),
                     NORM_CLIP, out)  # fmt: skip
        return out.reshape(x.shape)

    def to_dict(self) -> dict:
        return {"mean": self.mean.tolist(), "std": self.std.tolist(), "names": list(self.names)}

    @classmethod
    def from_dict(cls, d: dict) -> NormStats:
        return cls(
            mean=np.asarray(d["mean"], dtype=np.float64),
            std=np.asarray(d["std"], dtype=np.float64),
            names=tuple(d["names"]),
        )


@cached_njit(error_model="numpy")
def _standardise(x, mean, std, clip, out):  # pragma: no cover - compiled
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            z = (np.float64(x[i, j]) - mean[j]) / std[j]
            if np.isnan(z):
                z = 0.0
            elif z > clip:
                z = clip
            elif z < -clip:
                z = -clip
            out[i, j] = np.float32(z)


def fit_norm(x: np.ndarray, names: tuple[str, ...] = FEATURE_NAMES) -> NormStats:
    """Mean and std per column of `x` (pass the training span only); constant columns get std 1."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != len(names):
        raise ValueError(f"expected [T, {len(names)}] features, got shape {x.shape}")
    mean = x.mean(axis=0) if len(x) else np.zeros(x.shape[1])
    std = x.std(axis=0) if len(x) else np.ones(x.shape[1])
    std = np.where(std > 1e-12, std, 1.0)
    return NormStats(mean=mean, std=std, names=tuple(names))
